"""The Binder set-up, for real: binder/requirements.txt and binder/postBuild in a fresh virtual
environment (a non-editable install that builds the lab extension), then the demo notebooks
executed top to bottom in that environment, their %deploy lines included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jdtest import ROOT, need_command

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


@pytest.fixture(scope="module")
def binder_venv(tmp_path_factory):
    need_command("node", "apt-get install -y nodejs npm")
    venv = tmp_path_factory.mktemp("binder") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    uv = Path(sys.executable).parent / "uv"
    py = venv / "bin" / "python"
    # repo2docker installs the requirements with pip; uv is the same resolution, faster here.
    subprocess.run([str(uv), "pip", "install", "-q", "--python", str(py), "pip",
                    "-r", str(ROOT / "binder" / "requirements.txt")], check=True)
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}", VIRTUAL_ENV=str(venv))
    env.pop("PYTHONPATH", None)
    # postBuild builds and installs the package (and its lab extension) from a copy of the repo,
    # so the build does not write into the working tree.
    src = tmp_path_factory.mktemp("src") / "repo"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".venv", ".git", "node_modules", ".demo", "test-artifacts", ".bench", "*.pyc", "lib",
        "jupyter_deploy/labextension"))
    proc = subprocess.run(["bash", str(src / "binder" / "postBuild")], cwd=src, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, f"postBuild failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return venv, env


def test_postbuild_installs_both_extensions(binder_venv):
    venv, env = binder_venv
    out = ""
    for args in (["labextension", "list"], ["server", "extension", "list"]):
        proc = subprocess.run([str(venv / "bin" / "jupyter"), *args], env=env,
                              capture_output=True, text=True)
        out += proc.stdout + proc.stderr
    assert "jupyter-deploy" in out and "enabled" in out
    assert "jupyter_deploy" in out and "OK" in out
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import jupyter_deploy, os; print(os.path.dirname(jupyter_deploy.__file__))"],
                          env=env, cwd=venv, capture_output=True, text=True, check=True).stdout.strip()
    assert ".venv" not in site and str(ROOT) not in site  # a real install, not the work tree


@pytest.mark.parametrize("name", ["report-demo.ipynb", "model-demo.ipynb", "defects-demo.ipynb"])
def test_demo_notebooks_execute_in_the_binder_environment(binder_venv, tmp_path, name):
    venv, env = binder_venv
    work = tmp_path / "binder"
    shutil.copytree(ROOT / "binder", work)
    # Jupyter's server tells each kernel its notebook through JPY_SESSION_NAME (as on Binder);
    # nbconvert does not, so the test says it the same way.
    env = dict(env, JUPYTER_DEPLOY_HOME=str(tmp_path / "home"), JPY_SESSION_NAME=str(work / name))
    out = tmp_path / f"executed-{name}"
    allow = ["--allow-errors"] if name == "defects-demo.ipynb" else []
    proc = subprocess.run(
        [str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", *allow,
         "--ExecutePreprocessor.timeout=900", "--output", str(out), str(work / name)],
        cwd=work, env=env, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    nb = nbformat.read(out, 4)
    text = "\n".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "UsageError" not in text and "internal error" not in text, text[-3000:]
    if name == "model-demo.ipynb":
        assert "repeatable" in text
        assert "churn v1" in text or "v1" in text  # the model target printed its version
        assert "✘" not in text, text[-3000:]  # every proof held
    if name == "report-demo.ipynb":
        assert "report" in text and "✘" not in text
    if name == "defects-demo.ipynb":
        # the notebook itself fails where the hidden state bites, as the check predicts
        assert any(o.output_type == "error" and o.ename == "NameError"
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
