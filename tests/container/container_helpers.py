"""Helpers of the container tests (import with ``from container_helpers import ...``)."""

from __future__ import annotations

from pathlib import Path


def make_churn(rows: int = 240, seed: int = 0):
    """A pipeline over int, float (with missing values) and text columns, and its data."""
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.integers(18, 80, rows).astype("int64"),
        "income": rng.normal(50.0, 12.0, rows),
        "plan": rng.choice(["basic", "plus", "pro"], rows),
    })
    X.loc[X.index % 7 == 3, "income"] = np.nan
    y = ((X["age"] > 45) ^ (X["plan"] == "pro")).astype(int)
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(), ["plan"]),  # handle_unknown="error": unknown plans are refused
        ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
    ])
    model = make_pipeline(pre, LogisticRegression()).fit(X, y)
    return model, X


def make_ctx(tmp_path: Path, objects: dict, *, clean=None, force=False, notebook=None):
    """A DeployContext over given objects (the clean run's when ``clean`` is given)."""
    from jupyter_deploy.config import deploy_config
    from jupyter_deploy.progress import Reporter
    from jupyter_deploy.plugin import DeployContext, ObjectSource

    nb = notebook or tmp_path / "nb.ipynb"
    if not nb.exists():
        nb.parent.mkdir(parents=True, exist_ok=True)
        nb.write_text("{}")
    return DeployContext(
        notebook=nb, notebook_hash="cd" * 32,
        check={"verdict": "repeatable", "environment": {}},
        objects=ObjectSource(clean, objects), reporter=Reporter(),
        workdir=tmp_path / "work", config=deploy_config(), force=force, live_session=False,
    )


class CleanStore:
    """The clean run's objects, with the ObjectStore interface the core reads."""

    def __init__(self, objects: dict):
        self.objects = objects

    def names(self):
        return list(self.objects)

    def load(self, name):
        return self.objects[name]

    def pickled(self, name):
        return None

    def describe(self):
        return [{"name": n} for n in self.objects]
