"""End to end through the seam: a real notebook, checked in a real kernel, deployed with
api.deploy and with the CLI, recorded in the history."""

from __future__ import annotations

import json

import pytest

from jdtest import run_cli

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CELLS = [
    "import numpy as np, pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\n"
    "from sklearn.preprocessing import StandardScaler",
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame({'a': rng.normal(size=120), 'b': rng.integers(0, 9, 120)})\n"
    "y = (X.a + X.b / 4 > 1).astype(int)\n"
    "X_test = X.tail(12)",
    "clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)\n"
    "print(clf.score(X, y) > 0.5)",
]


def test_api_deploy_and_cli(make_notebook, tmp_path):
    from jupyter_deploy import api

    nb = make_notebook(CELLS)
    out = tmp_path / "svc"
    result = api.deploy("container", nb, options={"var": "clf", "name": "svc",
                                                   "sample": "X_test", "out": str(out)})
    assert result["status"] == "ok" and result["destination"] == str(out)
    names = {p["name"]: p for p in result["proofs"]}
    assert names["api-local: predictions (split)"]["ok"]
    assert "12 sample rows" in names["api-local: predictions (split)"]["detail"]
    assert "build the image with `podman build -t localhost/svc:" in result["summary"]
    # one destination: the "out" option a client sends is --to (--out is the same flag)
    assert result["magic"].startswith("%deploy container clf --name svc ")
    assert result["magic"].endswith(f" --to {out}") and "--out" not in result["magic"]
    assert "--sample X_test" in result["magic"]
    meta = json.loads((out / "model" / "metadata.json").read_text())
    assert meta["verdict"] == result["verdict"] and meta["notebook_hash"] == result[
        "notebook_hash"]
    header = (out / "Dockerfile").read_text().splitlines()[2]
    assert result["notebook_hash"][:16] in header
    (record,) = api.history(nb, target="container")
    assert record["status"] == "ok" and record["destination"] == str(out)

    # The CLI mirror, asking for a build with an engine that is not installed here: the
    # context is still proven, and the error says exactly how to build later. (Its README now
    # says "docker build", a different file: without --overwrite that is refused.)
    args = ["container", nb, "--var", "clf", "--name", "svc", "--sample", "X_test",
            "--out", str(out), "--build", "--engine", "docker"]
    proc = run_cli(*args, cwd=tmp_path, timeout=900)
    assert proc.returncode == 1 and "already holds different files: README.md" in proc.stderr
    assert "--overwrite" in proc.stderr
    proc = run_cli(*args, "--overwrite", cwd=tmp_path, timeout=900)
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr.strip().splitlines()[-1]
    assert "its proof failed: image: build: No container engine works here (docker:" in err
    assert "build the image later with: docker build -t localhost/svc:" in err
    # the hint blames the engine, not the notebook
    assert "The notebook is not the cause" in err and "fix the notebook" not in err
    records = api.history(nb, target="container")
    assert [r["status"] for r in records] == ["failed", "ok"]
    assert "docker build -t localhost/svc:" in (out / "README.md").read_text()
