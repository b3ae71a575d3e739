"""Load and rebuild (README, "Load test"): at least 20 concurrent browser sessions of mixed roles, each
signed in through the local OpenID provider, navigate their pages for minutes across two replicas behind
nginx while the analytics database is rebuilt and swapped twice. Held: no failed page load, and every
session shows the second rebuild once it is in service.

The sessions first sign in together (timed on their own); the navigating minutes and the rebuilds start
once all are in. Heavy on a small machine -- one headless Chromium renders every session on the same
cores as the servers -- so it is marked `slow`: left out of `make test`, run by `make test-load`, which
also writes the measured result to deploy/load-result.json ($SCORECARD_LOAD_RESULT). Latency here is end
to end: from the navigation to the app having drawn the page and gone quiet, including the client's own
rendering on the shared cores. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import time
from pathlib import Path

import pytest
from browser_support import _IDLE, CHROMIUM, CHROMIUM_ARGS, _is_local
from cluster_support import run_cluster

from core import scorecard
from core.build.pipeline import build
from deploy.local import COOKIE

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SESSIONS = int(os.environ.get("SCORECARD_LOAD_SESSIONS", "20"))
SECONDS = float(os.environ.get("SCORECARD_LOAD_SECONDS", "240"))
TIMEOUT_MS = 180_000  # a page load slower than this counts as failed
PAGES = {  # what each role navigates, in turn (the paths of the app's pages)
    "physician": ["scorecard", "products", "evidence", "definitions"],
    "champion": ["scorecard", "presentation", "products", "evidence"],
    "supply": ["supply", "scorecard", "flags", "presentation", "evidence"],
    "admin": ["supply", "audit", "data", "flags", "definitions"],
}
USERS = [
    ("p01@fixture.org", "physician"),
    ("p02@fixture.org", "physician"),
    ("p03@fixture.org", "champion"),
    ("supply@fixture.org", "supply"),
    ("p05@fixture.org", "physician"),
    ("admin@fixture.org", "admin"),
    ("p06@fixture.org", "physician"),
]


def _built_label(db: Path) -> str:
    """What the sidebar says about the build in service ("built 29 Nov 2026 17:41")."""
    return f"built {scorecard.data_context(db).build.get('built_at'):%d %b %Y %H:%M}"


async def _settled(page) -> None:
    await page.wait_for_selector('[data-testid="stMain"]', timeout=TIMEOUT_MS, state="attached")
    await page.wait_for_selector(_IDLE, timeout=TIMEOUT_MS, state="attached")
    await page.wait_for_timeout(150)
    await page.wait_for_selector(_IDLE, timeout=TIMEOUT_MS, state="attached")


async def _sign_in(page, base: str, email: str) -> None:
    await page.goto(base, timeout=TIMEOUT_MS)
    await _settled(page)
    await page.get_by_role("button", name="Sign in", exact=True).click(timeout=TIMEOUT_MS)
    await page.wait_for_selector('input[name="login"]', timeout=TIMEOUT_MS)
    await page.fill('input[name="login"]', email)
    await page.fill('input[name="password"]', "test")
    await page.get_by_role("button", name="Sign-in").click(timeout=TIMEOUT_MS)
    await page.wait_for_url(lambda u: u.startswith(base) and "/oauth2callback" not in u, timeout=TIMEOUT_MS)
    await _settled(page)


async def _local_only(route) -> None:
    if _is_local(route.request.url):
        await route.continue_()
    else:
        await route.abort("blockedbyclient")


async def _session(
    browser, base: str, n: int, replica: str, clock: dict, loads: list, failures: list, last_seen: dict, signins: list
) -> None:
    """Sign in, wait until every session has, then navigate the role's pages in turn until the clock ends."""
    email, role = USERS[n % len(USERS)]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_cookies([{"name": COOKIE, "value": replica, "url": base}])
    await context.route("**/*", _local_only)
    page = await context.new_page()
    try:
        started = time.monotonic()
        try:
            await _sign_in(page, base, email)
            signins.append(time.monotonic() - started)
        except Exception as err:  # noqa: BLE001 - a failed sign-in is a failed page load
            failures.append({"session": n, "role": role, "page": "sign-in", "problem": f"{type(err).__name__}"})
            return
        finally:
            clock["ready"] += 1
            if clock["ready"] == SESSIONS:
                clock["go"].set()
        await clock["go"].wait()
        i = n  # sessions start on different pages
        while time.monotonic() < clock["until"]:
            name = PAGES[role][i % len(PAGES[role])]
            i += 1
            started = time.monotonic()
            try:
                response = await page.goto(f"{base}/{name}", timeout=TIMEOUT_MS)
                await _settled(page)
                text = await page.locator('[data-testid="stApp"]').inner_text(timeout=TIMEOUT_MS)
                shown_error = await page.locator('[data-testid="stException"]').count()
                signed_out = await page.get_by_role("button", name="Sign in", exact=True).count()
                problem = (
                    "no response"
                    if response is None
                    else f"HTTP {response.status}"
                    if response.status != 200
                    else "exception shown"
                    if shown_error
                    else "signed out"
                    if signed_out
                    else None
                )
            except Exception as err:  # noqa: BLE001 - any failure to load counts, with its reason
                problem, text = f"{type(err).__name__}: {str(err)[:200]}", ""
            took = time.monotonic() - started
            if problem:
                failures.append({"session": n, "role": role, "page": name, "problem": problem})
            else:
                loads.append(
                    {
                        "session": n,
                        "role": role,
                        "replica": replica,
                        "page": name,
                        "seconds": took,
                        "at": time.monotonic(),
                    }
                )
                last_seen[n] = next((line for line in text.splitlines() if " · built " in line), "")
    finally:
        await context.close()


async def _run(base: str, served: Path, sources: list[Path]) -> dict:
    from playwright.async_api import async_playwright

    loads, failures, last_seen, swaps, signins = [], [], {}, [], []
    clock = {"ready": 0, "go": asyncio.Event(), "until": float("inf")}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        sessions = [
            asyncio.create_task(
                _session(browser, base, n, ("r1", "r2")[n % 2], clock, loads, failures, last_seen, signins)
            )
            for n in range(SESSIONS)
        ]
        signing_in = time.monotonic()
        await clock["go"].wait()  # every session signed in (sign-ins are timed on their own)
        started = time.monotonic()
        clock["until"] = started + SECONDS
        for k, source in enumerate(sources):  # rebuild and swap at 1/3 and 2/3 of the run, at least a minute apart
            await asyncio.sleep(max(started + SECONDS * (k + 1) / 3 - time.monotonic(), 0))
            result = await asyncio.to_thread(build, source, served)
            assert result.ok, [p.render() for p in result.problems]
            swaps.append({"at": time.monotonic() - started, "label": _built_label(served)})
        await asyncio.gather(*sessions)
        await browser.close()
    final = swaps[-1]["label"]
    seconds = sorted(x["seconds"] for x in loads)
    after_swap = [x for x in loads if x["at"] - started > swaps[-1]["at"] + 5]
    return {
        "sessions": SESSIONS,
        "duration_s": round(time.monotonic() - started, 1),
        "replicas": 2,
        "signing_in_s": round(started - signing_in, 1),
        "page_loads": len(loads),
        "failed": len(failures),
        "failures": failures[:20],
        "loads_per_minute": round(len(loads) / (SECONDS / 60), 1),
        "latency_s": {
            "p50": round(statistics.median(seconds), 2) if seconds else None,
            "p95": round(seconds[int(0.95 * (len(seconds) - 1))], 2) if seconds else None,
            "max": round(seconds[-1], 2) if seconds else None,
        },
        "signed_in": len(signins),
        "sign_in_s": {
            "p50": round(statistics.median(signins), 1) if signins else None,
            "max": round(max(signins), 1) if signins else None,
        },
        "sessions_with_a_load": len({x["session"] for x in loads}),
        "per_replica": {r: sum(1 for x in loads if x["replica"] == r) for r in ("r1", "r2")},
        "per_role": {r: sum(1 for x in loads if x["role"] == r) for r in PAGES},
        "swaps": swaps,
        "loads_after_second_swap": len(after_swap),
        "sessions_on_new_build": sum(1 for label in last_seen.values() if final in label),
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
    }


def test_twenty_sessions_across_two_replicas_through_two_rebuilds(
    start_app_module, fixture_source, pg_server, tmp_path
):
    served = tmp_path / "served" / "scorecard.duckdb"
    served.parent.mkdir()
    assert build(fixture_source, served).ok
    sources = []
    for k in (1, 2):  # the same extract handed over again: a new build each time, swapped in while serving
        copy = tmp_path / f"source{k}"
        shutil.copytree(fixture_source, copy)
        sources.append(copy)
    with run_cluster(start_app_module, served, pg_server.create_database(), tmp_path / "nginx") as cluster:
        result = asyncio.run(_run(cluster.url, served, sources))
    result["initial_build"] = "fixture (tests/fixture_source.py)"
    print(json.dumps(result, indent=2))
    if out := os.environ.get("SCORECARD_LOAD_RESULT"):
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    assert result["failed"] == 0, result["failures"]
    assert len({s["label"] for s in result["swaps"]}) == 2  # two distinct builds went into service
    assert result["sessions_on_new_build"] == SESSIONS, result
    assert result["loads_after_second_swap"] >= SESSIONS
    assert min(result["per_replica"].values()) > 0
