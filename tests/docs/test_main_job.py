"""`make demo`'s main job, end to end: every target on the demo notebooks, and its summary."""

from __future__ import annotations

import os
import subprocess

import pytest

from jdtest import PYTHON, ROOT

pytestmark = [pytest.mark.slow, pytest.mark.kernel]


def test_main_job_deploys_and_proves_every_target(tmp_path):
    env = dict(os.environ, JUPYTER_DEPLOY_DEMO_DIR=str(tmp_path / "demo"))
    env.pop("JUPYTER_DEPLOY_HOME", None)  # the demo keeps its own, under its folder
    proc = subprocess.run([PYTHON, str(ROOT / "scripts" / "demo.py")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=3000)
    out = proc.stdout
    assert proc.returncode == 0, out[-5000:] + proc.stderr[-3000:]
    summary = out[out.index("step "):]
    for step in ("check model-demo", "check report-demo", "check defects-demo",
                 "report -> knowledge repo", "model -> local registry", "sql -> DuckDB view",
                 "container -> context + API"):
        line = next(ln for ln in summary.splitlines() if ln.startswith(step))
        assert " ok " in line, line
    assert "FAILED" not in summary and "✘" not in summary
    demo = tmp_path / "demo"
    assert (demo / "knowledge-repo" / "index.html").exists()
    assert (demo / "registry" / "churn" / "v1" / "metadata.json").exists()
    assert (demo / "container" / "churn" / "Dockerfile").exists()
    assert (demo / "warehouse.duckdb").exists()
    import duckdb

    con = duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True)
    rows = con.execute("SELECT count(*) FROM customer_churn_scores").fetchone()[0]
    assert rows == 3000
