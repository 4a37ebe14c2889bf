"""REST handlers under ``/jupyter-deploy/``: every one authenticated, JSON in and out.

Errors are ``{"code", "message", "hint"}`` with the DeployError's HTTP status; anything else
is a 500 with code ``internal`` and a hint to report it.
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
from .jobs import JobManager, resolve_notebook

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


class DeployHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

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
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError as exc:
            raise UsageError(f"The request body is not JSON: {exc}", hint="Send a JSON object.")

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
            "broken": t["broken"] + b["broken"]}


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
        spec, notebook, magic = await self.in_thread(self.jobs.validate, body)
        job = self.jobs.start_validated(spec, notebook, magic)
        self.set_header("Location", self.base_url.rstrip("/") + f"/jupyter-deploy/jobs/{job.id}")
        self.send_json(job.to_json(), 202)


class JobHandler(DeployHandler):
    @tornado.web.authenticated
    @authorized
    @json_errors
    async def get(self, job_id):
        self.send_json(self.jobs.get(job_id).to_json())

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
        limit = self.get_query_argument("limit", None)
        records = await self.in_thread(
            functools.partial(api.history, notebook, limit=int(limit) if limit else None)
        )
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
    ]
