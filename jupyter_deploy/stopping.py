"""Stopping a job cleanly: SIGTERM becomes a :class:`~jupyter_deploy.errors.Cancelled` raised in
the main thread, except inside a :func:`shielded` block (a hand-off), where it waits for the block
to end. So a stopped deploy knows whether it handed something off, and every ``finally`` (temp
folders, kernels) runs before the process exits.

Only processes the tool owns install the handler (:func:`install`, the server's job worker).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

from .errors import Cancelled

_depth = 0
_pending = False
_stopping = False


def stopping() -> bool:
    """Whether a stop was requested."""
    return _stopping


def _stop_now() -> Cancelled:
    return Cancelled("The job was cancelled.", hint="Start it again when you are ready.")


def request_stop(signum=None, frame=None) -> None:
    """The SIGTERM handler: raise Cancelled now, or when the current hand-off ends."""
    global _pending, _stopping
    if _stopping:
        return  # already unwinding: let the cleanup finish
    _stopping = True
    if _depth:
        _pending = True
        return
    raise _stop_now()


def install() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """A block that a stop request does not interrupt (it is raised when the block ends)."""
    global _depth, _pending
    _depth += 1
    try:
        yield
    except BaseException:
        _depth -= 1
        raise
    _depth -= 1
    if _depth == 0 and _pending:
        _pending = False
        raise _stop_now()
