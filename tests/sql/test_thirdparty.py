"""LightGBM models (when lightgbm is installed) agree with their predict() on every engine."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from sqlhelpers import prove_everywhere


def _lgb():
    from jdtest import need_module

    return need_module("lightgbm")


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "zero-missing"])
def test_lightgbm(kind, postgres_url):
    lgb = _lgb()
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    X.loc[::7, "a"] = np.nan
    if kind == "zero-missing":
        X.loc[::5, "b"] = 0.0
    s = X.a.fillna(0) + X.b
    if kind == "multiclass":
        model = lgb.LGBMClassifier(n_estimators=8, num_leaves=6, verbose=-1).fit(X, np.digitize(s, [-0.5, 0.5]))
    elif kind == "regression":
        model = lgb.LGBMRegressor(n_estimators=8, num_leaves=6, verbose=-1).fit(X, s * 3)
    elif kind == "zero-missing":
        model = lgb.LGBMRegressor(n_estimators=8, num_leaves=6, zero_as_missing=True, verbose=-1).fit(X, s * 3)
    else:
        model = lgb.LGBMClassifier(n_estimators=8, num_leaves=6, verbose=-1).fit(X, np.where(s > 0, "up", "down"))
    prove_everywhere(model, X.head(40), postgres_url)
