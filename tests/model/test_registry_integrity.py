"""Issue 13, registry half: aliases move only after the proofs, atomic dedupe, damaged files,
abandoned temporary folders, and a change of signing key."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import pytest

from jdtest import run_cli
from jupyter_deploy.errors import RegistryError
from jupyter_deploy.model import list_models, load, open_registry
from mworkers import fitted
from test_registry import artefact

GOOD = (
    "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
    "rng = np.random.default_rng(0)\nX = rng.normal(size=(120, 3))\n"
    "y = (X[:, 0] - X[:, 2] > 0).astype(int)\nclf = LogisticRegression().fit(X, y)\n"
    "X_test = X[:25]"
)
# A model whose predictions differ in every process: the clean run is repeatable (nothing is
# printed), but the fresh-process proof cannot reproduce the expected sample predictions.
NOISY = (
    "import numpy as np\nrng = np.random.default_rng(0)\nX = rng.normal(size=(120, 3))\n"
    "class Noisy:\n"
    "    classes_ = np.array([0, 1])\n"
    "    def predict(self, X):\n"
    "        return np.random.default_rng().integers(0, 2, len(X))\n"
    "clf = Noisy()\nX_test = X[:25]"
)


@pytest.mark.kernel
def test_failed_proof_moves_no_alias_cli(make_notebook, tmp_path):
    """`jupyter deploy model ... --alias production` whose fresh-process proof fails: the
    version is kept as failed, production and latest stay on the proven v1."""
    home = tmp_path / "home"
    env = {"JUPYTER_DEPLOY_HOME": str(home)}
    reg = home / "registry"
    args = ["--var", "clf", "--name", "demo", "--sample", "X_test", "--alias", "production"]

    nb = make_notebook([GOOD], execute=False, name="good.ipynb")
    proc = run_cli("model", nb, *args, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((reg / "demo" / "aliases.json").read_text()) == {"production": 1}

    nb2 = make_notebook([NOISY], execute=False, name="noisy.ipynb")
    proc = run_cli("model", nb2, *args, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "reload-fresh-process" in out and "proof failed" in out
    assert "no alias moved" in out
    # on disk: v2 exists, marked failed; the alias file did not move
    assert json.loads((reg / "demo" / "aliases.json").read_text()) == {"production": 1}
    status = json.loads((reg / "demo" / "v2" / "status.json").read_text())
    assert status["status"] == "failed" and "reload-fresh-process" in status["detail"]
    assert json.loads((reg / "demo" / "v1" / "status.json").read_text())["status"] == "verified"
    meta2 = json.loads((reg / "demo" / "v2" / "metadata.json").read_text())
    assert meta2["proof"] == "required"
    # what users read: the alias and latest give v1; v2 only with an explicit opt-in
    _, meta = load("demo", "production", registry=str(reg), with_metadata=True)
    assert meta["version"] == 1
    _, meta = load("demo", registry=str(reg), with_metadata=True)
    assert meta["version"] == 1
    with pytest.raises(RegistryError, match="v2 failed its proof") as err:
        load("demo", 2, registry=str(reg))
    assert "allow_unverified=True" in err.value.hint
    model = load("demo", 2, registry=str(reg), allow_unverified=True)
    assert type(model).__name__ == "Noisy"
    # `jupyter deploy models` lists v2 as failed
    proc = run_cli("models", "demo", "--registry", reg, "--json", env=env)
    rows = json.loads(proc.stdout)
    assert [(r["version"], r["status"], r["aliases"]) for r in rows] == [
        (1, "verified", ["production"]), (2, "failed", [])]
    text = run_cli("models", "demo", "--registry", reg, env=env).stdout
    assert "failed" in text.splitlines()[2] and "verified" in text.splitlines()[1]
    # the history records the deploy as failed
    hist = json.loads(run_cli("history", "--json", env=env).stdout)
    assert [h["status"] for h in hist if h["action"] == "deploy"][:2] == ["failed", "ok"]


def test_pending_version_is_never_latest_nor_aliased(tmp_path):
    """A deploy killed between publish and its proof leaves a pending version: invisible to
    latest and aliases, refused by number, and promote / mark_failed settle it."""
    url = str(tmp_path / "reg")
    reg = open_registry(url)
    m1, X = fitted(1.0)
    m2, _ = fitted(0.1)
    v1 = reg.publish(artefact(m1, X[:5]), name="clf", pending=True)
    assert (v1["version"], v1["status"]) == (1, "pending")
    with pytest.raises(RegistryError, match="no verified version"):
        load("clf", registry=url)
    with pytest.raises(RegistryError, match="has not passed its proof"):
        reg.set_alias("clf", "production", 1)
    assert not (tmp_path / "reg" / "clf" / "aliases.json").exists()
    reg.promote("clf", 1, "production", [{"name": "p", "ok": True, "detail": "fine"}])
    assert reg.aliases("clf") == {"production": 1}
    v2 = reg.publish(artefact(m2, X[:5]), name="clf", pending=True)
    assert v2["version"] == 2
    assert load("clf", registry=url).C == 1.0  # latest is still v1
    reg.mark_failed("clf", 2, [{"name": "p", "ok": False, "detail": "bad"}])
    assert [(r["version"], r["status"]) for r in list_models("clf", registry=url)] == [
        (1, "verified"), (2, "failed")]
    # marking a verified version failed does not pull it from under its alias
    reg.mark_failed("clf", 1, [{"name": "p", "ok": False, "detail": "flaky"}])
    assert reg.status("clf", 1)["status"] == "verified"
    assert load("clf", "production", registry=url).C == 1.0
    # identical content deployed again is re-proved: a pass promotes the failed version
    again = reg.publish(artefact(m2, X[:5]), name="clf", pending=True)
    assert (again["version"], again["reused"]) == (2, True)
    reg.promote("clf", 2)
    assert load("clf", registry=url).C == 0.1


def test_damaged_status_file_counts_as_failed(tmp_path):
    url = str(tmp_path / "reg")
    reg = open_registry(url)
    m, X = fitted()
    reg.publish(artefact(m, X[:5]), name="clf", pending=True)
    reg.promote("clf", 1)
    (tmp_path / "reg" / "clf" / "v1" / "status.json").write_text("{not json")
    with pytest.raises(RegistryError, match="no verified version"):
        load("clf", registry=url)
    assert list_models("clf", registry=url)[0]["status_detail"] == "status.json is damaged"


def test_identical_content_racing_writers_make_one_version(tmp_path):
    """Eight processes publish the same artefact at the same moment: exactly one version."""
    url = str(tmp_path / "reg")
    m, X = fitted()
    folder = str(artefact(m, X[:5]))
    from mworkers import publish_dir_together

    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=publish_dir_together, args=((url, "clf", folder, 1.0), barrier,
                                                            queue)) for _ in range(8)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r[0] != "error" for r in results), results
    assert sorted(v for v, _ in results) == [1] * 8
    reg = open_registry(url)
    assert reg.versions("clf") == [1]
    assert sorted(os.listdir(tmp_path / "reg" / "clf" / ".claims")) == ["v1"]
    assert [e for e in os.listdir(tmp_path / "reg" / "clf") if e.startswith(".tmp-")] == []


def test_corrupt_aliases_file_is_an_error_naming_it(tmp_path):
    url = str(tmp_path / "reg")
    reg = open_registry(url)
    m, X = fitted()
    reg.publish(artefact(m, X[:5]), name="clf", alias="production")
    path = tmp_path / "reg" / "clf" / "aliases.json"
    for damaged in ("{\"production\": 1", "[1, 2]", "{\"production\": \"one\"}"):
        path.write_text(damaged)
        with pytest.raises(RegistryError) as err:
            load("clf", "production", registry=url)
        assert str(path) in str(err.value) and "damaged" in str(err.value)
        assert "no version" not in str(err.value)
        # moving an alias does not overwrite the damaged file with a fresh one
        with pytest.raises(RegistryError, match="aliases.json is damaged"):
            reg.set_alias("clf", "staging", 1)
        assert path.read_text() == damaged
    proc = run_cli("models", "clf", "--registry", url)
    assert proc.returncode != 0 and "aliases.json is damaged" in proc.stdout + proc.stderr


def test_publish_sweeps_abandoned_tmp_folders(tmp_path):
    url = tmp_path / "reg"
    reg = open_registry(str(url))
    m, X = fitted()
    reg.publish(artefact(m, X[:5]), name="clf")
    old = time.time() - 3600
    stale = url / "clf" / ".tmp-crashed"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "model.pkl").write_bytes(b"x" * 1000)
    stale_file = url / "clf" / ".tmp-abc-aliases.json"
    stale_file.write_text("{}")
    stale_root = url / ".tmp-root"
    stale_root.mkdir()
    for p in (stale / "sub" / "model.pkl", stale / "sub", stale, stale_file, stale_root):
        os.utime(p, (old, old))
    fresh = url / "clf" / ".tmp-live-writer"
    fresh.mkdir()
    (fresh / "model.pkl").write_bytes(b"y")
    # a folder whose own mtime is old but in which a file is still being written is kept
    busy = url / "clf" / ".tmp-busy"
    busy.mkdir()
    (busy / "model.pkl").write_bytes(b"z")
    os.utime(busy, (old, old))
    m2, _ = fitted(0.5)
    assert reg.publish(artefact(m2, X[:5]), name="clf")["version"] == 2
    assert not stale.exists() and not stale_file.exists() and not stale_root.exists()
    assert fresh.exists() and (fresh / "model.pkl").read_bytes() == b"y"
    assert busy.exists()
    assert reg.versions("clf") == [1, 2]


def test_new_signing_key_writes_a_new_version(tmp_path, monkeypatch):
    """Identical content deployed with another key: a new version signed with it, never the old
    one handed back (it would fail to load with the new key)."""
    url = str(tmp_path / "reg")
    reg = open_registry(url)
    m, X = fitted()
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k1")
    assert reg.publish(artefact(m, X[:5]), name="clf")["version"] == 1
    assert reg.publish(artefact(m, X[:5]), name="clf")["reused"] is True
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k2")
    res = reg.publish(artefact(m, X[:5]), name="clf")
    assert (res["version"], res["reused"]) == (2, False)
    assert load("clf", registry=url).C == 1.0  # v2 loads with k2
    assert load("clf", 2, registry=url).C == 1.0
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k1")
    assert load("clf", 1, registry=url).C == 1.0
    monkeypatch.delenv("JUPYTER_DEPLOY_SIGNING_KEY")
    # without a key any identical version is reused
    assert reg.publish(artefact(m, X[:5]), name="clf")["reused"] is True


def test_redeploy_with_another_key_is_a_new_proven_version(tmp_path, monkeypatch, deploy_home):
    """Through the registry backend (publish, fresh-process proof, settle) as api.deploy runs it:
    the same model under key k2 becomes v2, signed with k2 and verified; production moves."""
    from test_target import deploy, make_ctx

    m, X = fitted()
    opts = {"var": "clf", "name": "clf", "sample": "X", "alias": "production"}
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k1")
    _, h1, p1 = deploy(tmp_path, opts, make_ctx(tmp_path / "a", clean={"clf": m, "X": X}))
    assert all(p.ok for p in p1) and h1.details["version"] == 1
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k2")
    _, h2, p2 = deploy(tmp_path, opts, make_ctx(tmp_path / "b", clean={"clf": m, "X": X}))
    assert all(p.ok for p in p2), [p.detail for p in p2]
    assert (h2.details["version"], h2.details["reused"]) == (2, False)
    reg = open_registry(str(deploy_home / "registry"))
    assert reg.aliases("clf") == {"production": 2}
    assert [reg.status("clf", v)["status"] for v in (1, 2)] == ["verified", "verified"]
    assert load("clf", "production").C == 1.0


def test_a_signature_failure_blames_the_key_not_the_notebook(tmp_path, monkeypatch, deploy_home):
    """Published under k1, proved under k2 (the key changed in between): the proof fails on the
    signature, the version is marked failed, no alias moves, and the hint is about the key."""
    from jupyter_deploy import api, plugins
    from jupyter_deploy.progress import Reporter
    from test_target import make_ctx

    m, X = fitted()
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k1")
    ctx = make_ctx(tmp_path / "a", clean={"clf": m, "X": X})
    target = plugins.target_class("model")(var="clf", name="clf", sample="X")
    target.validate(ctx)
    bundle = target.build(ctx)
    bundle.write_manifest()
    backend = plugins.backend_class("registry")(alias="production")
    handoff = backend.publish(bundle, None, Reporter())
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k2")
    proofs = backend.verify(bundle, handoff, Reporter())
    assert not proofs[0].ok and "signature" in proofs[0].detail
    backend.settle(bundle, handoff, proofs, Reporter())
    assert handoff.details["status"] == "failed"
    assert "production was not set (not moved: the proof failed)" in handoff.summary
    reg = open_registry(str(deploy_home / "registry"))
    assert reg.aliases("clf") == {} and reg.status("clf", 1)["status"] == "failed"
    hint = api.failure_hint([p.to_json() for p in proofs if not p.ok], handoff.details)
    assert "JUPYTER_DEPLOY_SIGNING_KEY" in hint and "fix the notebook" not in hint
    assert "no alias moved" in hint
