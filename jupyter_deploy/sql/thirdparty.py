"""LightGBM models (registered here; only used when lightgbm is installed and such a model is passed).

LightGBM compares float64 features with float64 thresholds (``x <= t``); missing values follow
each split's ``missing_type``: ``None`` treats NaN as 0.0, ``NaN`` sends it to the default side,
``Zero`` sends zeros and NaN to the default side. Raw scores add the trees in order from 0.

XGBoost is not translated yet (it raises the usual UnsupportedModel listing what is supported).
"""

from __future__ import annotations

from ..errors import UnsupportedModel
from .compiler import Builder, Outputs, add_chain, argmax_label, register, sigmoid
from .trees import as_double

K_ZERO = 1e-35


def _lgb_tree(b: Builder, node: dict, feats):
    from sqlglot import exp

    if "leaf_value" in node:
        return b.num(float(node["leaf_value"]))
    ifs = []
    while "leaf_value" not in node:
        if node.get("decision_type") != "<=":
            raise UnsupportedModel(
                "LightGBM categorical splits have no SQL translation yet.",
                hint="Encode categories as numbers (or one-hot) before LightGBM.",
            )
        x = feats[int(node["split_feature"])]
        t = b.num(float(node["threshold"]))
        mtype = node.get("missing_type", "None")
        default_left = bool(node.get("default_left", True))
        left, right = node["left_child"], node["right_child"]
        if mtype == "None":
            xv = exp.Coalesce(this=x.copy(), expressions=[b.num(0.0)])
            # no default side: keep the bigger subtree in the ELSE chain
            if "leaf_value" in left or "leaf_value" not in right:
                ifs.append(exp.If(this=exp.LTE(this=xv, expression=t), true=_lgb_tree(b, left, feats)))
                node = right
            else:
                ifs.append(exp.If(this=exp.GT(this=xv, expression=t), true=_lgb_tree(b, right, feats)))
                node = left
            continue
        if default_left:
            cond = exp.GT(this=x.copy(), expression=t)
            nxt_when, nxt_else = right, left
        else:
            cond = exp.LTE(this=x.copy(), expression=t)
            nxt_when, nxt_else = left, right
        if mtype == "Zero":
            nonzero = exp.GT(this=exp.Abs(this=x.copy()), expression=b.num(K_ZERO))
            cond = exp.and_(nonzero, cond)
        ifs.append(exp.If(this=cond, true=_lgb_tree(b, nxt_when, feats)))
        node = nxt_else
    return exp.Case(ifs=ifs, default=b.num(float(node["leaf_value"])))


def _lgb_raw(model, b: Builder, feats):
    dump = model.booster_.dump_model()
    if dump.get("pandas_categorical"):
        raise UnsupportedModel("LightGBM fitted on pandas categorical columns has no SQL translation yet.")
    k = int(dump.get("num_tree_per_iteration", 1))
    trees = dump["tree_info"]
    raws = []
    for j in range(k):
        mine = [t for i, t in enumerate(trees) if i % k == j]
        terms = [as_double(b, _lgb_tree(b, t["tree_structure"], feats)) for t in mine]
        total = add_chain(terms) if terms else b.num(0.0)
        if dump.get("average_output"):
            from sqlglot import exp

            total = exp.Div(this=exp.Paren(this=total), expression=b.num(float(len(mine))))
        raws.append(total)
    return dump["objective"], b.stage(raws, prefix="r")


@register("lightgbm.sklearn.LGBMRegressor")
def lgbm_regressor(model, b, feats):
    from sqlglot import exp

    objective, (raw,) = _lgb_raw(model, b, feats)
    name = objective.split()[0]
    if name in ("regression", "regression_l1", "huber", "fair", "quantile", "mape"):
        return Outputs(kind="regressor", prediction=raw)
    if name in ("poisson", "gamma", "tweedie"):
        return Outputs(kind="regressor", prediction=exp.Exp(this=raw))
    raise UnsupportedModel(f"LGBMRegressor with objective {name!r} has no SQL translation.")


@register("lightgbm.sklearn.LGBMClassifier")
def lgbm_classifier(model, b, feats):
    from sqlglot import exp

    objective, raw = _lgb_raw(model, b, feats)
    parts = objective.split()
    classes = list(model.classes_)
    if parts[0] == "binary":
        scale = 1.0
        for p in parts[1:]:
            if p.startswith("sigmoid:"):
                scale = float(p.split(":", 1)[1])
        r = raw[0]
        arg = exp.Mul(this=b.num(scale), expression=r.copy()) if scale != 1.0 else r.copy()
        (p1,) = b.stage([sigmoid(b, arg)], prefix="q")
        p0 = b.stage([exp.Sub(this=b.num(1.0), expression=p1.copy()), p1], prefix="q")
        probas = p0
        return Outputs(kind="classifier", prediction=argmax_label(b, probas, classes), proba=list(probas), classes=classes)
    if parts[0] in ("multiclass", "softmax"):
        from .boosting import _multiclass

        class _M:
            classes_ = model.classes_

        return _multiclass(_M, b, raw)
    raise UnsupportedModel(f"LGBMClassifier with objective {parts[0]!r} has no SQL translation.")
