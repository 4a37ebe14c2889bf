"""`make demo` from a fresh clone: the set-up builds its own .venv (the `demo` extra only, not
the test extras this suite runs in), builds and enables the lab extension, and the main job then
deploys and proves every target from that environment.

This is the guard against "it passed here because this machine had been set up by hand": the
clone has no .venv, no node_modules and no built lab assets, so a dependency missing from the
demo's extras (JupyterLab for jlpm, pandas for the notebooks, pyarrow for the SQL proof) or a
set-up step that silently relies on the test set-up fails here. System packages are the same
machine's (tests/docs/test_system_packages.py checks that set-up names each of them); uv's and
yarn's caches keep this to about two minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from jdtest import ROOT, need

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

STEPS = ("check model-demo", "check report-demo", "check defects-demo", "report -> knowledge repo",
         "model -> local registry", "sql -> DuckDB view", "container -> context + API")


def fresh_clone(dest: Path) -> Path:
    """The working tree's files as git would check them out (tracked and new, not ignored)."""
    files = subprocess.run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def clean_env(**extra) -> dict:
    """A login shell's environment: no venv of ours on PATH, no deploy home of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "VIRTUAL_ENV"))}
    venv_bin = str(ROOT / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    need(shutil.which("node") is not None, "Node.js (the set-up builds the lab extension)",
         "apt-get install -y nodejs npm")
    dest = fresh_clone(tmp_path_factory.mktemp("clone"))
    start = time.monotonic()
    proc = subprocess.run(["bash", "scripts/setup"], cwd=dest, env=clean_env(), capture_output=True,
                          text=True, timeout=1800, stdin=subprocess.DEVNULL)
    print(f"\nscripts/setup in a fresh clone: {time.monotonic() - start:.0f} s")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return dest


def test_setup_builds_and_enables_the_lab_extension_in_its_own_venv(clone):
    jupyter = clone / ".venv" / "bin" / "jupyter"
    assert (clone / ".venv" / "bin" / "jlpm").exists(), "JupyterLab (jlpm) is not in the demo's extras"
    assert (clone / "jupyter_deploy" / "labextension" / "package.json").exists()
    labs = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True,
                          env=clean_env(), cwd=clone)
    line = next(ln for ln in (labs.stdout + labs.stderr).splitlines() if "jupyter-deploy" in ln)
    assert "enabled" in line and "OK" in line, line
    linked = clone / ".venv" / "share" / "jupyter" / "labextensions" / "jupyter-deploy"
    assert linked.resolve() == (clone / "jupyter_deploy" / "labextension").resolve()
    servers = subprocess.run([str(jupyter), "server", "extension", "list"], capture_output=True,
                             text=True, env=clean_env(), cwd=clone)
    assert any("jupyter_deploy" in ln and "OK" in ln
               for ln in (servers.stdout + servers.stderr).splitlines())
    # the demo's environment is not the suite's: no test-only packages came with it
    pytest_there = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", "import pytest"],
                                  capture_output=True)
    assert pytest_there.returncode != 0


def test_main_job_deploys_and_proves_every_target(clone, tmp_path):
    env = clean_env(JUPYTER_DEPLOY_DEMO_DIR=str(tmp_path / "demo"))
    start = time.monotonic()
    proc = subprocess.run([str(clone / ".venv" / "bin" / "python"), "scripts/demo.py"], env=env,
                          cwd=clone, capture_output=True, text=True, timeout=3000,
                          stdin=subprocess.DEVNULL)
    print(f"\nscripts/demo.py from the clone's .venv: {time.monotonic() - start:.0f} s")
    out = proc.stdout
    assert proc.returncode == 0, out[-5000:] + proc.stderr[-3000:]
    summary = out[out.index("step "):]
    for step in STEPS:
        line = next(ln for ln in summary.splitlines() if ln.startswith(step))
        assert " ok " in line, line
    assert "FAILED" not in summary and "✘" not in summary
    from jupyter_deploy.container.engine import available

    if available() is not None:  # where an engine works, the image is built and run too
        assert "container -> context + API + " in summary and " image " in summary, summary
        assert "✔ image: runs" in summary and "✔ image: predictions (split)" in summary
    demo = tmp_path / "demo"
    assert (demo / "knowledge-repo" / "index.html").exists()
    assert (demo / "registry" / "churn" / "v1" / "metadata.json").exists()
    assert (demo / "container" / "churn" / "Dockerfile").exists()
    assert (demo / "warehouse.duckdb").exists()
    import duckdb

    con = duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT count(*) FROM customer_churn_scores").fetchone()[0]
    assert rows == 3000
