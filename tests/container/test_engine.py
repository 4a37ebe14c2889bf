"""Step 2 for real: podman (or docker) builds the image from a Debian-made base image, runs it
with --init on 127.0.0.1, and it answers as the notebook. ONE successful build per session; the
faults (missing base image, failing build, port in use, push) fail fast without building."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest

from container_helpers import make_ctx
from jupyter_deploy.backends.engine import ContainerEngineBackend
from jupyter_deploy.container.engine import (
    BaseImageMissing,
    BuildFailed,
    EngineNotFound,
    PortInUse,
    containers_conf_text,
    detect,
    free_port,
)
from jupyter_deploy.container.proof import http, prove_image, wait_healthy
from jupyter_deploy.progress import Reporter
from jupyter_deploy.targets.container import ContainerTarget

pytestmark = [pytest.mark.engine, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(churn, base_image, engine, tmp_path_factory):
    """The one image build of the session: %deploy container clf --build --base-image ..."""
    model, X = churn
    tmp = tmp_path_factory.mktemp("built")
    ctx = make_ctx(tmp, {"clf": model, "X_test": X.head(20)})
    target = ContainerTarget(var="clf", name="churn-e2e", sample="X_test", base_image=base_image)
    backend = ContainerEngineBackend(build_image=True, engine=engine.name)
    ctx.destination = str(tmp / "out")
    ctx.backend_options = backend.option_values()
    target.validate(ctx)
    backend.validate(ctx.destination)
    bundle = target.build(ctx)
    bundle.write_manifest()
    start = time.monotonic()
    handoff = backend.publish(bundle, ctx.destination, Reporter())
    handoff.details["publish_seconds"] = round(time.monotonic() - start, 1)
    print(f"\nbuild+prove: {handoff.details['publish_seconds']} s; "
          f"{json.dumps({k: handoff.details.get('container', {}).get(k) for k in ('build_seconds', 'image_size', 'image_id')})}")
    return handoff


def test_containers_conf_keeps_ulimits_within_the_machine():
    text = containers_conf_text()
    assert 'runtime = "runc"' in text
    nofile = int(text.split("nofile=")[1].split(":")[0])
    nproc = int(text.split("nproc=")[1].split(":")[0])
    assert 0 < nofile <= 20000 and 0 < nproc <= 20000
    with pytest.raises(ValueError):
        containers_conf_text(nofile=100000)


def test_engine_detection_names_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineNotFound) as info:
        detect("auto")
    assert "podman: not installed; docker: not installed" in info.value.message
    assert "apt-get install podman" in info.value.hint
    assert "podman build" in info.value.hint


def test_the_built_image_answers_as_the_notebook(built):
    proofs = {p.name: p for p in built.proofs}
    failed = [(p.name, p.detail) for p in built.proofs if not p.ok]
    assert not failed, failed
    for name in ("api-local: predictions (split)", "image: build", "image: runs",
                 "image: predictions (split)", "image: predictions (records)",
                 "image: rejects bad input", "image: stops on SIGTERM"):
        assert proofs[name].ok, name
    assert "20 sample rows: the API answers as the notebook's model did" in proofs[
        "image: predictions (split)"].detail
    assert "(run with --init, published on 127.0.0.1 only)" in proofs["image: runs"].detail
    assert proofs["image: stops on SIGTERM"].data["seconds"] < 8
    details = built.details
    assert details["image_id"] and details["image_size"] > 50e6
    assert "image localhost/churn-e2e:" in built.summary and "proven" in built.summary


def test_image_runs_as_non_root_with_healthcheck(built, engine):
    image = built.details["image"]
    proc = subprocess.run(engine.command("image", "inspect", image), env=engine.env,
                          capture_output=True, text=True, timeout=60)
    info = json.loads(proc.stdout)[0]
    config = info.get("Config") or info.get("ContainerConfig") or {}
    assert config.get("User") == "10001:10001"
    health = config.get("Healthcheck") or info.get("Healthcheck") or info.get("HealthCheck") or {}
    assert "/health" in json.dumps(health)
    assert config.get("StopSignal") in ("SIGTERM", "15")
    labels = config.get("Labels") or {}
    assert labels.get("io.jupyter-deploy.model.content-sha256")
    # No build tools or secrets left in the image's environment.
    env = " ".join(config.get("Env") or [])
    assert "PIP_INDEX_URL" not in env and "TOKEN" not in env.upper()


def test_batch_inside_the_image(built, engine, churn, tmp_path):
    import pandas as pd

    model, X = churn
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    X.head(40).to_csv(data / "in.csv", index=False)
    proc = subprocess.run(
        engine.command("run", "--rm", "-v", f"{data}:/data", built.details["image"],
                       "python", "/app/batch.py", "/data/in.csv", "/data/out.csv",
                       "--chunk-rows", "16"),
        env=engine.env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = pd.read_csv(data / "out.csv")
    assert got["prediction"].tolist() == model.predict(X.head(40)).tolist()


def test_port_in_use_when_running(built, engine):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=f"Port {port} on 127.0.0.1 is already in use"):
            engine.run(built.details["image"], host_port=port)


def test_push_to_a_real_registry(built, engine, tmp_path):
    """--push against a real registry (Debian's docker-registry, the CNCF distribution server)
    on loopback: the registry then serves the image's tag, and its manifest names our image's
    config, i.e. the very image that was built and proved."""
    import dataclasses
    import urllib.request

    from jdtest import need_command

    registry = need_command("docker-registry", "apt-get install -y docker-registry")
    port = free_port()
    (tmp_path / "store").mkdir()
    cfg = tmp_path / "registry.yml"
    cfg.write_text(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                   f"    rootdirectory: {tmp_path / 'store'}\nhttp:\n  addr: 127.0.0.1:{port}\n")
    proc = subprocess.Popen([registry, "serve", str(cfg)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    dest = f"127.0.0.1:{port}/churn-e2e:1"
    try:
        base = f"http://127.0.0.1:{port}/v2/"
        for _ in range(100):
            try:
                urllib.request.urlopen(base, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        # plain HTTP on loopback: podman is told so the standard way, in a registries.conf
        conf = tmp_path / "registries.conf"
        conf.write_text(f'[[registry]]\nlocation = "127.0.0.1:{port}"\ninsecure = true\n')
        eng = dataclasses.replace(engine, env={**(engine.env or {}), "CONTAINERS_REGISTRIES_CONF": str(conf)})
        eng.push(built.details["image"], dest)
        tags = json.loads(urllib.request.urlopen(base + "churn-e2e/tags/list", timeout=10).read())
        assert tags == {"name": "churn-e2e", "tags": ["1"]}
        req = urllib.request.Request(base + "churn-e2e/manifests/1", headers={"Accept": ", ".join([
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json"])})
        manifest = json.loads(urllib.request.urlopen(req, timeout=10).read())
        # the image id is the digest of its config: the registry holds this very image
        assert manifest["config"]["digest"] == "sha256:" + eng.image_info(built.details["image"])["id"]
        assert len(manifest["layers"]) >= 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        engine.rmi(dest)


def test_push_to_an_unreachable_registry_shows_the_engine_error(built, engine):
    """A registry that is not there: the engine's own error, one line, and what to do."""
    port = free_port()
    dest = f"127.0.0.1:{port}/churn-e2e:test"
    from jupyter_deploy.container.engine import PushFailed

    with pytest.raises(PushFailed) as info:
        engine.push(built.details["image"], dest)
    text = info.value.one_line()
    assert f"push to {dest} failed" in text
    assert "connection refused" in text.lower() or "connect" in text.lower()
    assert "login" in info.value.hint
    engine.rmi(dest)


def test_a_base_image_that_does_not_exist(engine, churn_context):
    start = time.monotonic()
    with pytest.raises(BaseImageMissing) as info:
        engine.build(churn_context, "localhost/jd-never-built:1",
                     build_args={"BASE_IMAGE": "localhost/jd-no-such-base:0.0"})
    assert time.monotonic() - start < 120
    err = info.value
    assert "The base image 'localhost/jd-no-such-base:0.0' does not exist here" in err.message
    assert "jupyter_deploy.container.baseimage" in err.hint
    assert err.details["output"]  # the engine's own words are kept
    assert not engine.image_exists("localhost/jd-never-built:1")


def test_a_failing_build_shows_the_engine_output(engine, base_image, churn_context, tmp_path):
    import shutil

    ctx = tmp_path / "ctx"
    shutil.copytree(churn_context, ctx)
    req = ctx / "requirements.txt"
    req.write_text(req.read_text() + "jupyter-deploy-no-such-package-xyz==0.0.1\n")
    with pytest.raises(BuildFailed) as info:
        engine.build(ctx, "localhost/jd-broken:1", build_args={"BASE_IMAGE": base_image})
    err = info.value
    assert "build of localhost/jd-broken:1 failed" in err.message
    assert "jupyter-deploy-no-such-package-xyz" in err.details["output"]
    assert "jupyter-deploy-no-such-package-xyz" in err.one_line()  # shown, not swallowed
    # Through the proof: a failed "image: build" proof carrying the same output.
    proofs, details = prove_image(ctx, engine, tag="localhost/jd-broken:1",
                                  base_image=base_image)
    assert [p.name for p in proofs] == ["image: build"] and not proofs[0].ok
    assert "jupyter-deploy-no-such-package-xyz" in proofs[0].data["output"]


def test_the_container_stops_at_once_on_sigterm(built, engine):
    port = free_port()
    cid = engine.run(built.details["image"], host_port=port)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", alive=lambda: engine.running(cid)) is None
        status, body = http("GET", f"http://127.0.0.1:{port}/metadata")
        assert status == 200 and body["name"] == "churn-e2e"
        seconds = engine.stop(cid, timeout=20)
    finally:
        engine.rm(cid)
    assert seconds < 8


def test_a_missing_init_helper_is_one_line_naming_the_package(built, engine, tmp_path):
    """The fresh-machine failure, reproduced for real: podman's containers.conf points --init at
    a catatonit that is not there (as on a machine without Debian's catatonit package). The
    proof then says so in one line with the package to install, not the engine's raw error."""
    import dataclasses
    from pathlib import Path

    from jupyter_deploy.container.engine import InitMissing

    from jdtest import need

    need(engine.name == "podman", "podman (its init_path setting reproduces the missing helper)",
         "apt-get install -y podman")
    conf = tmp_path / "containers.conf"
    base = Path(engine.conf_path).read_text() if engine.conf_path else "[containers]\n"
    assert "[containers]" in base
    conf.write_text(base.replace("[containers]", '[containers]\ninit_path = "/nonexistent/catatonit"', 1))
    eng = dataclasses.replace(engine, env={**(engine.env or {}), "CONTAINERS_CONF": str(conf)},
                              conf_path=str(conf))
    with pytest.raises(InitMissing) as info:
        eng.run(built.details["image"], host_port=free_port(), name="jd-init-missing")
    eng.rm("jd-init-missing")
    line = info.value.one_line()
    assert "\n" not in line
    assert "podman cannot run containers with --init here" in line
    assert "apt-get install catatonit" in line
    # through the proof: one failed "image: runs" proof carrying that same line, no traceback
    proofs, _details = prove_image(built.details["out"], eng, tag=built.details["image"],
                                   base_image=built.details["base_image"], keep_image=True)
    runs = next(p for p in proofs if p.name == "image: runs")
    assert not runs.ok and "apt-get install catatonit" in runs.detail, runs.detail
