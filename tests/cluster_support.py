"""The local cluster for the replica and load tests: replicas of the real app (tests/browser_support.py's
launcher, signed in through the test OpenID provider) behind Debian's nginx as `make cluster` runs it
(deploy/local.py), on one PostgreSQL state database and one analytics file."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.local import NGINX, free_port, start_nginx, stop, wait_http


@dataclass
class Cluster:
    url: str  # the proxy, http://localhost:PORT
    state: str  # the shared postgresql:// URL
    replicas: dict  # name -> AppURL


@contextmanager
def run_cluster(launcher, db: Path, state_url: str, folder: Path, replicas: int = 2):
    if not NGINX.exists():
        reason = f"{NGINX} not found (apt-get install -y nginx-light, or make nginx-deps)"
        if os.environ.get("SCORECARD_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    proxy = free_port()
    shared = {
        "redirect_uri": f"http://localhost:{proxy}/oauth2callback",  # the proxy's address, on every replica
        "cookie_secret": "cluster-" + secrets.token_hex(16),
    }
    apps = {f"r{i + 1}": launcher(db, state_url, auth_overrides=shared) for i in range(replicas)}
    proc = start_nginx(proxy, {name: url.port for name, url in apps.items()}, folder)
    try:
        wait_http(f"http://127.0.0.1:{proxy}/_stcore/health", proc=proc)
        yield Cluster(f"http://localhost:{proxy}", state_url, apps)
    finally:
        stop(proc)
