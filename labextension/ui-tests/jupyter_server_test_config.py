"""JupyterLab server for the Galata tests (started by playwright's webServer).

Uses Galata's own helper (required for its test hooks), then: the port from JD_UI_PORT, the
jupyter-deploy server extension on, and the lab extension built into ../../jupyter_deploy/labextension
(through $JD_LABEXT_DIR, so it is found even when the package is installed in editable mode).
"""

import os
from pathlib import Path

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 - provided by the config loader
configure_jupyter_server(c)

here = Path(__file__).resolve().parent
c.ServerApp.port = int(os.environ.get("JD_UI_PORT", "8888"))
c.ServerApp.allow_root = True
c.ServerApp.jpserver_extensions = {"jupyter_deploy": True}
galata_path = c.LabServerApp.extra_labextensions_path
# A folder holding "jupyter-deploy" -> the built extension (JupyterLab serves an extension's
# files from <path>/<name>/); the pytest runner makes one in a tmp dir.
labext_dir = os.environ.get("JD_LABEXT_DIR")
c.LabServerApp.extra_labextensions_path = [str(galata_path)] + ([labext_dir] if labext_dir else [])
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
