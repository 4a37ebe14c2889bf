"""Functions run in child processes by the model tests (importable by spawn)."""

from __future__ import annotations

import tempfile
from pathlib import Path


def fitted(c: float = 1.0, n: int = 80, seed: int = 0):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return LogisticRegression(C=c).fit(X, y), X


def publish_one(args):
    registry_url, name, c = args
    from jupyter_deploy.model.artefact import write_artefact
    from jupyter_deploy.model.registry import open_registry

    model, X = fitted(c)
    with tempfile.TemporaryDirectory() as tmp:
        write_artefact(model, Path(tmp), name=name, sample=X[:5])
        res = open_registry(registry_url).publish(Path(tmp), name=name)
    return res["version"], c


def publish_dir(args):
    """Publish an already written artefact folder (children stay light: no scikit-learn)."""
    registry_url, name, folder, c = args
    from jupyter_deploy.model.registry import open_registry

    res = open_registry(registry_url).publish(Path(folder), name=name)
    return res["version"], c


def publish_dir_together(args, barrier, results):
    """Import first, wait for all writers at the barrier, then publish at the same moment."""
    from jupyter_deploy.model import artefact, card, signing  # noqa: F401
    from jupyter_deploy.model.registry import open_registry

    reg = open_registry(args[0])
    barrier.wait(timeout=300)
    try:
        results.put(publish_dir(args))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(("error", repr(exc)))
    del reg
