"""Decision trees and forests, with thresholds that take scikit-learn's branch for every input.

scikit-learn's trees cast each feature to float32 and then test ``float32(x) <= threshold``
(the threshold is a float64). A database holds ``x`` as a float64, so comparing it with the
threshold directly disagrees for the float64 values that round, in float32, onto the other
side. :func:`float32_split` derives the float64 boundary ``m`` and operator such that, for every
float64 ``x``, ``float32(x) <= threshold`` holds exactly when ``x < m`` (or ``x <= m``).

On DuckDB and PostgreSQL (a ``REAL`` cast) and SQLite (float64 arithmetic that rounds to 24
bits, :func:`sqlite_float32`) the features a tree reads are rounded to float32 once, in a stage,
exactly as scikit-learn does; each split is then
``x <= L`` with ``L`` the shortest decimal in ``[f, f + half a float32 step)``, ``f`` the
largest float32 not above the threshold. That literal is about half as long as the float64
boundary and reads back the same branch whether the engine compares in float32 or float64.

Each tree is one nested ``CASE``. A split whose ``ELSE`` child is itself a split continues the
same ``CASE`` (``WHEN a THEN .. WHEN b THEN .. ELSE .. END``), which keeps the text short. SQL's
NULL makes a ``WHEN`` false, so NULLs (missing values) always reach the ``ELSE`` branch: each
split is oriented so that ``ELSE`` is the child scikit-learn sends missing values to.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Callable, Optional

import numpy as np

from ..errors import UnsupportedModel
from .builder import Builder, Outputs, add_chain, argmax_label, register


# ----------------------------------------------------------------------------- thresholds


def float32_floor(t: float) -> np.float32:
    """The largest float32 not above ``t``: ``float32(x) <= t``  <=>  ``float32(x) <= f``."""
    t = float(t)
    f = np.float32(t)
    if float(f) > t:
        f = np.nextafter(f, np.float32(-np.inf), dtype=np.float32)
    return f


def float32_split(t: float) -> tuple[str, float]:
    """(op, m) with ``float32(x) <= t``  <=>  ``x op m`` for every float64 ``x`` (op "<" or "<=")."""
    f = float32_floor(t)
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

#: dialects with a float32 type that is cast from float64 with IEEE round-to-nearest-even and
#: that the proof runs on (DuckDB) or the test suite checks (PostgreSQL)
F32_DIALECTS = frozenset({"duckdb", "postgres"})


def float32_cut(t: float) -> Optional[str]:
    """Text of a literal ``L`` with ``float32(x) <= t``  <=>  ``float32(x) <= L`` (as float64).

    ``L`` is the shortest decimal in ``[f, midpoint(f, next float32))``: it rounds to ``f`` in
    float32 and lies below the next float32 in float64. None where ``f`` or its successor is
    not finite (the float64 boundary is used there).
    """
    from decimal import ROUND_CEILING, Decimal

    f = float32_floor(t)
    nxt = np.nextafter(f, np.float32(np.inf), dtype=np.float32)
    if not (np.isfinite(f) and np.isfinite(nxt)):
        return None
    lo = Decimal(float(f))
    hi = (lo + Decimal(float(nxt))) / 2
    if lo == 0:
        return "0e0"
    for digits in range(1, 12):
        quantum = Decimal(1).scaleb(lo.adjusted() - digits + 1)
        cut = lo.quantize(quantum, rounding=ROUND_CEILING)
        if lo <= cut < hi:
            return _decimal_text(cut)
    raise AssertionError(f"no float32 cut found for {t!r}")  # pragma: no cover


def _decimal_text(d) -> str:
    """``d`` as ``[-]MANTISSAeEXP`` (always read as a float64, never a DECIMAL)."""
    sign, digits, exponent = d.normalize().as_tuple()
    mant = "".join(map(str, digits))
    return ("-" if sign else "") + f"{mant}e{exponent}"


def _cut_literal(b, text: str):
    """A literal node for a cut (negative numbers as unary minus, as Builder.num does)."""
    from sqlglot import exp

    if b.dialect in ("postgres", "duckdb", "sqlite"):
        # SQLite reads either form as a float64; PostgreSQL reads every non-integer literal as NUMERIC and converts it exactly
        # (strtod) when compared with a float; DuckDB reads it as DECIMAL and converts it to the
        # DOUBLE column's type exactly (at most 9 digits here): the plain decimal is allowed, where shorter
        from decimal import Decimal

        plain = format(Decimal(text), "f")
        if len(plain) < len(text):
            text = plain if "." in plain or plain.lstrip("-") == "0" else plain + ".0"
    lit = exp.Literal(this=text.lstrip("-"), is_string=False)
    if b.dialect == "sqlite":
        b.floats.append((lit, abs(float(text))))  # SQLite's parser is checked literal by literal
    return exp.Neg(this=lit) if text.startswith("-") else lit


#: below this magnitude float32 is subnormal and SQLite's rounding (24 significant bits) would not
#: be float32's; a model with a threshold this close to zero keeps float64 boundaries there
_F32_TINY = 2.0**-125


def tree_features(b, feats: list, splits, n_trees: int) -> tuple[list, bool]:
    """The feature expressions the trees compare, and whether they are float32-rounded.

    ``splits``: (feature index, threshold) of every split of the ``n_trees`` trees. On DuckDB
    and PostgreSQL the features the splits read are cast to float32 once, in a stage (an
    engine error on a value beyond float32's range matches scikit-learn's "value too large for
    dtype('float32')"). SQLite has no float32 type: there each feature is rounded to 24
    significant bits with Veltkamp's splitting, which is IEEE's round-to-nearest-even for every
    normal float32 (see :func:`sqlite_float32`).

    On PostgreSQL the stage is inlined (a cast per comparison costs less than materialising the
    rows: 0.08 s vs 0.15 s for one tree on 100k rows, 1.7 s vs 2.0 s for 50). On SQLite a forest
    materialises it (2.2 s vs 5.0 s inlined); a single tree keeps float64 boundaries there (no
    stage at all: 0.05 s vs 0.13 s)."""
    from sqlglot import exp

    if b.dialect not in F32_DIALECTS | {"sqlite"} or b.nested:
        return feats, False
    splits = [(int(i), float(t)) for i, t in splits]
    used = sorted({i for i, _ in splits})
    if not used:
        return feats, False
    if b.dialect == "sqlite":
        if n_trees < 2 or any(np.isfinite(t) and abs(t) < _F32_TINY for _, t in splits):
            return feats, False  # one tree: the float64 boundaries are as short as it gets, and faster
        refs = sqlite_float32(b, [feats[i] for i in used])
    else:
        real = exp.DataType.build("real")
        if b.dialect == "duckdb":
            # held as DOUBLE: a short decimal literal is then converted to float64 (exactly, for
            # up to 15 digits) rather than to float32
            cast = [exp.cast(exp.cast(feats[i].copy(), real), exp.DataType.build("double")) for i in used]
        else:
            cast = [exp.cast(feats[i].copy(), real) for i in used]
        refs = b.stage(cast, prefix="g", materialized=False)
    out = list(feats)
    for i, r in zip(used, refs):
        out[i] = r
    return out, True


def _veltkamp(x, s: int):
    """``x`` rounded to ``53 - s`` significant bits (to nearest; a tie may go either way)."""
    from sqlglot import exp

    c = exp.Mul(this=exp.Literal.number(2**s + 1), expression=x.copy())
    return exp.Sub(this=exp.Paren(this=c), expression=exp.Paren(this=exp.Sub(this=c.copy(), expression=x.copy())))


def sqlite_float32(b, xs: list) -> list:
    """float32(x) for float64 columns in plain float64 arithmetic, in one stage.

    Veltkamp's splitting with s = 29 rounds x to 24 significant bits, to nearest. With IEEE
    round-to-nearest-even arithmetic its ties also go to the even neighbour: checked for every
    tie of one binade (the computation scales exactly with powers of two) and on random values
    through SQLite itself, in tests/sql/test_models.py. So it equals numpy's float32 cast for
    every x whose float32 is normal (|x| >= 2**-126); NULL stays NULL."""
    return b.stage([_veltkamp(x, 29) for x in xs], prefix="g")


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

    def tests_left(self, n: int, cond_left, cond_right) -> bool:
        """Whether node ``n`` is written as ``cond_left`` (true: left child) rather than
        ``cond_right`` (true: right child). The untested side (CASE's ELSE, IF's false branch)
        is where NULL goes, so with known missing-value routing it must be the missing side;
        otherwise the bigger subtree stays on the untested side (a shorter CASE chain)."""
        left, right = int(self.left[n]), int(self.right[n])
        if self.missing_left is not None:
            go = not bool(self.missing_left[n])
        else:
            go = self.size(left) <= self.size(right)
        if go and cond_left is None:
            go = False
        if not go and cond_right is None:
            go = True
        return go

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

    if b.dialect == "spark":  # nested IF calls there: see spark_trees.py
        from .spark_trees import tree_if

        nested = tree_if(b, shape, feats, payload)
        if nested is not None:
            return nested

    def build(n):
        if shape.is_leaf(n):
            return payload(n)
        ifs = []
        while not shape.is_leaf(n):
            left, right = int(shape.left[n]), int(shape.right[n])
            x = feats[int(shape.feature[n])]
            cond_left, cond_right = shape.split(n, x)
            if shape.tests_left(n, cond_left, cond_right):
                ifs.append(exp.If(this=cond_left, true=build(left)))
                n = right
            else:
                ifs.append(exp.If(this=cond_right, true=build(right)))
                n = left
        return exp.Case(ifs=ifs, default=payload(n))

    return build(0)


def float32_splitter(b: Builder, thresholds, f32: bool = False) -> Callable:
    """split(n, x) for scikit-learn trees (float32 rounding of x).

    ``f32``: ``x`` is already a float32 column (see :func:`tree_features`)."""
    cache = {}

    def split(n, x):
        t = float(thresholds[n])
        if f32 and np.isfinite(t):
            key = ("f32", t)
            if key not in cache:
                cache[key] = float32_cut(t)
            text = cache[key]
            if text is not None:
                return _cmp("<=", x.copy(), _cut_literal(b, text)), _cmp(">", x.copy(), _cut_literal(b, text))
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


def sklearn_shape(b: Builder, tree, honor_missing: bool = True, f32: bool = False) -> TreeShape:
    t = tree.tree_
    missing = getattr(t, "missing_go_to_left", None) if honor_missing else None
    return TreeShape(t.children_left, t.children_right, t.feature, float32_splitter(b, t.threshold, f32), missing)


def sklearn_tree_features(b: Builder, feats: list, trees) -> tuple[list, bool]:
    """:func:`tree_features` for scikit-learn trees (the ``tree_`` of each)."""
    trees = list(trees)
    splits = [(t.tree_.feature[n], t.tree_.threshold[n]) for t in trees
              for n in np.flatnonzero(t.tree_.children_left >= 0)]
    return tree_features(b, feats, splits, len(trees))


def stage_tree_terms(b: Builder, groups: list[list]) -> list[list]:
    """DuckDB: every tree's term (of every output) computed as a column of one stage, which the
    sums then add; other dialects keep the terms inline.

    The same additions in the same order, so the same results. On DuckDB 2.0 a sum of CASE
    expressions written as one expression costs more CPU than the same CASEs computed as
    columns and added in a second projection, mostly in planning it (paired runs, one thread:
    the one expression took 1.10-1.27x the CPU at 300k rows, 1.03-1.16x at 1M, for the boosted
    models and the regression forest of benchmarks/bench_sql.py; see
    benchmarks/results/duckdb_forms.md). Constant terms (an initial score) stay inline."""
    from sqlglot import exp

    def constant(t):
        return next(t.find_all(exp.Column), None) is None

    flat = [t for g in groups for t in g if not constant(t)]
    if b.dialect != "duckdb" or b.nested or len(flat) < 2:
        return groups  # one tree: a stage would only add a projection
    refs = iter(b.stage(flat, prefix="t"))
    return [[t if constant(t) else next(refs) for t in g] for g in groups]


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
    """Float CASE results: PostgreSQL/DuckDB would type them as NUMERIC/DECIMAL; cast once.

    On PostgreSQL a cast around the CASE converts a NUMERIC to float8 on every row (4x slower
    for a GradientBoosting(100)); instead each CASE's ELSE literal is typed ``::float8``, which
    makes the CASE float8 and lets the planner convert all its literals once."""
    from sqlglot import exp

    if b.dialect == "sqlite":
        return e
    if b.dialect == "postgres" and isinstance(e, exp.Case) and float8_leaves(e):
        return e
    if isinstance(e, (exp.Case, exp.Bracket)) or (b.dialect == "spark" and isinstance(e, exp.If)):
        return b.double(e)  # Spark: trees are IF calls (spark_trees.py)
    return e


def float8_leaves(e) -> bool:
    """Type the ELSE literal of every CASE in ``e`` as float8; False (nothing changed) when some
    CASE's ELSE is not a number literal."""
    from sqlglot import exp

    cases = list(e.find_all(exp.Case))
    lits = []
    for case in cases:
        d = case.args.get("default")
        lit = d.this if isinstance(d, exp.Neg) else d
        if not (isinstance(lit, exp.Literal) and not lit.is_string):
            return False
        lits.append(lit)
    for lit in lits:
        # PostgreSQL's typed-literal syntax (sqlglot would spell out CAST(.. AS DOUBLE PRECISION));
        # '::' binds tighter than a unary minus, so -1.5::float8 is -(1.5::float8)
        lit.set("this", f"{lit.this}::float8")
    return True


# ----------------------------------------------------------------------------- converters


def _single_output(tree, where):
    if getattr(tree, "n_outputs_", 1) != 1:
        raise UnsupportedModel(
            f"{type(tree).__name__}{where} has several outputs; only single-output models translate.",
            hint="Fit one model per target column.",
        )


def leaf_counts(trees: list, k: int) -> Optional[list[dict]]:
    """Per tree, leaf -> (N, [c_0 .. c_k-1]) with integer weighted counts such that the leaf's
    value is exactly ``c_j / N`` in float64 (as scikit-learn computes it for unweighted and
    bootstrapped fits); None when any leaf is not such a fraction (sample or class weights)."""
    out = []
    for tree in trees:
        t = tree.tree_
        per = {}
        for leaf in np.flatnonzero(t.children_left < 0):
            n = float(t.weighted_n_node_samples[leaf])
            vals = t.value[leaf, 0, :k]
            if not n.is_integer() or n <= 0:
                return None
            counts = np.rint(vals * n)
            if counts.sum() != n or any(float(c) / n != float(v) for c, v in zip(counts, vals)):
                return None
            ints = [int(c) for c in counts]
            g = math.gcd(int(n), *ints)  # c/N == (c/g)/(N/g): the same rational, the same rounding
            per[int(leaf)] = (int(n) // g, [c // g for c in ints])
        out.append(per)
    return out


def _int_div(b: Builder, a, d: int):
    """Integer division of a non-negative integer expression by a positive constant."""
    from sqlglot import exp

    if b.dialect in ("postgres", "sqlite"):
        # integer operands: the engine's own integer division (typed: no cast to a float)
        return exp.Div(this=a, expression=exp.Literal.number(d), typed=True)
    return exp.IntDiv(this=a, expression=exp.Literal.number(d))


def _coded_probas(b: Builder, cols: list, k: int, bases: list[int]) -> list[list]:
    """Per class, the trees' probability terms from their leaf codes (see :func:`_leaf_code`).

    ``c_j / N`` is computed in float64 by the engine, which rounds it exactly as scikit-learn
    did when it stored the leaf's value."""
    from sqlglot import exp

    probas = [[] for _ in range(k)]
    for col, base in zip(cols, bases):
        n = _int_div(b, col.copy(), base ** (k - 1))
        parts = []
        for j in range(1, k):
            q = col.copy() if j == 1 else _int_div(b, col.copy(), base ** (j - 1))
            parts.append(exp.Mod(this=q, expression=exp.Literal.number(base)))
        first = n.copy()  # c_0 = N - c_1 - ... - c_k-1
        for part in parts:
            first = exp.Sub(this=first, expression=part.copy())
        for j, num in enumerate([first] + parts):
            probas[j].append(exp.Div(this=b.double(num), expression=exp.Paren(this=n.copy())))
    return probas


def _leaf_code(n: int, c: list, base: int) -> int:
    """``N * base**(k-1) + c_1 + c_2 * base + ...``: N and the counts of classes 1.. as digits."""
    return n * base ** (len(c) - 1) + sum(c[j] * base ** (j - 1) for j in range(1, len(c)))


def forest_classifier(b: Builder, trees: list, classes, feats, divide: Optional[int]):
    """Probabilities = sum over trees of leaf values (/ n), label = argmax, as scikit-learn."""
    from sqlglot import exp

    k = len(classes)
    feats, f32 = sklearn_tree_features(b, feats, trees)
    shapes = [sklearn_shape(b, t, f32=f32) for t in trees]
    counts = leaf_counts(trees, k) if k > 1 else None
    # each tree's own base: 10 ** (digits of its largest N)
    bases = [10 ** len(str(max(n for n, _ in per.values()))) for per in counts] if counts else []
    if counts and all(base**k < 2**62 for base in bases):
        # each leaf as the integer code of its class counts: short, and no lookup table
        cols = b.stage(
            [
                tree_case(b, s, feats, lambda n, per=per, base=base: exp.Literal.number(_leaf_code(*per[n], base)))
                for s, per, base in zip(shapes, counts, bases)
            ],
            prefix="t",
        )
        terms = _coded_probas(b, cols, k, bases)
    else:
        idmaps = [leaf_ids(s, 1 if uses_arrays(b) else 0) for s in shapes]
        cols = b.stage(
            [tree_case(b, s, feats, lambda n, ids=ids: exp.Literal.number(ids[n])) for s, ids in zip(shapes, idmaps)],
            prefix="t",
        )
        terms = [[] for _ in range(k)]
        for t, ids, col in zip(trees, idmaps, cols):
            vals = t.tree_.value[:, 0, :k]
            for c in range(k):
                terms[c].append(as_double(b, value_map(b, col, ids, {leaf: vals[leaf, c] for leaf in ids})))
    probas = []
    for c in range(k):
        total = add_chain(terms[c])
        if divide:
            total = exp.Div(this=exp.Paren(this=total) if len(terms[c]) > 1 else total, expression=b.num(float(divide)))
        probas.append(total)
    refs = b.stage(probas, prefix="p")
    label = argmax_label(b, refs, classes) if k > 1 else b.value(classes[0])
    return Outputs(kind="classifier", prediction=label, proba=refs, classes=list(classes))


def forest_regressor(b: Builder, trees: list, feats, divide: Optional[int]):
    from sqlglot import exp

    terms = []
    feats, f32 = sklearn_tree_features(b, feats, trees)
    for t in trees:
        s = sklearn_shape(b, t, f32=f32)
        vals = t.tree_.value[:, 0, 0]
        terms.append(as_double(b, tree_case(b, s, feats, lambda n, vals=vals: b.num(vals[n]))))
    (terms,) = stage_tree_terms(b, [terms])
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

    feats, f32 = sklearn_tree_features(b, feats, [model])
    shape = sklearn_shape(b, model, f32=f32)
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
