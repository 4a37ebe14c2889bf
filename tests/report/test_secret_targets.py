"""Issue 14: the model and container targets run the same scan on what they publish (model card,
sample.json, metadata.json, the container's README) before hand-off."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest

from jupyter_deploy import api
from jupyter_deploy.errors import SecretFound
from jupyter_deploy.report.secrets import check_bundle, scan_files

from report_helpers import new_notebook

SECRET = "Tr0ub4dorXyz93"

MODEL_CELL = (
    "import pandas as pd\n"
    "from sklearn.compose import ColumnTransformer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\n"
    "X = pd.DataFrame({'x': [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],\n"
    "                  'db_password': ['Tr0ub4' + 'dorXyz93'] * 6})\n"
    "y = [0, 0, 0, 1, 1, 1]\n"
    "clf = make_pipeline(ColumnTransformer([('x', 'passthrough', ['x'])]),\n"
    "                    LogisticRegression()).fit(X, y)\n"
    "X_test = X.head(3)"
)


def _walk_has(secret: str, *roots: Path) -> list:
    bad = []
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for n in names:
                p = Path(dirpath, n)
                if secret.encode() in p.read_bytes():
                    bad.append(str(p))
    return bad


@pytest.mark.kernel
@pytest.mark.parametrize("target", ["model", "container"])
def test_sample_with_a_secret_column_is_refused(target, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    nb = tmp_path / "nb" / "train.ipynb"
    nb.parent.mkdir()
    nbformat.write(new_notebook([MODEL_CELL]), nb)
    out = tmp_path / "context"
    options = {"var": "clf", "name": "churn", "sample": "X_test"}
    if target == "container":
        options["out"] = str(out)
    with pytest.raises(SecretFound) as info:
        api.deploy(target, nb, options=options, to=str(tmp_path / "reg") if target == "model" else None)
    line = info.value.one_line()
    assert "\n" not in line and SECRET not in line
    assert "Secret Keyword in " in line
    # the container's README shows a request made of the sample: it is caught there first
    first = "README.md, line" if target == "container" else "sample.json, column db_password"
    assert first in line
    assert any("sample.json, column db_password" in h for h in info.value.details["hits"])
    home = Path(os.environ["JUPYTER_DEPLOY_HOME"])
    # nothing published, nothing kept by the tool outside its (private) check cache
    assert not (tmp_path / "reg").exists() or _walk_has(SECRET, tmp_path / "reg") == []
    assert not out.exists() or _walk_has(SECRET, out) == []
    assert list(tmp.iterdir()) == []
    assert _walk_has(SECRET, home) == []  # the check's cache entry went with the refusal
    assert (home / "cache" / "check").is_dir() and not any(home.glob("cache/check/*/executed.ipynb"))


def test_scan_files_names_file_and_kind_and_allow_list(tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "README.md").write_text("# churn\n\nTrained with AWS key AKIAIOSFODNN7EXAMPLE\n")  # pragma: allowlist secret
    (folder / "metadata.json").write_text(json.dumps({"name": "churn", "api_token": "q" + "Wx9vLm2Rt7Zk"}))
    hits = scan_files([folder / "README.md", folder / "metadata.json"], folder)
    assert sorted((h.file, h.kind) for h in hits) == [
        ("README.md", "AWS Access Key"), ("metadata.json", "Secret Keyword")]
    allow = [f"AWS Access Key@README.md", hits[-1].fingerprint]
    allowed = check_bundle(folder, ["README.md", "metadata.json"], "the model churn",
                           type("C", (), {"allow_secrets": allow})())
    assert len(allowed) == 2 and all(a["allowed_by"] for a in allowed)
    with pytest.raises(SecretFound, match=r"the model churn would contain a secret: "
                                          r"AWS Access Key in README.md, line 3"):
        check_bundle(folder, ["README.md", "metadata.json"], "the model churn")
    assert not folder.exists()  # a refused bundle is removed
