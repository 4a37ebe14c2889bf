"""Fixtures shared by the whole suite.

Rules of this suite: real kernels, databases, servers and browsers; on a developer's laptop a
test whose tool is missing skips, but under CI=true it fails with a message naming what to
install (see ``need``). Every test runs with its own JUPYTER_DEPLOY_HOME in a temp folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jdtest import IN_CI, PYTHON, ROOT, file_digest, need, need_command, run_cli  # noqa: F401

@pytest.fixture(autouse=True)
def deploy_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("deploy-home")
    monkeypatch.setenv("JUPYTER_DEPLOY_HOME", str(home))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    from jupyter_deploy import config

    config._file_config = None
    config.set_session_config(config.Config())
    yield home
    config._file_config = None


@pytest.fixture
def make_notebook(tmp_path):
    """make_notebook(cells, execute=True, name=..., kernel="python3") -> Path.

    ``cells`` are code sources, or ("markdown", text) tuples. With ``execute`` the notebook is
    run for real with nbclient, so its saved outputs are what a user would have saved.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    def make(cells, execute=True, name="nb.ipynb", kernel="python3", folder=None, edit=None):
        nb = new_notebook()
        for c in cells:
            if isinstance(c, tuple):
                nb.cells.append(new_markdown_cell(c[1]))
            else:
                nb.cells.append(new_code_cell(c))
        if kernel:
            nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
        folder = Path(folder or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if execute:
            from nbclient import NotebookClient

            NotebookClient(nb, kernel_name=kernel or "python3", timeout=120, allow_errors=True,
                           resources={"metadata": {"path": str(folder)}}).execute()
        if edit:
            edit(nb)
        nbformat.write(nb, path)
        return path

    return make


