"""Scoring on Spark, side by side in one script: the compiled SQL vs our UDF vs MLflow's UDF.

For a RandomForestClassifier(50, depth 6) and a linear Pipeline (StandardScaler +
LogisticRegression), both trained on 5,000 rows x 10 features, on one local Spark (``local[2]``):

* **SQL**: the model compiled to the ``spark`` dialect (``jupyter_deploy.to_sql``) over a view,
  with the session's defaults and again with ``spark.sql.codegen.wholeStage=false``;
* **jd UDF**: ``jupyter_deploy.spark_udf`` on the model published to a registry folder;
* **MLflow UDF**: ``mlflow.pyfunc.spark_udf`` on the model saved with ``mlflow.sklearn.save_model``
  (``pyfunc_predict_fn="predict_proba"``, ``env_manager="local"``); when mlflow cannot be
  imported here the row says why (it is in the ``bench`` extra, not ``test``).

Rows are generated inside Spark (``range`` + ``randn`` with fixed seeds and partitions, so every
pass sees the same numbers) and every pass writes to Spark's ``noop`` sink: each time includes
generating the rows, which the ``rows only`` column measures alone. The sides run interleaved,
median of ``--repeat``. Then one query computes all three side by side and reports the maximum
absolute difference of the positive-class probability (over ``--check-rows`` rows, default all).

    .venv/bin/python benchmarks/bench_spark.py [--rows 10000000] [--repeat 1] [--out FILE]

Writes benchmarks/results/spark.md (or --out) and prints the same table. Exit status 1 when
predictions differ by more than 1e-9 (SQL vs jd UDF) or 1e-12 (jd UDF vs MLflow).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FEATURES = [f"x{i}" for i in range(10)]
VIEW = "bench_spark_rows"


def models():
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(5000, len(FEATURES))), columns=FEATURES)
    y = ((X.x0 + X.x1 * X.x2 - 0.5 * X.x3 + rng.normal(scale=0.5, size=len(X))) > 0).astype(int)
    return X, [
        ("RandomForestClassifier(50, depth 6)",
         RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0, n_jobs=1).fit(X, y)),
        ("Pipeline(StandardScaler, LogisticRegression)",
         make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)),
    ]


def session(memory: str):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("jd-bench-spark")
             .config("spark.ui.enabled", "false")
             .config("spark.driver.memory", memory)
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def rows_frame(spark, n: int, partitions: int):
    from pyspark.sql import functions as F

    base = spark.range(0, n, 1, partitions)
    return base.select("id", *[F.randn(seed=17 + i).alias(c) for i, c in enumerate(FEATURES)])


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt(seconds) -> str:
    if isinstance(seconds, str):
        return seconds
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def ratio(a, b) -> str:
    if isinstance(a, str) or isinstance(b, str) or not b:
        return "-"
    return f"{a / b:.1f}x"


def without_wholestage(spark, fn):
    """``fn()`` with ``spark.sql.codegen.wholeStage=false`` (the session's setting restored)."""
    key = "spark.sql.codegen.wholeStage"
    before = spark.conf.get(key)
    spark.conf.set(key, "false")
    try:
        return fn()
    finally:
        spark.conf.set(key, before)


def mlflow_udf(spark, model, X, work: Path):
    """MLflow's UDF for the model, or the one-line reason it cannot be made here."""
    try:
        import logging

        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn
        from mlflow.models import infer_signature

        logging.getLogger("mlflow").setLevel(logging.ERROR)
    except Exception as exc:  # noqa: BLE001 - any import failure is the row's reason
        return None, f"not run: mlflow not importable ({type(exc).__name__}: {str(exc).splitlines()[0][:60]}); pip install 'jupyter-deploy[bench]'"
    try:
        path = work / f"mlflow-{id(model)}"
        # cloudpickle, as our artefact: MLflow's default (skops) refuses a forest's types on load
        mlflow.sklearn.save_model(model, str(path), pyfunc_predict_fn="predict_proba",
                                  serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
                                  signature=infer_signature(X.head(20), model.predict_proba(X.head(20))))
        udf = mlflow.pyfunc.spark_udf(spark, str(path), result_type="array<double>",
                                      env_manager="local")
        return udf, mlflow.__version__
    except Exception as exc:  # noqa: BLE001
        return None, f"not run: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=0, help="default: 1 per million rows, >= 2")
    ap.add_argument("--check-rows", type=int, default=0, help="rows compared (default: all)")
    ap.add_argument("--memory", default="2g", help="spark.driver.memory")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "spark.md"))
    args = ap.parse_args(argv)

    import jupyter_deploy
    from jupyter_deploy.model import open_registry
    from jupyter_deploy.model.artefact import write_artefact
    from pyspark.sql import functions as F

    n = args.rows
    parts = args.partitions or max(2, n // 1_000_000)
    check = args.check_rows or n
    spark = session(args.memory)
    X, fitted = models()
    work = Path(tempfile.mkdtemp(prefix="jd-bench-spark-"))
    registry = work / "registry"
    table = []
    ok = True
    frame = rows_frame(spark, n, parts)
    frame.createOrReplaceTempView(VIEW)

    def sink(df):
        df.write.format("noop").mode("overwrite").save()

    sink(frame)  # warm-up: the JVM's first job
    rows_only = timed(lambda: sink(frame), args.repeat)
    for label, model in fitted:
        name = "bench-" + label.split("(")[0].lower()
        art = work / f"art-{name}"
        art.mkdir()
        write_artefact(model, art, name=name, sample=X.head(20))
        open_registry(str(registry)).publish(art, name=name)
        ours = jupyter_deploy.spark_udf(name, registry=str(registry), spark=spark)
        theirs, mlflow_note = mlflow_udf(spark, model, X, work)
        sql = jupyter_deploy.to_sql(model, VIEW, "spark", keep=["id"], outputs=("predict_proba",))
        cols = [frame[c] for c in FEATURES]
        passes = {
            "sql": lambda: sink(spark.sql(sql)),
            "sql_nowsc": lambda: without_wholestage(spark, lambda: sink(spark.sql(sql))),
            "udf": lambda: sink(frame.select("id", ours(*cols).alias("p"))),
        }
        if theirs is not None:
            passes["mlflow"] = lambda: sink(frame.select("id", theirs(F.struct(*cols)).alias("p")))
        times = {k: [] for k in passes}
        for _ in range(args.repeat):  # interleaved
            for k, fn in passes.items():
                times[k].append(timed(fn, 1))
        med = {k: statistics.median(v) for k, v in times.items()}

        # predictions, side by side in one query
        scored = spark.sql(sql).where(F.col("id") < check).select(
            "id", F.col("probability_1").alias("sql"))
        sub = frame.where(F.col("id") < check)
        both = sub.select("id", ours(*[sub[c] for c in FEATURES]).alias("udf"))
        if theirs is not None:
            both = both.join(sub.select("id", theirs(F.struct(*[sub[c] for c in FEATURES]))
                                        .getItem(1).alias("mlflow")), "id")
        joined = scored.join(both, "id")
        aggs = [F.count("*").alias("n"), F.max(F.abs(F.col("sql") - F.col("udf"))).alias("d_sql")]
        if theirs is not None:
            aggs.append(F.max(F.abs(F.col("udf") - F.col("mlflow"))).alias("d_mlflow"))
        got = joined.agg(*aggs).collect()[0].asDict()
        d_sql = got["d_sql"]
        d_ml = got.get("d_mlflow")
        agree = got["n"] == check and d_sql is not None and d_sql <= 1e-9 and (
            theirs is None or (d_ml is not None and d_ml <= 1e-12))
        ok = ok and agree
        table.append({
            "model": label, "rows": n, "rows_only": rows_only,
            "sql": med["sql"], "sql_nowsc": med["sql_nowsc"], "udf": med["udf"], "mlflow": med.get("mlflow", mlflow_note),
            "d_sql": d_sql, "d_mlflow": d_ml if theirs is not None else mlflow_note,
            "checked": got["n"], "agree": agree,
        })
        print(f"{label}: {table[-1]}", file=sys.stderr, flush=True)

    lines = [
        "# Scoring on Spark: SQL vs jupyter-deploy's UDF vs MLflow's UDF",
        "",
        f"{n:,} rows x {len(FEATURES)} features generated in Spark, local[2] ({parts} partitions), "
        f"median of {args.repeat}; each pass writes to the noop sink. Machine: {os.cpu_count()} cores "
        f"(shared), load average {os.getloadavg()[0]:.1f} at the end; Python {platform.python_version()}, "
        f"pyspark {spark.version}. Command: `.venv/bin/python benchmarks/bench_spark.py --rows {n}"
        + (f" --repeat {args.repeat}" if args.repeat != 1 else "")
        + (f" --check-rows {args.check_rows}" if args.check_rows else "") + "`.",
        "",
        "| model | rows | rows only | SQL | SQL, wholeStage off | jd spark_udf | MLflow spark_udf | UDF / SQL "
        "| UDF / SQL off | MLflow / UDF "
        "| max abs diff SQL vs UDF | max abs diff UDF vs MLflow | rows compared | predictions agree |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table:
        d_ml = r["d_mlflow"]
        lines.append(
            f"| {r['model']} | {r['rows']:,} | {fmt(r['rows_only'])} | {fmt(r['sql'])} | {fmt(r['sql_nowsc'])} "
            f"| {fmt(r['udf'])} | {fmt(r['mlflow'])} | {ratio(r['udf'], r['sql'])} "
            f"| {ratio(r['udf'], r['sql_nowsc'])} | {ratio(r['mlflow'], r['udf'])} "
            f"| {r['d_sql']:.1e} | {d_ml if isinstance(d_ml, str) else f'{d_ml:.1e}'} "
            f"| {r['checked']:,} | {'yes' if r['agree'] else 'NO'} |")
    lines += [
        "",
        "Times include generating the rows (the `rows only` column). UDF / SQL > 1 means the SQL is "
        "faster; MLflow / UDF > 1 means jupyter-deploy's UDF is faster. `SQL, wholeStage off` is the "
        "same SQL with `spark.sql.codegen.wholeStage=false` set in the session. Differences are on "
        "the positive class's probability.",
    ]
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    spark.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
