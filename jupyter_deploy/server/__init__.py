"""The jupyter_server extension: REST under ``/jupyter-deploy/`` and background jobs.

Enabled on install by ``jupyter-config/jupyter_server_config.d/jupyter_deploy.json``; by hand
with ``jupyter server extension enable jupyter_deploy``.
"""

from __future__ import annotations

import atexit


def _load_jupyter_server_extension(serverapp) -> None:
    from .handlers import handlers
    from .jobs import JobManager
    from .settings import DeployServer

    web_app = serverapp.web_app
    web_app.settings["jupyter_deploy_server"] = DeployServer(config=serverapp.config)
    jobs = JobManager(root_dir=serverapp.root_dir, log=serverapp.log)
    web_app.settings["jupyter_deploy_jobs"] = jobs
    web_app.add_handlers(".*$", handlers(web_app.settings["base_url"]))
    atexit.register(jobs.shutdown)  # no clean re-run outlives the server
    try:  # temp folders of workers and deploys that were killed (SIGKILL, a crash)
        from .. import tmp

        removed = tmp.sweep()
        if removed:
            serverapp.log.info("jupyter_deploy | removed %d stale temp folder(s)", len(removed))
    except Exception as exc:  # noqa: BLE001 - a sweep never stops the server
        serverapp.log.warning("jupyter_deploy | temp sweep failed: %s", exc)
    serverapp.log.info("jupyter_deploy | REST API at %sjupyter-deploy/", web_app.settings["base_url"])


# jupyter_server < 2 spelling
load_jupyter_server_extension = _load_jupyter_server_extension
