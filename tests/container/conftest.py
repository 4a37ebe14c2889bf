"""Fixtures of the container tests: a real fitted pipeline, its artefact and build context, one
fresh venv serving the generated API on loopback, and (marked ``engine``) a real podman/docker
with a Debian-made base image and ONE image build per session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from container_helpers import make_churn
from jdtest import need


@pytest.fixture(scope="session")
def churn():
    return make_churn()


@pytest.fixture(scope="session")
def churn_artefact(churn, tmp_path_factory):
    from jupyter_deploy.model.artefact import write_artefact

    model, X = churn
    dest = tmp_path_factory.mktemp("artefact")
    write_artefact(model, dest, name="churn", sample=X.head(20), notebook_hash="ab" * 32)
    return dest


@pytest.fixture(scope="session")
def churn_context(churn_artefact, tmp_path_factory):
    from jupyter_deploy.container.context import ContextOptions, write_context

    dest = tmp_path_factory.mktemp("context") / "churn"
    write_context(dest, churn_artefact, ContextOptions(
        name="churn", notebook="../nb.ipynb", notebook_hash="ab" * 32,
        regenerate="jupyter deploy container nb.ipynb --var clf --name churn"))
    return dest


@pytest.fixture(scope="session")
def venv_python(churn_context, tmp_path_factory):
    """One fresh venv from the context's requirements.txt, shared by the API tests."""
    from jupyter_deploy.container.proof import make_venv

    py, _tool = make_venv(churn_context / "requirements.txt",
                          tmp_path_factory.mktemp("venv") / "v")
    return py


@pytest.fixture(scope="session")
def api(churn_context, venv_python):
    """The generated API served from the fresh venv on 127.0.0.1."""
    from jupyter_deploy.container.proof import LocalServer, wait_healthy

    server = LocalServer(churn_context, venv_python).start()
    why = wait_healthy(server.base_url, alive=server.alive)
    if why:
        log = server.log()
        server.close()
        pytest.fail(f"the generated API did not start: {why}\n{log}")
    yield server
    server.close()


@pytest.fixture(scope="session")
def sample(churn_context):
    return json.loads((churn_context / "model" / "sample.json").read_text())


# ------------------------------------------------------------------------------ engines


@pytest.fixture(scope="session")
def engine(tmp_path_factory):
    from jupyter_deploy.container.engine import available

    eng = available("auto", conf_dir=tmp_path_factory.mktemp("containers-conf"))
    need(eng is not None, "a container engine (podman or docker)",
         "apt-get install -y podman buildah runc debootstrap")
    return eng


@pytest.fixture(scope="session")
def base_image(engine):
    """The Debian-made Python base image (built once per machine, cached by tag)."""
    from jupyter_deploy.container.baseimage import DEFAULT_TAG, build_base_image

    if not engine.image_exists(DEFAULT_TAG):
        need(shutil.which("debootstrap") is not None or Path("/usr/sbin/debootstrap").exists(),
             "debootstrap (to make the base image)", "apt-get install -y debootstrap")
    info = build_base_image(DEFAULT_TAG, engine=engine, log=lambda _m: None)
    return info["tag"]
