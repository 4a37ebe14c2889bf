"""One background job of the server extension, run in its own process.

The server starts ``python -m jupyter_deploy.server.worker`` with a JSON spec on stdin::

    {"action": "check" | "deploy", "notebook": "/abs/path.ipynb", "target": "model",
     "options": {...}, "to": null, "force": false, "check_options": {"runs": 1}}

and reads one JSON object per line from stdout::

    {"event": "progress", "stage": ..., "done": ..., "total": ..., "message": ...}
    {"event": "result", "result": {...}}
    {"event": "error", "status": 409, "error": {"code": ..., "message": ..., "hint": ...}}

Anything else the job prints (the notebook's kernel, libraries, warnings) is sent to stderr,
which the server keeps as the job's log. The worker runs in its own process group.

Stopping: SIGTERM (the server's cancel, or the server going away) raises ``Cancelled`` in the
job (a hand-off in progress finishes first, see :mod:`jupyter_deploy.stopping`), so every
clean-up runs: the kernels shut down, the job's temp folder (``<home>/tmp/<pid>-...``, where
Python's tempfile points for the worker's whole life) is removed, and the error event says what
was handed off. The server sends SIGKILL only when that takes longer than its grace period; a
worker killed that way leaves its temp folder to the next sweep.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback

INTERNAL_HINT = (
    "This is a bug in jupyter-deploy or one of its plugins: please report it with the job's log."
)


class _Events:
    """Writes one JSON line per event to the stream the server reads, whole lines only."""

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()

    def emit(self, event: str, **payload):
        line = json.dumps({"event": event, **payload}, default=str, ensure_ascii=False)
        with self.lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _watch_parent(parent: int) -> None:
    """Exit when the server that started us is gone (no orphaned clean runs)."""

    def loop():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()


def _kill_children() -> None:
    """End the kernels the job started: they run in their own sessions, not our group."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass


def run(spec: dict, events: _Events) -> int:
    from jupyter_deploy import api, tmp
    from jupyter_deploy.config import deploy_config
    from jupyter_deploy.errors import DeployError

    try:
        with tmp.session(deploy_config().home_path, redirect=True):
            try:
                return _run(spec, events, api)
            finally:
                _kill_children()
    except DeployError as exc:  # a stop that arrived outside the job itself
        events.emit("error", status=exc.status, error=exc.to_json())
        return 1
    except BaseException as exc:  # noqa: BLE001 - the temp folder could not be set up
        traceback.print_exc(file=sys.stderr)
        events.emit("error", status=500, error={
            "code": "internal", "message": f"{type(exc).__name__}: {exc}", "hint": INTERNAL_HINT})
        return 2


def _run(spec: dict, events: _Events, api) -> int:
    from jupyter_deploy.errors import DeployError

    def progress(event):
        data = event.to_json() if hasattr(event, "to_json") else dict(event)
        events.emit("progress", **data)

    try:
        action = spec.get("action")
        notebook = spec["notebook"]
        if action == "check":
            result = api.check(
                notebook,
                options=spec.get("check_options") or {},
                record=True,
                progress=progress,
            )
        elif action == "deploy":
            result = api.deploy(
                spec["target"],
                notebook,
                options=spec.get("options") or {},
                to=spec.get("to") or None,
                force=bool(spec.get("force")),
                progress=progress,
            )
        else:
            raise ValueError(f"unknown action {action!r}")
    except DeployError as exc:
        events.emit("error", status=exc.status, error=exc.to_json())
        return 1
    except BaseException as exc:  # noqa: BLE001 - reported to the user as an internal error
        traceback.print_exc(file=sys.stderr)
        events.emit(
            "error",
            status=500,
            error={
                "code": "internal",
                "message": f"{type(exc).__name__}: {exc}",
                "hint": INTERNAL_HINT,
            },
        )
        return 2
    events.emit("result", result=result)
    return 0


def main() -> int:
    from .._startup import skip_slow_optional_imports

    skip_slow_optional_imports()
    # Events go to the original stdout; everything else anyone prints goes to stderr.
    events = _Events(os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from jupyter_deploy import stopping
    from jupyter_deploy.errors import Cancelled

    stopping.install()
    _watch_parent(os.getppid())
    try:
        spec = json.loads(sys.stdin.read() or "{}")
    except Cancelled as exc:
        events.emit("error", status=exc.status, error=exc.to_json())
        return 1
    except ValueError as exc:
        events.emit(
            "error",
            status=500,
            error={"code": "internal", "message": f"bad job spec: {exc}", "hint": INTERNAL_HINT},
        )
        return 2
    return run(spec, events)


if __name__ == "__main__":
    sys.exit(main())
