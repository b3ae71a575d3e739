"""A throw-away PostgreSQL server for the state tests (loaded as a pytest plugin by conftest.py).

It uses Debian's server binaries (``/usr/lib/postgresql/<version>/bin``; ``make pg-deps`` runs
``apt-get install -y postgresql`` when they are missing). ``initdb`` refuses to run as root, so as
root the server runs as the ``postgres`` user (``runuser -u postgres --``) in a temporary folder it
owns. It listens on 127.0.0.1 only, on a free port, with trust authentication (nothing but this
machine can reach it), and is stopped and deleted at the end of the session. When the binaries are
missing the fixtures *skip* with the reason, or *fail* when ``SCORECARD_REQUIRE_POSTGRES=1``
(``make test`` sets it, so CI never skips silently).

Fixtures
--------
``pg_server`` (session)
    A :class:`PostgresServer`: ``.url(dbname)``, ``.create_database() -> url``, ``.stop()`` and
    ``.start()`` (same folder and port: the fault tests stop it mid-way and bring it back).
``pg_state_url`` (function)
    A fresh, empty database on that server for one test, as a ``postgresql://`` URL for
    ``SCORECARD_STATE`` or the ``path=`` argument of ``core.state``'s functions.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries on this machine, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    override = os.environ.get("SCORECARD_PG_BIN")
    if override:
        return Path(override)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, on 127.0.0.1:port."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="scorecard-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.folder} -h 127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = f"state_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'create database "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.folder / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        if self.running():
            try:
                self.stop()
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


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
