"""Registries: a folder, memory:// (fsspec) and an HTTP artefact server on loopback."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from jupyter_deploy.errors import IntegrityError, RegistryError, UsageError
from jupyter_deploy.model import list_models, load, open_registry
from jupyter_deploy.model.artefact import write_artefact
from mworkers import fitted


def artefact(model, sample, name="clf"):
    d = Path(tempfile.mkdtemp(prefix="art-"))
    write_artefact(model, d, name=name, sample=sample)
    return d


def test_versions_reuse_aliases_and_load(any_registry):
    reg = open_registry(any_registry)
    m1, X = fitted(1.0)
    m2, _ = fitted(0.1)
    r1 = reg.publish(artefact(m1, X[:5]), name="clf", alias="production")
    assert (r1["version"], r1["reused"]) == (1, False)
    again = reg.publish(artefact(m1, X[:5]), name="clf")  # identical content
    assert (again["version"], again["reused"]) == (1, True)
    r2 = reg.publish(artefact(m2, X[:5]), name="clf", alias="staging")
    assert (r2["version"], r2["reused"]) == (2, False)
    assert r2["uri"] == f"{reg.url}/clf/v2"
    assert r2["metadata"]["version"] == 2
    assert reg.versions("clf") == [1, 2]
    assert reg.aliases("clf") == {"production": 1, "staging": 2}
    assert load("clf", registry=any_registry).C == 0.1  # latest
    assert load("clf", "production", registry=any_registry).C == 1.0
    assert load("clf", 2, registry=any_registry).C == 0.1
    assert load("clf", "v1", registry=any_registry).C == 1.0
    model, meta = load("clf", 1, registry=any_registry, with_metadata=True)
    assert meta["version"] == 1 and meta["name"] == "clf"
    reg.set_alias("clf", "production", 2)  # moving an alias
    assert load("clf", "production", registry=any_registry).C == 0.1
    rows = list_models(registry=any_registry)
    assert [(r["name"], r["version"], r["aliases"]) for r in rows] == [
        ("clf", 1, []), ("clf", 2, ["production", "staging"])]
    assert rows[0]["model_class"].endswith("LogisticRegression")
    assert list_models("clf", registry=any_registry) == rows
    with pytest.raises(RegistryError, match="no version 'canary'") as err:
        load("clf", "canary", registry=any_registry)
    assert "v1, v2" in err.value.hint and "production->v2" in err.value.hint
    with pytest.raises(RegistryError, match="no model 'nope'"):
        load("nope", registry=any_registry)


def test_tampered_model_in_registry_is_refused(any_registry, tmp_path):
    reg = open_registry(any_registry)
    m, X = fitted()
    reg.publish(artefact(m, X[:5]), name="clf")
    data = bytearray(reg.store.read_bytes("clf/v1/model.pkl"))
    data[len(data) // 2] ^= 0x01
    reg.store.write_bytes("clf/v1/model.pkl", bytes(data))
    with pytest.raises(IntegrityError, match="model.pkl"):
        load("clf", registry=any_registry)


def test_signed_registry(any_registry, monkeypatch):
    m, X = fitted()
    reg = open_registry(any_registry)
    reg.publish(artefact(m, X[:5]), name="unsigned")
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k1")
    res = reg.publish(artefact(m, X[:5], name="signed"), name="signed")
    assert res["metadata"]["signature"]
    assert load("signed", registry=any_registry).C == 1.0
    with pytest.raises(IntegrityError, match="not signed"):
        load("unsigned", registry=any_registry)
    monkeypatch.setenv("JUPYTER_DEPLOY_SIGNING_KEY", "k2")
    with pytest.raises(IntegrityError, match="signature does not match"):
        load("signed", registry=any_registry)


@pytest.mark.parametrize("bad", ["a/b", "..", "../x", "my model", "", " churn", "x" * 200, "a\\b"])
def test_bad_names_write_nothing(bad, any_registry, tmp_path):
    m, X = fitted()
    reg = open_registry(any_registry)
    with pytest.raises(UsageError, match="model name") as err:
        reg.publish(artefact(m, X[:5]), name=bad)
    assert "/" in str(err.value) or "required" in str(err.value)
    assert reg.names() == []
    if not any_registry.startswith(("memory", "http")):
        assert not Path(any_registry).exists()


def test_bad_alias(tmp_path):
    m, X = fitted()
    reg = open_registry(tmp_path / "r")
    with pytest.raises(UsageError, match="alias"):
        reg.publish(artefact(m, X[:5]), name="clf", alias="v3")
    assert not (tmp_path / "r").exists()


def test_http_retries_500_then_200(tmp_path):
    from artefact_server import ArtefactServer

    with ArtefactServer(tmp_path / "s", mode="flaky") as srv:
        m, X = fitted()
        res = open_registry(srv.url).publish(artefact(m, X[:5]), name="clf", alias="prod")
        assert res["version"] == 1
        assert load("clf", "prod", registry=srv.url).C == 1.0
        puts = [r for r in srv.requests if r[0] == "PUT"]
        assert len(puts) >= 2 * len({p for _, p in puts})  # every PUT was answered 500 once
        assert "models/clf/v1/metadata.json" in srv.files()


def test_http_always_500_is_a_clear_error(tmp_path):
    from artefact_server import ArtefactServer

    with ArtefactServer(tmp_path / "s", mode="down") as srv:
        m, X = fitted()
        with pytest.raises(RegistryError, match="HTTP 500 4 times") as err:
            open_registry(srv.url).publish(artefact(m, X[:5]), name="clf")
        assert "Nothing was published" in err.value.hint
        assert srv.files() == []


def test_http_read_only_server(tmp_path):
    from artefact_server import ArtefactServer

    with ArtefactServer(tmp_path / "s", mode="readonly") as srv:
        m, X = fitted()
        with pytest.raises(RegistryError, match="read-only"):
            open_registry(srv.url).publish(artefact(m, X[:5]), name="clf")
        assert srv.files() == []


def test_unreachable_registry():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    m, X = fitted()
    with pytest.raises(RegistryError, match="Cannot reach the registry") as err:
        open_registry(f"http://127.0.0.1:{port}/models").publish(artefact(m, X[:5]), name="clf")
    assert "running" in err.value.hint
    with pytest.raises(RegistryError, match="Cannot reach"):
        load("clf", registry=f"http://127.0.0.1:{port}/models")


def test_unknown_fsspec_protocol():
    with pytest.raises(UsageError, match="Install the fsspec implementation|Cannot open"):
        open_registry("nosuchproto://bucket/models")


def test_read_only_folder(tmp_path):
    """A registry folder the user cannot write to (run as nobody: root ignores permissions)."""
    import pwd

    base = Path(tempfile.mkdtemp(prefix="jd-ro-"))
    os.chmod(base, 0o755)
    reg = base / "registry"
    reg.mkdir(mode=0o755)
    m, X = fitted()
    art = artefact(m, X[:5])
    os.chmod(art.parent, 0o755) if art.parent != Path("/tmp") else None
    os.chmod(art, 0o755)
    for p in art.iterdir():
        os.chmod(p, 0o644)
    script = textwrap.dedent(f"""
        import os, sys, json
        # import everything first: python itself lives under /root, which nobody cannot read
        import jupyter_deploy.model.artefact, jupyter_deploy.model.card, jupyter_deploy.model.signing
        import jupyter_deploy.model.registry.folder, jupyter_deploy.errors
        if os.geteuid() == 0:
            os.setgid({pwd.getpwnam('nobody').pw_gid}); os.setuid({pwd.getpwnam('nobody').pw_uid})
        from jupyter_deploy.errors import RegistryError
        from jupyter_deploy.model.registry import open_registry
        try:
            open_registry({str(reg)!r}).publish(__import__('pathlib').Path({str(art)!r}), name="clf")
        except RegistryError as exc:
            print("ERR", exc.one_line()); sys.exit(3)
        print("OK")
    """)
    env = dict(os.environ, HOME=str(base))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env, cwd=base)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "read-only" in proc.stdout
    assert list(reg.iterdir()) == []


def test_crash_between_files_and_metadata_leaves_no_version(tmp_path, http_registry):
    """Kill the writer right before metadata.json: the version never appears; later writes work."""
    m, X = fitted()
    art = artefact(m, X[:5])
    for url in (str(tmp_path / "reg"), http_registry.url):
        script = textwrap.dedent(f"""
            import os
            from pathlib import Path
            from jupyter_deploy.model.registry import base, open_registry
            base.FAULT_HOOK = lambda stage: os._exit(17) if stage == "before_metadata" else None
            open_registry({url!r}).publish(Path({str(art)!r}), name="clf")
        """)
        proc = subprocess.run([sys.executable, "-c", script], timeout=120)
        assert proc.returncode == 17
        reg = open_registry(url)
        assert reg.versions("clf") == []
        assert list_models(registry=url) == []
        with pytest.raises(RegistryError, match="no model 'clf'"):
            load("clf", registry=url)
        res = reg.publish(art, name="clf")
        assert res["version"] == 2 and not res["reused"]  # v1 stays unused, never half-visible
        assert reg.versions("clf") == [2]
        assert load("clf", registry=url).C == 1.0
    assert not (tmp_path / "reg" / "clf" / "v1").exists()


def test_crash_in_memory_registry(memory_url, monkeypatch):
    from jupyter_deploy.model.registry import base

    class Crash(Exception):
        pass

    def hook(stage):
        raise Crash(stage)

    m, X = fitted()
    monkeypatch.setattr(base, "FAULT_HOOK", hook)
    with pytest.raises(Crash):
        open_registry(memory_url).publish(artefact(m, X[:5]), name="clf")
    monkeypatch.setattr(base, "FAULT_HOOK", None)
    assert open_registry(memory_url).versions("clf") == []
    assert open_registry(memory_url).publish(artefact(m, X[:5]), name="clf")["version"] == 2


@pytest.mark.parametrize("kind", ["folder", "http"])
def test_eight_concurrent_writers_get_eight_versions(kind, tmp_path, http_registry):
    url = str(tmp_path / "reg") if kind == "folder" else http_registry.url
    jobs = []
    for i in range(8):
        c = 0.1 * (i + 1)
        m, X = fitted(c)
        jobs.append((url, "clf", str(artefact(m, X[:5])), c))
    from mworkers import publish_dir_together

    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=publish_dir_together, args=(job, barrier, queue)) for job in jobs]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert all(r[0] != "error" for r in results), results
    versions = sorted(v for v, _ in results)
    assert versions == list(range(1, 9))
    reg = open_registry(url)
    assert reg.versions("clf") == list(range(1, 9))
    for v, c in results:
        assert load("clf", v, registry=url).C == pytest.approx(c)
