"""The documented deployment is the tested one: deploy/nginx.conf (for deploy/compose.yaml) is the
output of the same function that configures the local cluster the replica test runs, and that
configuration is valid for Debian's nginx."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.local import NGINX, compose_nginx_conf, nginx_conf

ROOT = Path(__file__).resolve().parent.parent


def test_the_compose_nginx_conf_is_the_generated_one():
    assert (ROOT / "deploy" / "nginx.conf").read_text() == compose_nginx_conf(), (
        "regenerate it: python -m deploy.local --write-nginx-conf deploy/nginx.conf"
    )


def test_the_cluster_nginx_conf_is_valid(tmp_path):
    if not NGINX.exists():
        pytest.skip(f"{NGINX} not installed (make nginx-deps)")
    conf = tmp_path / "nginx.conf"
    replicas = {"r1": "127.0.0.1:2", "r2": "127.0.0.1:3", "r3": "127.0.0.1:4"}
    conf.write_text(nginx_conf("127.0.0.1:1", replicas, tmp_path))
    done = subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "33.33% r1;" in conf.read_text() and "* r3;" in conf.read_text()
