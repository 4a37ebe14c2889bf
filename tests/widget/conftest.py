"""Fixtures for the ipywidgets panel: a real in-process IPython shell and a tiny plugin pair."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets import Bool, Dict, Enum, Float, Int, List, Unicode

from jupyter_deploy import plugins
from jupyter_deploy.errors import BackendError
from jupyter_deploy.bundle import Handoff, Proof
from jupyter_deploy.plugin import Backend, Target


class EchoTarget(Target):
    """Writes the chosen object's repr and the options into a bundle (every schema type)."""

    plugin_name = "echo"
    description = "Echo the chosen object (a test target)."
    default_backend = "echo-folder"
    needs_object = True

    var = Unicode("", help="The estimator.").tag(
        config=True, option=True, cli_positional=True, required=True, object_kind="estimator")
    label = Unicode("", help="A label.").tag(config=True, option=True, required=True)
    sample = Unicode("", help="Sample data.").tag(config=True, option=True, object_kind="data")
    level = Int(1, help="A level.").tag(config=True, option=True)
    ratio = Float(0.5, help="A ratio.").tag(config=True, option=True)
    fmt = Enum(["html", "pdf"], default_value="html", help="A format.").tag(config=True, option=True)
    verbose = Bool(False, help="Talk more.").tag(config=True, option=True)
    tags = List(Unicode(), default_value=[], help="Tags.").tag(config=True, option=True)
    meta = Dict(default_value={}, help="Metadata.").tag(config=True, option=True)
    explode = Unicode("", help="'bug' raises a plain exception in build.").tag(config=True, option=True)

    def build(self, ctx):
        if self.explode == "bug":
            raise RuntimeError("boom in build")
        model = ctx.objects.get(self.var)
        bundle = ctx.new_bundle("echo")
        (bundle.path / "echo.json").write_text(json.dumps({
            "repr": type(model).__name__, "label": self.label, "level": self.level,
            "ratio": self.ratio, "fmt": self.fmt, "tags": self.tags, "meta": self.meta,
            "sample_rows": len(ctx.objects.get(self.sample)) if self.sample else None,
        }))
        bundle.proofs.append(Proof("built", True, "echo.json written"))
        return bundle


class EchoFolderBackend(Backend):
    """Copies an echo bundle into a folder; a folder named 'refuse' is refused."""

    plugin_name = "echo-folder"
    accepts = ("echo",)

    def publish(self, bundle, destination, reporter):
        import shutil

        dest = Path(destination or "echo-out")
        if dest.name == "refuse":
            raise BackendError(f"{dest} refuses bundles.", hint="Choose another folder with --to.")
        reporter("publish", 0, 1, f"copying to {dest}")
        shutil.copytree(bundle.path, dest / "v1")
        return Handoff(destination=str(dest / "v1"), summary=f"echo v1 in {dest}",
                       details={"version": 1})

    def verify(self, bundle, handoff, reporter):
        written = Path(handoff.destination) / "echo.json"
        if not written.is_file():
            return [Proof("reloaded", False, "echo.json missing")]
        if json.loads(written.read_text())["label"] == "unverified":
            return [Proof("reloaded", False, "the label does not verify")]
        return [Proof("reloaded", True, "echo.json is there")]


@pytest.fixture
def echo_plugins():
    plugins.register(plugins.TARGETS, "echo", EchoTarget)
    plugins.register(plugins.BACKENDS, "echo-folder", EchoFolderBackend)
    yield
    plugins.unregister(plugins.TARGETS, "echo")
    plugins.unregister(plugins.BACKENDS, "echo-folder")


@pytest.fixture
def shell():
    """A real IPython shell in this process, its namespace restored after the test."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    sh = start_ipython() or get_ipython()  # the first call makes it, later ones return None
    before = dict(sh.user_ns)
    sh.rl_next_input = None
    yield sh
    for name in list(sh.user_ns):
        if name not in before:
            del sh.user_ns[name]
    sh.user_ns.update(before)


@pytest.fixture
def session_objects(shell):
    """A fitted model, a pipeline, a transformer and data in the live namespace, plus decoys."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    y = pd.Series([0, 0, 0, 1, 1, 1], name="y")
    shell.user_ns.update(
        clf=LogisticRegression().fit(X, y),
        pipe=make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
        scaler=StandardScaler().fit(X),
        X=X, y=y, arr=np.arange(6.0),
        # decoys: a class with fit/predict, a module, plain values, private names
        LogisticRegression=LogisticRegression, np=np, rows=[1, 2], cfg={"a": 1}, text="x",
        _hidden=X,
    )
    return shell


def outputs_of(cell) -> str:
    return json.dumps(cell.get("outputs", []))
