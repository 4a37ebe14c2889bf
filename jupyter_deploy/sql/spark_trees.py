"""Trees on Spark: each tree as nested ``IF(cond, then, else)`` rather than a ``CASE`` chain.

Spark compiles a query's projections into Java (whole-stage code generation). A forest's
projection (a RandomForest(50, depth 6): 50 trees, about 3,000 splits) does not fit the JVM's
64 KB limit for one method, whatever the form ("Code grows beyond 64 KB" in Spark's log); Spark
then falls back to evaluating the projection without whole-stage code generation. On that path
Spark's code for ``IF`` is simpler than for ``CASE`` (which keeps a result-state variable and a
loop per ``CASE``): measured faster on 2 million rows (benchmarks/results/spark.md).

``IF(c, a, b)`` gives ``b`` when ``c`` is NULL, as ``CASE WHEN c THEN a ELSE b END`` does, so a
split keeps the orientation that sends missing values to the ``ELSE`` side (the same
:meth:`trees.TreeShape.tests_left` decides both). Trees deeper than :data:`MAX_IF_DEPTH` keep
the ``CASE`` chain, whose nesting grows only with the left turns (Spark's parser recurses once
per nested call).
"""

from __future__ import annotations

from typing import Callable, Optional

#: deeper trees stay a CASE chain (nested IF calls nest as deep as the tree)
MAX_IF_DEPTH = 24


def depth(shape) -> int:
    """The tree's depth (a lone leaf: 0)."""
    out, stack = 0, [(0, 0)]
    while stack:
        n, d = stack.pop()
        out = max(out, d)
        if not shape.is_leaf(n):
            stack += [(int(shape.left[n]), d + 1), (int(shape.right[n]), d + 1)]
    return out


def tree_if(b, shape, feats: list, payload: Callable) -> Optional[object]:
    """The tree as nested IF calls, or None when it is deeper than :data:`MAX_IF_DEPTH`."""
    from sqlglot import exp

    if depth(shape) > MAX_IF_DEPTH:
        return None

    def build(n):
        if shape.is_leaf(n):
            return payload(n)
        left, right = int(shape.left[n]), int(shape.right[n])
        cond_left, cond_right = shape.split(n, feats[int(shape.feature[n])])
        if shape.tests_left(n, cond_left, cond_right):
            return exp.If(this=cond_left, true=build(left), false=build(right))
        return exp.If(this=cond_right, true=build(right), false=build(left))

    return build(0)
