"""Every process a clean run started is gone when the check ends, in whatever session it hid.

While a :class:`Reaper` is active, the checking process is a *child subreaper* (Linux
``prctl(PR_SET_CHILD_SUBREAPER)``): a process the notebook starts and abandons (a double fork, a
``Popen(..., start_new_session=True)`` outliving its kernel) is re-parented to us instead of to
init. After the kernel has shut down, :meth:`Reaper.collect` kills every child of ours that was not
there before (and everything below it), reaps it, and returns what it had to kill, for a
``left-processes`` finding. A process-group kill would miss the ones in their own session.

Several runs in one process (``api.check`` from threads, the widget checking in a thread of the
user's kernel while the user works on) must not take each other's processes, nor the host's: each
run's kernel gets its own ``JUPYTER_DEPLOY_RUN_ID`` in its environment, which every process it
starts inherits, and a run kills only the processes carrying its own id (with everything below
them). A new child without the id (the host's own ``Popen``, another run's kernel) is left alone
and never reaped, so its owner still reads its exit status. The subreaper flag is set by the first
active run of the process and cleared by the last.

What this cannot see: a process the notebook started with an emptied environment
(``env={}``) and left running in its own session; and an orphan of the run that exited before
the collection (a zombie shows no environment) stays a zombie until this process ends.

Elsewhere than Linux, or where prctl is refused, it does nothing (the finding is then not made).
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from typing import Iterable

PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
GRACE = 1.0  # seconds a leftover process has to exit by itself before it is killed
RUN_ENV = "JUPYTER_DEPLOY_RUN_ID"  # in the kernel's environment: which run a process belongs to

_lock = threading.Lock()
_active = 0  # runs of this process between __enter__ and __exit__
_was_subreaper = 0  # the flag as the first of them found it


def _prctl():
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def _get_subreaper(prctl) -> int:
    import ctypes

    value = ctypes.c_int(0)
    if prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) != 0:
        return 0
    return value.value


def _processes() -> dict:
    """pid -> (ppid, state, argv) of every process we can see in /proc."""
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read().decode("utf-8", "replace")
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) < 2:
            continue
        comm = stat[stat.find("(") + 1:stat.rfind(")")]
        out[int(name)] = (int(fields[1]), fields[0], argv or [f"[{comm}]"])
    return out


def run_id_of(pid: int) -> str | None:
    """The run id in a process's environment; None when it has none or cannot be read (a
    zombie, another user's process)."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:
        return None
    key = RUN_ENV.encode() + b"="
    for item in environ.split(b"\0"):
        if item.startswith(key):
            return item[len(key):].decode("ascii", "replace")
    return None


def children_of(pid: int, table: dict | None = None) -> set:
    table = _processes() if table is None else table
    return {p for p, (ppid, _, _) in table.items() if ppid == pid}


class Reaper:
    def __init__(self):
        self.me = os.getpid()
        self.before: set = set()
        self.active = False
        self.run_id = uuid.uuid4().hex  # give it to the kernel: env[RUN_ENV] = run_id
        self._ours: set = set()
        self._prctl = None

    def __enter__(self) -> "Reaper":
        global _active, _was_subreaper
        self.before = children_of(self.me)
        if not os.path.isdir("/proc"):
            return self
        with _lock:
            if _active:
                self.active = True  # the first run set the flag (or found it set)
            else:
                prctl = _prctl()
                if prctl is not None:
                    was = _get_subreaper(prctl)
                    if was or prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
                        self.active = True
                        self._prctl = prctl
                        _was_subreaper = was
            if self.active:
                _active += 1
        return self

    def __exit__(self, *exc) -> None:
        global _active
        if not self.active:
            return
        with _lock:
            _active -= 1
            if _active == 0 and not _was_subreaper:
                prctl = self._prctl or _prctl()
                if prctl is not None:
                    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        self._prctl = None

    def _strays(self, keep: set, table: dict) -> set:
        """New children of this process that belong to this run (they carry its id)."""
        return {p for p in children_of(self.me, table) - self.before - keep
                if p in self._ours or run_id_of(p) == self.run_id}

    def collect(self, keep: Iterable[int] = (), rounds: int = 20, grace: float = GRACE) -> list[dict]:
        """Kill and reap the processes the run left behind; return ``{pid, argv}`` of each one
        that was still running ``grace`` seconds after the kernel stopped (worker pools that
        notice their parent is gone, such as joblib's, exit by themselves in that time).
        ``keep``: pids that are not leftovers (the kernel itself)."""
        if not self.active:
            return []
        keep = {p for p in keep if p}
        self._ours = set()  # seen alive with this run's id: still ours once a zombie
        killed: dict = {}
        deadline = time.monotonic() + grace
        while True:
            table = _processes()
            strays = self._strays(keep, table)
            self._ours |= strays
            for pid in strays:
                if table[pid][1] == "Z":
                    _reap(pid)
            if not any(table[p][1] != "Z" for p in strays) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for _ in range(rounds):
            table = _processes()
            strays = self._strays(keep, table)
            self._ours |= strays
            if not strays:
                break
            family = set(strays)
            grew = True
            while grew:  # and everything below them
                below = {p for p, (ppid, _, _) in table.items() if ppid in family} - family
                family |= below
                grew = bool(below)
            for pid in family:
                _, state, argv = table.get(pid, (0, "Z", []))
                if state != "Z" and pid not in keep:
                    killed.setdefault(pid, {"pid": pid, "argv": argv})
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
            deadline = time.monotonic() + 2.0
            pending = set(strays)
            while pending and time.monotonic() < deadline:
                for pid in list(pending):
                    if _reap(pid):
                        pending.discard(pid)
                if pending:
                    time.sleep(0.01)
        return sorted(killed.values(), key=lambda p: p["pid"])


def _reap(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return bool(done)


def findings(killed: list[dict], finding) -> list:
    """A ``left-processes`` warning naming what had to be killed (``finding``: run.py's)."""
    if not killed:
        return []
    names = [f"{' '.join(p['argv'])[:80]} (pid {p['pid']})" for p in killed[:6]]
    more = f" and {len(killed) - 6} more" if len(killed) > 6 else ""
    return [finding(
        "left-processes", None,
        f"the run left {len(killed)} process(es) running after its kernel stopped, which the "
        f"check killed: {', '.join(names)}{more}",
        "Stop the processes the notebook starts (proc.terminate() and proc.wait(), or a with "
        "block): started in their own session, they outlive every run that does not kill them.",
        severity="warning", processes=killed,
    )]
