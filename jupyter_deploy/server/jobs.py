"""Background jobs (a check or a deploy of one notebook), each in its own worker process.

The server never runs a clean re-run or a deploy in its own process: a job is a subprocess
(:mod:`jupyter_deploy.server.worker`) in its own process group, whose JSON-lines stdout is read
on the event loop without blocking it. One job at a time per notebook; finished jobs are kept in
memory (the newest ``max_finished``) so the sidebar can still read them after a reload.

Cancelling sends the worker SIGTERM: it stops at once, or after the hand-off in progress, cleans
up (kernels, its temp folder) and reports what was handed off. Only a worker still alive after
``stop_grace`` seconds is killed with SIGKILL, its process group and descendants with it. A job's
final JSON then says, in ``handoff``, whether anything was handed off (``handed_off`` true, false,
or null when a killed worker could no longer say), where, and that it was not verified.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections import OrderedDict, deque
from typing import Any, Optional

from ..errors import DeployError, NotebookInvalid, NotebookNotFound, PathNotAllowed, UsageError

ACTIONS = ("check", "deploy")
#: progress stages after which a deploy may have handed something off
HANDOFF_STAGES = ("publish", "verify")
ACTIVE = ("queued", "running")
LOG_LINES = 500


_STOPPING = {"code": "cancelled", "message": "The job is being cancelled.",
             "hint": "Its final state says what was handed off, if anything."}


class JobConflict(DeployError):
    code = "job-running"
    status = 409


class JobNotFound(DeployError):
    code = "job-not-found"
    status = 404


def resolve_notebook(root_dir: str, path: Any, *, must_exist: bool = True) -> str:
    """The absolute, real path of ``path`` (contents-API style, relative to ``root_dir``).

    Refuses anything that leaves the root: absolute paths, ``..`` that climbs out, symlinks
    that point outside. Raises PathNotAllowed (403), NotebookNotFound (404), NotebookInvalid.
    """
    if not isinstance(path, str) or not path.strip():
        raise UsageError(
            "No notebook path given.",
            hint="Pass the notebook's path relative to the server's root, e.g. 'work/a.ipynb'.",
        )
    raw = path.strip()
    if raw.startswith(("/", "\\", "~")) or os.path.isabs(raw) or (len(raw) > 1 and raw[1] == ":"):
        raise PathNotAllowed(
            f"The path {raw!r} is absolute; only paths inside the server's root are allowed.",
            hint="Give the notebook's path relative to the folder JupyterLab was started in.",
        )
    if "\0" in raw:
        raise PathNotAllowed("The path contains a NUL byte.", hint="Give a plain relative path.")
    root = os.path.realpath(root_dir)
    full = os.path.realpath(os.path.join(root, *raw.replace("\\", "/").split("/")))
    if full != root and not full.startswith(root.rstrip(os.sep) + os.sep):
        raise PathNotAllowed(
            f"The path {raw!r} is outside the server's root folder.",
            hint="Open a notebook inside the folder JupyterLab was started in "
            "(links that point outside it are refused too).",
        )
    if must_exist:
        if not os.path.exists(full):
            raise NotebookNotFound(
                f"Notebook not found: {raw}",
                hint="Save the notebook first, or check that it was not moved or renamed.",
            )
        if os.path.isdir(full):
            raise NotebookInvalid(f"{raw} is a folder, not a notebook.", hint="Give an .ipynb file.")
    return full


class Job:
    def __init__(self, spec: dict, notebook: str, magic: str):
        self.id = uuid.uuid4().hex[:12]
        self.action: str = spec["action"]
        self.path: str = spec["path"]
        self.notebook = notebook
        self.target: Optional[str] = spec.get("target")
        self.options: dict = spec.get("options") or {}
        self.to: Optional[str] = spec.get("to") or None
        self.force = bool(spec.get("force"))
        # the check's options by trait name ({"runs": 2, "use_cache": false, "kernel": ...})
        self.check_options: dict = dict(spec.get("check_options") or {})
        self.runs = int(self.check_options.get("runs") or 1)
        self.no_cache = self.check_options.get("use_cache") is False
        self.magic = magic
        self.state = "queued"
        self.progress = {"stage": "queued", "done": 0, "total": 0, "message": "waiting to start"}
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self.result: Any = None
        self.error: Optional[dict] = None
        self.status: Optional[int] = None
        self.created = time.time()
        self.started: Optional[float] = None
        self.finished: Optional[float] = None
        self.proc: Optional[asyncio.subprocess.Process] = None
        self.handoff: Optional[dict] = None  # for a cancelled or failed deploy: what was handed off
        self.kill_timer: Optional[asyncio.TimerHandle] = None
        self.task: Optional[asyncio.Task] = None
        self.done_event = asyncio.Event()

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def worker_spec(self) -> dict:
        return {
            "action": self.action,
            "notebook": self.notebook,
            "target": self.target,
            "options": self.options,
            "to": self.to,
            "force": self.force,
            "check_options": self.check_options,
        }

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "action": self.action,
            "path": self.path,
            "target": self.target,
            "options": self.options,
            "to": self.to,
            "force": self.force,
            "state": self.state,
            "progress": dict(self.progress),
            "log": list(self.log),
            "result": self.result,
            "error": self.error,
            "handoff": self.handoff,
            "magic": self.magic,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
        }

    def summary(self) -> dict:
        out = self.to_json()
        out.pop("log")
        out.pop("result")
        return out


def _check_options(body: dict) -> dict:
    """The check's options of a job request: ``check_options`` by trait name (the ``check``
    schema of ``GET /jupyter-deploy/targets``), plus the older ``runs`` and ``no_cache`` fields.
    Unknown names and wrong types are a 400; runs is bounded to 1..5 here."""
    from ..options import validate_check_options

    given = body.get("check_options") or {}
    if not isinstance(given, dict):
        raise UsageError("check_options must be a JSON object.", hint='For example {"runs": 2}.')
    given = dict(given)
    if body.get("runs") is not None:
        given.setdefault("runs", body.get("runs"))
    if body.get("no_cache"):
        given.setdefault("use_cache", False)
    runs = given.get("runs", 1)
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1 or runs > 5:
        raise UsageError("runs must be an integer from 1 to 5.", hint="Use 1, or 2 to separate "
                         "nondeterminism from hidden state.")
    return validate_check_options(given)


class JobManager:
    def __init__(self, root_dir: str, log=None, max_finished: int = 50, stop_grace: float = 10.0):
        self.root_dir = root_dir
        self.log = log
        self.max_finished = max_finished
        self.stop_grace = stop_grace  # seconds a cancelled worker has to clean up
        self.jobs: "OrderedDict[str, Job]" = OrderedDict()

    # ---------------------------------------------------------------- starting and reading

    def validate(self, body: Any) -> tuple[dict, str, str]:
        if not isinstance(body, dict):
            raise UsageError("The request body must be a JSON object.", hint="See the REST docs.")
        action = body.get("action")
        if action not in ACTIONS:
            raise UsageError(
                f"Unknown action {action!r}.", hint="Use \"check\" or \"deploy\"."
            )
        notebook = resolve_notebook(self.root_dir, body.get("path"))
        options = body.get("options") or {}
        if not isinstance(options, dict):
            raise UsageError("options must be a JSON object.", hint='For example {"name": "churn"}.')
        check_options = _check_options(body)
        to = body.get("to")
        if to is not None and not isinstance(to, str):
            raise UsageError("to must be a string or null.", hint="For example a folder path or URL.")
        spec = dict(body, options=options, check_options=check_options, to=to or None)
        if action == "deploy":
            target = body.get("target")
            if not isinstance(target, str) or not target:
                raise UsageError("A deploy needs a target.", hint="For example \"model\" or \"report\".")
            from .. import api

            # unknown plugin -> 404, broken -> 500, unknown options or wrong types -> 400
            api.validate_options(target, options, to or None)
            try:
                magic = api.magic_line(target, options, to or None)
            except (TypeError, AttributeError, ValueError) as exc:
                raise UsageError(
                    f"Invalid option values for {target}: {exc}",
                    hint="Lists must be JSON arrays and key=value options JSON objects.",
                ) from exc
            if spec.get("force"):
                magic += " --force"
        else:
            from ..options import check_line

            spec["target"] = None
            magic = check_line(check_options)
        return spec, notebook, magic

    def running_on(self, notebook: str) -> Optional[Job]:
        for job in self.jobs.values():
            # a cancelled job whose worker is still cleaning up still holds the notebook
            if job.notebook == notebook and (job.active or job.finished is None):
                return job
        return None

    def start(self, body: Any) -> Job:
        return self.start_validated(*self.validate(body))

    def start_validated(self, spec: dict, notebook: str, magic: str) -> Job:
        busy = self.running_on(notebook)
        if busy is not None:
            raise JobConflict(
                f"A {busy.action} is already running on {spec['path']} (job {busy.id}).",
                hint="Wait for it to finish, or cancel it first.",
                job=busy.id,
            )
        job = Job(spec, notebook, magic)
        self.jobs[job.id] = job
        self._prune()
        job.task = asyncio.ensure_future(self._run(job))
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFound(
                f"No job {job_id!r}.",
                hint="Finished jobs are kept only while the server runs; start it again.",
            )
        return job

    def list(self) -> list[Job]:
        return list(reversed(self.jobs.values()))

    def _prune(self) -> None:
        finished = [j for j in self.jobs.values() if not j.active]
        for job in finished[: max(0, len(finished) - self.max_finished)]:
            self.jobs.pop(job.id, None)

    # ------------------------------------------------------------------------- running

    async def _run(self, job: Job) -> None:
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        try:
            job.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "jupyter_deploy.server.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=os.path.dirname(job.notebook),
                env=env,
                start_new_session=True,
                limit=64 * 1024 * 1024,  # a result line can be large (findings, diffs)
            )
        except OSError as exc:
            self._finish(job, "failed", error={
                "code": "internal",
                "message": f"Could not start the job's worker: {exc}",
                "hint": "Check that the server's Python can run jupyter_deploy.",
            }, status=500)
            return
        if job.state == "cancelled":  # cancelled while starting
            self._kill(job)
        else:
            job.state = "running"
            job.started = time.time()
            job.progress = {"stage": "starting", "done": 0, "total": 0,
                            "message": f"starting the {job.action}"}
        try:
            job.proc.stdin.write(json.dumps(job.worker_spec()).encode())
            await job.proc.stdin.drain()
            job.proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass
        await asyncio.gather(self._read_events(job), self._read_log(job))
        rc = await job.proc.wait()
        if job.kill_timer is not None:
            job.kill_timer.cancel()
        await self._after_worker(job)
        if job.state == "cancelled":
            self._finish_cancelled(job, rc)
        elif job.error is not None:
            self._finish(job, "failed")
        elif job.result is not None or rc == 0:
            self._finish(job, "done")
        else:
            tail = " | ".join(list(job.log)[-3:])
            job.handoff = self._guess_handoff(job)
            said = ""
            if job.handoff is not None and job.handoff["handed_off"] is None:
                said = f" It stopped during {job.handoff['stage']}: the hand-off may be partial."
            self._finish(job, "failed", error={
                "code": "internal",
                "message": f"The job's worker stopped unexpectedly (exit code {rc})." + said
                + (f" Last log lines: {tail}" if tail else ""),
                "hint": "See the job's log; if it is not your notebook's fault, please report it.",
            }, status=500)

    async def _after_worker(self, job: Job) -> None:
        """End what a dead worker left (its process group) and sweep its temp folder."""
        try:
            os.killpg(job.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            from .. import tmp

            await asyncio.get_running_loop().run_in_executor(None, tmp.sweep)
        except Exception:  # noqa: BLE001 - a sweep never fails a job
            pass

    def _guess_handoff(self, job: Job) -> Optional[dict]:
        """What a deploy whose worker could not report had handed off, from its last stage."""
        if job.action != "deploy":
            return None
        stage = job.progress.get("stage") or "queued"
        if stage in HANDOFF_STAGES:
            return {"handed_off": None, "verified": False, "stage": stage}
        return {"handed_off": False, "verified": False, "stage": stage}

    def _finish_cancelled(self, job: Job, rc) -> None:
        error = job.error if isinstance(job.error, dict) else {}
        if rc == 0 and job.result is not None:
            job.error = None  # it finished before the cancel reached it: that is the truth
            job.log.append("the job finished before the cancel reached it")
            self._finish(job, "done")
            return
        if error.get("code") == "cancelled" and error.get("message") != _STOPPING["message"]:
            # the worker stopped in order and said what it had done
            details = error.get("details")
            if isinstance(details, dict) and "handed_off" in details:
                job.handoff = {k: details[k] for k in ("handed_off", "verified", "stage",
                                                       "destination", "url", "version",
                                                       "record_id") if k in details}
            elif job.action == "deploy":  # stopped before the deploy itself began
                job.handoff = {"handed_off": False, "verified": False,
                               "stage": job.progress.get("stage") or "queued"}
            self._finish(job, "cancelled")
            return
        handoff = self._guess_handoff(job)
        job.handoff = handoff
        if handoff is None:
            error = {"code": "cancelled", "message": "The check was cancelled.",
                     "hint": "Nothing was handed off; start it again when you are ready."}
        elif handoff["handed_off"] is False:
            error = {"code": "cancelled",
                     "message": f"The deploy was cancelled during {handoff['stage']}; nothing "
                     "was handed off.", "hint": "Start it again when you are ready."}
        else:
            error = {"code": "cancelled",
                     "message": f"The deploy was cancelled during {handoff['stage']} and its "
                     f"worker had to be killed: the hand-off may be partial and is not verified.",
                     "hint": "Look at the destination, and deploy again to prove it."}
        error["details"] = dict(handoff or {})
        job.error = error
        self._finish(job, "cancelled")

    async def _read_events(self, job: Job) -> None:
        stream = job.proc.stdout
        while True:
            line = await stream.readline()
            if not line:
                return
            try:
                event = json.loads(line)
            except ValueError:
                job.log.append(line.decode("utf-8", "replace").rstrip())
                continue
            kind = event.pop("event", None) if isinstance(event, dict) else None
            if kind == "progress":
                job.progress = {
                    "stage": event.get("stage", ""),
                    "done": event.get("done", 0),
                    "total": event.get("total", 0),
                    "message": event.get("message", ""),
                }
                if event.get("message"):
                    job.log.append(f"[{event.get('stage', '')}] {event['message']}")
            elif kind == "result":
                job.result = event.get("result")
            elif kind == "error":
                job.error = event.get("error") or {"code": "internal", "message": "unknown error",
                                                   "hint": ""}
                job.status = event.get("status")
                details = job.error.get("details") if isinstance(job.error, dict) else None
                if isinstance(details, dict) and "result" in details:
                    job.result = details["result"]  # a deploy whose proof failed still has one
            else:
                job.log.append(line.decode("utf-8", "replace").rstrip())

    async def _read_log(self, job: Job) -> None:
        stream = job.proc.stderr
        while True:
            line = await stream.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                job.log.append(text)

    def _finish(self, job: Job, state: str, error: Optional[dict] = None, status=None) -> None:
        if error is not None:
            job.error = error
            job.status = status
        job.state = state
        job.finished = time.time()
        if state == "done":
            job.progress = dict(job.progress, stage="done", message="finished")
        elif state == "cancelled":
            job.progress = dict(job.progress, stage="cancelled", message="cancelled")
        job.done_event.set()
        self._prune()

    # ------------------------------------------------------------------------ cancelling

    def _stop(self, job: Job) -> None:
        """SIGTERM to the worker (it cleans up), SIGKILL after the grace period."""
        proc = job.proc
        if proc is None or proc.returncode is not None:
            return
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (server shutting down): no grace
            self._kill(job)
            return
        job.kill_timer = loop.call_later(self.stop_grace, self._kill, job)

    def _kill(self, job: Job) -> None:
        proc = job.proc
        if proc is None or proc.returncode is not None:
            return
        try:
            import psutil

            children = psutil.Process(proc.pid).children(recursive=True)
        except Exception:  # noqa: BLE001 - the process may be gone already
            children = []
        for child in children:  # kernels run in their own sessions: end them by pid
            try:
                child.kill()
            except Exception:  # noqa: BLE001
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        if not job.active:
            return job
        job.state = "cancelled"
        job.error = dict(_STOPPING)
        job.log.append("cancelled by the user")
        self._stop(job)  # not started yet: _run sees the state
        return job

    def shutdown(self, grace: float = 5.0) -> None:
        """Stop every worker (the server is exiting): SIGTERM, then SIGKILL after ``grace``."""
        stopping = []
        for job in list(self.jobs.values()):
            if job.active and job.proc is not None and job.proc.returncode is None:
                job.state = "cancelled"
                try:
                    os.kill(job.proc.pid, signal.SIGTERM)
                    stopping.append(job)
                except (ProcessLookupError, PermissionError):
                    pass
        deadline = time.monotonic() + grace
        for job in stopping:
            try:
                import psutil

                psutil.Process(job.proc.pid).wait(max(0.1, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - gone already, or still there: killed below
                pass
            self._kill(job)
