"""The model target and the registry backend: build, publish, prove."""

from __future__ import annotations

from pathlib import Path

import cloudpickle
import pytest

from jupyter_deploy import plugins
from jupyter_deploy.check.objects import ObjectStore
from jupyter_deploy.config import deploy_config
from jupyter_deploy.errors import (
    SerializationError,
    UsageError,
    VariableNotFound,
    VerificationFailed,
)
from jupyter_deploy.model import list_models, load
from jupyter_deploy.progress import Reporter
from jupyter_deploy.plugin import DeployContext, ObjectSource
from mworkers import fitted


def clean_store(folder: Path, objects: dict) -> ObjectStore:
    folder.mkdir(parents=True, exist_ok=True)
    for name, obj in objects.items():
        (folder / f"{name}.pkl").write_bytes(cloudpickle.dumps(obj))
    ObjectStore.write_index(folder, [{"name": n, "kept": True} for n in objects])
    return ObjectStore.open(folder)


def make_ctx(tmp_path, clean=None, live=None, force=False, verdict="repeatable"):
    work = tmp_path / "work"
    work.mkdir(parents=True, exist_ok=True)
    store = clean_store(tmp_path / "objects", clean) if clean is not None else None
    return DeployContext(
        notebook=tmp_path / "nb.ipynb", notebook_hash="abc123", check={"verdict": verdict},
        objects=ObjectSource(store, live), reporter=Reporter(), workdir=work,
        config=deploy_config(), force=force, live_session=live is not None,
    )


def deploy(tmp_path, options, ctx, to=None, verify=True):
    """What api.deploy does after the check: build, publish, verify, settle."""
    from jupyter_deploy.api import _split_options

    target_cls, backend_cls = plugins.target_class("model"), plugins.backend_class("registry")
    own, theirs = _split_options(target_cls, backend_cls, options)
    target = target_cls(**own)
    target.validate(ctx)
    bundle = target.build(ctx)
    bundle.write_manifest()
    assert backend_cls.claims(to, "model") or to is None
    backend = backend_cls(**theirs)
    handoff = backend.publish(bundle, to, ctx.reporter)
    proofs = list(bundle.proofs)
    if verify:
        proofs += backend.verify(bundle, handoff, ctx.reporter)
        backend.settle(bundle, handoff, proofs, ctx.reporter)
    return bundle, handoff, proofs


def test_plugins_are_wired():
    from jupyter_deploy.backends.registry import RegistryBackend
    from jupyter_deploy.targets.model import ModelTarget

    assert plugins.target_class("model") is ModelTarget
    assert plugins.backend_class("registry") is RegistryBackend
    d = ModelTarget.describe()
    assert d["default_backend"] == "registry" and d["needs_object"] is True
    props = d["schema"]["properties"]
    assert props["var"]["x-cli-positional"] and props["var"]["x-object-kind"] == "estimator"
    assert props["sample"]["x-object-kind"] == "sample"
    assert set(d["schema"]["required"]) == {"var", "name"}
    assert {"alias", "description", "metric", "isolated"} <= set(props)
    # one destination: --to (--registry is the same flag), no registry option besides it
    assert "registry" not in props and d["destination_flags"] == ["registry"]
    assert props["alias"]["x-backend"] == "registry"
    for url in ("/srv/models", "file:///srv/m", "memory://m", "s3://b/m", "https://repo/m"):
        assert RegistryBackend.claims(url, "model")
    assert not RegistryBackend.claims("/srv/models", "report")
    assert not RegistryBackend.claims("mailto:a@b", "model")


@pytest.mark.parametrize("where", ["default", "folder", "memory", "http"])
def test_deploy_publishes_and_proves(where, tmp_path, churn, request, deploy_home):
    model, X = churn
    to = None
    if where == "folder":
        to = str(tmp_path / "team-registry")
    elif where == "memory":
        to = request.getfixturevalue("memory_url")
    elif where == "http":
        to = request.getfixturevalue("http_registry").url
    ctx = make_ctx(tmp_path, clean={"clf": model, "X_test": X}, live={"clf": model})
    opts = {"var": "clf", "name": "churn", "sample": "X_test", "alias": "production",
            "description": "Churn in 90 days", "metric": {"auc": "0.91", "note": "ok"}}
    bundle, handoff, proofs = deploy(tmp_path, opts, ctx, to)
    registry = to or str(deploy_home / "registry")
    assert handoff.destination == f"{registry.rstrip('/')}/churn/v1"
    assert handoff.summary.startswith(f"churn v1 in {registry}")
    assert handoff.details == {**handoff.details, "name": "churn", "version": 1, "alias": "production",
                               "reused": False}
    assert {p.name: p.ok for p in proofs} == {"live-vs-clean": True, "reload-fresh-process": True}
    assert "40 sample rows agree" in proofs[-1].detail
    m, meta = load("churn", "production", registry=to, with_metadata=True)
    assert meta["metrics"] == {"auc": 0.91, "note": "ok"}
    assert meta["notebook_hash"] == "abc123" and meta["verdict"] == "repeatable"
    assert meta["forced"] is False and meta["version"] == 1
    # the clean kernel's bytes were used as model.pkl
    assert Path(bundle.path / "artefact" / "model.pkl").read_bytes() == ctx.objects.pickled("clf")
    # deploying the same thing again returns the same version
    ctx2 = make_ctx(tmp_path / "again", clean={"clf": model, "X_test": X}, live={"clf": model})
    _, handoff2, _ = deploy(tmp_path, opts, ctx2, to, verify=False)
    assert handoff2.details["version"] == 1 and handoff2.details["reused"] is True
    assert [r["version"] for r in list_models("churn", registry=to)] == [1]


def test_live_differs_from_clean_refuses(tmp_path, deploy_home):
    clean, X = fitted(1.0)
    live, _ = fitted(1.0, seed=7)  # hidden state: the live model was refitted on other data
    ctx = make_ctx(tmp_path, clean={"clf": clean, "X": X}, live={"clf": live})
    with pytest.raises(VerificationFailed) as err:
        deploy(tmp_path, {"var": "clf", "name": "clf", "sample": "X"}, ctx)
    msg = str(err.value)
    assert "disagree" in msg and ("prediction row" in msg or "probabilities row" in msg)
    assert "--force" in err.value.hint
    assert list_models() == []  # nothing deployed
    ctx = make_ctx(tmp_path / "f", clean={"clf": clean, "X": X}, live={"clf": live}, force=True)
    bundle, handoff, proofs = deploy(tmp_path, {"var": "clf", "name": "clf", "sample": "X"}, ctx)
    assert all(p.ok for p in proofs)
    live_proof = [p for p in proofs if p.name == "live-vs-clean"][0]
    assert "--force" in live_proof.detail
    _, meta = load("clf", with_metadata=True)
    assert meta["forced"] is True
    assert load("clf").predict(X[:20]).tolist() == clean.predict(X[:20]).tolist()


def test_live_same_as_clean_is_recorded(tmp_path):
    m, X = fitted()
    ctx = make_ctx(tmp_path, clean={"clf": m, "X": X}, live={"clf": fitted()[0]})
    _, _, proofs = deploy(tmp_path, {"var": "clf", "name": "clf", "sample": "X"}, ctx)
    assert [p.name for p in proofs] == ["live-vs-clean", "reload-fresh-process"]
    assert all(p.ok for p in proofs)


def test_missing_variable(tmp_path):
    m, X = fitted()
    ctx = make_ctx(tmp_path, clean={"X": X})
    with pytest.raises(VariableNotFound, match="'clf'"):
        deploy(tmp_path, {"var": "clf", "name": "clf", "sample": "X"}, ctx)
    ctx = make_ctx(tmp_path / "b", clean={"clf": m})
    with pytest.raises(VariableNotFound, match="'X_test'"):
        deploy(tmp_path, {"var": "clf", "name": "clf", "sample": "X_test"}, ctx)
    assert list_models() == []


def test_bad_name_fails_before_building(tmp_path):
    m, X = fitted()
    ctx = make_ctx(tmp_path, clean={"clf": m})
    from traitlets import TraitError

    for bad in ("team/churn", "..", "my model"):
        with pytest.raises(TraitError, match="Invalid model name"):
            deploy(tmp_path, {"var": "clf", "name": bad}, ctx)
        # through the api, the same refusal comes before any clean re-run
        from jupyter_deploy import api

        with pytest.raises(UsageError, match="Invalid model name"):
            api.deploy("model", tmp_path / "missing.ipynb", options={"var": "clf", "name": bad})
    assert not any((tmp_path / "work").iterdir())
    assert list_models() == []


def test_unpicklable_live_object(tmp_path):
    import threading

    m, X = fitted()
    m.lock_ = threading.RLock()
    ctx = make_ctx(tmp_path, clean=None, live={"clf": m, "X": X})
    with pytest.raises(SerializationError, match=r"clf\.lock_ holds a lock"):
        deploy(tmp_path, {"var": "clf", "name": "clf", "sample": "X"}, ctx)
    assert list_models() == []


@pytest.mark.slow
def test_isolated_venv_proves_requirements(tmp_path, churn):
    """--isolated: a new venv from requirements.txt alone loads the model and agrees."""
    from jdtest import need
    from jupyter_deploy.model.verify import find_uv

    need(find_uv() is not None, "uv", "pip install uv")
    model, X = churn
    ctx = make_ctx(tmp_path, clean={"clf": model, "X": X})
    _, handoff, proofs = deploy(tmp_path, {"var": "clf", "name": "churn", "sample": "X",
                                           "isolated": True}, ctx)
    by = {p.name: p for p in proofs}
    assert by["reload-isolated-venv"].ok, by["reload-isolated-venv"].detail
    assert "only requirements.txt" in by["reload-isolated-venv"].detail


@pytest.mark.kernel
def test_api_deploy_end_to_end(make_notebook, tmp_path):
    """A real notebook, a real clean re-run, then api.deploy: version, proof, history, load."""
    from jupyter_deploy import api

    nb = make_notebook([
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
        "rng = np.random.default_rng(0)\nX = rng.normal(size=(120, 3))\n"
        "y = (X[:, 0] - X[:, 2] > 0).astype(int)\nclf = LogisticRegression().fit(X, y)\n"
        "X_test = X[:25]",
    ], execute=False)
    opts = {"var": "clf", "name": "demo", "sample": "X_test", "alias": "production",
            "metric": {"auc": "0.9"}}
    res = api.deploy("model", nb, options=opts)
    assert res["status"] == "ok" and res["details"]["version"] == 1
    assert res["summary"].startswith("demo v1 in ")
    assert [p["name"] for p in res["proofs"]] == ["reload-fresh-process"]
    assert "--name demo" in res["magic"] and "--metric auc=0.9" in res["magic"]
    hist = api.history(target="model")
    assert hist[0]["destination"] == res["destination"] and hist[0]["status"] == "ok"
    rows = api.models("demo")
    assert rows[0]["aliases"] == ["production"] and rows[0]["metrics"] == {"auc": 0.9}
    import jupyter_deploy

    model = jupyter_deploy.load("demo", "production")
    assert model.predict([[1.0, 0.0, 0.0]]).tolist() == [1]
    # the live session holds a model refitted on other data: refused, and nothing new written
    from sklearn.linear_model import LogisticRegression
    import numpy as np

    Xo = np.random.default_rng(5).normal(size=(50, 3))
    other = LogisticRegression().fit(Xo, (Xo[:, 1] > 0).astype(int))
    with pytest.raises(VerificationFailed, match="disagree"):
        api.deploy("model", nb, options=opts, live={"clf": other})
    assert [r["version"] for r in api.models("demo")] == [1]
