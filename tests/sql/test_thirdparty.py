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


def _xgb():
    from jdtest import need_module

    return need_module("xgboost", "pip install xgboost-cpu")


def _xgb_data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    X.loc[::7, "a"] = np.nan
    return X, X.a.fillna(0) + X.b


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "poisson"])
def test_xgboost(kind, postgres_url):
    """XGBoost adds float32 leaves in float32: DuckDB/PostgreSQL do the same in REAL, so the
    margins are exact and probabilities within one float32 step; labels all agree."""
    xgb = _xgb()
    X, s = _xgb_data()
    if kind == "binary":
        model = xgb.XGBClassifier(n_estimators=15, max_depth=3).fit(X, np.where(s > 0, "up", "down") == "up")
    elif kind == "multiclass":
        model = xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(X, np.digitize(s, [-0.5, 0.5]))
    elif kind == "regression":
        model = xgb.XGBRegressor(n_estimators=15, max_depth=3).fit(X, s * 3)
    else:
        model = xgb.XGBRegressor(n_estimators=15, max_depth=3, objective="count:poisson").fit(X, np.exp(s))
    res = prove_everywhere(model, X.head(40), postgres_url)
    assert res["tolerance"] == 1e-6 and res["adversarial_rows"] > 0
    assert res["engines"]["duckdb"]["max_abs_error"] <= 6e-8 * max(1.0, float(np.abs(model.predict(X)).max()))
    if kind in ("regression", "poisson"):
        # float32 sums done in float32: the same bits as XGBoost
        assert res["engines"]["duckdb"]["max_abs_error"] == 0.0
        assert res["engines"]["postgres"]["max_abs_error"] == 0.0


def test_xgboost_unsupported_say_what_to_do():
    from jupyter_deploy.errors import UnsupportedModel
    from jupyter_deploy.sql import to_sql

    xgb = _xgb()
    X, s = _xgb_data()
    linear = xgb.XGBRegressor(n_estimators=3, booster="gblinear").fit(X.fillna(0), s)
    with pytest.raises(UnsupportedModel, match="gblinear.*only gbtree") as err:
        to_sql(linear, "t")
    assert "booster='gbtree'" in err.value.hint
    Xc = X.assign(c=pd.Categorical(np.where(X.c > 0, "p", "n")))
    cat = xgb.XGBRegressor(n_estimators=3, enable_categorical=True, tree_method="hist", max_cat_to_onehot=1)
    cat.fit(Xc, s + 3 * (Xc.c == "p"))
    with pytest.raises(UnsupportedModel, match="categorical splits") as err:
        to_sql(cat, "t")
    assert "one-hot" in err.value.hint


@pytest.mark.postgres
@pytest.mark.parametrize("coding", ["pandas", "integer"])
def test_lightgbm_categorical_splits(coding, postgres_url):
    """Categories as a pandas categorical (strings in the table) or as integer codes: the set
    LightGBM sends left is the SQL's IN / range test; NaN and unseen categories go right."""
    lgb = _lgb()
    rng = np.random.default_rng(4)
    n = 400
    cat = rng.choice(["w", "x", "y", "z"], n)
    X = pd.DataFrame({"a": rng.normal(size=n), "c": pd.Categorical(cat), "b": rng.normal(size=n)})
    y = X.a + np.isin(cat, ["x", "z"]) * 2 + (cat == "y") * 0.7
    kw = dict(n_estimators=6, num_leaves=6, min_child_samples=5, min_data_per_group=5, cat_smooth=1, verbose=-1)
    if coding == "integer":
        X["c"] = X.c.cat.codes.astype(float)
        X.loc[::9, "c"] = np.nan
        model = lgb.LGBMRegressor(**kw).fit(X, y, categorical_feature=["c"])
    else:
        X.loc[::9, "c"] = np.nan
        model = lgb.LGBMRegressor(**kw).fit(X, y)
    from jupyter_deploy.sql import to_sql

    sql = to_sql(model, "t", "duckdb")
    assert ("f1 IN ('x', 'z')" in sql) if coding == "pandas" else ("f1 < 2" in sql and "f1 < 4" in sql)
    sample = X.head(60)
    if coding == "integer":
        # LightGBM truncates toward zero: -0.5 is category 0, 1.99 is 1; 7 was never seen
        edge = pd.DataFrame({"a": 0.1, "b": -0.2, "c": [-0.5, -1.0, 0.5, 1.0, 1.99, 2.0, 3.5, 7.0]})
        sample = pd.concat([sample, edge], ignore_index=True)
    res = prove_everywhere(model, sample, postgres_url)
    assert res["max_abs_error"] < 1e-9
