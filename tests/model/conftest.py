from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from artefact_server import ArtefactServer  # noqa: E402


@pytest.fixture(autouse=True)
def _no_signing_key(monkeypatch):
    for var in ("JUPYTER_DEPLOY_SIGNING_KEY", "JUPYTER_DEPLOY_SIGNING_KEY_FILE",
                "JUPYTER_DEPLOY_REGISTRY_TOKEN"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def http_registry(tmp_path):
    with ArtefactServer(tmp_path / "http-store") as srv:
        yield srv


@pytest.fixture
def memory_url(request):
    import fsspec

    url = f"memory://reg-{request.node.name.replace('[', '-').replace(']', '')}-{os.getpid()}"
    yield url
    fs = fsspec.filesystem("memory")
    try:
        fs.rm(url.split("://", 1)[1], recursive=True)
    except FileNotFoundError:
        pass


@pytest.fixture(params=["folder", "memory", "http"])
def any_registry(request, tmp_path):
    """A registry URL of each kind: a folder, memory:// (fsspec), an HTTP server on loopback."""
    if request.param == "folder":
        yield str(tmp_path / "registry")
    elif request.param == "memory":
        yield request.getfixturevalue("memory_url")
    else:
        yield request.getfixturevalue("http_registry").url


@pytest.fixture(scope="session")
def churn():
    """A scikit-learn pipeline on a mixed-type frame, and a sample of it."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(42)
    n = 300
    df = pd.DataFrame({
        "age": rng.normal(45, 12, n),
        "tenure": rng.integers(0, 72, n),
        "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n)),
        "region": rng.choice(["north", "south"], n),
    })
    df.loc[5, "age"] = np.nan
    y = ((df["tenure"] < 12) ^ (df["plan"] == "basic")).astype(int)
    pre = ColumnTransformer([
        ("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]), ["age", "tenure"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
    ])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))]).fit(df, y)
    return model, df.iloc[:40].copy()
