"""Decision trees and forests, with thresholds that take scikit-learn's branch for every input.

scikit-learn's trees cast each feature to float32 and then test ``float32(x) <= threshold``
(the threshold is a float64). A database holds ``x`` as a float64, so comparing it with the
threshold directly disagrees for the float64 values that round, in float32, onto the other
side. :func:`float32_split` derives the float64 boundary ``m`` and operator such that, for every
float64 ``x``, ``float32(x) <= threshold`` holds exactly when ``x < m`` (or ``x <= m``).

Each tree is one nested ``CASE``. A split whose ``ELSE`` child is itself a split continues the
same ``CASE`` (``WHEN a THEN .. WHEN b THEN .. ELSE .. END``), which keeps the text short. SQL's
NULL makes a ``WHEN`` false, so NULLs (missing values) always reach the ``ELSE`` branch: each
split is oriented so that ``ELSE`` is the child scikit-learn sends missing values to.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, Optional

import numpy as np

from .compiler import Builder, Outputs, add_chain, argmax_label, register


# ----------------------------------------------------------------------------- thresholds


def float32_split(t: float) -> tuple[str, float]:
    """(op, m) with ``float32(x) <= t``  <=>  ``x op m`` for every float64 ``x`` (op "<" or "<=")."""
    t = float(t)
    f = np.float32(t)
    if float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf), dtype=np.float32)
    if np.isinf(f):
        if f < 0:  # threshold below -FLT_MAX: only -inf-rounding values go left
            return "<", -3.4028235677973366e38
        return "<=", float("inf")
    nxt = np.nextafter(f, np.float32(np.inf), dtype=np.float32)
    if np.isinf(nxt):
        # above FLT_MAX: values from FLT_MAX + half an ulp round to +inf
        return "<", float(f) + 2.0**103
    m = (float(f) + float(nxt)) / 2.0  # exact in float64 (25 significant bits)
    even = (int(np.array(f, dtype=np.float32).view(np.uint32)) & 1) == 0
    # a tie (x == m) rounds to the neighbour with the even significand
    return ("<=" if even else "<"), m


def _shortest(op: str, m: float) -> tuple[str, float]:
    """Same set of x, written with whichever boundary has the shorter text."""
    if np.isinf(m):
        return op, m
    if op == "<":
        alt = ("<=", float(np.nextafter(m, -np.inf)))
    else:
        alt = ("<", float(np.nextafter(m, np.inf)))
    return alt if len(repr(alt[1])) < len(repr(m)) else (op, m)


_NEG = {"<": ">=", "<=": ">"}


def _cmp(op: str, a, b):
    from sqlglot import exp

    cls = {"<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}[op]
    return cls(this=a, expression=b)


# ----------------------------------------------------------------------------- one tree


class TreeShape:
    """The arrays of one binary tree, in a form every tree library can fill."""

    def __init__(self, left, right, feature, split: Callable, missing_left=None):
        self.left = np.asarray(left)
        self.right = np.asarray(right)
        self.feature = np.asarray(feature)
        # split(node, x) -> (cond_left, cond_right): SQL conditions; either may be None
        self.split = split
        self.missing_left = None if missing_left is None else np.asarray(missing_left, dtype=bool)
        self._size = None

    def is_leaf(self, n) -> bool:
        return self.left[n] < 0

    def size(self, n) -> int:
        if self._size is None:
            self._size = {}
        if n in self._size:
            return self._size[n]
        stack, order = [n], []
        while stack:
            k = stack.pop()
            order.append(k)
            if not self.is_leaf(k):
                stack += [int(self.left[k]), int(self.right[k])]
        for k in reversed(order):
            self._size[k] = 1 if self.is_leaf(k) else 1 + self._size[int(self.left[k])] + self._size[int(self.right[k])]
        return self._size[n]

    def leaves(self) -> list[int]:
        out, stack = [], [0]
        while stack:
            k = stack.pop()
            if self.is_leaf(k):
                out.append(k)
            else:
                stack += [int(self.right[k]), int(self.left[k])]
        return out


def tree_case(b: Builder, shape: TreeShape, feats: list, payload: Callable):
    """One nested CASE for the tree; ``payload(leaf)`` gives the expression of a leaf."""
    from sqlglot import exp

    def build(n):
        if shape.is_leaf(n):
            return payload(n)
        ifs = []
        while not shape.is_leaf(n):
            left, right = int(shape.left[n]), int(shape.right[n])
            x = feats[int(shape.feature[n])]
            cond_left, cond_right = shape.split(n, x)
            if shape.missing_left is not None:
                go_left_when = not bool(shape.missing_left[n])  # ELSE must be the missing side
            else:
                # free: keep the bigger subtree in the ELSE chain
                go_left_when = shape.size(left) <= shape.size(right)
            if go_left_when and cond_left is None:
                go_left_when = False
            if not go_left_when and cond_right is None:
                go_left_when = True
            if go_left_when:
                ifs.append(exp.If(this=cond_left, true=build(left)))
                n = right
            else:
                ifs.append(exp.If(this=cond_right, true=build(right)))
                n = left
        return exp.Case(ifs=ifs, default=payload(n))

    return build(0)


def float32_splitter(b: Builder, thresholds) -> Callable:
    """split(n, x) for scikit-learn trees (float32 rounding of x)."""
    cache = {}

    def split(n, x):
        t = float(thresholds[n])
        if t not in cache:
            op, m = _shortest(*float32_split(t))
            cache[t] = (op, m)
        op, m = cache[t]
        if np.isinf(m):
            # threshold +inf (scikit-learn's "missing vs. the rest" split): every number goes left
            from sqlglot import exp

            return exp.Not(this=exp.Is(this=x.copy(), expression=exp.Null())), exp.false()
        return _cmp(op, x.copy(), b.num(m)), _cmp(_NEG[op], x.copy(), b.num(m))

    return split


def sklearn_shape(b: Builder, tree, honor_missing: bool = True) -> TreeShape:
    t = tree.tree_
    missing = getattr(t, "missing_go_to_left", None) if honor_missing else None
    return TreeShape(t.children_left, t.children_right, t.feature, float32_splitter(b, t.threshold), missing)


# ----------------------------------------------------------------------------- leaf maps


def leaf_ids(shape: TreeShape, start: int = 0) -> dict[int, int]:
    return {leaf: i + start for i, leaf in enumerate(shape.leaves())}


def uses_arrays(b: Builder) -> bool:
    """DuckDB and PostgreSQL look leaf values up in an array literal (one step, not a CASE scan)."""
    return b.dialect in ("duckdb", "postgres")


def value_map(b: Builder, col, ids: dict, values: dict, as_label: bool = False):
    """CASE over a leaf-id column: the most common value is the ELSE, the others IN lists."""
    from sqlglot import exp

    if uses_arrays(b) and not as_label and len(set(values.values())) > 2:
        ordered = sorted(values, key=lambda leaf: ids[leaf])
        assert [ids[leaf] for leaf in ordered] == list(range(1, len(ordered) + 1))
        arr = exp.Array(expressions=[b.num(float(values[leaf])) for leaf in ordered])
        return exp.Bracket(this=exp.Paren(this=arr) if b.dialect == "postgres" else arr, expressions=[col.copy()])
    groups: dict = {}
    for leaf, v in values.items():
        key = v if as_label else float(v)
        groups.setdefault(key, []).append(ids[leaf])
    if len(groups) == 1:
        (v,) = groups
        return b.value(v) if as_label else b.num(v)
    common = Counter({k: len(v) for k, v in groups.items()}).most_common(1)[0][0]
    ifs = []
    for v, leaves in groups.items():
        if v == common:
            continue
        leaves = sorted(leaves)
        if len(leaves) == 1:
            cond = exp.EQ(this=col.copy(), expression=exp.Literal.number(leaves[0]))
        else:
            cond = exp.In(this=col.copy(), expressions=[exp.Literal.number(i) for i in leaves])
        ifs.append(exp.If(this=cond, true=b.value(v) if as_label else b.num(v)))
    return exp.Case(ifs=ifs, default=b.value(common) if as_label else b.num(common))


def as_double(b: Builder, e):
    """Float CASE results: PostgreSQL/DuckDB would type them as NUMERIC/DECIMAL; cast once."""
    from sqlglot import exp

    if b.dialect == "sqlite":
        return e
    if isinstance(e, (exp.Case, exp.Bracket)):
        return b.double(e)
    return e


# ----------------------------------------------------------------------------- converters


def _single_output(tree, where):
    from ..errors import UnsupportedModel

    if getattr(tree, "n_outputs_", 1) != 1:
        raise UnsupportedModel(
            f"{type(tree).__name__}{where} has several outputs; only single-output models translate.",
            hint="Fit one model per target column.",
        )


def forest_classifier(b: Builder, trees: list, classes, feats, divide: Optional[int]):
    """Probabilities = sum over trees of leaf values (/ n), label = argmax, as scikit-learn."""
    from sqlglot import exp

    k = len(classes)
    shapes = [sklearn_shape(b, t) for t in trees]
    idmaps = [leaf_ids(s, 1 if uses_arrays(b) else 0) for s in shapes]
    cols = b.stage(
        [tree_case(b, s, feats, lambda n, ids=ids: exp.Literal.number(ids[n])) for s, ids in zip(shapes, idmaps)],
        prefix="t",
    )
    probas = []
    for c in range(k):
        terms = []
        for t, s, ids, col in zip(trees, shapes, idmaps, cols):
            vals = t.tree_.value[:, 0, :k]
            terms.append(as_double(b, value_map(b, col, ids, {leaf: vals[leaf, c] for leaf in ids})))
        total = add_chain(terms)
        if divide:
            total = exp.Div(this=exp.Paren(this=total) if len(terms) > 1 else total, expression=b.num(float(divide)))
        probas.append(total)
    refs = b.stage(probas, prefix="p")
    label = argmax_label(b, refs, classes) if k > 1 else b.value(classes[0])
    return Outputs(kind="classifier", prediction=label, proba=refs, classes=list(classes))


def forest_regressor(b: Builder, trees: list, feats, divide: Optional[int]):
    from sqlglot import exp

    terms = []
    for t in trees:
        s = sklearn_shape(b, t)
        vals = t.tree_.value[:, 0, 0]
        terms.append(as_double(b, tree_case(b, s, feats, lambda n, vals=vals: b.num(vals[n]))))
    total = add_chain(terms)
    if divide:
        total = exp.Div(this=exp.Paren(this=total) if len(terms) > 1 else total, expression=b.num(float(divide)))
    return Outputs(kind="regressor", prediction=total)


@register(
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
)
def decision_tree_classifier(model, b, feats):
    _single_output(model, "")
    from sqlglot import exp

    shape = sklearn_shape(b, model)
    ids = leaf_ids(shape, 1 if uses_arrays(b) else 0)
    (col,) = b.stage([tree_case(b, shape, feats, lambda n: exp.Literal.number(ids[n]))], prefix="t")
    k = len(model.classes_)
    vals = model.tree_.value[:, 0, :k]
    probas = [as_double(b, value_map(b, col, ids, {leaf: vals[leaf, c] for leaf in ids})) for c in range(k)]
    labels = {leaf: model.classes_[int(np.argmax(vals[leaf]))] for leaf in ids}
    label = value_map(b, col, ids, labels, as_label=True)
    return Outputs(kind="classifier", prediction=label, proba=probas, classes=list(model.classes_))


@register(
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.tree._classes.ExtraTreeRegressor",
)
def decision_tree_regressor(model, b, feats):
    _single_output(model, "")
    return forest_regressor(b, [model], feats, divide=None)


@register(
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
)
def random_forest_classifier(model, b, feats):
    _single_output(model, "")
    return forest_classifier(b, list(model.estimators_), model.classes_, feats, divide=len(model.estimators_))


@register(
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
)
def random_forest_regressor(model, b, feats):
    _single_output(model, "")
    return forest_regressor(b, list(model.estimators_), feats, divide=len(model.estimators_))
