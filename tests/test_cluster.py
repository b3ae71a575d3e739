"""Two replicas behind Debian's nginx, sharing PostgreSQL state and one analytics file (README,
"Several app servers"): new visitors are spread over both and each stays on its own; a flag accepted
on one replica is honoured on the other at once; figures and peer letters are identical on both.

The cluster is the one `make cluster` starts (deploy/local.py), with the test suite's OpenID provider
and PostgreSQL server; everything listens on 127.0.0.1.
"""

from __future__ import annotations

import urllib.request

import pytest
from browser_support import DEFAULT_TIMEOUT_MS, _is_local, app_text, screenshot, sign_in, wait_for_app
from cluster_support import Cluster, run_cluster

from core import state
from deploy.local import COOKIE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def cluster(start_app_module, fixture_db, pg_server, tmp_path_factory):
    with run_cluster(start_app_module, fixture_db, pg_server.create_database(), tmp_path_factory.mktemp("nginx")) as c:
        yield c


def _get(url: str, cookie: str | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Cookie": f"{COOKIE}={cookie}"} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as resp:
        ours = [c for c in resp.headers.get_all("Set-Cookie") or [] if c.startswith(f"{COOKIE}=")]
        return resp.headers["X-Scorecard-Replica"], ours[0] if ours else ""


def test_new_visitors_are_spread_and_each_stays_on_its_replica(cluster):
    fresh = [_get(f"{cluster.url}/_stcore/health") for _ in range(40)]
    assert {replica for replica, _ in fresh} == {"r1", "r2"}
    assert all(cookie.startswith(f"{COOKIE}={replica};") for replica, cookie in fresh)
    for replica in ("r1", "r2"):
        assert {_get(f"{cluster.url}/_stcore/health", replica)[0] for _ in range(10)} == {replica}


def _on(page, cluster: Cluster, replica: str):
    page.context.add_cookies([{"name": COOKIE, "value": replica, "url": cluster.url}])
    return page


def _second_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.route(
        "**/*", lambda route: route.continue_() if _is_local(route.request.url) else route.abort("blockedbyclient")
    )
    return context.new_page()


def _scorecard(page, cluster: Cluster, replica: str) -> str:
    """The physician's scorecard as text, once every chart has drawn (charts render after the script ends)."""
    response = page.goto(f"{cluster.url}/?procedure=TKA")
    assert response.headers["x-scorecard-replica"] == replica
    wait_for_app(page)
    page.wait_for_function("""() => {
        const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')];
        return charts.length > 0 && charts.every(c => c.querySelector('svg, canvas'));
    }""")
    text = app_text(page)
    while (page.wait_for_timeout(500) or True) and (again := app_text(page)) != text:
        text = again
    return text


def test_a_flag_accepted_on_one_replica_is_honoured_on_the_other_and_letters_match(cluster, page, browser, tmp_path):
    flag_id = state.flag_case("C02", "P01", "p01@fixture.org", "wrong physician", "Not my patient", path=cluster.state)
    physician = _on(page, cluster, "r2")
    sign_in(physician, cluster.url, "p01@fixture.org")
    before = _scorecard(physician, cluster, "r2")
    assert "$2,724" in before, before  # P01's median over C01-C03
    assert "You are Surgeon" in before, before  # blinded peers, their letter

    supply = _on(_second_page(browser), cluster, "r1")
    try:
        sign_in(supply, cluster.url, "supply@fixture.org")
        supply.goto(f"{cluster.url}/flags")
        wait_for_app(supply)
        supply.get_by_label("Reply to the physician").fill("Moved to the right surgeon.")
        supply.get_by_role("button", name="Accept: remove from the figures").click()
        supply.get_by_text("Flag on C02 accepted.").wait_for()
        screenshot(supply, tmp_path / "cluster-supply-r1.png", 1280, 900)
    finally:
        supply.context.close()
    assert state.flags(path=cluster.state).set_index("id").loc[flag_id, "decided_by"] == "supply@fixture.org"

    after = _scorecard(physician, cluster, "r2")  # the other replica, at once: no restart, no cache to expire
    assert after != before and "$2,724" not in after  # C02 left the figures
    screenshot(physician, tmp_path / "cluster-physician-r2.png", 1280, 900)

    elsewhere = _on(_second_page(browser), cluster, "r1")
    try:
        sign_in(elsewhere, cluster.url, "p01@fixture.org")
        assert _scorecard(elsewhere, cluster, "r1") == after  # same figures, same peer letters
    finally:
        elsewhere.context.close()


def test_both_replicas_extend_one_audit_chain_that_the_admin_page_verifies(cluster, page, tmp_path):
    """Sessions on both replicas (the tests above, and this one) write to one hash chain; it verifies."""
    before = state.verify_audit_chain(cluster.state)
    admin = _on(page, cluster, "r1")
    sign_in(admin, cluster.url, "admin@fixture.org")
    admin.goto(f"{cluster.url}/audit")
    wait_for_app(admin)
    after = state.verify_audit_chain(cluster.state)
    assert before.ok and after.ok and after.entries > before.entries
    assert f"Chain verified: all {after.entries:,} entries are intact" in app_text(admin)
    # st.code loads its highlighter lazily: the block can come a moment after the rest of the page.
    admin.get_by_text(after.head).first.wait_for(timeout=15_000)
    assert after.head in app_text(admin)
    screenshot(admin, tmp_path / "cluster-audit-r1.png", 1280, 900)
