"""REST handlers under ``/jupyter-deploy/``: every one authenticated, JSON in and out.

Errors are ``{"code", "message", "hint"}`` with the DeployError's HTTP status; anything else
is a 500 with code ``internal`` and a hint to report it. Bodies are streamed: one larger than
``c.DeployServer.max_body_size`` is answered 413 from its Content-Length before it is read (or,
when chunked, as soon as it grows past the limit, keeping none of it); malformed or too deeply
nested JSON is a 400. Destinations are confined (see :mod:`jupyter_deploy.server.settings`).
"""

from __future__ import annotations

import functools
import json
import traceback

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado.ioloop import IOLoop

from .._version import __version__
from ..errors import DeployError, UsageError
from .files import DeployedFileHandler, open_action
from .jobs import JobManager, resolve_notebook
from .settings import DeployServer, confine_request

AUTH_RESOURCE = "jupyter_deploy"
INTERNAL_HINT = (
    "This is a bug in jupyter-deploy or one of its plugins: please report it, with the server's "
    "log."
)


def json_errors(method):
    """Answer DeployErrors as JSON with their status, and anything else as a 500."""

    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        try:
            return await method(self, *args, **kwargs)
        except tornado.web.HTTPError:
            raise
        except DeployError as exc:
            self.send_error_json(exc.status, exc.to_json())
        except Exception as exc:  # noqa: BLE001 - reported as an internal error
            self.log.error("jupyter-deploy: %s\n%s", exc, traceback.format_exc())
            self.send_error_json(
                500,
                {"code": "internal", "message": f"{type(exc).__name__}: {exc}",
                 "hint": INTERNAL_HINT},
            )

    return wrapper


class BodyTooLarge(DeployError):
    code = "body-too-large"
    status = 413


def json_depth(value) -> int:
    """How deeply arrays and objects nest in ``value`` (iterative: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children)
    return deepest


@tornado.web.stream_request_body
class DeployHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def server_settings(self) -> DeployServer:
        conf = self.settings.get("jupyter_deploy_server")
        if conf is None:
            conf = self.settings["jupyter_deploy_server"] = DeployServer()
        return conf

    async def prepare(self):
        self._body_parts: list[bytes] = []
        self._body_size = 0
        self._too_large = False
        await super().prepare()
        if self._finished:
            return
        limit = self.server_settings.max_body_size
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                too_large = int(length) > limit
            except ValueError:
                too_large = False  # tornado itself refuses a malformed Content-Length
            if too_large:
                self._send_too_large(int(length))
                return
        # tornado's own cap (the server's max_body_size) stays as a second line for chunked
        # bodies; ours is checked as the chunks arrive.

    def _send_too_large(self, size) -> None:
        limit = self.server_settings.max_body_size
        err = BodyTooLarge(
            f"The request body is {size} bytes; this server accepts at most {limit}.",
            hint="Send a smaller request (options, not data: the notebook's objects are read on "
            "the server), or raise c.DeployServer.max_body_size.",
        )
        self.send_error_json(err.status, err.to_json())

    def data_received(self, chunk: bytes) -> None:
        if self._too_large:
            return  # counted, not kept
        self._body_size += len(chunk)
        if self._body_size > self.server_settings.max_body_size:
            self._too_large = True
            self._body_parts = []
            return
        self._body_parts.append(chunk)

    def body_bytes(self) -> bytes:
        if self._too_large:
            limit = self.server_settings.max_body_size
            raise BodyTooLarge(
                f"The request body is larger than this server accepts ({limit} bytes).",
                hint="Send a smaller request, or raise c.DeployServer.max_body_size.",
            )
        return b"".join(self._body_parts)

    @property
    def jobs(self) -> JobManager:
        return self.settings["jupyter_deploy_jobs"]

    @property
    def root_dir(self) -> str:
        return self.jobs.root_dir

    def send_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=str))

    def send_error_json(self, status: int, error: dict) -> None:
        error = dict(error)
        error.setdefault("hint", "")
        self.send_json(error, status)

    def body_json(self):
        body = self.body_bytes()
        if not body:
            return {}
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise UsageError(f"The request body is not JSON: {exc}", hint="Send a JSON object.")
        except RecursionError:
            data = None
            depth = None
        else:
            depth = json_depth(data)
        limit = self.server_settings.max_json_depth
        if depth is None or depth > limit:
            raise UsageError(
                f"The request body nests arrays and objects more than {limit} levels deep.",
                hint="Send a flat JSON object: action, path, target, options, to.",
            )
        return data

    def notebook_arg(self, must_exist: bool = True) -> str:
        return resolve_notebook(self.root_dir, self.get_query_argument("path", ""),
                                must_exist=must_exist)

    async def in_thread(self, fn, *args):
        return await IOLoop.current().run_in_executor(None, functools.partial(fn, *args))


class VersionHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self):
        self.send_json({"version": __version__})


def _targets_and_backends() -> dict:
    from .. import api

    t = api.targets()
    b = api.backends()
    return {"targets": t["targets"], "backends": b["backends"],
            "broken": t["broken"] + b["broken"], "check": api.check_schema()}


class TargetsHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self):
        self.send_json(await self.in_thread(_targets_and_backends))


class JobsHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self):
        self.send_json({"jobs": [job.summary() for job in self.jobs.list()]})

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def post(self):
        body = self.body_json()
        # validate() may import a target plugin (and its libraries): not on the event loop.
        spec, notebook, magic = await self.in_thread(self._validate, body)
        job = self.jobs.start_validated(spec, notebook, magic)
        self.set_header("Location", self.base_url.rstrip("/") + f"/jupyter-deploy/jobs/{job.id}")
        self.send_json(job.to_json(), 202)

    def _validate(self, body):
        from .. import api

        allowed = list(self.server_settings.allowed_destinations)
        spec, notebook, magic = self.jobs.validate(confine_request(body, self.root_dir, allowed))
        if spec.get("action") == "deploy":
            api.validate_destination(spec["target"], spec.get("to"))  # a bad scheme: 400 now
        return spec, notebook, magic


class JobHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, job_id):
        data = self.jobs.get(job_id).to_json()
        result = data.get("result")
        if data.get("action") == "deploy" and isinstance(result, dict):
            result["open"] = open_action(result, self.root_dir, self.base_url)
        self.send_json(data)

    @tornado.web.authenticated
    @authorized
    @json_errors
    async def delete(self, job_id):
        self.send_json(self.jobs.cancel(job_id).to_json())


class HistoryHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self):
        from .. import api

        notebook = self.notebook_arg(must_exist=False)
        raw = self.get_query_argument("limit", None)
        limit = None
        if raw not in (None, ""):
            try:
                limit = int(raw)
            except ValueError:
                limit = -1
            if limit < 1:
                raise UsageError(f"limit must be a positive whole number, not {raw!r}.",
                                 hint="For example ?limit=20, or leave it out for every record.")
        records = await self.in_thread(functools.partial(api.history, notebook, limit=limit))
        for rec in records:
            if rec.get("action") == "deploy":
                rec["open"] = open_action(rec, self.root_dir, self.base_url)
        self.send_json({"records": records})


class ObjectsHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self):
        from .. import api

        notebook = self.notebook_arg()
        self.send_json({"objects": await self.in_thread(api.objects, notebook)})


def handlers(base_url: str) -> list:
    from jupyter_server.utils import url_path_join

    prefix = url_path_join(base_url, "jupyter-deploy")
    return [
        (url_path_join(prefix, "version"), VersionHandler),
        (url_path_join(prefix, "targets"), TargetsHandler),
        (url_path_join(prefix, "jobs"), JobsHandler),
        (url_path_join(prefix, r"jobs/([0-9a-f]+)"), JobHandler),
        (url_path_join(prefix, "history"), HistoryHandler),
        (url_path_join(prefix, "objects"), ObjectsHandler),
        (url_path_join(prefix, "files"), DeployedFileHandler),
    ]
