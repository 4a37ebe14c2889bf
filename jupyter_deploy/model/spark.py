"""A registry artefact scored on Spark: ``jupyter_deploy.spark_udf`` (a pandas UDF).

    score = jupyter_deploy.spark_udf("churn", version="production")
    df.withColumn("score", score(*score.input_columns))     # or score("age", "income", ...)

On the driver the version is resolved and loaded exactly as :func:`jupyter_deploy.load` does
(every file's sha256, the metadata hash and the signature are checked before unpickling), so a
tampered artefact is refused before anything is scored. The artefact's files go to the
executors as one broadcast. Each executor's Python process checks them again with the same code
(:func:`~jupyter_deploy.model.artefact.read_artefact`), and also that their metadata hash is the
one the driver checked, then unpickles the model *once* and keeps it in a per-process cache
keyed by that sha256 (as MLflow's ``mlflow.pyfunc.spark_udf`` does). Later batches and tasks
in that process reuse it.

What the UDF returns follows the artefact's metadata, like the serving container: for a binary
classifier that has ``predict_proba``, the probability of the positive class (``classes[1]``,
a double); otherwise ``predict``'s value (its type taken from the metadata's output schema).
``output="predict"`` or ``output="probability"`` chooses explicitly (a multi-class
``probability`` is an array of doubles, one per class in ``classes`` order).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

__all__ = ["spark_udf"]

#: per-process cache on the executors: metadata sha256 -> the unpickled model
_CACHE: dict[str, Any] = {}
#: how many times this process checked and unpickled each artefact (the tests read it)
_LOADS: dict[str, int] = {}
OUTPUTS = ("auto", "predict", "probability")


def _spark_type(dtype: Optional[str]) -> str:
    d = (dtype or "").lower()
    if d.startswith(("int", "uint")):
        return "long"
    if d.startswith("float"):
        return "double"
    if d.startswith("bool"):
        return "boolean"
    return "string"


def _decide(model, meta: dict, output: str) -> tuple[str, Optional[int], int]:
    """(mode, positive column index, number of classes) from the artefact's metadata."""
    from ..errors import UsageError

    if output not in OUTPUTS:
        raise UsageError(f"Unknown output {output!r} for spark_udf.",
                         hint="output is auto, predict or probability.")
    classes = meta.get("classes")
    proba_classes = (meta.get("output_schema") or {}).get("probabilities")
    has_proba = bool(proba_classes) and hasattr(model, "predict_proba")
    if output == "probability" and not has_proba:
        raise UsageError(
            f"{meta.get('name')} v{meta.get('version')} ({meta.get('model_class')}) gives no "
            "class probabilities.",
            hint="Use output='predict' (or the default, auto).")
    if output == "probability" or (output == "auto" and has_proba and len(proba_classes) == 2):
        return "probability", (1 if len(proba_classes) == 2 else None), len(proba_classes)
    return "predict", None, len(classes or [])


def _artefact_files(folder: Path, meta: dict) -> dict[str, bytes]:
    from ..errors import IntegrityError
    from .standalone import METADATA

    files = {METADATA: (folder / METADATA).read_bytes()}
    for rel in meta.get("files") or {}:
        try:
            files[rel] = (folder / rel).read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"{folder}/{rel} disappeared while it was read.",
                                 hint="Do not score with it; publish the model again.") from None
    return files


def spark_udf(name: str, version: Any = None, registry: Any = None, *, result_type=None,
              output: str = "auto", spark=None, signing_key=None, allow_unverified: bool = False):
    """A pandas UDF scoring the registry's model ``name`` at ``version`` on Spark.

    ``result_type`` (a Spark type or DDL string) overrides the type the metadata implies;
    ``output`` is ``auto``, ``predict`` or ``probability``; ``spark`` is the session (default:
    the active one, or a new default session). Call the UDF with the model's input columns, in
    the order of ``udf.input_columns`` (names or Column objects), or with one struct of them.
    Errors (unknown model or version, a changed artefact) are raised here, before any scoring.
    ``signing_key`` is used on the driver; executors check the signature only with a key
    configured in their own environment (the key is never shipped), and always check that the
    metadata hash is the one the driver verified.
    """
    from ..errors import BackendError
    from . import open_registry
    from .artefact import read_artefact

    try:
        import pandas as pd
        from pyspark.sql import SparkSession
        from pyspark.sql.functions import pandas_udf
    except ImportError:
        raise BackendError("spark_udf needs pyspark (and pandas, pyarrow): not installed here.",
                           hint="pip install 'jupyter-deploy[spark]' (and Java 17).") from None
    import tempfile

    reg = open_registry(registry)
    n = reg.resolve(name, version, allow_unverified=allow_unverified)
    with tempfile.TemporaryDirectory(prefix="jupyter-deploy-spark-") as tmp:
        local = reg.store.local_path(f"{name}/v{n}")
        folder = local if local is not None else reg.fetch(name, n, Path(tmp))
        model, meta = read_artefact(folder, verify=True, signing_key=signing_key)
        files = _artefact_files(folder, meta)
    mode, positive, n_classes = _decide(model, meta, output)
    if result_type is None:
        if mode == "probability":
            result_type = "double" if positive is not None else "array<double>"
        else:
            result_type = _spark_type(((meta.get("output_schema") or {}).get("prediction") or {})
                                      .get("dtype"))
    schema = meta.get("input_schema") or {}
    state = {
        "key": meta["metadata_sha256"],
        "name": f"{name} v{n}",
        "schema": schema,
        "mode": mode,
        "positive": positive,
    }
    session = spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    shipped = session.sparkContext.broadcast(files)

    from typing import Iterator, Tuple

    def score(batches):
        predictor = _model_for(state, shipped)
        for cols in batches:
            yield _predict(predictor, state, cols)

    # real objects, not this module's postponed strings: pyspark reads them to pick the UDF kind
    score.__annotations__ = {"batches": Iterator[Tuple[pd.Series, ...]],
                             "return": Iterator[pd.Series]}

    udf = pandas_udf(score, returnType=result_type)
    udf.input_columns = [c.get("name") for c in schema.get("columns") or []]
    udf.model_version = n
    udf.output = mode
    return udf


def _model_for(state: dict, shipped):
    """The executor's model: from the per-process cache, else checked and unpickled once."""
    key = state["key"]
    model = _CACHE.get(key)
    if model is not None:
        return model
    import tempfile

    from ..errors import IntegrityError
    from .artefact import read_artefact
    from .standalone import METADATA

    files = shipped.value
    with tempfile.TemporaryDirectory(prefix="jupyter-deploy-udf-") as tmp:
        root = Path(tmp)
        for rel, data in files.items():
            out = root.joinpath(*rel.split("/"))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        meta = json.loads(files[METADATA])
        if meta.get("metadata_sha256") != key:
            raise IntegrityError(f"Refusing to score with {state['name']}: its metadata is not "
                                 "the one checked when the UDF was made.",
                                 hint="Make the UDF again with spark_udf().")
        model, _ = read_artefact(root, verify=True)
    _CACHE[key] = model
    _LOADS[key] = _LOADS.get(key, 0) + 1
    return model


def _frame(state: dict, cols):
    """The model's input from one Arrow batch: a frame with the schema's names and dtypes."""
    import numpy as np
    import pandas as pd

    from ..errors import UsageError

    schema = state["schema"]
    specs = schema.get("columns") or []
    names = [c.get("name") for c in specs]
    if isinstance(cols, pd.DataFrame):
        parts = [cols]
    else:
        parts = list(cols) if isinstance(cols, (tuple, list)) else [cols]
    if len(parts) == 1 and isinstance(parts[0], pd.DataFrame):
        frame = parts[0]
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise UsageError(f"{state['name']} needs the columns {', '.join(missing)}.",
                             hint="Pass a struct with every column of udf.input_columns.")
        frame = frame[names]
    elif not names:  # no input schema (published without a sample): columns by position
        return np.column_stack([np.asarray(p) for p in parts])
    else:
        if len(parts) != len(names):
            raise UsageError(
                f"{state['name']} takes {len(names)} columns, got {len(parts)}.",
                hint="Call the UDF with udf.input_columns: " + ", ".join(names) + ".")
        frame = pd.DataFrame({nm: s.reset_index(drop=True) for nm, s in zip(names, parts)})
    if schema.get("type") == "array":
        dtype = schema.get("dtype") or "float64"
        arr = frame.to_numpy()
        try:
            return arr.astype(dtype)
        except (TypeError, ValueError):
            return arr
    out = {}
    for spec in specs:
        s = frame[spec["name"]]
        dtype = spec.get("dtype") or ""
        if dtype == "category":
            cats = spec.get("categories")
            s = pd.Series(pd.Categorical(s, categories=cats) if cats is not None
                          else pd.Categorical(s))
        elif dtype.startswith(("float", "Float")):
            s = s.astype(dtype)
        elif dtype.startswith(("int", "uint")) and not s.isna().any():
            s = s.astype(dtype)
        elif dtype.startswith("bool") and not s.isna().any():
            s = s.astype(dtype)
        elif dtype in ("object", "str", "string") or dtype.startswith("string"):
            s = s.astype(object).where(s.notna(), np.nan)
        out[spec["name"]] = s
    return pd.DataFrame(out, columns=names)


def _predict(model, state: dict, cols):
    import pandas as pd

    X = _frame(state, cols)
    if state["mode"] == "probability":
        proba = model.predict_proba(X)
        if state["positive"] is not None:
            return pd.Series(proba[:, state["positive"]])
        return pd.Series(list(proba))
    return pd.Series(model.predict(X))
