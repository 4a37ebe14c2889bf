"""One progress channel that every front end listens to.

Long work (a clean re-run, a build, an upload) reports :class:`Progress` events to a single
callable. The magic draws a progress bar from them, the widget a ``FloatProgress``, the server
turns them into job status, the CLI prints them to stderr. ``cancel`` is checked between steps.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional


@dataclass
class Progress:
    stage: str  # "lint", "run", "compare", "build", "publish", "verify", ...
    done: int = 0
    total: int = 0
    message: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def fraction(self) -> float:
        return (self.done / self.total) if self.total else 0.0


ProgressCallback = Callable[[Progress], None]


class Reporter:
    """Wraps an optional user callback and an optional cancel event.

    Every piece of the core takes a ``Reporter`` rather than a bare callback, so that callbacks
    that raise never break a deploy and cancellation is checked the same way everywhere.
    """

    def __init__(
        self,
        callback: Optional[ProgressCallback] = None,
        cancel: Optional[threading.Event] = None,
    ):
        self.callback = callback
        self.cancel_event = cancel
        self.log: list[str] = []

    def __call__(self, stage: str, done: int = 0, total: int = 0, message: str = "", **extra):
        event = Progress(stage=stage, done=done, total=total, message=message, extra=extra)
        if message:
            self.log.append(f"[{stage}] {message}")
        if self.callback is not None:
            try:
                self.callback(event)
            except Exception:  # a broken progress display must never break a deploy
                pass
        self.check_cancelled()

    def check_cancelled(self):
        if self.cancel_event is not None and self.cancel_event.is_set():
            from .errors import Cancelled

            raise Cancelled("The job was cancelled.", hint="Nothing was handed off.")

    @property
    def cancelled(self) -> bool:
        return self.cancel_event is not None and self.cancel_event.is_set()


def as_reporter(progress=None, cancel=None) -> Reporter:
    if isinstance(progress, Reporter):
        return progress
    return Reporter(progress, cancel)
