"""Every setting Scorecard takes from its environment, in one place (README, *Configuration*).

Nothing else reads `os.environ`. Values are read when asked for, not cached at import, so the
command line (`python -m core report --db FILE`) and the tests can point a process at another file.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("data/scorecard.duckdb")
DEFAULT_STATE = "data/state.sqlite"


def database_path() -> Path:
    """The analytics database in service: $SCORECARD_DB, else data/scorecard.duckdb."""
    return Path(os.environ.get("SCORECARD_DB", str(DEFAULT_DB)))


def use_database(path: Path) -> None:
    """Point this process (and the children it starts) at another analytics database."""
    os.environ["SCORECARD_DB"] = str(path)


def patches_folder() -> Path | None:
    """Where patched snapshots for accepted flags are saved (core.db `saved_folder`): $SCORECARD_PATCHES,
    a folder every app server and the build can write when the analytics file is read-only to them; else
    None, a folder beside the analytics file."""
    value = os.environ.get("SCORECARD_PATCHES")
    return Path(value) if value else None


def state_location() -> str:
    """App state: $SCORECARD_STATE, a SQLite file path (default data/state.sqlite) or a postgresql:// URL."""
    return os.environ.get("SCORECARD_STATE", DEFAULT_STATE)


def state_timeout() -> float:
    """Seconds app state waits for a lock or a connection before a request is told it is unavailable
    ($SCORECARD_STATE_TIMEOUT, default 15)."""
    return float(os.environ.get("SCORECARD_STATE_TIMEOUT") or 15)


def slow_build_seconds() -> float:
    """Tests only: a pause between build steps, so a test can kill a build half-way ($SCORECARD_SLOW_BUILD_FOR_TESTS)."""
    return float(os.environ.get("SCORECARD_SLOW_BUILD_FOR_TESTS") or 0)


def build_memory_mb() -> int:
    """DuckDB's memory limit for a build in MB: $SCORECARD_BUILD_MEMORY_MB, else 2,500 (README, *Performance*).

    2,500 MB keeps a 1,000,000-case build within 4 GiB for the whole process; a larger source on a
    larger budget (10,000,000 cases within 8 GiB) spills less with a higher limit.
    """
    return int(os.environ.get("SCORECARD_BUILD_MEMORY_MB") or 2500)
