"""Running the `spark` dialect's SQL on a real Spark engine (pyspark, local[2])."""

from __future__ import annotations


import pytest
import pandas as pd

_SESSION = None


def spark_session():
    """One local Spark for the test session (its JVM takes seconds to start)."""
    global _SESSION
    if _SESSION is None:
        import os
        import sys

        from pyspark.sql import SparkSession

        # Python UDFs run in worker processes started with this interpreter (the one that has
        # pandas, scikit-learn and jupyter_deploy), not whatever python3 is first on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

        _SESSION = (
            SparkSession.builder.master("local[2]")
            .appName("jupyter-deploy-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        _SESSION.sparkContext.setLogLevel("ERROR")
    return _SESSION


def stop_spark():
    global _SESSION
    if _SESSION is not None:
        _SESSION.stop()
        _SESSION = None


def run_spark(sql: str, df: pd.DataFrame, table: str = "__jd_sample") -> pd.DataFrame:
    """Load ``df`` as a temporary view (NaN as NULL, as a warehouse holds missing values) with
    Spark's defaults (ANSI mode on Spark 4), run ``sql`` on it and return the rows: the same
    loading and reading the spark backend uses."""
    from jupyter_deploy.backends.spark import load_frame, to_pandas

    spark = spark_session()
    load_frame(spark, df, table)
    try:
        return to_pandas(spark.sql(sql))
    finally:
        spark.catalog.dropTempView(table)


def prove_on_spark(model, X, tolerance=1e-9) -> dict:
    """The proof's rows (the sample, the adversarial rows at every threshold, NULLs, unseen
    categories) through the model's `spark` SQL on Spark, compared with scikit-learn."""
    from sqlhelpers import prove_on_engine

    return prove_on_engine(model, X, "spark", run_spark, tolerance)


@pytest.fixture(scope="module", autouse=True)
def spark():
    """One local[2] session per test module (import it into the module: it is autouse);
    without Java or pyspark the module fails under CI and names what to install."""
    from jdtest import need_command, need_module

    need_command("java", "apt-get install openjdk-17-jre-headless")
    need_module("pyspark", "pip install 'jupyter-deploy[spark]'")
    session = spark_session()
    yield session
    stop_spark()
