"""pip install enables the server extension and ships the prebuilt lab extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_server_extension_is_enabled_by_the_installed_config(tmp_path):
    conf = json.loads((REPO / "jupyter-config/jupyter_server_config.d/jupyter_deploy.json").read_text())
    assert conf == {"ServerApp": {"jpserver_extensions": {"jupyter_deploy": True}}}
    # the same file in a config dir that `jupyter server extension list` reads
    cfg = tmp_path / "cfg"
    (cfg / "jupyter_server_config.d").mkdir(parents=True)
    (cfg / "jupyter_server_config.d" / "jupyter_deploy.json").write_text(json.dumps(conf))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(cfg))
    out = subprocess.run([sys.executable, "-m", "jupyter_server.extension.serverextension", "list"],
                         capture_output=True, text=True, env=env, timeout=120)
    text = out.stdout + out.stderr
    line = next(l for l in text.splitlines() if "jupyter_deploy" in l and "enabled" in l)
    assert "enabled" in line
    assert "jupyter_deploy 0" in text and "OK" in text.split("jupyter_deploy 0", 1)[1][:40]


def test_wheel_maps_the_lab_extension_and_config_into_the_environment():
    conf = tomllib.loads((REPO / "pyproject.toml").read_text())
    build = conf["tool"]["hatch"]["build"]
    shared = build["targets"]["wheel"]["shared-data"]
    assert shared["jupyter_deploy/labextension"] == "share/jupyter/labextensions/jupyter-deploy"
    assert shared["jupyter-config/jupyter_server_config.d"] == "etc/jupyter/jupyter_server_config.d"
    hook = build["hooks"]["jupyter-builder"]
    assert hook["build-kwargs"]["path"] == "labextension"
    pkg = json.loads((REPO / "labextension/package.json").read_text())
    assert pkg["name"] == "jupyter-deploy"
    assert pkg["jupyterlab"]["outputDir"] == "../jupyter_deploy/labextension"
    import jupyter_deploy

    assert jupyter_deploy._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "jupyter-deploy"}]
    assert jupyter_deploy._jupyter_server_extension_points() == [{"module": "jupyter_deploy.server"}]
    from jupyter_deploy import server

    assert callable(server._load_jupyter_server_extension)
