"""The model-to-SQL compiler: a registry of converters over sqlglot expression trees.

The registry, the Builder and the shared expression helpers are in :mod:`.builder` (the bottom
module converters import); this module imports every converter module, so importing it
registers them all.

A converter for a *transformer* maps a list of feature expressions to a new list. A converter
for an *estimator* returns :class:`Outputs` (prediction, probabilities, decision). Work that is
shared is computed once in a stage -- a CTE -- and later stages refer to its columns by short
internal names, so the query stays compact and each engine evaluates each piece once
(PostgreSQL and SQLite get ``AS MATERIALIZED`` for stages that compute something).

The query has the shape::

    WITH _jd0 AS (SELECT <kept columns>, CAST(<feature> AS DOUBLE) AS f0, ... FROM <table>),
         _jd1 AS MATERIALIZED (SELECT k0, ..., <preprocessing / trees> FROM _jd0),
         ...
    SELECT k0 AS "<kept>", <label> AS "prediction", p0 AS "probability_<class>", ... FROM _jdN
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..errors import UnsupportedModel, UsageError
from . import boosting, linear, preprocessing, thirdparty, trees  # noqa: F401  (they register)
from . import identifiers as ids
from .builder import (  # noqa: F401  (the names converters used to import from here)
    Builder,
    Outputs,
    add_chain,
    argmax_label,
    check_fitted,
    clamp,
    converter_for,
    float_text,
    register,
    safe_exp,
    sigmoid,
    softmax,
    supported,
)
from .pipeline import numeric_inputs


# ------------------------------------------------------------------------------- feature names


def feature_names_of(model, feature_names=None) -> list[str]:
    if feature_names is not None:
        names = [str(n) for n in feature_names]
        n_in = getattr(model, "n_features_in_", None)
        if n_in is not None and len(names) != n_in:
            raise UsageError(
                f"feature_names has {len(names)} names but the model takes {n_in} features.",
                hint="Give one name per column of the X the model was fitted on, in order.",
            )
        return names
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        raise UsageError(
            "The model was fitted on an array, so its input columns have no names.",
            hint="Fit it on a pandas DataFrame, or pass feature_names=[...] (one per column).",
        )
    return [str(n) for n in names]


# ------------------------------------------------------------------------------- entry point


@dataclass
class Compiled:
    sql: str
    expression: Any
    outputs: list  # output column names after keep
    classes: Optional[list]
    kind: str
    feature_names: list
    columns: dict  # feature -> table column
    dialect: str
    tolerance: Optional[float] = None  # the model's own precision, where coarser than 1e-9


def _only_features(given, names: list, what: str) -> None:
    """A one-line error when ``given`` names something that is not one of the model's features."""
    unknown = sorted(set(map(str, given)) - set(map(str, names)))
    if unknown:
        raise UsageError(
            f"{what} the model does not use: {', '.join(unknown)}.",
            hint="Its features are: " + ", ".join(map(str, names[:20])) + ("..." if len(names) > 20 else ""),
        )


def boolean_columns(frame) -> list:
    """The columns of a DataFrame that hold booleans (``bool`` or pandas' nullable ``boolean``):
    in a table they are BOOLEAN columns, which the SQL must read through an integer cast."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        return []
    return [str(c) for c in frame.columns if pd.api.types.is_bool_dtype(frame[c].dtype)]


def boolean_classes(classes) -> bool:
    """Whether a classifier's labels are booleans (fitted on a True/False target)."""
    import numpy as np

    return classes is not None and len(classes) > 0 and all(
        isinstance(c, (bool, np.bool_)) for c in classes)


def compile_model(
    model,
    table,
    dialect: str = "duckdb",
    *,
    keep=(),
    columns: Optional[dict] = None,
    feature_names=None,
    prediction_column: str = "prediction",
    probability_prefix: str = "probability_",
    decision_prefix: str = "decision_",
    outputs=("predict", "predict_proba"),
    pretty: bool = False,
    boolean_features=(),
) -> Compiled:

    dialect = ids.normalize_dialect(dialect)
    outputs = tuple(outputs)
    bad = sorted(set(outputs) - {"predict", "predict_proba", "decision_function"})
    if bad or not outputs:
        raise UsageError(
            f"Unknown output(s): {', '.join(bad) or 'none given'}.",
            hint="outputs takes predict, predict_proba and/or decision_function.",
        )
    check_fitted(model)
    names = feature_names_of(model, feature_names)
    columns = dict(columns or {})
    boolean_features = [str(n) for n in (boolean_features or ())]
    _only_features(columns, names, "columns maps names")
    _only_features(boolean_features, names, "boolean_features names columns")
    mapping = {n: str(columns.get(n, n)) for n in names}
    keep = [str(k) for k in (keep or ())]
    src = ids.table(table)
    b = Builder(dialect, src, keep, [ids.column(k) for k in keep])

    numeric = numeric_inputs(model, len(names))
    feats = b.first_stage([ids.column(mapping[n]) for n in names], numeric,
                          [str(n) in boolean_features for n in names])
    conv = converter_for(model)
    out: Outputs = conv(model, b, feats)
    if not isinstance(out, Outputs):
        raise UnsupportedModel(
            f"{type(model).__name__} is a transformer, not a model: it has no predictions.",
            hint="Deploy a Pipeline that ends with an estimator.",
        )

    final: list[tuple[str, Any]] = []
    # stage probabilities (and decisions) once, then derive the label from the staged columns
    want_proba = "predict_proba" in outputs and out.proba is not None
    want_dec = "decision_function" in outputs and out.decision is not None
    staged = []
    if want_proba:
        staged += out.proba
    if want_dec:
        staged += out.decision
    pred = out.prediction
    if staged and pred is not None:
        # the prediction is usually written over the same columns: stage the lot together
        refs = b.stage(staged + [pred], prefix="o")
        pred = refs[-1]
        refs = refs[:-1]
    elif staged:
        refs = b.stage(staged, prefix="o")
    else:
        refs = []
    names_out = []
    if "predict" in outputs:
        if pred is None:
            raise UnsupportedModel(f"{type(model).__name__} has no predict in SQL.")
        if boolean_classes(out.classes):
            # predict() gives True/False: the label is a BOOLEAN (written 1/0 up to here)
            from sqlglot import exp

            pred = exp.cast(pred, "boolean")
        final.append((prediction_column, pred))
    i = 0
    if want_proba:
        for c in out.classes:
            final.append((f"{probability_prefix}{c}", refs[i]))
            i += 1
    if want_dec:
        labels = [str(c) for c in out.classes] if (out.classes is not None and len(out.decision) > 1) else [None]
        for lab in labels:
            final.append((f"{decision_prefix}{lab}" if lab is not None else decision_prefix.rstrip("_"), refs[i]))
            i += 1
    if "predict_proba" in outputs and out.proba is None and outputs != ("predict", "predict_proba"):
        raise UnsupportedModel(f"{type(model).__name__} has no predict_proba.")
    if "decision_function" in outputs and out.decision is None:
        raise UnsupportedModel(f"{type(model).__name__} has no decision_function in SQL.")
    taken = set(keep)
    for name, _ in final:
        if name in taken:
            raise UsageError(
                f"Output column {name!r} clashes with a kept column.",
                hint="Rename it with prediction_column= / probability_prefix=, or keep less.",
            )
        taken.add(name)
        names_out.append(name)
    tree = b.query(final)
    if dialect == "sqlite":
        _fix_sqlite_literals(b)
    sql = tree.sql(dialect=dialect, pretty=pretty)
    return Compiled(
        sql=sql,
        expression=tree,
        outputs=keep + names_out,
        classes=list(out.classes) if out.classes is not None else None,
        kind=out.kind,
        feature_names=names,
        columns=mapping,
        dialect=dialect,
        tolerance=out.tolerance,
    )


def _fix_sqlite_literals(b: Builder):
    """SQLite's own number parser is not always correctly rounded: check each literal with the
    local SQLite and, where it reads back another double, write more digits."""
    import sqlite3

    con = sqlite3.connect(":memory:")
    items = [(lit, v) for lit, v in b.floats]
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        row = con.execute("SELECT " + ", ".join(lit.this for lit, _ in chunk)).fetchone()
        for (lit, v), got in zip(chunk, row):
            if got != abs(v):
                for fmt in ("{:.17e}", "{:.20e}", "{:.25e}", "{:.30e}"):
                    text = fmt.format(abs(v))
                    if con.execute("SELECT " + text).fetchone()[0] == abs(v):
                        lit.set("this", text)
                        break
    con.close()


def to_sql(model, table, dialect: str = "duckdb", **kwargs) -> str:
    """A fitted scikit-learn model as the SQL text of a SELECT over ``table``.

    The result has the columns named in ``keep``, then ``prediction``, then for classifiers one
    ``probability_<class>`` per class in ``classes_`` order. ``columns`` maps model feature
    names to table columns; ``feature_names`` names the features of a model fitted on an array;
    ``boolean_features`` names the features whose column is a BOOLEAN (pandas ``bool``):
    :func:`boolean_columns` of the frame the model predicts on gives them.
    """
    return compile_model(model, table, dialect, **kwargs).sql
