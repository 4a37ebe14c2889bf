"""Fixtures for the sql area: a throwaway JUPYTER_DEPLOY_HOME and a real PostgreSQL 15 server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def need(what: str, install: str):
    """Skip outside CI; under CI=true a missing tool is a failure naming what to install."""
    from jdtest import need as _need

    _need(False, what, install)


@pytest.fixture(autouse=True)
def _deploy_home(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_DEPLOY_HOME", str(tmp_path / "deploy-home"))


def _pg_bin(name: str):
    for d in ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"):
        p = Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """postgresql://postgres@127.0.0.1:PORT/postgres of a server started for this session."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        need("PostgreSQL server binaries (initdb, pg_ctl)", "apt-get install postgresql")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        need("psycopg", "pip install 'psycopg[binary]'")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="jd-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    if as_pg:
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    subprocess.run(as_pg + [initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"],
                   check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} -c jit=off -c fsync=off"
    subprocess.run(as_pg + [pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start"],
                   check=True, capture_output=True)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        for _ in range(50):
            try:
                psycopg.connect(url).close()
                break
            except Exception:
                time.sleep(0.1)
        yield url
    finally:
        subprocess.run(as_pg + [pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
