"""The bottom of the model-to-SQL compiler: the converter registry, the :class:`Builder` of
staged sqlglot expressions, :class:`Outputs`, and the expression helpers converters share.

Converters (boosting, linear, pipeline, preprocessing, thirdparty, trees) import what they need
from here and ``@register`` themselves; :mod:`jupyter_deploy.sql.compiler` imports every
converter module, so the registry is complete once the compiler is imported. Nothing here
imports a converter: the package's import graph has no cycle (tests/sql/test_import_graph.py).
sqlglot is imported inside the functions that build expressions (it is the package's heaviest
import, and ``jupyter_deploy.sql.identifiers`` is imported without it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import UnsupportedModel
from . import identifiers as ids

# ------------------------------------------------------------------------------- registry

_CONVERTERS: dict[str, Callable] = {}  # "module.Class" -> converter


def register(*class_paths: str):
    """Register a converter for the estimator classes named ``module.Class`` (exact class)."""

    def deco(fn):
        for path in class_paths:
            _CONVERTERS[path] = fn
        return fn

    return deco


def _class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def supported() -> list[str]:
    """Class names the compiler converts (those registered so far: importing
    :mod:`jupyter_deploy.sql.compiler` registers them all)."""
    return sorted({p.rsplit(".", 1)[1] for p in _CONVERTERS})


def converter_for(obj, where: str = ""):
    """The converter registered for ``obj``'s class (or a base class of it)."""
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
    def first_stage(self, features: list, numeric: list[bool], boolean: Optional[list] = None) -> list:
        """The features read once from the table: numeric ones as DOUBLE. A BOOLEAN column goes
        through INT first (PostgreSQL has no cast from boolean to double precision; every
        engine casts boolean to integer), as a number or as the 1/0 its categories are written as."""
        from sqlglot import exp

        cols = []
        boolean = boolean or [False] * len(features)
        for f, isnum, isbool in zip(features, numeric, boolean):
            if isbool:
                f = exp.cast(f, "int")
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


def multiclass_outputs(model, b, raw):
    """A multiclass softmax over raw scores (one per class), staged: raw + max, then exp + raw,
    so the argmax sees the raw scores. ``model`` only gives ``classes_``."""
    from sqlglot import exp

    classes = list(model.classes_)
    # stage raw + max together, then exp + raw, so the argmax sees the raw scores
    if b.dialect == "sqlite":
        mx = exp.Anonymous(this="MAX", expressions=[c.copy() for c in raw])
    else:
        mx = exp.Greatest(this=raw[0].copy(), expressions=[c.copy() for c in raw[1:]])
    refs = b.stage([c.copy() for c in raw] + [mx], prefix="d")
    raw, m = refs[:-1], refs[-1]
    refs = b.stage([c.copy() for c in raw] + [exp.Exp(this=exp.Sub(this=c.copy(), expression=m.copy())) for c in raw], prefix="e")
    raw, exps = refs[: len(raw)], refs[len(raw) :]
    total = add_chain([c.copy() for c in exps])
    probas = [exp.Div(this=c.copy(), expression=exp.Paren(this=total.copy())) for c in exps]
    label = argmax_label(b, raw, classes)
    return Outputs(kind="classifier", prediction=label, proba=probas, decision=list(raw), classes=classes)
