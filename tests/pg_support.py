"""A throw-away PostgreSQL server for the state tests (loaded as a pytest plugin by conftest.py).

It uses Debian's server binaries (``/usr/lib/postgresql/<version>/bin``; ``make pg-deps`` runs
``apt-get install -y postgresql`` when they are missing) through ``deploy.local.PostgresServer``,
the same code ``make cluster`` uses. ``initdb`` refuses to run as root, so as root the server runs as
the ``postgres`` user (``runuser -u postgres --``) in a temporary folder it owns. It listens on
127.0.0.1 only, on a free port, with trust authentication, and is stopped and deleted at the end of
the session. When the binaries are missing the fixtures *skip* with the reason, or *fail* when
``SCORECARD_REQUIRE_POSTGRES=1`` (``make test`` sets it, so CI never skips silently).

Fixtures
--------
``pg_server`` (session)
    A :class:`deploy.local.PostgresServer`: ``.url(dbname)``, ``.create_database() -> url``,
    ``.stop()`` and ``.start()`` (same folder and port: the fault tests stop it mid-way and bring it
    back), ``.running()``, ``.log()``.
``pg_state_url`` (function)
    A fresh, empty database on that server for one test, as a ``postgresql://`` URL for
    ``SCORECARD_STATE`` or the ``path=`` argument of ``core.state``'s functions.
"""

from __future__ import annotations

import os

import pytest

from deploy.local import PostgresServer, postgres_bin


@pytest.fixture(scope="session")
def pg_server():
    bindir = postgres_bin()
    if bindir is None or not (bindir / "initdb").exists():
        reason = "PostgreSQL server binaries not found (apt-get install -y postgresql, or make pg-deps)"
        if os.environ.get("SCORECARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def pg_state_url(pg_server) -> str:
    if not pg_server.running():
        pg_server.start()
    return pg_server.create_database()
