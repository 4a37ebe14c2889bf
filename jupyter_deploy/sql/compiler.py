"""The model-to-SQL compiler: a registry of converters over sqlglot expression trees.

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

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import UnsupportedModel, UsageError
from . import identifiers as ids

# ------------------------------------------------------------------------------- registry

_CONVERTERS: dict[str, Callable] = {}  # "module.Class" -> converter
_LOADED = False


def register(*class_paths: str):
    """Register a converter for the estimator classes named ``module.Class`` (exact class)."""

    def deco(fn):
        for path in class_paths:
            _CONVERTERS[path] = fn
        return fn

    return deco


def _load_converters():
    global _LOADED
    if _LOADED:
        return
    from . import boosting, linear, pipeline, preprocessing, thirdparty, trees  # noqa: F401

    _LOADED = True


def _class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def supported() -> list[str]:
    """Class names the compiler converts."""
    _load_converters()
    return sorted({p.rsplit(".", 1)[1] for p in _CONVERTERS})


def converter_for(obj, where: str = ""):
    _load_converters()
    path = _class_path(obj)
    fn = _CONVERTERS.get(path)
    if fn is None:
        # Accept subclasses of supported classes only when they do not override predict logic.
        for klass in type(obj).__mro__[1:]:
            cand = _CONVERTERS.get(f"{klass.__module__}.{klass.__qualname__}")
            if cand is not None:
                fn = cand
                break
    if fn is None:
        step = f" (step {where!r})" if where else ""
        raise UnsupportedModel(
            f"Cannot translate {type(obj).__name__}{step} to SQL.",
            hint="Supported: " + ", ".join(supported()) + ".",
            step=where,
            estimator=type(obj).__name__,
        )
    return fn


def check_fitted(obj, where: str = ""):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(obj)
    except NotFittedError:
        step = f" (step {where!r})" if where else ""
        raise UnsupportedModel(
            f"{type(obj).__name__}{step} is not fitted, so it has no parameters to translate.",
            hint="Call .fit(X, y) on it first (in the notebook, so the clean run fits it too).",
        ) from None
    except TypeError:
        # not an estimator at all
        raise UnsupportedModel(
            f"{type(obj).__name__} is not a scikit-learn estimator.",
            hint="Pass a fitted estimator or Pipeline. Supported: " + ", ".join(supported()) + ".",
        ) from None


# ------------------------------------------------------------------------------- literals


def _sci(v: float) -> str:
    import numpy as np

    return np.format_float_scientific(v, unique=True, trim="-").replace("e+", "e")


def float_text(v: float, dialect: str) -> str:
    """Text of a float literal that every engine parses back to exactly ``v``."""
    v = float(v)
    if v == 0.0:
        return "0.0"
    r = repr(v)
    if dialect == "duckdb" and "e" not in r:
        # DuckDB reads short decimals as DECIMAL; scientific notation is read as DOUBLE.
        digits = r.lstrip("-").replace(".", "").lstrip("0")
        if len(digits) > 15:
            return _sci(v)
    if dialect in ("mysql", "tsql") and "e" not in r:
        return _sci(v)  # exact decimals would be DECIMAL there
    return r


class Builder:
    """Holds the stages (CTEs) of one query and creates fresh internal names."""

    def __init__(self, dialect: str, source, keep: list[str], keep_exprs: list):
        self.dialect = dialect
        self.stages: list[tuple[str, list[tuple[str, Any]], Any, bool]] = []
        self.keep_aliases = [f"k{i}" for i in range(len(keep))]
        self.keep_names = list(keep)
        self._source = source
        self._keep_exprs = keep_exprs
        self._counter: dict[str, int] = {}
        self.floats: list = []  # float literal nodes, for per-dialect checks
        self.notes: list[str] = []
        self.nested = 0
        self._used: set = set(self.keep_aliases)  # > 0 inside a ColumnTransformer branch: no staging there

    # names -------------------------------------------------------------------------------
    def fresh(self, prefix: str) -> str:
        while True:
            n = self._counter.get(prefix, 0)
            self._counter[prefix] = n + 1
            name = f"{prefix}{n}"
            if name not in self._used:
                self._used.add(name)
                return name

    @property
    def materialize(self) -> bool:
        return self.dialect in ("postgres", "sqlite")

    # literals ----------------------------------------------------------------------------
    def num(self, v) -> Any:
        from sqlglot import exp

        if isinstance(v, bool):
            v = int(v)
        if isinstance(v, int) or (hasattr(v, "dtype") and v.dtype.kind in "iu"):
            return exp.Literal.number(int(v))
        v = float(v)
        if math.isnan(v) or math.isinf(v):
            text = "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
            return exp.cast(exp.Literal.string(text), "double")
        text = float_text(v, self.dialect)
        if text.startswith("-"):
            lit = exp.Literal(this=text[1:], is_string=False)
            self.floats.append((lit, -v))
            return exp.Neg(this=lit)
        lit = exp.Literal(this=text, is_string=False)
        self.floats.append((lit, v))
        return lit

    def value(self, v) -> Any:
        """A literal for a class label or category (string or number)."""
        import numpy as np
        from sqlglot import exp

        if isinstance(v, (str, np.str_)):
            return exp.Literal.string(str(v))
        if isinstance(v, (bool, np.bool_)):
            return exp.Literal.number(int(v))
        if isinstance(v, (int, np.integer)):
            return exp.Literal.number(int(v))
        if isinstance(v, (float, np.floating)):
            if float(v).is_integer() and abs(v) < 2**53:
                return exp.Literal.number(int(v))
            return self.num(v)
        if v is None:
            return exp.Null()
        raise UnsupportedModel(
            f"Cannot write the label or category {v!r} ({type(v).__name__}) as SQL.",
            hint="Use string or numeric labels and categories.",
        )

    def double(self, e):
        from sqlglot import exp

        return exp.cast(e, "double")

    # stages ------------------------------------------------------------------------------
    def first_stage(self, features: list, numeric: list[bool]) -> list:
        from sqlglot import exp

        cols = []
        for i, (f, isnum) in enumerate(zip(features, numeric)):
            cols.append((self.fresh("f"), self.double(f) if isnum else f))
        self._add_stage(cols, source=self._source, keep_src=self._keep_exprs, materialized=False)
        return [exp.column(a) for a, _ in cols]

    def stage(self, exprs: list, prefix: str = "c", materialized: Optional[bool] = None) -> list:
        """Compute ``exprs`` once in a new CTE; returns references to its columns."""
        from sqlglot import exp

        if self.nested:
            return list(exprs)
        cols = []
        out = []
        for e in exprs:
            if isinstance(e, exp.Column) and not e.table and e.name in self._current_names():
                # already a column of the current stage: pass it through under its name
                cols.append((e.name, e))
                out.append(exp.column(e.name))
                continue
            if isinstance(e, exp.Literal) or isinstance(e, exp.Null):
                out.append(e)
                continue
            alias = self.fresh(prefix)
            cols.append((alias, e))
            out.append(exp.column(alias))
        mat = self.materialize if materialized is None else (materialized and self.materialize)
        self._add_stage(cols, source=None, keep_src=None, materialized=mat)
        return out

    def _current_names(self) -> set:
        if not self.stages:
            return set()
        return {a for a, _ in self.stages[-1][1]}

    def _add_stage(self, cols, source, keep_src, materialized):
        name = f"_jd{len(self.stages)}"
        self.stages.append((name, cols, (source, keep_src), materialized))

    def query(self, final: list[tuple[str, Any]]):
        """The whole SELECT: ``final`` is [(output name, expression over the last stage)]."""
        from sqlglot import exp

        ctes = []
        prev = None
        for name, cols, (source, keep_src), mat in self.stages:
            sel = exp.Select()
            if keep_src is not None:
                for alias, ke in zip(self.keep_aliases, keep_src):
                    sel = sel.select(exp.alias_(ke, alias, quoted=False), copy=False)
            else:
                for alias in self.keep_aliases:
                    sel = sel.select(exp.column(alias), copy=False)
            for alias, e in cols:
                if isinstance(e, exp.Column) and e.name == alias and not e.table:
                    sel = sel.select(exp.column(alias), copy=False)
                else:
                    sel = sel.select(exp.alias_(e, alias, quoted=False), copy=False)
            sel = sel.from_(source if source is not None else exp.to_table(prev), copy=False)
            cte = exp.CTE(this=sel, alias=exp.TableAlias(this=exp.to_identifier(name)))
            if mat:
                cte.set("materialized", True)
            ctes.append(cte)
            prev = name
        top = exp.Select()
        for alias, name in zip(self.keep_aliases, self.keep_names):
            top = top.select(exp.alias_(exp.column(alias), ids.ident(name)), copy=False)
        for name, e in final:
            top = top.select(exp.alias_(e, ids.ident(name)), copy=False)
        top = top.from_(exp.to_table(prev), copy=False)
        top.set("with_", exp.With(expressions=ctes))
        return top


# ------------------------------------------------------------------------------- outputs


@dataclass
class Outputs:
    """What an estimator converter gives back (expressions over the builder's last stage)."""

    kind: str  # "classifier" or "regressor"
    prediction: Any = None
    proba: Optional[list] = None
    decision: Optional[list] = None
    classes: Optional[list] = None
    notes: list = field(default_factory=list)
    #: how closely the SQL can match (None: 1e-9); models that compute in float32 say more
    tolerance: Optional[float] = None


def argmax_label(b: Builder, cols: list, classes, strict_binary: bool = False):
    """CASE expression picking ``classes[argmax(cols)]`` with numpy's first-max tie rule."""
    from sqlglot import exp

    if len(cols) == 1:
        # one decision column (binary): classes[1] when d > 0 (or >= 0)
        cond = exp.GTE if strict_binary else exp.GT
        cond = cond(this=cols[0], expression=exp.Literal.number(0))
        return exp.Case(ifs=[exp.If(this=cond, true=b.value(classes[1]))], default=b.value(classes[0]))
    ifs = []
    for i in range(len(cols) - 1):
        conds = [exp.GTE(this=cols[i].copy(), expression=cols[j].copy()) for j in range(i + 1, len(cols))]
        ifs.append(exp.If(this=exp.and_(*conds), true=b.value(classes[i])))
    return exp.Case(ifs=ifs, default=b.value(classes[-1]))


def safe_exp(b: Builder, e):
    """EXP(e) clamped to [-700, 700]: PostgreSQL raises on exp() overflow and underflow."""
    from sqlglot import exp

    clamped = clamp(b, e, -700.0, 700.0)
    return exp.Exp(this=clamped)


def clamp(b: Builder, e, lo: float, hi: float):
    """np.clip(e, lo, hi); NULL stays NULL (PostgreSQL's GREATEST/LEAST would skip it)."""
    from sqlglot import exp

    return exp.Case(
        ifs=[
            exp.If(this=exp.LT(this=e.copy(), expression=b.num(lo)), true=b.num(lo)),
            exp.If(this=exp.GT(this=e.copy(), expression=b.num(hi)), true=b.num(hi)),
        ],
        default=e.copy(),
    )


def sigmoid(b: Builder, e):
    """1 / (1 + exp(-e)), as scipy's expit."""
    from sqlglot import exp

    return exp.Div(
        this=b.num(1.0),
        expression=exp.Paren(this=exp.Add(this=b.num(1.0), expression=safe_exp(b, exp.Neg(this=exp.Paren(this=e))))),
    )


def softmax(b: Builder, cols: list) -> list:
    """Stable softmax as scikit-learn's: exp(x - max) / sum (staged: max once, exps once)."""
    from sqlglot import exp

    if b.dialect == "sqlite":
        mx = exp.Anonymous(this="MAX", expressions=[c.copy() for c in cols])
    else:
        mx = exp.Greatest(this=cols[0].copy(), expressions=[c.copy() for c in cols[1:]])
    refs = b.stage([c.copy() for c in cols] + [mx], prefix="d")
    cols, m = refs[:-1], refs[-1]
    exps = b.stage([exp.Exp(this=exp.Sub(this=c, expression=m.copy())) for c in cols], prefix="e")
    total = exps[0].copy()
    for c in exps[1:]:
        total = exp.Add(this=total, expression=c.copy())
    return [exp.Div(this=c.copy(), expression=exp.Paren(this=total.copy())) for c in exps]


def add_chain(terms: list):
    """t0 + t1 + ... nested to the left (the order scikit-learn accumulates in)."""
    from sqlglot import exp

    acc = terms[0]
    for t in terms[1:]:
        acc = exp.Add(this=acc, expression=t)
    return acc


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
    unknown = sorted(set(columns) - set(names))
    if unknown:
        raise UsageError(
            f"columns maps names the model does not use: {', '.join(unknown)}.",
            hint="Its features are: " + ", ".join(names[:20]) + ("..." if len(names) > 20 else ""),
        )
    mapping = {n: str(columns.get(n, n)) for n in names}
    keep = [str(k) for k in (keep or ())]
    src = ids.table(table)
    b = Builder(dialect, src, keep, [ids.column(k) for k in keep])

    from .pipeline import numeric_inputs

    numeric = numeric_inputs(model, len(names))
    feats = b.first_stage([ids.column(mapping[n]) for n in names], numeric)
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
    names to table columns; ``feature_names`` names the features of a model fitted on an array.
    """
    return compile_model(model, table, dialect, **kwargs).sql
