"""Fixtures and helpers for the browser tests: a local OpenID provider, the app, headless Chromium.

Loaded as a pytest plugin by ``tests/conftest.py`` (``pytest_plugins = ["browser_support"]``).
Nothing here runs unless a test asks for one of these fixtures. When a piece is missing the fixture
*skips* with the reason -- ``/usr/bin/chromium`` (``apt-get update && apt-get install -y
chromium``), ``node`` or ``tests/oidc/node_modules`` (``npm ci --prefix tests/oidc``) -- or *fails*
when ``SCORECARD_REQUIRE_BROWSER=1`` (set it in ``make test`` so CI never skips silently). Never
``playwright install``: Playwright drives Debian's chromium via ``executable_path``
(``SCORECARD_CHROMIUM`` overrides the path).

Fixtures
--------
``oidc_provider`` (session)
    ``node tests/oidc/provider.mjs 0`` (npm ``oidc-provider`` 9.13.3, pinned with a lockfile) on a
    free port; issuer ``http://127.0.0.1:PORT``. Yields :class:`OIDCProvider` (``issuer``,
    ``metadata_url``, ``client_id``, ``client_secret``, ``auth_section(app_port)``). Its login form
    accepts any login and password; the login becomes the ``email`` claim exactly as typed (so
    roster matching must be case-insensitive), ``email_verified`` is false only for logins starting
    with ``unverified``, ``name`` is the part before "@". It accepts the callback of an app on any
    ``http://localhost:<port>``.
``start_app`` (function) / ``start_app_module`` (module)
    Factory: ``url = start_app(db_path, state_path, *, auth=True, extra_env=None, app="app.py",
    secrets=None, auth_overrides=None, config=None)`` runs ``python -m streamlit run <app>`` with
    the repository root as working directory (so ``.streamlit/config.toml`` applies), on a free port,
    headless, file watcher off, usage stats off, ``SCORECARD_DB``/``SCORECARD_STATE`` set and any
    inherited ``STREAMLIT_*`` variable removed; it waits for ``/_stcore/health``. It returns an
    :class:`AppURL`: a ``str`` ``"http://localhost:PORT"`` that also has ``.port``, ``.log_path``,
    ``.log()`` and ``.process`` (tests may attach attributes to it). Secrets: a temporary
    ``secrets.toml`` passed with ``--secrets.files`` -- it *replaces* the default locations, so the
    repository's own ``.streamlit/secrets.toml`` is neither read nor written. With ``auth=True`` it
    holds ``[auth]`` for the provider (redirect_uri ``http://localhost:PORT/oauth2callback``, a
    random cookie_secret, client id/secret, server_metadata_url, ``client_kwargs = { prompt =
    "login" }``); with ``auth=False`` no ``[auth]`` (demo / setup-instructions mode) and the
    provider is not started. The apps stop at the fixture's teardown.
``browser`` (session), ``page`` (function)
    Headless chromium, and a fresh context (own cookies, 1280x900) + page per test. The context
    aborts every request whose host is not localhost/127.0.0.1 (the provider's pages link Google
    fonts); the aborted URLs are in ``page.blocked_urls``. ``page.streamlit_watcher`` follows the
    app's websocket (see :class:`StreamlitWatcher`).

Helpers
-------
``sign_in(page, base_url, email, password="test", *, goto=None)``
    From the app's sign-in screen (or after opening ``goto``/``base_url`` if the page is not on
    it): clicks "Sign in", fills ``login``/``password`` on the provider, clicks "Sign-in", waits for
    the return to the app and for it to settle (including a deep-link restore). Raises if the app
    still shows "Sign in".
``sign_out(page, base_url=None)``
    Opens the sidebar if collapsed, clicks "Sign out", confirms "Yes, sign me out" on the provider
    and waits for the app's "Sign in" button.
``wait_for_app(page)``
    Connected, script not running, no rerun announced (``st.switch_page``/``st.rerun``), main block
    present, quiet for 100 ms. Call it after ``page.goto`` and after clicks that rerun the script.
``app_text(page)``, ``open_sidebar(page)``, ``screenshot(page, path, width, height)``
    (the latter resizes the viewport, waits for the app to re-layout and writes a PNG).

Usage -- the checks run against a two-page scratch app (``/`` and ``/scorecard``, each page writing
``st.user.get("email")`` and ``st.query_params.to_dict()``, the sidebar writing the
``signin.Identity``; its ``app.py`` follows the pattern in ``core/signin.py``'s docstring)::

    import time
    from urllib.parse import quote

    import pytest
    from browser_support import app_text, screenshot, sign_in, sign_out, wait_for_app

    pytestmark = pytest.mark.browser
    APP = "/tmp/scratch/app.py"

    def test_deep_link_survives_sign_in(start_app, page, tmp_path):
        url = start_app(tmp_path / "db.duckdb", tmp_path / "state", app=APP)
        page.goto(f"{url}/scorecard?procedure=TKA&period=2026Q3")     # signed out
        wait_for_app(page)                                              # the sign-in screen
        sign_in(page, url, "Dr.Okafor@Example.org")
        assert page.url == f"{url}/scorecard?procedure=TKA&period=2026Q3"
        body = app_text(page)
        assert "Dr.Okafor@Example.org" in body and "2026Q3" in body and "verified=True" in body
        assert "scorecard_return" not in [c["name"] for c in page.context.cookies(url)]
        page.reload(); wait_for_app(page)                               # no second jump
        assert page.url == f"{url}/scorecard?procedure=TKA&period=2026Q3"
        screenshot(page, tmp_path / "phone.png", 390, 844)
        sign_out(page, url)
        assert page.get_by_role("button", name="Sign in").is_visible()

    def test_unverified_email(start_app, page, tmp_path):
        url = start_app(tmp_path / "db.duckdb", tmp_path / "state", app=APP)
        sign_in(page, url, "unverified.someone@example.org")
        assert "verified=False" in app_text(page)

    def test_tampered_cookie_is_ignored(start_app, page, tmp_path):
        url = start_app(tmp_path / "db.duckdb", tmp_path / "state", app=APP)
        page.goto(url); wait_for_app(page)
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_selector('input[name="login"]')               # on the provider now:
        evil = f"{int(time.time())}.{quote('//evil.example/scorecard', safe='')}"
        page.context.add_cookies([{"name": "scorecard_return", "value": evil, "url": url}])
        page.fill('input[name="login"]', "a@example.org"); page.fill('input[name="password"]', "x")
        page.get_by_role("button", name="Sign-in").click()
        page.wait_for_url(lambda u: u.startswith(url) and "oauth2callback" not in u)
        wait_for_app(page)
        assert page.url == f"{url}/"

Timings on the dev machine (2 CPUs, shared): provider ready 0.3 s; app healthy 0.5-1.3 s; chromium
launch 0.3-1.4 s; sign-in round trip (click to settled app, deep-link restore included) 2-3 s, of
which ~0.8 s is the redirect chain and the rest the Streamlit page booting and running twice.
"""

from __future__ import annotations

import contextlib
import os
import secrets as _secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
OIDC_DIR = REPO_ROOT / "tests" / "oidc"
CHROMIUM = Path(os.environ.get("SCORECARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
APP_START_TIMEOUT_S = 60.0  # generous: CI machines can be busy
PROVIDER_START_TIMEOUT_S = 20.0
DEFAULT_TIMEOUT_MS = 30_000  # generous: CI machines can be busy


# ---------------------------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that was free a moment ago (on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """Stop a process we started (its own process group), politely then firmly."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def write_secrets(path: Path, sections: Mapping[str, Mapping[str, Any]]) -> Path:
    """Write a small secrets.toml: ``{"auth": {...}, "other": {...}}`` (values: str/num/bool/
    list/inline dict)."""
    lines = ["# written by tests/browser_support.py"]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in values.items())
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The OpenID provider
# ---------------------------------------------------------------------------------------------


@dataclass
class OIDCProvider:
    issuer: str
    client_id: str
    client_secret: str
    process: subprocess.Popen

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def auth_section(self, app_port: int, **overrides: Any) -> dict[str, Any]:
        """The ``[auth]`` secrets for an app on ``http://localhost:app_port``."""
        section: dict[str, Any] = {
            "redirect_uri": f"http://localhost:{app_port}/oauth2callback",
            "cookie_secret": "test-cookie-secret-" + _secrets.token_hex(8),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": self.metadata_url,
            # oidc-provider rejects Streamlit's default prompt=select_account
            "client_kwargs": {"prompt": "login"},
        }
        section.update(overrides)
        return section


def _missing(reason: str) -> None:
    """Skip (or fail, when SCORECARD_REQUIRE_BROWSER=1, as `make test` should set) for a missing
    piece of the browser-test setup."""
    if os.environ.get("SCORECARD_REQUIRE_BROWSER", "") not in ("", "0"):
        pytest.fail(f"browser tests required but {reason}", pytrace=False)
    pytest.skip(reason)


def _provider_missing_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (Node 20+ is needed for the local OpenID provider)"
    if not (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return "tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc`"
    return None


@contextlib.contextmanager
def run_oidc_provider(
    client_id: str = "scorecard-test", client_secret: str = "scorecard-test-secret"
) -> Iterator[OIDCProvider]:
    """Run the local provider on a free port until the block ends."""
    env = dict(os.environ, OIDC_CLIENT_ID=client_id, OIDC_CLIENT_SECRET=client_secret)
    env.pop("PORT", None)
    proc = subprocess.Popen(
        ["node", str(OIDC_DIR / "provider.mjs"), "0"],
        cwd=OIDC_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    ready: list[str] = []
    stderr_lines: list[str] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("OIDC-PROVIDER-READY ") and not ready:
                ready.append(line.split(maxsplit=1)[1].strip())

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            stderr_lines.append(line.rstrip())

    threading.Thread(target=read_stdout, daemon=True).start()
    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        deadline = time.monotonic() + PROVIDER_START_TIMEOUT_S
        while not ready:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenID provider did not start:\n" + "\n".join(stderr_lines[-30:]))
            time.sleep(0.02)
        yield OIDCProvider(ready[0], client_id, client_secret, proc)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OIDCProvider]:
    """The local OpenID provider (session-wide)."""
    reason = _provider_missing_reason()
    if reason:
        _missing(reason)
    with run_oidc_provider() as provider:
        yield provider


# ---------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------


class AppURL(str):
    """Base URL of a running app (``http://localhost:PORT``) with its port and log."""

    port: int
    log_path: Path
    process: subprocess.Popen

    def __new__(cls, port: int, log_path: Path, process: subprocess.Popen) -> AppURL:
        obj = super().__new__(cls, f"http://localhost:{port}")
        obj.port = port
        obj.log_path = log_path
        obj.process = process
        return obj

    def log(self) -> str:
        """Everything the streamlit process wrote so far (stdout + stderr)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def _wait_healthy(port: int, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + APP_START_TIMEOUT_S
    url = f"http://127.0.0.1:{port}/_stcore/health"
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"streamlit not healthy after {APP_START_TIMEOUT_S}s:\n" + log_path.read_text()[-4000:])
        time.sleep(0.05)


class _PortTaken(RuntimeError):
    pass


class AppLauncher:
    """Starts ``streamlit run`` processes and stops them all in :meth:`close`."""

    def __init__(self, workdir: Path, provider_getter) -> None:
        self._workdir = workdir
        self._provider_getter = provider_getter
        self._procs: list[subprocess.Popen] = []

    def __call__(
        self,
        db_path: os.PathLike | str,
        state_path: os.PathLike | str,
        *,
        auth: bool = True,
        extra_env: Mapping[str, str] | None = None,
        app: os.PathLike | str = "app.py",
        secrets: Mapping[str, Mapping[str, Any]] | None = None,
        auth_overrides: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> AppURL:
        """Start the app; return its base URL once ``/_stcore/health`` answers.

        ``secrets``: extra secrets sections; ``auth_overrides``: keys replacing the generated
        ``[auth]`` ones; ``config``: extra ``--section.option value`` flags (e.g.
        ``{"server.maxUploadSize": 5}``).
        """
        for attempt in range(3):  # a free port can be taken between probing and binding
            try:
                return self._start_once(
                    db_path,
                    state_path,
                    auth=auth,
                    extra_env=extra_env,
                    app=app,
                    secrets=secrets,
                    auth_overrides=auth_overrides,
                    config=config,
                )
            except _PortTaken:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _start_once(self, db_path, state_path, *, auth, extra_env, app, secrets, auth_overrides, config) -> AppURL:
        port = free_port()
        run_dir = Path(tempfile.mkdtemp(prefix=f"app{port}-", dir=self._workdir))
        sections: dict[str, Mapping[str, Any]] = dict(secrets or {})
        if auth:
            provider: OIDCProvider = self._provider_getter()
            sections["auth"] = provider.auth_section(port, **dict(auth_overrides or {}))
        secrets_file = write_secrets(run_dir / "secrets.toml", sections)
        log_path = run_dir / "streamlit.log"
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("STREAMLIT_")]:
            env.pop(key)
        env.update(SCORECARD_DB=str(db_path), SCORECARD_STATE=str(state_path), PYTHONUNBUFFERED="1")
        env.update(extra_env or {})
        flags = {
            "server.headless": "true",
            "server.port": str(port),
            "server.address": "localhost",
            "server.fileWatcherType": "none",
            "server.runOnSave": "false",
            "browser.gatherUsageStats": "false",
            "secrets.files": str(secrets_file),
        }
        flags.update({k: str(v) for k, v in (config or {}).items()})
        cmd = [sys.executable, "-m", "streamlit", "run", str(app)]
        for key, value in flags.items():
            cmd += [f"--{key}", value]
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._procs.append(proc)
        try:
            _wait_healthy(port, proc, log_path)
        except RuntimeError:
            if proc.poll() is not None and "is not available" in log_path.read_text(errors="replace"):
                raise _PortTaken(port) from None
            raise
        return AppURL(port, log_path, proc)

    def close(self) -> None:
        for proc in reversed(self._procs):
            _stop(proc)
        self._procs.clear()


def _launcher(request: pytest.FixtureRequest, tmp_dir: Path) -> AppLauncher:
    return AppLauncher(tmp_dir, lambda: request.getfixturevalue("oidc_provider"))


@pytest.fixture
def start_app(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[AppLauncher]:
    """Factory: ``url = start_app(db_path, state_path, auth=True, extra_env=None)``."""
    launcher = _launcher(request, tmp_path_factory.mktemp("apps"))
    yield launcher
    launcher.close()


@pytest.fixture(scope="module")
def start_app_module(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[AppLauncher]:
    """Like ``start_app``, but the apps live until the end of the test module."""
    launcher = _launcher(request, tmp_path_factory.mktemp("apps"))
    yield launcher
    launcher.close()


# ---------------------------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------------------------


class StreamlitWatcher:
    """Follows the app's websocket messages so tests know when a rerun is still to come.

    The page's ``data-test-script-state`` reads "notRunning" between a run that ended for a rerun
    (``st.switch_page``, ``st.rerun``) and the start of the next one -- measured up to ~300 ms on a
    busy machine. :func:`wait_for_app` uses this watcher to not stop in that gap.
    """

    def __init__(self) -> None:
        self.rerun_pending = False
        self.last_message = 0.0
        self.runs_finished = 0

    def attach(self, page) -> None:
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, ws) -> None:
        if "/_stcore/stream" in ws.url:
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.last_message = time.monotonic()
        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:
            return
        kind = msg.WhichOneof("type")
        if kind == "script_finished":
            self.runs_finished += 1
            self.rerun_pending = msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN
        elif kind == "session_status_changed" and msg.session_status_changed.script_is_running:
            self.rerun_pending = False


def watch_streamlit(page) -> StreamlitWatcher:
    """Attach a :class:`StreamlitWatcher` to a page (the ``page`` fixture does it already)."""
    watcher = getattr(page, "streamlit_watcher", None)
    if watcher is None:
        watcher = StreamlitWatcher()
        watcher.attach(page)
        page.streamlit_watcher = watcher
    return watcher


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by Playwright (session-wide)."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        _missing("the playwright python package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in LOCAL_HOSTS


@pytest.fixture
def page(browser):
    """A fresh page (own cookies) that may only reach localhost / 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    blocked: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    context.route("**/*", guard)
    pg = context.new_page()
    pg.blocked_urls = blocked  # type: ignore[attr-defined]
    watch_streamlit(pg)
    try:
        yield pg
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'


def wait_for_app(page, timeout_ms: int = DEFAULT_TIMEOUT_MS, settle_ms: int = 100) -> None:
    """Wait until the app is connected, has finished running the script (with no rerun announced,
    e.g. by ``st.switch_page``) and shows its main block, and has been quiet for ``settle_ms``."""
    deadline = time.monotonic() + timeout_ms / 1000
    watcher: StreamlitWatcher | None = getattr(page, "streamlit_watcher", None)
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    while True:
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        page.wait_for_selector(_IDLE, timeout=remaining, state="attached")
        page.wait_for_selector('[data-testid="stMain"]', timeout=remaining, state="attached")
        page.wait_for_timeout(settle_ms)
        quiet = watcher is None or (
            not watcher.rerun_pending and time.monotonic() - watcher.last_message >= settle_ms / 1000
        )
        if quiet and page.locator(_IDLE).count() == 1:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the app did not settle within {timeout_ms} ms ({page.url})")


def app_text(page) -> str:
    """The visible text of the app (main area + sidebar)."""
    return page.locator('[data-testid="stApp"]').inner_text()


def sign_in(
    page,
    base_url: str,
    email: str,
    password: str = "test",
    *,
    goto: str | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> None:
    """Sign in through the app's "Sign in" button and the provider's login form.

    Starts from the current page if it shows the app's sign-in button, else opens ``goto`` (or
    ``base_url``). Returns once the browser is back on the app (``base_url``) and the app settled
    (after a deep-link restore, too).
    """
    button = page.get_by_role("button", name="Sign in", exact=True)
    if goto is not None or not page.url.startswith(base_url) or not button.count():
        page.goto(goto or base_url)
        wait_for_app(page, timeout_ms)
    button.click()
    page.wait_for_selector('input[name="login"]', timeout=timeout_ms)
    page.fill('input[name="login"]', email)
    page.fill('input[name="password"]', password)
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(lambda u: u.startswith(base_url) and "/oauth2callback" not in u, timeout=timeout_ms)
    wait_for_app(page, timeout_ms)
    if button.count():  # still on the sign-in screen: the round trip failed
        raise AssertionError(f"sign-in as {email!r} did not complete (url {page.url})")


def open_sidebar(page, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Expand the sidebar if it is collapsed (the default on narrow screens such as phones)."""
    collapsed = page.locator('[data-testid="stSidebar"][data-collapsed="true"]')
    if collapsed.count():
        page.locator('[data-testid="stExpandSidebarButton"]').first.click()
        page.locator('[data-testid="stSidebar"][data-collapsed="false"]').wait_for(timeout=timeout_ms)
        page.wait_for_timeout(300)  # slide-in animation


def sign_out(page, base_url: str | None = None, *, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
    """Click the sidebar's "Sign out", confirm on the provider's page ("Yes, sign me out") and wait
    until the app shows its "Sign in" button again."""
    base = base_url or "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    open_sidebar(page)
    btn = page.locator('[data-testid="stSidebar"]').get_by_role("button", name="Sign out", exact=True)
    btn.click()
    confirm = page.get_by_role("button", name="Yes, sign me out")
    signin_button = page.get_by_role("button", name="Sign in", exact=True)
    confirm.or_(signin_button).first.wait_for(timeout=timeout_ms)
    if confirm.count():
        confirm.click()
        page.wait_for_url(lambda u: u.startswith(base) and "/oauth2callback" not in u, timeout=timeout_ms)
        signin_button.wait_for(timeout=timeout_ms)
    wait_for_app(page, timeout_ms)


def screenshot(page, path: os.PathLike | str, width: int = 1280, height: int = 900, *, full_page: bool = False) -> Path:
    """Resize the viewport, let the app re-layout, and save a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": height})
    with contextlib.suppress(Exception):
        wait_for_app(page, settle_ms=100)
    page.screenshot(path=str(path), full_page=full_page)
    return path
