"""Temporary work in one folder the tool owns, one subfolder per process, swept when stale.

Every temporary folder jupyter-deploy makes (a deploy's bundle, a check's sandbox, a proof's
virtual environment, Chromium's profile...) lives under ``<home>/tmp/`` (``home`` is
``DeployConfig.home``, i.e. ``$JUPYTER_DEPLOY_HOME`` or ``<jupyter data dir>/deploy``), in the
subfolder of the process that made it::

    <home>/tmp/<pid>-<process start time>-<host>-<random>/jupyter-deploy-XXXX/

The subfolder is removed when the work ends (:func:`session`'s exit, a worker's SIGTERM). A
process killed with SIGKILL cannot clean up: :func:`sweep` removes every subfolder whose owner
(pid *and* start time, so a reused pid does not protect it) is gone. ``<host>`` is a short hash
of the machine's name: a home shared between machines never has another machine's folders swept. It runs on the first deploy or
check of a process and when the server extension starts; never on import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Iterator, Optional

_lock = threading.RLock()
_current: Optional[Path] = None  # this process's subfolder, while a session is open
_depth = 0
_swept: set = set()  # roots already swept by this process
_saved_tempdir = None
_redirected = False


def root(home: Optional[os.PathLike] = None) -> Path:
    """``<home>/tmp``: the one folder that holds the tool's temporary work."""
    if home is None:
        from .config import deploy_config

        home = deploy_config().home_path
    return Path(home).expanduser() / "tmp"


def _start_time(pid: int) -> Optional[str]:
    """The process's start time (clock ticks since boot, Linux), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: split after the last ')'
    fields = data[data.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _host() -> str:
    import hashlib
    import socket

    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _own_name(suffix: str) -> str:
    return f"{os.getpid()}-{_start_time(os.getpid()) or '0'}-{_host()}-{suffix}"


def _owner_alive(name: str) -> bool:
    parts = name.split("-")
    if len(parts) < 4 or not parts[0].isdigit():
        return False  # not one of ours in the expected form: nobody owns it
    if parts[2] != _host():
        return True  # another machine's: it cannot be checked from here
    pid, started = int(parts[0]), parts[1]
    if pid == os.getpid():
        return started == (_start_time(pid) or "0")
    if os.path.isdir("/proc"):
        return _start_time(pid) == started
    try:  # pragma: no cover - without /proc only the pid can be checked
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(home: Optional[os.PathLike] = None) -> list[str]:
    """Remove the subfolders of processes that are gone; return their names."""
    base = root(home)
    removed = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        if _current is not None and entry.path == str(_current):
            continue
        if not _owner_alive(entry.name):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
            removed.append(entry.name)
    return removed


def sweep_once(home: Optional[os.PathLike] = None) -> None:
    base = str(root(home))
    with _lock:
        if base in _swept:
            return
        _swept.add(base)
    sweep(home)


@contextlib.contextmanager
def session(home: Optional[os.PathLike] = None, *, redirect: bool = False) -> Iterator[Path]:
    """This process's subfolder of the tool's temp folder, removed when the outermost session
    ends. Nested sessions share it. ``redirect`` also points Python's :mod:`tempfile` (and the
    ``TMPDIR`` that child processes inherit) at it, for processes the tool owns entirely (the
    server's job workers); never in a user's kernel, where it would capture the user's files."""
    global _current, _depth, _saved_tempdir, _redirected
    with _lock:
        if _current is None:
            sweep_once(home)
            base = root(home)
            base.mkdir(parents=True, exist_ok=True)
            _current = base / _own_name(uuid.uuid4().hex[:8])
            _current.mkdir(mode=0o700)
        _depth += 1
        folder = _current
        if redirect and not _redirected:
            _saved_tempdir = (tempfile.tempdir, os.environ.get("TMPDIR"))
            tempfile.tempdir = str(folder)
            os.environ["TMPDIR"] = str(folder)
            _redirected = True
    try:
        yield folder
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _redirected:
                    tempfile.tempdir, env = _saved_tempdir
                    if env is None:
                        os.environ.pop("TMPDIR", None)
                    else:
                        os.environ["TMPDIR"] = env
                    _redirected = False
                shutil.rmtree(folder, ignore_errors=True)
                with contextlib.suppress(OSError):  # leave no empty tmp/ behind either
                    folder.parent.rmdir()
                _current = None


def original_tmpdir(env: dict) -> dict:
    """Give ``env`` (a child's environment) the TMPDIR the process had before a redirect."""
    if _redirected and _saved_tempdir is not None:
        saved = _saved_tempdir[1]
        if saved is None:
            env.pop("TMPDIR", None)
        else:
            env["TMPDIR"] = saved
    return env


def current() -> Optional[Path]:
    """This process's subfolder, when a session is open."""
    return _current


def remove_current() -> None:
    """Remove this process's subfolder now (a worker that is being stopped)."""
    folder = _current
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def mkdtemp(prefix: str = "jupyter-deploy-", dir: Optional[os.PathLike] = None) -> str:
    """Like :func:`tempfile.mkdtemp`, inside this process's subfolder when a session is open.

    Outside a session (a library function called on its own) it goes under
    ``<home>/tmp/<pid>-<start>-<host>-static``, which :func:`sweep` removes once the process is gone."""
    if dir is not None:
        return tempfile.mkdtemp(prefix=prefix, dir=dir)
    folder = _current
    if folder is None:
        sweep_once()
        folder = root() / _own_name("static")
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return tempfile.mkdtemp(prefix=prefix, dir=folder)


@contextlib.contextmanager
def temporary_directory(prefix: str = "jupyter-deploy-") -> Iterator[str]:
    """Like :class:`tempfile.TemporaryDirectory`, inside the tool's temp folder."""
    path = mkdtemp(prefix=prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def mkstemp(prefix: str = "jupyter-deploy-", suffix: str = "") -> tuple[int, str]:
    """Like :func:`tempfile.mkstemp`, inside the tool's temp folder."""
    folder = _current
    if folder is None:
        folder = Path(mkdtemp(prefix="files-")).parent
    return tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
