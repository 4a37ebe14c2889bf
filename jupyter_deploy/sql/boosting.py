"""Gradient boosting: scikit-learn's GradientBoosting* and HistGradientBoosting*.

Raw scores are accumulated in scikit-learn's order -- the initial prediction, then each stage's
tree -- so the float64 sums are the same operations; probabilities then go through the same link
(expit, or a softmax with the maximum subtracted).
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModel
from .builder import Builder, Outputs, add_chain, multiclass_outputs, register, sigmoid
from .pipeline import column_transformer
from .trees import TreeShape, as_double, float32_splitter, sklearn_tree_features, stage_tree_terms, tree_case


def _binary(b: Builder, model, r, strict_binary_gt: bool):
    """Outputs for a binary boosting classifier from its (staged) raw score column."""
    from sqlglot import exp

    loss = type(model._loss).__name__
    classes = list(model.classes_)
    if loss == "ExponentialLoss":
        p1 = sigmoid(b, exp.Mul(this=b.num(2.0), expression=r.copy()))
    elif loss == "HalfBinomialLoss":
        p1 = sigmoid(b, r.copy())
    else:
        raise UnsupportedModel(f"{type(model).__name__} with loss {loss} has no SQL translation.")
    r, p1 = b.stage([r, p1], prefix="q")
    probas = [exp.Sub(this=b.num(1.0), expression=p1.copy()), p1]
    cond = exp.GT if strict_binary_gt else exp.GTE
    label = exp.Case(
        ifs=[exp.If(this=cond(this=r.copy(), expression=exp.Literal.number(0)), true=b.value(classes[1]))],
        default=b.value(classes[0]),
    )
    return Outputs(kind="classifier", prediction=label, proba=probas, decision=[r], classes=classes)


# ------------------------------------------------------------------------------ GradientBoosting


def _gb_raw(model, b: Builder, feats):
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = model.init_
    if not (init == "zero" or isinstance(init, (DummyClassifier, DummyRegressor))):
        raise UnsupportedModel(
            f"{type(model).__name__} with init={type(init).__name__} has no SQL translation.",
            hint="Use the default init (or init='zero').",
        )
    n_features = model.n_features_in_
    init_raw = model._raw_predict_init(np.zeros((1, n_features), dtype=np.float32))[0]
    lr = float(model.learning_rate)
    n_stages, k = model.estimators_.shape
    feats, f32 = sklearn_tree_features(b, feats, model.estimators_.ravel())
    raws = []
    for j in range(k):
        terms = [b.num(float(init_raw[j]))]
        for i in range(n_stages):
            tree = model.estimators_[i, j]
            t = tree.tree_
            shape = TreeShape(t.children_left, t.children_right, t.feature, float32_splitter(b, t.threshold, f32), None)
            vals = lr * t.value[:, 0, 0]  # Cython computes scale * value in float64, then adds
            terms.append(as_double(b, tree_case(b, shape, feats, lambda n, vals=vals: b.num(vals[n]))))
        raws.append(terms)
    return b.stage([add_chain(terms) for terms in stage_tree_terms(b, raws)], prefix="r")


@register("sklearn.ensemble._gb.GradientBoostingRegressor")
def gradient_boosting_regressor(model, b, feats):
    (raw,) = _gb_raw(model, b, feats)
    return Outputs(kind="regressor", prediction=raw)


@register("sklearn.ensemble._gb.GradientBoostingClassifier")
def gradient_boosting_classifier(model, b, feats):
    raw = _gb_raw(model, b, feats)
    return _classifier(model, b, raw, strict=False)


def _classifier(model, b, raw, strict: bool):
    if len(raw) == 1:
        return _binary(b, model, raw[0], strict_binary_gt=strict)
    if type(model._loss).__name__ != "HalfMultinomialLoss":
        raise UnsupportedModel(f"{type(model).__name__} with loss {type(model._loss).__name__} has no SQL translation.")
    return multiclass_outputs(model, b, raw)


# ------------------------------------------------------------------------------ HistGradientBoosting


def _bits(bitset) -> list[int]:
    out = []
    for word_i, word in enumerate(np.asarray(bitset, dtype=np.uint64)):
        word = int(word)
        for bit in range(32):
            if word >> bit & 1:
                out.append(word_i * 32 + bit)
    return out


def _hgb_shape(b: Builder, model, predictor, known_bitsets, f_idx_map) -> TreeShape:
    from sqlglot import exp

    nodes = predictor.nodes
    leaf = nodes["is_leaf"].astype(bool)
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    cat_left = predictor.raw_left_cat_bitsets
    thresholds = nodes["num_threshold"]
    is_cat = nodes["is_categorical"].astype(bool)
    missing_left = nodes["missing_go_to_left"].astype(bool)

    def split(n, x):
        if is_cat[n]:
            lefts = _bits(cat_left[nodes["bitset_idx"][n]])
            known = _bits(known_bitsets[f_idx_map[nodes["feature_idx"][n]]])
            rights = [c for c in known if c not in set(lefts)]
            fx = exp.Floor(this=x.copy())

            def member(cats):
                if not cats:
                    return exp.false()
                return exp.In(this=fx.copy(), expressions=[exp.Literal.number(c) for c in cats])

            # unknown categories, negatives and NULL go where missing values go (the ELSE)
            return member(lefts), member(rights)
        t = float(thresholds[n])
        lit = b.num(t)
        return (exp.LTE(this=x.copy(), expression=lit), exp.GT(this=x.copy(), expression=lit.copy()))

    return TreeShape(left, right, nodes["feature_idx"], split, missing_left)


def _hgb_raw(model, b: Builder, feats):
    pre = getattr(model, "_preprocessor", None)
    if pre is not None:
        # categorical features: scikit-learn ordinal-encodes them (unknown -> NaN) and puts them first
        feats = b.stage(column_transformer(pre, b, feats), prefix="h")
    known, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
    base = np.asarray(model._baseline_prediction).reshape(-1)
    k = model.n_trees_per_iteration_
    raws = []
    for j in range(k):
        terms = [b.num(float(base[j]))]
        for predictors in model._predictors:
            p = predictors[j]
            shape = _hgb_shape(b, model, p, known, f_idx_map)
            vals = p.nodes["value"]
            terms.append(as_double(b, tree_case(b, shape, feats, lambda n, vals=vals: b.num(vals[n]))))
        raws.append(terms)
    return b.stage([add_chain(terms) for terms in stage_tree_terms(b, raws)], prefix="r")


@register("sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor")
def hist_gradient_boosting_regressor(model, b, feats):
    from sqlglot import exp

    (raw,) = _hgb_raw(model, b, feats)
    link = type(model._loss.link).__name__
    if link == "IdentityLink":
        return Outputs(kind="regressor", prediction=raw)
    if link == "LogLink":
        return Outputs(kind="regressor", prediction=exp.Exp(this=raw))
    raise UnsupportedModel(f"HistGradientBoostingRegressor with link {link} has no SQL translation.")


@register("sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier")
def hist_gradient_boosting_classifier(model, b, feats):
    raw = _hgb_raw(model, b, feats)
    return _classifier(model, b, raw, strict=True)
