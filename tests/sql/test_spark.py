"""The `spark` dialect on a real Spark engine (pyspark, local[2], Spark's defaults): the dialect suite
(enginesuite.py: every supported model and step, at the thresholds, with NULL inputs, unseen
categories and awkward column names) against scikit-learn, as on DuckDB, SQLite and PostgreSQL
(test_models.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enginesuite import *  # noqa: F401,F403 - the dialect suite, run here on Spark

pytestmark = pytest.mark.spark

from sparkhelpers import spark  # noqa: E402,F401 - the module-scoped local[2] session


@pytest.fixture
def prove():
    from sparkhelpers import prove_on_spark

    return prove_on_spark


def test_spark_is_a_real_engine(spark):
    from sparkhelpers import run_spark

    assert spark.sparkContext.master == "local[2]"
    got = run_spark("SELECT `a b` + 1 AS y, `a b` IS NULL AS missing FROM __jd_sample ORDER BY `a b`",
                    pd.DataFrame({"a b": [1.5, np.nan]}))
    assert got["y"].iloc[1] == 2.5 and got["missing"].tolist() == [True, False]  # NULLs sort first


@pytest.mark.parametrize("max_if_depth", [24, 3])
def test_trees_as_nested_if(monkeypatch, prove, max_if_depth):
    """On Spark each tree is nested IF calls (jupyter_deploy/sql/spark_trees.py), NULLs on the
    side scikit-learn sends missing values; a tree deeper than MAX_IF_DEPTH stays a CASE chain.
    Both give scikit-learn's outputs, for a forest (leaf codes) and a regression tree (float
    leaves, which Spark would otherwise read as DECIMAL)."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.tree import DecisionTreeRegressor

    from jupyter_deploy import to_sql
    from jupyter_deploy.sql import spark_trees
    from sqlhelpers import data

    X, _, Y3, YR = data()
    monkeypatch.setattr(spark_trees, "MAX_IF_DEPTH", max_if_depth)
    Xm = X.copy()
    Xm.loc[::4, "x1"] = np.nan
    for model in (RandomForestClassifier(4, max_depth=6, random_state=0).fit(Xm, Y3),
                  RandomForestRegressor(3, max_depth=5, random_state=0).fit(Xm, YR),
                  DecisionTreeRegressor(max_depth=6, random_state=0).fit(Xm, YR)):
        sql = to_sql(model, "t", "spark")
        if max_if_depth >= 6:
            assert "IF(" in sql and "CASE WHEN f" not in sql
        else:
            assert "CASE WHEN f" in sql and "IF(f" not in sql
        res = prove(model, Xm.head(40))
        assert res["extra_rows"] > 0
