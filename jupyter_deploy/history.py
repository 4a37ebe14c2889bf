"""The deployment history: one JSON object per line, appended under a file lock.

Every check and every deployment appends a record; the CLI, the magics, the widget and the
sidebar all read it through :func:`jupyter_deploy.api.history`. Appends are a single ``write``
of one line under ``flock``, so concurrent processes never interleave records, and a reader
skips a torn last line rather than failing.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

FIELDS = (
    "id",  # unique id of the record
    "time",  # UTC ISO-8601
    "action",  # "check" or "deploy"
    "target",  # report | model | sql | container | None for a check
    "notebook",  # absolute path of the notebook
    "notebook_hash",  # content hash of the notebook
    "verdict",  # the check verdict the action relied on
    "destination",  # where it went (path, URL, registry version, view, image)
    "status",  # "ok" | "failed"
    "summary",  # one line for people
    "proofs",  # list of {"name", "ok", "detail"}
    "details",  # target-specific JSON
)


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class History:
    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)

    def append(self, record: dict) -> dict:
        rec = {key: record.get(key) for key in FIELDS}
        rec.update({k: v for k, v in record.items() if k not in rec})
        rec["id"] = rec.get("id") or uuid.uuid4().hex[:12]
        rec["time"] = rec.get("time") or now_utc()
        line = (json.dumps(rec, default=str, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a writer crashed mid-line: start a fresh line
            os.write(fd, line)
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return rec

    def records(
        self,
        notebook: str | os.PathLike | None = None,
        target: str | None = None,
        action: str | None = None,
        limit: int | None = None,
    ) -> list[dict]:
        """Records, newest first, optionally only for one notebook, target or action."""
        if not self.path.exists():
            return []
        nb = str(Path(notebook).resolve()) if notebook else None
        out = []
        with open(self.path, "rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue  # a torn line from a crash mid-append
                if nb and rec.get("notebook") != nb:
                    continue
                if target and rec.get("target") != target:
                    continue
                if action and rec.get("action") != action:
                    continue
                out.append(rec)
        out.reverse()
        return out[:limit] if limit else out
