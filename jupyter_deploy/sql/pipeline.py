"""Pipeline and ColumnTransformer: route feature expressions through the steps."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModel
from .builder import Builder, Outputs, check_fitted, converter_for, register
from .thirdparty import lgb_categories


def _is_string_categories(est) -> bool:
    cats = getattr(est, "categories_", None)
    if cats is not None:
        return any(np.asarray(c).dtype.kind in "OUS" for c in cats)
    stats = getattr(est, "statistics_", None)
    if stats is not None:
        return np.asarray(stats).dtype.kind in "OUS"
    return False


def _first_consumer_inputs(est, n: int) -> list[bool]:
    """Which of the n inputs of ``est`` are numbers (False: strings, left uncast)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        for _, step in est.steps:
            if step is None or step == "passthrough":
                continue
            return _first_consumer_inputs(step, n)
        return [True] * n
    if isinstance(est, ColumnTransformer):
        out = [True] * n
        for name, trans, _cols in est.transformers_:
            idx = est._transformer_to_input_indices.get(name, [])
            if trans in ("drop", "passthrough") or trans is None:
                continue
            sub = _first_consumer_inputs(trans, len(idx))
            for i, isnum in zip(idx, sub):
                out[i] = out[i] and isnum
        return out
    if getattr(est, "_preprocessor", None) is not None:
        return _first_consumer_inputs(est._preprocessor, n)
    if type(est).__module__.startswith("lightgbm") and getattr(est, "booster_", None) is not None:
        out = [True] * n
        for i, cats in lgb_categories(est).items():
            out[i] = not any(isinstance(c, str) for c in cats)
        return out
    if _is_string_categories(est):
        return [np.asarray(c).dtype.kind not in "OUS" for c in est.categories_] if hasattr(est, "categories_") else [
            not isinstance(s, str) for s in est.statistics_
        ]
    return [True] * n


def numeric_inputs(model, n: int) -> list[bool]:
    return _first_consumer_inputs(model, n)


def apply(est, b: Builder, feats, where: str):
    """Convert one step (transformer -> list, estimator -> Outputs)."""
    if est is None or (isinstance(est, str) and est == "passthrough"):
        return list(feats)
    check_fitted(est, where)
    conv = converter_for(est, where)
    return conv(est, b, feats)


@register("sklearn.pipeline.Pipeline")
def pipeline(model, b, feats):
    steps = model.steps
    for i, (name, step) in enumerate(steps):
        last = i == len(steps) - 1
        res = apply(step, b, feats, name)
        if isinstance(res, Outputs):
            if not last:
                raise UnsupportedModel(f"Pipeline step {name!r} is a model but is not the last step.")
            return res
        feats = res
        if not last:
            feats = b.stage(feats, prefix="x")  # each step's output computed once
    return feats


@register("sklearn.compose._column_transformer.ColumnTransformer")
def column_transformer(model, b, feats):
    out = []
    for name, trans, _cols in model.transformers_:
        idx = list(model._transformer_to_input_indices.get(name, []))
        if isinstance(trans, str) and trans == "drop":
            continue
        if not idx:
            continue
        sub = [feats[i] for i in idx]
        if isinstance(trans, str) and trans == "passthrough":
            out += [s.copy() for s in sub]
            continue
        b.nested += 1
        try:
            res = apply(trans, b, sub, name)
        finally:
            b.nested -= 1
        if isinstance(res, Outputs):
            raise UnsupportedModel(f"ColumnTransformer step {name!r} is a model, not a transformer.")
        out += res
    return out
