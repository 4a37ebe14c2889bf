"""Helpers shared by the test modules (import with ``from jdtest import ...``)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(available: bool, what: str, install: str) -> None:
    """Skip on a laptop, fail in CI, when ``what`` is missing."""
    if available:
        return
    message = f"{what} is not available: install it with `{install}`"
    if IN_CI:
        pytest.fail(message + " (CI=true: nothing may skip)", pytrace=False)
    pytest.skip(message)


def need_command(cmd: str, install: str) -> str:
    path = shutil.which(cmd)
    need(path is not None, cmd, install)
    return path


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_cli(*args, cwd=None, env=None, timeout=300):
    """Run ``jupyter deploy ...`` as a real subprocess; return CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [PYTHON, "-m", "jupyter_deploy", *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


def need_module(name: str, install: str | None = None):
    """Import a Python package the test needs: skip on a laptop without it, fail in CI."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        need(False, f"the Python package {name!r}", install or f"pip install {name}")


def in_threads(*calls, stagger: float = 0.0):
    """Run the calls in threads at once (``stagger`` seconds apart), wait for all and return
    their results in order; any exception fails the test."""
    import threading
    import time

    results, errors = [None] * len(calls), []

    def run(i, fn):
        try:
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = []
    for i, fn in enumerate(calls):
        threads.append(threading.Thread(target=run, args=(i, fn)))
        threads[-1].start()
        time.sleep(stagger)
    for t in threads:
        t.join(300)
    assert not errors, errors
    return results
