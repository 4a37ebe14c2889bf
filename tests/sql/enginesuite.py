"""The dialect suite: every supported model and step, at the thresholds, with NULL inputs, unseen
categories and awkward column names, proven against scikit-learn on a real engine.

A module for one engine imports these tests (``from enginesuite import *``) and defines a
``prove(model, sample) -> dict`` fixture that compiles the model to its dialect, runs the proof's
rows (the sample, the adversarial rows at every threshold, NULLs, unseen categories) there,
asserts they agree and returns the comparison (``label_agreement``, ``max_abs_error``,
``extra_rows``). Used for Spark (test_spark.py) and ClickHouse (test_clickhouse.py); DuckDB, SQLite
and PostgreSQL have their own, wider, suite in test_models.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (GradientBoostingClassifier, HistGradientBoostingClassifier,
                              HistGradientBoostingRegressor, RandomForestClassifier)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor

import test_models as tm
from sqlhelpers import data

X, Y2, Y3, YR = data()

__all__ = []  # filled below: every test of the suite


@pytest.mark.parametrize("classes", ["binary", "multiclass"])
@pytest.mark.parametrize("name", sorted(tm.CLASSIFIERS))
def test_classifier(name, classes, prove):
    y = Y2 if classes == "binary" else Y3
    res = prove(tm.CLASSIFIERS[name]().fit(X, y), X.head(40))
    assert res["label_agreement"] == 1.0


@pytest.mark.parametrize("name", sorted(tm.REGRESSORS))
def test_regressor(name, prove):
    y = np.exp(YR / 4) if name == "hgb-poisson" else YR
    prove(tm.REGRESSORS[name]().fit(X, y), X.head(40))


@pytest.mark.parametrize("step", sorted(tm.STEPS))
def test_preprocessing_steps(step, prove):
    Xp = X.abs() if step == "log1p" else X
    prove(make_pipeline(tm.STEPS[step](), LogisticRegression()).fit(Xp, Y3), Xp.head(40))
    prove(make_pipeline(tm.STEPS[step](), DecisionTreeRegressor(max_depth=4, random_state=0)).fit(Xp, YR),
          Xp.head(40))


@pytest.mark.parametrize("est", ["logistic", "forest", "gb"])
def test_column_transformer_pipeline_nulls_and_unseen_categories(est, prove):
    df, y = tm._mixed()
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
         ["age", "income"]),
        ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["plan"]),
    ])
    final = {"logistic": LogisticRegression(max_iter=500),
             "forest": RandomForestClassifier(6, max_depth=4, random_state=0),
             "gb": GradientBoostingClassifier(n_estimators=6, random_state=0)}[est]
    res = prove(make_pipeline(pre, final).fit(df, y), df.head(40))
    assert res["extra_rows"] > 0  # threshold rows, NULLs and unseen categories were tried


def test_hgb_missing_and_categorical(prove):
    rng = np.random.default_rng(3)
    n = 300
    Xc = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.integers(0, 5, n).astype(float)})
    Xc.loc[rng.random(n) < 0.15, "num"] = np.nan
    y = np.where((Xc.cat.isin([1, 3])) | (Xc.num.fillna(2) > 1), 1, 0)
    sample = pd.concat([Xc.head(30), pd.DataFrame({"num": [0.1, np.nan], "cat": [7.0, -1.0]})],
                       ignore_index=True)
    for model in (
        HistGradientBoostingClassifier(max_iter=10, categorical_features=[1], random_state=0).fit(Xc, y),
        HistGradientBoostingRegressor(max_iter=10, categorical_features=[1]).fit(Xc, y * 2.5),
    ):
        prove(model, sample)


def test_tree_missing_values_route_like_sklearn(prove):
    Xm = X.copy()
    Xm.loc[::5, "x0"] = np.nan
    res = prove(RandomForestClassifier(5, max_depth=4, random_state=0).fit(Xm, Y2), Xm.head(30))
    assert res["extra_rows"] > 0


AWKWARD = ["order", "a b", 'say "hi"', "back`tick", "élan", "1st", "x-y", "select"]


@pytest.mark.parametrize("est", ["logistic", "forest", "hgb"])
def test_awkward_column_names(est, prove):
    rng = np.random.default_rng(7)
    Xa = pd.DataFrame(rng.normal(size=(200, len(AWKWARD))), columns=AWKWARD)
    Xa.loc[rng.random(200) < 0.1, "a b"] = np.nan
    y = np.where(Xa["order"] + Xa["back`tick"] > 0, "yes", "no")
    final = {"logistic": make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression()),
             "forest": make_pipeline(SimpleImputer(), RandomForestClassifier(5, max_depth=4, random_state=0)),
             "hgb": HistGradientBoostingClassifier(max_iter=8, random_state=0)}[est]
    prove(final.fit(Xa, y), Xa.head(30))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "zero-missing"])
def test_lightgbm(kind, prove):
    from jdtest import need_module

    lgb = need_module("lightgbm")
    rng = np.random.default_rng(0)
    Xl = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    Xl.loc[::7, "a"] = np.nan
    if kind == "zero-missing":
        Xl.loc[::5, "b"] = 0.0
    s = Xl.a.fillna(0) + Xl.b
    kw = dict(n_estimators=8, num_leaves=6, verbose=-1)
    model = {
        "binary": lambda: lgb.LGBMClassifier(**kw).fit(Xl, np.where(s > 0, "up", "down")),
        "multiclass": lambda: lgb.LGBMClassifier(**kw).fit(Xl, np.digitize(s, [-0.5, 0.5])),
        "regression": lambda: lgb.LGBMRegressor(**kw).fit(Xl, s * 3),
        "zero-missing": lambda: lgb.LGBMRegressor(zero_as_missing=True, **kw).fit(Xl, s * 3),
    }[kind]()
    prove(model, Xl.head(40))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression", "poisson"])
def test_xgboost(kind, prove):
    from jdtest import need_module

    xgb = need_module("xgboost", "pip install xgboost-cpu")
    Xx, s = _xgb_data()
    model = {
        "binary": lambda: xgb.XGBClassifier(n_estimators=15, max_depth=3).fit(Xx, s > 0),
        "multiclass": lambda: xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(Xx, np.digitize(s, [-0.5, 0.5])),
        "regression": lambda: xgb.XGBRegressor(n_estimators=15, max_depth=3).fit(Xx, s * 3),
        "poisson": lambda: xgb.XGBRegressor(n_estimators=15, max_depth=3, objective="count:poisson").fit(Xx, np.exp(s)),
    }[kind]()
    res = prove(model, Xx.head(40))
    assert res["label_agreement"] == 1.0 and res["extra_rows"] > 0


def _xgb_data():
    rng = np.random.default_rng(1)
    Xx = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    Xx.loc[::7, "a"] = np.nan
    return Xx, Xx.a.fillna(0) + Xx.b


@pytest.mark.parametrize("coding", ["pandas", "integer"])
def test_lightgbm_categorical_splits(coding, prove):
    from jdtest import need_module

    lgb = need_module("lightgbm")
    rng = np.random.default_rng(4)
    n = 400
    cat = rng.choice(["w", "x", "y", "z"], n)
    Xl = pd.DataFrame({"a": rng.normal(size=n), "c": pd.Categorical(cat), "b": rng.normal(size=n)})
    y = Xl.a + np.isin(cat, ["x", "z"]) * 2 + (cat == "y") * 0.7
    kw = dict(n_estimators=6, num_leaves=6, min_child_samples=5, min_data_per_group=5, cat_smooth=1, verbose=-1)
    if coding == "integer":
        Xl["c"] = Xl.c.cat.codes.astype(float)
        Xl.loc[::9, "c"] = np.nan
        model = lgb.LGBMRegressor(**kw).fit(Xl, y, categorical_feature=["c"])
        edge = pd.DataFrame({"a": 0.1, "b": -0.2, "c": [-0.5, -1.0, 0.5, 1.0, 1.99, 2.0, 3.5, 7.0]})
        sample = pd.concat([Xl.head(60), edge], ignore_index=True)
    else:
        Xl.loc[::9, "c"] = np.nan
        model = lgb.LGBMRegressor(**kw).fit(Xl, y)
        sample = Xl.head(60)
    res = prove(model, sample)
    assert res["max_abs_error"] < 1e-9



@pytest.mark.parametrize("est", ["logistic", "forest", "hgb"])
def test_boolean_target(est, prove):
    """predict() gives True/False: the SQL's BOOLEAN label casts and agrees on this engine."""
    y = (X.x0 + X.x1 > 0).to_numpy()
    final = {"logistic": make_pipeline(StandardScaler(), LogisticRegression()),
             "forest": RandomForestClassifier(5, max_depth=4, random_state=0),
             "hgb": HistGradientBoostingClassifier(max_iter=6, random_state=0)}[est]
    res = prove(final.fit(X, y), X.head(30))
    assert res["label_agreement"] == 1.0


@pytest.mark.parametrize("est", ["logistic", "forest", "hgb"])
def test_boolean_feature_columns(est, prove):
    """BOOLEAN feature columns (pandas bool), read through an INT cast, NULL where the model
    takes missing values."""
    rng = np.random.default_rng(11)
    Xb = pd.DataFrame({"a": rng.normal(size=300), "member": rng.random(300) > 0.5})
    y = (Xb.a + Xb.member * 1.0 > 0.3).to_numpy()
    final = {"logistic": make_pipeline(StandardScaler(), LogisticRegression()),
             "forest": RandomForestClassifier(5, max_depth=4, random_state=0),
             "hgb": HistGradientBoostingClassifier(max_iter=6, random_state=0)}[est]
    res = prove(final.fit(Xb, y), Xb.head(30))
    assert res["label_agreement"] == 1.0 and res["extra_rows"] > 0

__all__ += [name for name in dict(globals()) if name.startswith("test_")]
