"""The proof: run the SQL on a real engine over the sample plus adversarial rows, compare with
scikit-learn (tidypredict's ``tidypredict_test``, but on real engines and at every threshold).

Adversarial rows: every split threshold of every tree exactly, the float32 values either side,
the float64 boundary the SQL uses and its neighbours; NULL in each column where the model takes
missing values; an unseen category in each string column where the model accepts one.
"""

from __future__ import annotations


import numpy as np

from ..errors import UsageError

ROW_ID = "__jd_row"
PROOF_TABLE = "__jd_sample"


# ------------------------------------------------------------------------------- the sample


def sample_frame(model, sample, feature_names=None):
    """The sample as a DataFrame with the model's feature names, or a clear error."""
    import pandas as pd

    from .compiler import feature_names_of

    names = feature_names_of(model, feature_names)
    if isinstance(sample, pd.DataFrame):
        missing = [n for n in names if n not in sample.columns]
        if missing:
            raise UsageError(
                f"The sample lacks {len(missing)} of the model's columns: {', '.join(map(str, missing[:10]))}.",
                hint="Pass the X the model predicts on (a DataFrame with the columns it was fitted on).",
            )
        return sample[names].reset_index(drop=True)
    arr = np.asarray(sample)
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise UsageError(
            f"The sample has shape {arr.shape} but the model takes {len(names)} columns.",
            hint="Pass the X the model predicts on.",
        )
    return pd.DataFrame(arr, columns=names)


def synthetic_sample(model, feature_names=None):
    """One row of zeros when the user gives no sample (numeric inputs only)."""
    import pandas as pd

    from .compiler import feature_names_of
    from .pipeline import numeric_inputs

    names = feature_names_of(model, feature_names)
    numeric = numeric_inputs(model, len(names))
    if not all(numeric):
        text = [n for n, isnum in zip(names, numeric) if not isnum]
        raise UsageError(
            f"The model reads text columns ({', '.join(text[:5])}), so the proof needs real rows.",
            hint="Give --sample X_test (a notebook variable with rows the model predicts on).",
        )
    return pd.DataFrame([[0.0] * len(names)], columns=names)


# ------------------------------------------------------------------------------- thresholds


def _tree_thresholds(model) -> list[tuple[int, float, str]]:
    """(input feature index, threshold, kind) for trees that read the inputs directly."""
    out = []
    est = model
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        steps = [s for _, s in est.steps[:-1] if not (s is None or s == "passthrough")]
        if steps:
            return []  # thresholds live in the transformed space
        est = est.steps[-1][1]
    trees = []
    if hasattr(est, "tree_"):
        trees = [est]
    elif hasattr(est, "estimators_"):
        trees = [t for t in np.ravel(est.estimators_) if hasattr(t, "tree_")]
    for t in trees:
        tr = t.tree_
        for n in range(tr.node_count):
            if tr.children_left[n] >= 0:
                out.append((int(tr.feature[n]), float(tr.threshold[n]), "f32"))
    if type(est).__module__.startswith("xgboost"):
        from .thirdparty import _xgb_model, xgb_splits

        return out + [(i, t, "f32") for i, t in xgb_splits(_xgb_model(est)[1])]
    booster = getattr(est, "_Booster", None)
    if booster is not None:  # LightGBM
        stack = [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
        while stack:
            node = stack.pop()
            if "leaf_value" in node:
                continue
            if node.get("decision_type") == "<=":
                out.append((int(node["split_feature"]), float(node["threshold"]), "f64"))
            stack += [node["left_child"], node["right_child"]]
    for its in getattr(est, "_predictors", []) or []:
        for p in its:
            nodes = p.nodes
            for n in range(len(nodes)):
                if not nodes["is_leaf"][n] and not nodes["is_categorical"][n]:
                    out.append((int(nodes["feature_idx"][n]), float(nodes["num_threshold"][n]), "f64"))
    return out


def _points(t: float, kind: str) -> list[float]:
    from .trees import float32_split

    pts = {t}
    if kind == "f32":
        f = np.float32(t)
        for v in (f, np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))):
            pts.add(float(v))
        _op, m = float32_split(t)
        if np.isfinite(m):
            pts.update({m, float(np.nextafter(m, np.inf)), float(np.nextafter(m, -np.inf))})
    else:
        pts.update({float(np.nextafter(t, np.inf)), float(np.nextafter(t, -np.inf))})
    return [p for p in pts if np.isfinite(p)]


def adversarial_rows(model, base, max_rows: int = 20000):
    """Rows built from ``base`` (the sample) that sit on the model's decision boundaries."""
    import pandas as pd

    if len(base) == 0:
        return base.iloc[:0]
    rows = []
    names = list(base.columns)
    thr = _tree_thresholds(model)
    seen = set()
    i = 0
    for f, t, kind in thr:
        if (f, t) in seen:
            continue
        seen.add((f, t))
        for p in _points(t, kind):
            r = base.iloc[i % len(base)].copy()
            i += 1
            r[names[f]] = p
            rows.append(r)
        if len(rows) >= max_rows:
            break
    # float32 neighbours of sample values (rounding) for numeric columns
    for c in names:
        if pd.api.types.is_numeric_dtype(base[c]):
            for v in base[c].head(5):
                if pd.isna(v):
                    continue
                f = np.float32(v)
                for p in (np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf))):
                    r = base.iloc[i % len(base)].copy()
                    i += 1
                    r[c] = float(p)
                    rows.append(r)
    out = pd.DataFrame(rows, columns=names) if rows else base.iloc[:0].copy()
    for c in names:
        if pd.api.types.is_numeric_dtype(base[c]):
            out[c] = out[c].astype(float)
    return out.reset_index(drop=True)


def _special_rows(model, base):
    """NULL per column and unseen categories, kept only where scikit-learn accepts them."""
    import pandas as pd

    kept = []
    names = list(base.columns)
    for c in names:
        r = base.iloc[[0]].copy()
        if pd.api.types.is_numeric_dtype(base[c]):
            r[c] = np.nan
        else:
            r[c] = None
        if _accepts(model, r):
            kept.append(r)
        if not pd.api.types.is_numeric_dtype(base[c]):
            r = base.iloc[[0]].copy()
            r[c] = "__unseen_category__"
            if _accepts(model, r):
                kept.append(r)
    return pd.concat(kept, ignore_index=True) if kept else base.iloc[:0].copy()


def keep_booleans(X, columns):
    """Boolean columns hold booleans in the proof's rows (as in the user's table): a threshold
    row's value becomes the boolean on its side of 0.5. What scikit-learn is given: ``bool``, or
    1.0/0.0/NaN where a row is missing one (pandas.NA would be refused by a ColumnTransformer);
    :func:`as_table` gives the engines the same values as a nullable BOOLEAN."""
    import pandas as pd

    if not columns:
        return X
    X = X.copy()
    for c in columns:
        values = [np.nan if pd.isna(v) else float(float(v) >= 0.5) for v in X[c]]
        X[c] = np.array(values, dtype=float)
        if not np.isnan(X[c]).any():
            X[c] = X[c].astype(bool)
    return X


def as_table(X, boolean=()):
    """The proof's rows as the engines load them: ``boolean`` columns as nullable BOOLEAN."""
    import pandas as pd

    t = X.copy()
    for c in boolean:
        t[c] = pd.array([pd.NA if pd.isna(v) else bool(v) for v in X[c]], dtype="boolean")
    return t


def _plain_dtypes(frame):
    """pandas' nullable Int64/Float64/string columns as numpy float / object (NaN and None for
    NA), which scikit-learn reads the same and the proof's rows can extend without pandas.NA."""
    import pandas as pd

    out = frame.copy()
    for c in out.columns:
        dtype = out[c].dtype
        if not pd.api.types.is_extension_array_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_numeric_dtype(dtype):
            out[c] = out[c].astype("float64")
        elif pd.api.types.is_string_dtype(dtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def keep_categoricals(X, base):
    """``X`` with ``base``'s pandas categorical dtypes (a concat with other rows drops them, and
    models fitted on categoricals, like LightGBM's, refuse anything else)."""
    import pandas as pd

    for c in base.columns:
        if isinstance(base[c].dtype, pd.CategoricalDtype) and not isinstance(X[c].dtype, pd.CategoricalDtype):
            X[c] = X[c].astype(base[c].dtype)
    return X


def _accepts(model, row) -> bool:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.predict(row)
        return True
    except Exception:
        return False


# ------------------------------------------------------------------------------- engines


def _arrow(df):
    try:
        import pyarrow as pa
    except ImportError as exc:
        from ..errors import TargetError

        raise TargetError("The SQL proof needs pyarrow (to load the sample into the database "
                          "with NaN as NULL), which is not installed.",
                          hint="pip install 'jupyter-deploy[sql]'") from exc

    return pa.Table.from_pandas(df, preserve_index=False)  # NaN becomes NULL


def run_duckdb(sql: str, df, table: str = PROOF_TABLE):
    import duckdb

    con = duckdb.connect()
    try:
        con.register("__jd_arrow", _arrow(df))
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM __jd_arrow')
        return con.execute(sql).df()
    finally:
        con.close()


def run_sqlite(sql: str, df, table: str = PROOF_TABLE):
    import sqlite3

    import pandas as pd

    con = sqlite3.connect(":memory:")
    try:
        df2 = df.astype(object).where(df.notna(), None)
        cols = ", ".join('"' + str(c).replace('"', '""') + '"' for c in df.columns)
        con.execute(f'CREATE TABLE "{table}" ({cols})')
        marks = ", ".join("?" for _ in df.columns)
        con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', df2.itertuples(index=False, name=None))
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=names)
    finally:
        con.close()


def run_clickhouse(sql: str, df, table: str = PROOF_TABLE):
    """ClickHouse itself, in-process (chdb), over a Memory table loaded from Arrow (NULLs kept)."""
    try:
        import chdb
    except ImportError as exc:
        from ..errors import TargetError

        raise TargetError("Proving the clickhouse dialect needs chdb (ClickHouse in-process), "
                          "which is not installed.",
                          hint="pip install 'jupyter-deploy[clickhouse]'") from exc

    arrow = _arrow(df)  # noqa: F841 - read by name by chdb's Python() table function below
    con = chdb.connect(":memory:")
    try:
        con.query(f"CREATE TABLE `{table}` ENGINE = Memory AS SELECT * FROM Python(arrow)")
        return con.query(sql, "DataFrame")
    finally:
        con.close()


RUNNERS = {"duckdb": run_duckdb, "sqlite": run_sqlite, "clickhouse": run_clickhouse}


def proof_engines(dialect: str) -> tuple:
    """The engines a dialect's SQL is proven on here: DuckDB always (the reference), and the
    dialect's own engine where it runs in-process (SQLite; ClickHouse when chdb is installed)."""
    if dialect == "sqlite":
        return ("duckdb", "sqlite")
    if dialect == "clickhouse":
        import importlib.util

        if importlib.util.find_spec("chdb") is not None:
            return ("duckdb", "clickhouse")
    return ("duckdb",)


# ------------------------------------------------------------------------------- comparison


def expected(model, X):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = model.predict(X)
        proba = model.predict_proba(X) if hasattr(model, "predict_proba") and _has_proba(model) else None
    return pred, proba


def _has_proba(model) -> bool:
    try:
        getattr(model, "predict_proba")
        return True
    except AttributeError:
        return False


def compare(model, X, got, prediction_column="prediction", probability_prefix="probability_", tolerance=1e-9) -> dict:
    """Max absolute error and label agreement between scikit-learn and the SQL result."""
    import pandas as pd

    pred, proba = expected(model, X)
    n = len(X)
    out = {"rows": n, "max_abs_error": 0.0, "label_agreement": 1.0, "disagreements": []}
    if len(got) != n:
        out.update(ok=False, detail=f"the SQL returned {len(got)} rows for {n}")
        return out
    gp = got[prediction_column]
    classes = getattr(model, "classes_", None)
    if classes is not None:
        got_lab = label_texts(gp, classes)
        exp_lab = label_texts(pred, classes)
        agree = exp_lab == got_lab
        out["label_agreement"] = float(agree.mean()) if n else 1.0
        bad = np.flatnonzero(~agree)
        err = 0.0
        if proba is not None:
            cols = [f"{probability_prefix}{c}" for c in classes]
            if all(c in got.columns for c in cols):
                g = got[cols].to_numpy(dtype=float)
                diff = np.abs(g - proba)
                diff = np.where(np.isnan(diff), np.inf, diff)
                err = float(diff.max()) if n else 0.0
                bad = np.union1d(bad, np.flatnonzero(diff.max(axis=1) > tolerance))
        out["max_abs_error"] = err
    else:
        g = pd.to_numeric(gp, errors="coerce").to_numpy(dtype=float)
        e = np.asarray(pred, dtype=float)
        diff = np.abs(g - e)
        diff = np.where(np.isnan(diff), np.inf, diff)
        out["max_abs_error"] = float(diff.max()) if n else 0.0
        scale = np.maximum(1.0, np.abs(e))
        bad = np.flatnonzero(diff > tolerance * scale)
    out["disagreements"] = [int(i) for i in bad[:10]]
    out["n_disagree"] = int(len(bad))
    out["ok"] = len(bad) == 0
    return out


_TRUE = {"true", "t", "1"}
_FALSE = {"false", "f", "0"}


def label_texts(values, classes) -> "np.ndarray":
    """Labels as text, to compare what an engine returned with scikit-learn's labels. For
    boolean labels (``classes`` True/False, or their text), whatever form the engine gives a
    BOOLEAN (True, 1 from SQLite, 't') reads as True."""
    texts = [_label_text(v) for v in values]
    if classes is not None and len(classes) == 2 and {str(c) for c in classes} == {"False", "True"}:
        texts = ["True" if t.lower() in _TRUE else "False" if t.lower() in _FALSE else t for t in texts]
    return np.array(texts)


def _label_text(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "<NULL>"
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    return str(v)


def proof_rows(model, sample, feature_names=None, adversarial: bool = True, max_rows: int = 20000):
    """The rows a proof runs: the sample, then (``adversarial``) rows at every split threshold and
    NULL / unseen-category rows scikit-learn accepts. Returns ``(base, rows, n_adversarial,
    boolean)``: ``boolean`` lists the columns kept BOOLEAN (compile with
    ``boolean_features=boolean``)."""
    import pandas as pd

    from .compiler import boolean_columns

    base = _plain_dtypes(sample_frame(model, sample, feature_names))
    frames = [base]
    n_adv = 0
    if adversarial:
        adv = adversarial_rows(model, base, max_rows=max_rows)
        if len(adv) and not _accepts(model, adv):
            adv = adv.iloc[:0]
        special = _special_rows(model, base)
        frames += [adv, special]
        n_adv = len(adv) + len(special)
    X = keep_categoricals(pd.concat(frames, ignore_index=True), base)
    boolean = [c for c in boolean_columns(base) if c in X.columns]
    return base, keep_booleans(X, boolean), n_adv, boolean


def prove(
    model,
    sample,
    *,
    feature_names=None,
    engines=("duckdb",),
    adversarial: bool = True,
    tolerance: float = 1e-9,
    max_rows: int = 20000,
    **compile_kwargs,
) -> dict:
    """Run the model's SQL on real engines over ``sample`` (+ adversarial rows) and compare.

    Returns ``{"ok", "rows", "adversarial_rows", "max_abs_error", "label_agreement",
    "engines": {name: {...}}}``. Engines: "duckdb", "sqlite", "clickhouse" (all in-process;
    :func:`proof_engines` picks them for a dialect).
    """
    from .compiler import compile_model

    base, X, n_adv, boolean = proof_rows(model, sample, feature_names, adversarial, max_rows)
    names = list(X.columns)
    table_df = as_table(X, boolean)
    table_df.insert(0, ROW_ID, np.arange(len(X)))
    kw = dict(compile_kwargs)
    kw.pop("keep", None)
    kw.pop("columns", None)
    kw.pop("boolean_features", None)
    results = {}
    worst = {"max_abs_error": 0.0, "label_agreement": 1.0}
    used = tolerance
    for engine in engines:
        comp = compile_model(model, PROOF_TABLE, engine, keep=[ROW_ID], feature_names=names,
                             boolean_features=boolean, **kw)
        # a model that computes in float32 (XGBoost) is held to its own precision
        tol = max(tolerance, comp.tolerance or 0.0)
        used = max(used, tol)
        got = RUNNERS[engine](comp.sql, table_df).sort_values(ROW_ID).reset_index(drop=True)
        res = compare(
            model,
            X,
            got,
            prediction_column=kw.get("prediction_column", "prediction"),
            probability_prefix=kw.get("probability_prefix", "probability_"),
            tolerance=tol,
        )
        res["sql_chars"] = len(comp.sql)
        results[engine] = res
        worst["max_abs_error"] = max(worst["max_abs_error"], res["max_abs_error"])
        worst["label_agreement"] = min(worst["label_agreement"], res["label_agreement"])
    ok = all(r.get("ok") for r in results.values())
    return {
        "ok": ok,
        "rows": len(base),
        "adversarial_rows": n_adv,
        "max_abs_error": worst["max_abs_error"],
        "label_agreement": worst["label_agreement"],
        "tolerance": used,
        "engines": results,
        "rows_checked": len(X),
        "bad_rows": X.iloc[results[engines[0]]["disagreements"][:3]].to_dict("records") if results and not ok else [],
    }
