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
