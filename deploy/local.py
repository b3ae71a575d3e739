"""A local cluster: PostgreSQL app state, N Streamlit replicas, Debian's nginx in front with sticky sessions.

`make cluster` runs `python -m deploy.local`; the replica tests (tests/test_cluster.py) start the same
pieces through the same functions, so what is documented is what is tested. Everything listens on
127.0.0.1 only. As root, PostgreSQL runs as the `postgres` user (initdb refuses root).

Sticky sessions without nginx Plus: a visitor without a `scorecard_replica` cookie is given a replica
at random (`split_clients` on the request id) and the cookie naming it; every later request -- the
page's assets, its websocket, the sign-in callback -- goes to that replica. Nothing in the app
depends on it beyond keeping one websocket session on one process: state is in PostgreSQL and the
analytics file is shared read-only, so a visitor moved to another replica (one stopped, or the cookie
lost) signs in again and sees the same figures and letters.
"""

from __future__ import annotations

import argparse
import glob
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGINX = Path(os.environ.get("SCORECARD_NGINX", "/usr/sbin/nginx"))
COOKIE = "scorecard_replica"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Until `url` answers 200 (or raise, with the process's exit if it died)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.1)


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Stop a process this module started (its own process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries here ($SCORECARD_PG_BIN overrides), if any."""
    if os.environ.get("SCORECARD_PG_BIN"):
        return Path(os.environ["SCORECARD_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """A throw-away PostgreSQL cluster in a temporary folder, on 127.0.0.1:port, trust authentication
    (only this machine can reach it); `remove()` stops it and deletes the folder."""

    def __init__(self, bindir: Path, port: int | None = None):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="scorecard-pg-"))
        self.data = self.folder / "data"
        self.port = port or free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        self._names = itertools.count(1)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.folder} -h 127.0.0.1 -c fsync=off -c max_connections=200",
            "start",
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        import psycopg

        name = name or f"state_{next(self._names)}"
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


# --- nginx -------------------------------------------------------------------------------------


def nginx_conf(listen: str, replicas: Mapping[str, str], folder: Path | None = None) -> str:
    """nginx.conf for `replicas` ({name: "host:port"}) behind `listen`, sticky by the replica cookie.

    With `folder` (the local cluster) the pid file, logs and temporary files go there; without it
    (deploy/nginx.conf, for the compose file) nginx's own defaults apply and logs go to the console.
    """
    names = list(replicas)
    share = f"{100 / len(names):.2f}".rstrip("0").rstrip(".")
    split = "".join(f"        {share}% {n};\n" for n in names[:-1]) + f"        * {names[-1]};\n"
    known = "".join(f"        {n} {n};\n" for n in names)
    upstreams = "".join(f"    upstream {n} {{ server {address}; keepalive 16; }}\n" for n, address in replicas.items())
    if folder is None:
        head, paths = "error_log /dev/stderr warn;\n", "    access_log /dev/stdout;\n"
    else:
        head = (
            "user root root;\n" if os.geteuid() == 0 else ""
        ) + f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
        paths = f"    access_log {folder}/access.log;\n" + "".join(
            f"    {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
    return f"""# written by deploy/local.py (nginx_conf): edit that function, not this output
{head}worker_processes 1;
events {{ worker_connections 1024; }}
http {{
{paths}    client_max_body_size 200m;  # extract uploads (Streamlit's server.maxUploadSize)

    # Sticky sessions: a new visitor gets a replica at random and a cookie naming it.
    split_clients "${{request_id}}" $fresh_replica {{
{split}    }}
    map $cookie_{COOKIE} $replica {{
{known}        default $fresh_replica;
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
{upstreams}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://$replica;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;          # Streamlit checks the websocket's origin against it
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;                     # a Streamlit session is one long websocket
            proxy_buffering off;
            add_header Set-Cookie "{COOKIE}=$replica; Path=/; HttpOnly; SameSite=Lax" always;
            add_header X-Scorecard-Replica $replica always;
        }}
    }}
}}
"""


def compose_nginx_conf() -> str:
    """deploy/nginx.conf: the compose file's two replicas (app1, app2) behind port 80."""
    return nginx_conf("80", {"r1": "app1:8501", "r2": "app2:8501"})


def start_nginx(port: int, replicas: Mapping[str, int], folder: Path) -> subprocess.Popen:
    """Debian's nginx in the foreground (its own process group) with the cluster's configuration."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(nginx_conf(f"127.0.0.1:{port}", {n: f"127.0.0.1:{p}" for n, p in replicas.items()}, folder))
    check = subprocess.run(
        [str(NGINX), "-t", "-q", "-p", str(folder), "-c", str(conf)], capture_output=True, text=True, check=False
    )
    if check.returncode:
        raise RuntimeError(f"nginx rejected {conf}: {check.stderr}")
    proc = subprocess.Popen(
        [str(NGINX), "-p", str(folder), "-c", str(conf), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "stderr.log", "w"),
        start_new_session=True,
    )  # noqa: SIM115
    return proc


# --- the replicas ------------------------------------------------------------------------------


def start_replica(
    port: int,
    db: Path,
    state: str,
    log: Path,
    *,
    secrets_file: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen:
    """One `streamlit run app.py` on 127.0.0.1:`port` reading `db` and keeping state at `state`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env.update(SCORECARD_DB=str(db), SCORECARD_STATE=state, PYTHONUNBUFFERED="1", **dict(extra_env or {}))
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    if secrets_file is not None:
        cmd += ["--secrets.files", str(secrets_file)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=open(log, "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--port", type=int, default=8500, help="nginx listens on 127.0.0.1:PORT")
    parser.add_argument("--db", type=Path, default=Path(os.environ.get("SCORECARD_DB", "data/scorecard.duckdb")))
    parser.add_argument(
        "--write-nginx-conf", type=Path, metavar="FILE", help="write the compose file's nginx.conf to FILE and exit"
    )
    args = parser.parse_args(argv)
    if args.write_nginx_conf:
        args.write_nginx_conf.write_text(compose_nginx_conf())
        return 0
    state = os.environ.get("SCORECARD_STATE", "")
    work = Path(tempfile.mkdtemp(prefix="scorecard-cluster-"))
    procs: list[subprocess.Popen] = []
    pg = None
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background, where SIGINT is ignored
        signal.signal(sig, lambda *_: done.set())
    try:
        if not state.startswith(("postgresql://", "postgres://")):
            bindir = postgres_bin()
            if bindir is None:
                print("PostgreSQL server binaries not found: make pg-deps", file=sys.stderr)
                return 2
            pg = PostgresServer(bindir)
            pg.start()
            state = pg.create_database("scorecard")
            print(f"app state: {state} (throw-away, in {pg.folder})")
        replicas = {f"r{i + 1}": free_port() for i in range(args.replicas)}
        for name, port in replicas.items():
            procs.append(start_replica(port, args.db.resolve(), state, work / f"{name}.log"))
        for (name, port), proc in zip(replicas.items(), procs, strict=True):
            wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc=proc)
            print(f"replica {name}: http://127.0.0.1:{port} (log {work / f'{name}.log'})")
        procs.append(start_nginx(args.port, replicas, work / "nginx"))
        wait_http(f"http://127.0.0.1:{args.port}/_stcore/health", proc=procs[-1])
        print(f"Scorecard: http://localhost:{args.port} (nginx, sticky by the {COOKIE} cookie). Ctrl-C stops.")
        while not done.wait(1.0):
            if dead := [name for name, proc in zip(replicas, procs, strict=False) if proc.poll() is not None]:
                print(f"replica {', '.join(dead)} stopped: see its log; stopping the cluster", file=sys.stderr)
                return 1
        return 0
    finally:
        for proc in reversed(procs):
            stop(proc)
        if pg is not None:
            pg.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
