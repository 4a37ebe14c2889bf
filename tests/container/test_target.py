"""ContainerTarget + ContainerEngineBackend without building an image: the context lands in
--out, step 1 proves it, and every fault says what to do without losing work."""

from __future__ import annotations

import json
import socket

import pytest

from container_helpers import CleanStore, make_churn, make_ctx
from jupyter_deploy import plugins
from jupyter_deploy.backends.engine import ContainerEngineBackend
from jupyter_deploy.container.engine import PortInUse
from jupyter_deploy.errors import UsageError, VerificationFailed
from jupyter_deploy.progress import Reporter
from jupyter_deploy.targets.container import ContainerTarget


def split(ctx, out=None, **options):
    """The flat options a user gives -> the target and the backend, as api.deploy splits them
    (--out is --to: the context's destination)."""
    from jupyter_deploy.api import _split_options

    own, theirs = _split_options(ContainerTarget, ContainerEngineBackend, options)
    backend = ContainerEngineBackend(**theirs)
    ctx.destination = out
    ctx.backend_options = backend.option_values()
    return ContainerTarget(**own), backend


def deploy(ctx, **options):
    """What api.deploy does after the check: build, manifest, publish (in a fresh workdir)."""
    import uuid

    ctx.workdir = ctx.workdir.parent / f"work-{uuid.uuid4().hex[:8]}"
    target, backend = split(ctx, **options)
    target.validate(ctx)
    backend.validate(ctx.destination)
    bundle = target.build(ctx)
    bundle.write_manifest()
    handoff = backend.publish(bundle, None, Reporter())
    return bundle, handoff


def test_plugins_are_registered():
    assert plugins.target_class("container") is ContainerTarget
    assert plugins.backend_class("container-engine") is ContainerEngineBackend
    schema = ContainerTarget.options_schema()
    assert schema["required"] == ["name", "var"]
    props = schema["properties"]
    assert props["var"]["x-cli-positional"] is True and props["var"]["x-object-kind"] == "estimator"
    assert props["sample"]["x-object-kind"] == "sample"
    assert props["engine"]["enum"] == ["auto", "podman", "docker"]
    for key in ("build_image", "push", "base_image", "port", "overwrite"):
        assert props[key]["description"], key
    # the backend's options are offered with the target's, and say whose they are
    assert props["engine"]["x-backend"] == "container-engine" and "x-backend" not in props["var"]
    # one destination: --to (--out is the same flag), described once
    assert "out" not in props and "--out is the same" in ContainerTarget.destination_help


def test_deploy_writes_the_context_and_proves_it_in_a_fresh_venv(churn, tmp_path):
    model, X = churn
    ctx = make_ctx(tmp_path, {"clf": model, "X_test": X.head(15)})
    bundle, handoff = deploy(ctx, var="clf", name="churn", sample="X_test")
    out = tmp_path / "deployed" / "container" / "churn"  # default: next to the notebook
    assert handoff.destination == str(out)
    for rel in ("Dockerfile", "app.py", "batch.py", "k8s.yaml", "README.md", "requirements.txt",
                "model/model.pkl", "model/metadata.json", "manifest.json"):
        assert (out / rel).is_file(), rel
    names = {p.name: p for p in handoff.proofs}
    for name in ("api-local: requirements install", "api-local: starts",
                 "api-local: predictions (split)", "api-local: predictions (records)",
                 "api-local: rejects bad input", "api-local: stops on SIGTERM"):
        assert names[name].ok, (name, names[name].detail)
    assert "15 sample rows" in names["api-local: predictions (split)"].detail
    assert "without column 'age' answered 422" in names["api-local: rejects bad input"].detail
    # Not built: the summary says exactly how.
    assert "build the image with `podman build -t localhost/churn:" in handoff.summary
    assert handoff.details["build_command"].endswith(str(out))
    header = (out / "Dockerfile").read_text().splitlines()[:4]
    assert "jupyter deploy container ../../../nb.ipynb --var clf --name churn --sample X_test" \
        in header[1]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "container" and manifest["container"]["name"] == "churn"

    # The same deploy again: identical content, no --overwrite needed, nothing replaced.
    _bundle, again = deploy(ctx, var="clf", name="churn", sample="X_test")
    assert again.details["replaced"] == [] and all(p.ok for p in again.proofs)


def test_no_engine_step_one_still_runs_and_says_how_to_build(churn, tmp_path, monkeypatch):
    model, X = churn
    ctx = make_ctx(tmp_path, {"clf": model, "X": X.head(5)})
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # neither podman nor docker here
    out = tmp_path / "ctx"
    _bundle, handoff = deploy(ctx, var="clf", name="churn", sample="X", out=str(out),
                              build_image=True)
    local = [p for p in handoff.proofs if p.name.startswith("api-local")]
    assert local and all(p.ok for p in local)
    image = [p for p in handoff.proofs if p.name == "image: build"]
    assert len(image) == 1 and not image[0].ok
    assert "No container engine works here (podman: not installed; docker: not installed)" \
        in image[0].detail
    assert f"build the image later with: podman build -t localhost/churn:" in image[0].detail
    assert "image NOT built (no container engine)" in handoff.summary
    assert (out / "Dockerfile").is_file()  # nothing lost


def test_an_uninstallable_requirement_fails_the_proof_with_the_installer_message(
        churn, tmp_path):
    model, X = churn
    ctx = make_ctx(tmp_path, {"clf": model, "X": X.head(5)})
    target, _backend = split(ctx, var="clf", name="churn", sample="X", out=str(tmp_path / "out"))
    bundle = target.build(ctx)
    req = bundle.path / "requirements.txt"
    req.write_text(req.read_text() + "jupyter-deploy-no-such-package-xyz==0.0.1\n")
    bundle.write_manifest()
    handoff = ContainerEngineBackend().publish(bundle, None, Reporter())
    (proof,) = handoff.proofs
    assert proof.name == "api-local: requirements install" and not proof.ok
    assert "requirements.txt does not install in a fresh venv" in proof.detail
    assert "jupyter-deploy-no-such-package-xyz" in proof.detail
    assert "API proof FAILED" in handoff.summary
    assert (tmp_path / "out" / "requirements.txt").read_text() == req.read_text()


def test_edited_files_in_out_are_not_overwritten_without_overwrite(churn, tmp_path):
    from jupyter_deploy.container.context import ContextConflict

    model, X = churn
    ctx = make_ctx(tmp_path, {"clf": model, "X": X.head(5)})
    out = tmp_path / "out"
    out.mkdir()
    (out / "app.py").write_text("# my own app\n")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ContextConflict, match=r"already holds different files: app\.py"):
        deploy(ctx, var="clf", name="churn", sample="X", out=str(out))
    assert sorted(p.name for p in out.iterdir()) == ["app.py", "notes.txt"]
    assert (out / "app.py").read_text() == "# my own app\n"
    _b, handoff = deploy(ctx, var="clf", name="churn", sample="X", out=str(out), overwrite=True)
    assert handoff.details["replaced"] == ["app.py"]
    assert (out / "notes.txt").read_text() == "mine"  # files that are not ours stay
    assert "Generated by jupyter-deploy" in (out / "app.py").read_text()


def test_port_in_use_is_refused_before_anything_is_built(churn, tmp_path):
    model, X = churn
    ctx = make_ctx(tmp_path, {"clf": model, "X": X.head(5)})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        target, backend = split(ctx, var="clf", name="churn", sample="X", build_image=True,
                                port=port, out=str(tmp_path / "out"))
        target.validate(ctx)
        with pytest.raises(PortInUse, match=f"Port {port} on 127.0.0.1 is already in use"):
            backend.validate(ctx.destination)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("work*"))


@pytest.mark.parametrize("options, words", [
    ({"var": "", "name": "churn"}, "needs the variable"),
    ({"var": "clf", "name": ""}, "needs --name"),
    ({"var": "clf", "name": "no spaces"}, "Invalid container name"),
    ({"var": "clf", "name": "churn", "port": 70000}, "is not a port number"),
])
def test_bad_options(options, words, tmp_path):
    ctx = make_ctx(tmp_path, {})
    with pytest.raises(UsageError, match=words):
        target, backend = split(ctx, **options)
        target.validate(ctx)
        backend.validate(ctx.destination)


def test_out_that_is_a_file_and_unknown_variable(churn, tmp_path):
    from jupyter_deploy.errors import VariableNotFound

    model, X = churn
    ctx = make_ctx(tmp_path, {"clf": model})
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        split(ctx, var="clf", name="churn", out=str(afile))[0].validate(ctx)
    ctx.destination = None
    with pytest.raises(VariableNotFound, match="nope"):
        ContainerTarget(var="nope", name="churn").build(ctx)
    with pytest.raises(Exception, match="not a model with a predict method"):
        make = make_ctx(tmp_path / "b", {"clf": {"not": "a model"}})
        ContainerTarget(var="clf", name="churn").build(make)


def test_live_model_that_differs_from_the_clean_one_is_refused(churn, tmp_path):
    model, X = churn
    other, _ = make_churn(seed=5)
    clean = CleanStore({"clf": model, "X": X.head(10)})
    ctx = make_ctx(tmp_path, {"clf": other, "X": X.head(10)}, clean=clean)
    with pytest.raises(VerificationFailed, match="disagree on X"):
        ContainerTarget(var="clf", name="churn", sample="X").build(ctx)
    assert not list(tmp_path.glob("work*/*/model/model.pkl"))
    forced = make_ctx(tmp_path / "f", {"clf": other, "X": X.head(10)}, clean=clean, force=True)
    bundle = ContainerTarget(var="clf", name="churn", sample="X").build(forced)
    assert bundle.proofs[0].name == "live-vs-clean" and "--force" in bundle.proofs[0].detail
    meta = json.loads((bundle.path / "model" / "metadata.json").read_text())
    assert meta["forced"] is True
    import copy

    same = make_ctx(tmp_path / "s", {"clf": copy.deepcopy(model), "X": X.head(10)}, clean=clean)
    bundle = ContainerTarget(var="clf", name="churn", sample="X").build(same)
    assert bundle.proofs[0].ok and "agree on 10 sample rows" in bundle.proofs[0].detail


def test_no_sample_still_serves_and_says_why_nothing_was_compared(churn, tmp_path):
    model, _X = churn
    ctx = make_ctx(tmp_path, {"clf": model})
    _b, handoff = deploy(ctx, var="clf", name="churn", out=str(tmp_path / "out"))
    names = {p.name: p for p in handoff.proofs}
    assert all(p.ok for p in handoff.proofs), [(p.name, p.detail) for p in handoff.proofs]
    assert "no sample to compare" in names["api-local: predictions"].detail


def test_build_flag_on_the_command_line_and_in_the_magic():
    from jupyter_deploy.options import ArgumentParser, add_plugin_arguments, options_from

    parser = ArgumentParser(prog="jupyter deploy container")
    add_plugin_arguments(parser, ContainerTarget, positional=True)
    ns = parser.parse_args(["clf", "--name", "churn", "--sample", "X_test", "--build",
                            "--engine", "podman", "--base-image", "localhost/py:3.11",
                            "--push", "reg.example/churn:1"])
    opts = options_from(ns, ContainerTarget)
    assert opts == {"var": "clf", "name": "churn", "sample": "X_test", "build_image": True,
                    "engine": "podman", "base_image": "localhost/py:3.11",
                    "push": "reg.example/churn:1"}
    with pytest.raises(UsageError, match="invalid choice"):
        parser.parse_args(["clf", "--name", "x", "--engine", "lxc"])
    from jupyter_deploy.plugin import magic_line

    line = magic_line("container", {"var": "clf", "name": "churn", "build_image": True},
                      ContainerTarget.options_schema())
    assert line == "%deploy container clf --name churn --build"
