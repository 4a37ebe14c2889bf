"""Hand-off of ``sql`` bundles to Spark: a view in a Spark catalog, proven on Spark SQL.

    --to spark:///path/to/warehouse   a local Spark whose catalog (Hive metastore, embedded
                                      Derby) and warehouse live in that folder
    --to spark://HOST:PORT            a standalone cluster's master; the catalog is the one
                                      its configuration names (hive-site.xml)

An active SparkSession in the process (a notebook that already has one) is used as it is, and
left running. The table must exist in the catalog. The model's SQL is first run on it (so a
failure changes nothing), then ``CREATE OR REPLACE VIEW`` creates the view; the proof runs the
same SQL over the sample (a temporary view, NaN as NULL) on Spark and compares it with
scikit-learn's outputs, and counts the view's rows.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar, Optional

from ..errors import BackendError
from ..bundle import Bundle, Handoff, Proof, SqlSpec
from ..plugin import Backend

VERIFY_TABLE = "__jd_verify_sample"


def _first(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def session_for(url: str):
    """(session, created): the active session, else one for ``url``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BackendError("Handing off to Spark needs pyspark, which is not installed.",
                           hint="pip install 'jupyter-deploy[spark]' (and Java 17).") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    rest = url.split("://", 1)[1]
    netloc, _, path = rest.partition("/")
    builder = SparkSession.builder.appName("jupyter-deploy").config("spark.ui.enabled", "false")
    if netloc:
        builder = builder.master(f"spark://{netloc}")
    else:
        folder = Path("/" + path if not path.startswith("/") else path)
        if not path or not folder.parent.is_dir():
            raise BackendError(f"{url} names no usable warehouse folder.",
                               hint="Use spark:///path/to/warehouse (its parent folder must exist).")
        folder.mkdir(exist_ok=True)
        builder = (
            builder.master("local[2]")
            .config("spark.sql.warehouse.dir", str(folder / "warehouse"))
            .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                    f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true")
            .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={folder}")
        )
    # The JVM writes its start-up notices and log to the stderr it inherits: a file, so that the
    # command's own output stays one line per error.
    import tempfile

    log = tempfile.NamedTemporaryFile(prefix="jupyter-deploy-spark-", suffix=".log", delete=False)
    saved = os.dup(2)
    try:
        os.dup2(log.fileno(), 2)
        session = builder.enableHiveSupport().getOrCreate()
    except Exception as exc:  # noqa: BLE001 - the JVM's error, in one line
        raise BackendError(f"Could not start Spark for {url}: {_first(exc)}",
                           hint=f"Check that Java 17 is installed (java -version) and the master URL; "
                           f"Spark's log: {log.name}.") from None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        log.close()
    session.sparkContext.setLogLevel("ERROR")
    try:  # pyspark 4 logs every failed query to stderr as JSON; ours are reported as one line
        import logging

        from pyspark.logger import PySparkLogger

        PySparkLogger.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL + 1)
    except ImportError:
        pass
    return session, True


def load_frame(session, df, name: str) -> None:
    """``df`` as a temporary view (NaN and pandas.NA become NULL)."""
    import math

    import numpy as np
    import pandas as pd
    from pyspark.sql import types as T

    fields = []
    for c in df.columns:
        dt = df[c].dtype
        if pd.api.types.is_bool_dtype(dt):
            t = T.BooleanType()
        elif pd.api.types.is_integer_dtype(dt):
            t = T.LongType()
        elif pd.api.types.is_numeric_dtype(dt):
            t = T.DoubleType()
        else:
            t = T.StringType()
        fields.append(T.StructField(str(c), t, True))

    def cell(v):
        if isinstance(v, np.generic):
            v = v.item()
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return v

    rows = [tuple(cell(v) for v in r) for r in df.astype(object).itertuples(index=False, name=None)]
    session.createDataFrame(rows, T.StructType(fields)).createOrReplaceTempView(name)


def to_pandas(frame):
    import pandas as pd

    out = pd.DataFrame([tuple(r) for r in frame.collect()], columns=frame.columns)
    for c in out.columns:
        if out[c].map(lambda v: hasattr(v, "as_tuple")).any():  # DECIMAL
            out[c] = out[c].astype(float)
    return out


class SparkBackend(Backend):
    """Creates the model's SQL as a view in a Spark catalog, and proves it on Spark SQL."""

    plugin_name: ClassVar[str] = "spark"
    description: ClassVar[str] = (
        "A view in a Spark catalog (spark:///warehouse-folder for a local Spark, "
        "spark://host:7077 for a cluster) that scores the table in place, proven on Spark SQL."
    )
    accepts: ClassVar[tuple[str, ...]] = ("sql",)
    schemes: ClassVar[tuple[str, ...]] = ("spark",)

    _session = None
    _created = False

    def _spark(self, url):
        if self._session is None:
            self._session, self._created = session_for(url)
        return self._session

    def _done(self):
        if self._session is not None and self._created:
            self._session.stop()
        self._session = None

    def publish(self, bundle: Bundle, destination: Optional[str], reporter) -> Handoff:
        from ..sql.identifiers import table as table_ref

        meta = bundle.spec_as(SqlSpec)
        engine_sql = bundle.path / "engines" / "spark.sql"
        if not engine_sql.is_file():
            raise BackendError("This bundle carries no Spark SQL (it was built by an older version).",
                               hint="Deploy the notebook again.")
        sql = engine_sql.read_text().strip().rstrip(";")
        view = meta.view or ((meta.table or "t") + "_predictions")
        view_sql = table_ref(view).sql(dialect="spark")
        table_sql = table_ref(meta.table).sql(dialect="spark")
        reporter("publish", 0, 3, "starting Spark")
        spark = self._spark(destination)
        self._url = destination
        try:
            reporter("publish", 1, 3, f"running the SQL on {meta.table}")
            try:
                spark.sql(f"SELECT * FROM {table_sql} WHERE 1 = 0").collect()
            except Exception as exc:  # noqa: BLE001
                raise BackendError(f"The table {meta.table} cannot be read in {destination}: {_first(exc)}",
                                   hint="Create it (or load the data) in that catalog first, or give the right --table.") from None
            try:
                spark.sql(f"SELECT * FROM ({sql}) AS __jd LIMIT 5").collect()
            except Exception as exc:  # noqa: BLE001
                raise BackendError(f"The model's SQL does not run on {meta.table} in {destination}: {_first(exc)}",
                                   hint="Nothing was changed. Check the table's columns match the model's "
                                   "features (--columns maps them).") from None
            spark.sql(f"CREATE OR REPLACE VIEW {view_sql} AS {sql}")
            reporter("publish", 3, 3, "view created")
        except BaseException:
            self._done()
            raise
        return Handoff(
            destination=f"{destination}#{view}",
            summary=f"view {view} over {meta.table} in the Spark catalog of {destination}",
            details={"url": destination, "view": view, "dialect": "spark", "table": meta.table},
        )

    def verify(self, bundle: Bundle, handoff: Handoff, reporter) -> list[Proof]:
        import pandas as pd

        from ..sql.identifiers import table as table_ref
        from .database import _compare

        meta = bundle.spec_as(SqlSpec)
        try:
            spark = self._spark(getattr(self, "_url", None) or handoff.details["url"])
            sample = pd.read_parquet(bundle.path / "sample.parquet")
            want = pd.read_parquet(bundle.path / "expected.parquet")
            sql = (bundle.path / "engines" / "spark.verify.sql").read_text().strip().rstrip(";")
            load_frame(spark, sample, VERIFY_TABLE)
            try:
                got = to_pandas(spark.sql(sql)).sort_values("__jd_row").reset_index(drop=True)
            finally:
                spark.catalog.dropTempView(VERIFY_TABLE)
            view = table_ref(meta.view or meta.table + "_predictions").sql(dialect="spark")
            n_view = spark.sql(f"SELECT COUNT(*) AS n FROM {view}").collect()[0]["n"]
            ok, detail = _compare(got, want, meta)
            detail += f"; the view returns {int(n_view)} rows from {meta.table}"
            return [Proof("spark-view", ok, detail, {"dialect": "spark", "view": meta.view})]
        except Exception as exc:  # noqa: BLE001 - a failed check is a failed proof, not a crash
            return [Proof("spark-view", False, f"could not verify the view on Spark: {_first(exc)}")]
        finally:
            self._done()


