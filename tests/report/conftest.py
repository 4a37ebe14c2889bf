"""Fixtures of the report tests (helpers are in report_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from jdtest import need_module

from report_helpers import BASIC_CELLS, execute, make_ctx, new_notebook


@pytest.fixture(autouse=True)
def _deploy_home(tmp_path, monkeypatch):
    home = tmp_path / "jd-home"
    monkeypatch.setenv("JUPYTER_DEPLOY_HOME", str(home))
    for var in ("JUPYTER_DEPLOY_WEB_TOKEN", "JUPYTER_DEPLOY_WEB_USER", "JUPYTER_DEPLOY_WEB_PASSWORD",
                "JUPYTER_DEPLOY_SMTP_HOST", "JUPYTER_DEPLOY_SMTP_PORT", "JUPYTER_DEPLOY_SMTP_USER",
                "JUPYTER_DEPLOY_SMTP_PASSWORD", "JUPYTER_DEPLOY_SMTP_FROM", "JUPYTER_DEPLOY_CHROMIUM"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture(scope="session")
def executed_basic(tmp_path_factory) -> Path:
    """The basic notebook, executed once by a real kernel; returns the executed copy's path."""
    d = tmp_path_factory.mktemp("basic")
    nb = execute(new_notebook(BASIC_CELLS), d)
    path = d / "executed.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="session")
def executed_rich(tmp_path_factory) -> Path:
    """A notebook whose outputs are an ipywidgets slider and a Plotly figure (real outputs)."""
    need_module("plotly")
    d = tmp_path_factory.mktemp("rich")
    cells = [
        ("md", "# Widgets and Plotly"),
        ("code", "import ipywidgets as w\nslider = w.IntSlider(value=7, description='level')\nslider"),
        ("code", "import plotly.graph_objects as go\nimport plotly.io as pio\n"
                 "pio.renderers.default = 'notebook'\n"
                 "fig = go.Figure(go.Bar(x=['a', 'b'], y=[3, 5]))\nfig.update_layout(title='PLOTLY_TITLE')\nfig.show()"),
        ("code", "fig2 = go.Figure(go.Scatter(x=[1, 2], y=[2, 1]))\npio.renderers.default = 'plotly_mimetype'\nfig2.show()"),
    ]
    nb = execute(new_notebook(cells), d)
    path = d / "executed.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def report_bundle(executed_basic, tmp_path):
    """A real report bundle (rendered from the basic notebook), as a backend receives it."""
    from jupyter_deploy.targets.report import ReportTarget

    ctx = make_ctx(executed_basic, tmp_path)
    bundle = ReportTarget(title="Quarterly sales", author="Ana", tags=["sales", "q3"]).build(ctx)
    bundle.write_manifest()
    return bundle
