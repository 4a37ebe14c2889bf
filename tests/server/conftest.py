"""Fixtures for the server extension's REST tests: a real jupyter_server with the extension on."""

from __future__ import annotations


import nbformat
import pytest

# pytest-jupyter's fixtures and async-test hooks, for this folder only.
from pytest_jupyter.jupyter_server import *  # noqa: F401,F403


def need(tool: str) -> None:
    """Skip on a laptop, fail under CI=true (the suite's rule, from jdtest)."""
    from jdtest import need_command

    need_command(tool, f"apt-get install -y {tool}")


@pytest.fixture(autouse=True)
def deploy_home(tmp_path, monkeypatch):
    home = tmp_path / "deploy-home"
    monkeypatch.setenv("JUPYTER_DEPLOY_HOME", str(home))
    return home


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"jupyter_deploy": True}}}


def write_notebook(path, sources, outputs=None, kernel="python3"):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3", "language": "python"}
    for i, src in enumerate(sources):
        cell = nbformat.v4.new_code_cell(src)
        if outputs and outputs[i] is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=outputs[i])]
            cell.execution_count = i + 1
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def make_notebook():
    return write_notebook


@pytest.fixture
def tiny_notebook(jp_root_dir):
    """A notebook that re-runs cleanly and whose saved outputs match."""
    return write_notebook(
        jp_root_dir / "work" / "tiny.ipynb",
        ["x = 1 + 1\nprint(x)", "print('done')"],
        ["2\n", "done\n"],
    )


@pytest.fixture
def slow_notebook(jp_root_dir):
    """A notebook whose clean run takes a few seconds (to test cancel, conflicts, latency)."""
    return write_notebook(
        jp_root_dir / "slow.ipynb",
        ["import time\nfor i in range(30):\n    time.sleep(0.2)\nprint('slept')"],
        ["slept\n"],
    )
