"""`jupyter_deploy.spark_udf`: a registry artefact scored on a real local Spark (local[2]) through
a pandas UDF, against scikit-learn in this process; the artefact checked on the driver and again
on each executor process, loaded once per process; bad names, versions and changed artefacts
refused with one line before anything is scored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jdtest import need_command, need_module
from sqlhelpers import data

pytestmark = pytest.mark.spark

from sparkhelpers import spark  # noqa: E402,F401 - the module-scoped local[2] session

X, Y2, Y3, YR = data(n=400)
X = X.rename(columns={"x1": "x 1", "x2": "Größe"})  # names Spark and pandas must carry through




@pytest.fixture(autouse=True)
def _no_signing_key(monkeypatch):
    for var in ("JUPYTER_DEPLOY_SIGNING_KEY", "JUPYTER_DEPLOY_SIGNING_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)


def publish(registry: Path, name: str, model, sample) -> int:
    import tempfile

    from jupyter_deploy.model import open_registry
    from jupyter_deploy.model.artefact import write_artefact

    folder = Path(tempfile.mkdtemp(prefix="udf-art-", dir=registry.parent))
    write_artefact(model, folder, name=name, sample=sample)
    return open_registry(str(registry)).publish(folder, name=name)["version"]


def score(spark, udf, frame: pd.DataFrame, partitions: int = 2) -> np.ndarray:
    """The UDF over ``frame`` loaded into Spark (NaN as NULL), in the frame's order."""
    from jupyter_deploy.backends.spark import load_frame, to_pandas

    t = frame.copy()
    t.insert(0, "__row", np.arange(len(t)))
    load_frame(spark, t, "__jd_udf")
    try:
        df = spark.table("__jd_udf").repartition(partitions)
        out = df.select("__row", udf(*[df[c] for c in udf.input_columns]).alias("score"))
        got = to_pandas(out).sort_values("__row")
    finally:
        spark.catalog.dropTempView("__jd_udf")
    assert len(got) == len(frame)
    return got["score"].to_numpy()


MODELS = {
    "forest": lambda: RandomForestClassifier(n_estimators=25, max_depth=8, random_state=0),
    "linear-pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_binary_probability_equals_sklearn(spark, tmp_path, kind):
    import jupyter_deploy

    model = MODELS[kind]().fit(X, Y2)
    reg = tmp_path / "registry"
    assert publish(reg, "churn", model, X.head(20)) == 1
    udf = jupyter_deploy.spark_udf("churn", registry=str(reg))
    assert udf.output == "probability" and udf.input_columns == list(X.columns)
    got = score(spark, udf, X, partitions=4)
    want = model.predict_proba(X)[:, 1]  # classes_ ['no', 'yes']: the positive column
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_multiclass_and_regressor_predict(spark, tmp_path):
    import jupyter_deploy

    reg = tmp_path / "registry"
    clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, Y3)
    rf = RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0).fit(X, YR)
    publish(reg, "three", clf, X.head(10))
    publish(reg, "amount", rf, X.head(10))
    labels = jupyter_deploy.spark_udf("three", registry=str(reg))
    assert labels.output == "predict"  # three classes: the label, as the metadata says
    assert score(spark, labels, X).tolist() == clf.predict(X).tolist()
    amounts = jupyter_deploy.spark_udf("amount", 1, str(reg))
    np.testing.assert_allclose(score(spark, amounts, X), rf.predict(X), rtol=0, atol=1e-12)
    # explicit choices
    proba = jupyter_deploy.spark_udf("three", registry=str(reg), output="probability")
    got = np.vstack(score(spark, proba, X.head(50)))
    np.testing.assert_allclose(got, clf.predict_proba(X.head(50)), rtol=0, atol=1e-12)
    from jupyter_deploy.errors import UsageError

    with pytest.raises(UsageError, match="gives no class probabilities"):
        jupyter_deploy.spark_udf("amount", registry=str(reg), output="probability")


@pytest.mark.parametrize("kind", ["forest", "imputer-pipeline"])
def test_nan_inputs(spark, tmp_path, kind):
    import jupyter_deploy

    rng = np.random.default_rng(1)
    Xn = X.copy()
    Xn[Xn.columns[0]] = Xn[Xn.columns[0]].mask(rng.random(len(Xn)) < 0.2)
    Xn[Xn.columns[2]] = Xn[Xn.columns[2]].mask(rng.random(len(Xn)) < 0.2)
    Xn.iloc[3] = np.nan  # a row with nothing known
    model = (MODELS["forest"]() if kind == "forest" else
             make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression())).fit(Xn, Y2)
    reg = tmp_path / "registry"
    publish(reg, "nan", model, Xn.head(20))
    udf = jupyter_deploy.spark_udf("nan", registry=str(reg))
    got = score(spark, udf, Xn)
    assert not np.isnan(got).any()
    np.testing.assert_allclose(got, model.predict_proba(Xn)[:, 1], rtol=0, atol=1e-12)


def test_loaded_once_per_executor_process(spark, tmp_path):
    """Eight tasks over two cores: each Python worker process checks and unpickles the artefact
    at most once (the per-process cache keyed by its sha256), so there are fewer loads than
    tasks, and no process loaded it twice."""
    import os

    import jupyter_deploy
    from pyspark.sql.functions import pandas_udf

    model = MODELS["forest"]().fit(X, Y2)
    reg = tmp_path / "registry"
    publish(reg, "once", model, X.head(20))
    udf = jupyter_deploy.spark_udf("once", registry=str(reg))
    big = pd.concat([X] * 5, ignore_index=True)
    np.testing.assert_allclose(score(spark, udf, big, partitions=8), model.predict_proba(big)[:, 1],
                               rtol=0, atol=1e-12)
    key = json.loads((reg / "once" / "v1" / "metadata.json").read_text())["metadata_sha256"]

    @pandas_udf("string")
    def loads(s: pd.Series) -> pd.Series:
        from jupyter_deploy.model import spark as mod

        return pd.Series([f"{os.getpid()}:{mod._LOADS.get(key, 0)}"] * len(s))

    rows = spark.range(0, 64, 1, 8).select(loads("id").alias("w")).distinct().collect()
    counts = dict(r.w.split(":") for r in rows)
    assert all(c in ("0", "1") for c in counts.values()), counts  # never twice in a process
    assert 1 <= sum(int(c) for c in counts.values()) < 8, counts


def test_tampered_artefact_refused_before_scoring(spark, tmp_path):
    import jupyter_deploy
    from jupyter_deploy.errors import DeployError, IntegrityError

    model = MODELS["forest"]().fit(X, Y2)
    reg = tmp_path / "registry"
    publish(reg, "churn", model, X.head(20))
    pkl = reg / "churn" / "v1" / "model.pkl"
    data_ = bytearray(pkl.read_bytes())
    data_[len(data_) // 2] ^= 0xFF
    pkl.write_bytes(bytes(data_))
    before = {p.name: p.read_bytes() for p in pkl.parent.iterdir()}
    sc = spark.sparkContext
    sc.setJobGroup("udf-tampered", "nothing may run")
    try:
        with pytest.raises(IntegrityError) as err:
            jupyter_deploy.spark_udf("churn", registry=str(reg))
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    assert isinstance(err.value, DeployError)
    text = str(err.value)
    assert "\n" not in text and "model.pkl" in text and "Refusing to load" in text
    assert "Publish the model again" in err.value.hint
    assert sc.statusTracker().getJobIdsForGroup("udf-tampered") == []  # nothing scored
    assert {p.name: p.read_bytes() for p in pkl.parent.iterdir()} == before  # nothing rewritten


def test_executor_refuses_changed_files(spark, tmp_path):
    """The executor's own check: files that differ from what the driver checked (here the
    broadcast holds a changed model.pkl, or other metadata) are refused before unpickling."""
    import jupyter_deploy
    from jupyter_deploy.errors import IntegrityError
    from jupyter_deploy.model import spark as mod

    model = MODELS["linear-pipeline"]().fit(X, Y2)
    reg = tmp_path / "registry"
    publish(reg, "churn", model, X.head(20))
    udf = jupyter_deploy.spark_udf("churn", registry=str(reg))
    assert udf.model_version == 1
    folder = reg / "churn" / "v1"
    meta = json.loads((folder / "metadata.json").read_text())
    files = mod._artefact_files(folder, meta)
    state = {"key": meta["metadata_sha256"], "name": "churn v1"}
    mod._CACHE.pop(state["key"], None)  # as on a fresh executor process
    bad = dict(files, **{"model.pkl": files["model.pkl"] + b"\x00"})
    with pytest.raises(IntegrityError, match="model.pkl was changed"):
        mod._model_for(state, spark.sparkContext.broadcast(bad))
    assert state["key"] not in mod._CACHE
    with pytest.raises(IntegrityError, match="not the one checked"):
        mod._model_for(dict(state, key="0" * 64), spark.sparkContext.broadcast(files))
    loaded = mod._model_for(state, spark.sparkContext.broadcast(files))
    assert type(loaded).__name__ == "Pipeline" and mod._CACHE[state["key"]] is loaded


def test_unknown_name_and_version_name_what_exists(spark, tmp_path):
    import jupyter_deploy
    from jupyter_deploy.errors import RegistryError

    reg = tmp_path / "registry"
    publish(reg, "churn", MODELS["linear-pipeline"]().fit(X, Y2), X.head(5))
    with pytest.raises(RegistryError) as err:
        jupyter_deploy.spark_udf("chrun", registry=str(reg))
    assert "\n" not in str(err.value) and "no model 'chrun'" in str(err.value)
    assert "Models there: churn" in err.value.hint
    with pytest.raises(RegistryError) as err:
        jupyter_deploy.spark_udf("churn", version=7, registry=str(reg))
    assert "\n" not in str(err.value) and "has no version 7" in str(err.value)
    assert "Versions: v1" in err.value.hint
    with pytest.raises(RegistryError) as err:
        jupyter_deploy.spark_udf("churn", version="production", registry=str(reg))
    assert "Versions: v1" in err.value.hint
    assert sorted(p.name for p in (reg / "churn").iterdir() if p.name.startswith("v")) == ["v1"]


def test_wrong_number_of_columns_is_one_line(spark, tmp_path):
    import jupyter_deploy

    reg = tmp_path / "registry"
    publish(reg, "churn", MODELS["linear-pipeline"]().fit(X, Y2), X.head(5))
    udf = jupyter_deploy.spark_udf("churn", registry=str(reg))
    from jupyter_deploy.errors import UsageError
    from jupyter_deploy.model.spark import _frame

    with pytest.raises(UsageError, match="takes 4 columns, got 2"):
        _frame({"schema": {"type": "dataframe", "columns": [{"name": c} for c in X.columns]},
                "name": "churn v1"}, (X.iloc[:, 0], X.iloc[:, 1]))
    assert udf.input_columns == list(X.columns)


def test_import_stays_light():
    code = ("import sys, jupyter_deploy; assert callable(jupyter_deploy.spark_udf); "
            "print([m for m in ('pyspark', 'pandas', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
