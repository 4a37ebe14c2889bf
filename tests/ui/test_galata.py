"""Browser tests of the JupyterLab sidebar: Galata (Playwright) on Debian's Chromium.

Runs ``labextension/ui-tests`` as a subprocess against a real JupyterLab whose root holds the
binder demo notebooks, and fails with Playwright's output when any browser test fails, so CI
reads the result from pytest's closing line. Screenshots of each state of the sidebar and the
measured timings land in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LABEXT = REPO / "labextension"
UI = LABEXT / "ui-tests"
BUILT = REPO / "jupyter_deploy" / "labextension"
ARTIFACTS = REPO / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.kernel]


def need(what: str, ok: bool, install: str) -> None:
    from jdtest import need as _need

    _need(ok, f"{what} (for the browser tests)", install)


def _run(cmd, cwd, env, timeout):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed in {cwd}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _newest(folder: Path, patterns) -> float:
    times = [p.stat().st_mtime for pat in patterns for p in folder.glob(pat)]
    return max(times) if times else 0.0


@pytest.fixture(scope="module")
def built_extension():
    """node_modules installed and the extension built from the current sources."""
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    need("Chromium", os.path.exists(CHROMIUM), "apt-get install -y chromium")
    need("Node.js", shutil.which("node", path=env["PATH"]) is not None, "apt-get install -y nodejs")
    need("jlpm", shutil.which("jlpm", path=env["PATH"]) is not None, "pip install jupyter-builder")
    if not (LABEXT / "node_modules").is_dir():
        _run(["jlpm", "install"], LABEXT, env, 900)
    if not (UI / "node_modules" / "@jupyterlab" / "galata").is_dir():
        _run(["jlpm", "install"], UI, env, 900)
    stamp = BUILT / "package.json"
    sources = _newest(LABEXT, ["src/*.ts", "style/*", "package.json"])
    if not stamp.exists() or stamp.stat().st_mtime < sources:
        _run(["jlpm", "build:prod"], LABEXT, env, 600)
    return env


@pytest.mark.timeout(1800)
def test_sidebar_in_chromium(built_extension, tmp_path, deploy_home, record_property):
    root = tmp_path / "root"
    shutil.copytree(REPO / "binder", root, ignore=shutil.ignore_patterns(".*", "postBuild"))
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    report = tmp_path / "report.json"
    labext = tmp_path / "labextensions"
    labext.mkdir()
    (labext / "jupyter-deploy").symlink_to(BUILT, target_is_directory=True)
    port = _free_port()
    env = dict(
        built_extension,
        JUPYTERLAB_GALATA_ROOT_DIR=str(root),
        JD_LABEXT_DIR=str(labext),
        JD_NOTEBOOKS=str(REPO / "binder"),
        JD_UI_PORT=str(port),
        JD_UI_SHOTS=str(ARTIFACTS),
        JD_UI_REPORT=str(report),
        JD_UI_OUTPUT=str(tmp_path / "playwright"),
        JD_JUPYTER=str(Path(sys.executable).parent / "jupyter"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        JUPYTER_DEPLOY_HOME=str(deploy_home),
    )
    env.pop("CI", None)  # Playwright's CI mode changes reporters; pytest reports for CI
    proc = subprocess.run(
        ["node", "node_modules/@playwright/test/cli.js", "test"]
        + (["-g", os.environ["JD_UI_GREP"]] if os.environ.get("JD_UI_GREP") else []),
        cwd=UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=1700,
    )
    output = proc.stdout + "\n" + proc.stderr
    (ARTIFACTS / "playwright-output.txt").write_text(output)
    if proc.returncode != 0:
        pytest.fail(f"Galata browser tests failed (exit {proc.returncode}):\n{output[-12000:]}")
    stats = json.loads(report.read_text())["stats"]
    assert stats["unexpected"] == 0 and stats["skipped"] == 0, stats
    if os.environ.get("JD_UI_GREP"):  # a developer running one browser test (-g PATTERN)
        assert stats["expected"] >= 1, stats
        return
    assert stats["expected"] >= 3, stats
    shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
    assert len(shots) >= 9, shots
    metrics_file = ARTIFACTS / "metrics.json"
    if metrics_file.exists():
        for key, value in json.loads(metrics_file.read_text()).items():
            record_property(key, value)
            print(f"{key}: {value}")
