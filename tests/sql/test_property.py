"""Property: random small trees agree with scikit-learn on every engine at their thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from jupyter_deploy.sql import prove


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 2**31 - 1),
    scale=st.sampled_from([1e-6, 1e-3, 1.0, 1e3, 1e7]),
    depth=st.integers(1, 5),
    n_features=st.integers(1, 3),
    regression=st.booleans(),
    with_nan=st.booleans(),
)
def test_random_trees_agree_at_thresholds(seed, scale, depth, n_features, regression, with_nan):
    rng = np.random.default_rng(seed)
    n = 60
    X = pd.DataFrame(rng.normal(size=(n, n_features)) * scale, columns=[f"c{i}" for i in range(n_features)])
    # values that are close together in float32 make thresholds between neighbouring floats
    X.iloc[: n // 3, 0] = np.float32(X.iloc[0, 0]) + np.arange(n // 3) * np.spacing(np.float32(X.iloc[0, 0]))
    if with_nan:
        X.iloc[::7, 0] = np.nan
    if regression:
        y = rng.normal(size=n)
        model = DecisionTreeRegressor(max_depth=depth, random_state=0).fit(X, y)
    else:
        y = rng.integers(0, 3, n)
        model = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
    res = prove(model, X.head(10), engines=("duckdb", "sqlite"))
    assert res["ok"], res
    assert res["label_agreement"] == 1.0 and res["max_abs_error"] == 0.0
