"""LightGBM and XGBoost models (registered here; used only when such a model is passed).

LightGBM compares float64 features with float64 thresholds (``x <= t``); missing values follow
each split's ``missing_type``: ``None`` treats NaN as 0.0, ``NaN`` sends it to the default side,
``Zero`` sends zeros and NaN to the default side. Raw scores add the trees in order from 0.

XGBoost rounds features to float32 and goes left when ``x < threshold`` (float32), sends
missing values to each node's default side, and adds the trees' float32 leaf values to a float32
base margin *in float32*. On DuckDB and PostgreSQL the SQL does the same additions in ``REAL``,
so margins match exactly; the sigmoid / softmax then runs in float64 and is rounded to float32,
within one or two float32 steps of XGBoost's ``expf``. SQLite has no float32: its sums are
float64, within the float32 rounding XGBoost itself carries. The proof therefore compares XGBoost
models at float32 precision (the tolerance it reports), not at 1e-9.
"""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModel
from .builder import Builder, Outputs, add_chain, argmax_label, multiclass_outputs, register, sigmoid
from .trees import F32_DIALECTS, TreeShape, as_double, float8_leaves, float32_splitter, stage_tree_terms, tree_case, tree_features

K_ZERO = 1e-35


def lgb_categories(model) -> dict:
    """Feature index -> its pandas categories (LightGBM numbers them by position), for the
    features LightGBM was given as pandas categoricals."""
    dump = model.booster_.dump_model()
    cats = dump.get("pandas_categorical") or []
    names = dump.get("feature_names") or []
    infos = dump.get("feature_infos") or {}
    idx = [i for i, n in enumerate(names) if isinstance(infos.get(n), dict) and infos[n].get("values")]
    if cats and len(cats) != len(idx):
        raise UnsupportedModel("Cannot tell which LightGBM features are the pandas categoricals.",
                               hint="Fit on a DataFrame whose categorical columns have the category dtype.")
    return dict(zip(idx, cats))


def _lgb_categorical(b: Builder, node: dict, x, categories):
    """LightGBM's categorical split: left when the value's category code is in the set; NaN,
    negative codes and unseen categories go right (the ELSE of the CASE)."""
    from sqlglot import exp

    codes = sorted({int(c) for c in str(node["threshold"]).split("||")})
    if categories is not None:
        values = [categories[k] for k in codes if 0 <= k < len(categories)]
        if not values:
            return exp.false()
        return exp.In(this=x.copy(), expressions=[b.value(v) for v in values])
    # integer-coded categories: LightGBM truncates the number toward zero (static_cast<int>),
    # so code 0 is (-1, 1) and code k > 0 is [k, k + 1)
    terms = [exp.and_(exp.GTE(this=x.copy(), expression=exp.Literal.number(k)) if k else
                      exp.GT(this=x.copy(), expression=exp.Literal.number(-1)),
                      exp.LT(this=x.copy(), expression=exp.Literal.number(k + 1))) for k in codes if k >= 0]
    return exp.or_(*terms) if terms else exp.false()


def _lgb_tree(b: Builder, node: dict, feats, cats=None):
    from sqlglot import exp

    cats = cats or {}
    if "leaf_value" in node:
        return b.num(float(node["leaf_value"]))
    ifs = []
    while "leaf_value" not in node:
        if node.get("decision_type") == "==":
            f = int(node["split_feature"])
            cond = _lgb_categorical(b, node, feats[f], cats.get(f))
            ifs.append(exp.If(this=cond, true=_lgb_tree(b, node["left_child"], feats, cats)))
            node = node["right_child"]
            continue
        if node.get("decision_type") != "<=":
            raise UnsupportedModel(
                f"LightGBM split type {node.get('decision_type')!r} has no SQL translation.",
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
                ifs.append(exp.If(this=exp.LTE(this=xv, expression=t), true=_lgb_tree(b, left, feats, cats)))
                node = right
            else:
                ifs.append(exp.If(this=exp.GT(this=xv, expression=t), true=_lgb_tree(b, right, feats, cats)))
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
        ifs.append(exp.If(this=cond, true=_lgb_tree(b, nxt_when, feats, cats)))
        node = nxt_else
    return exp.Case(ifs=ifs, default=b.num(float(node["leaf_value"])))


def _lgb_raw(model, b: Builder, feats):
    dump = model.booster_.dump_model()
    cats = lgb_categories(model)
    k = int(dump.get("num_tree_per_iteration", 1))
    trees = dump["tree_info"]
    groups = []
    for j in range(k):
        mine = [t for i, t in enumerate(trees) if i % k == j]
        groups.append([as_double(b, _lgb_tree(b, t["tree_structure"], feats, cats)) for t in mine])
    raws = []
    for terms in stage_tree_terms(b, groups):
        total = add_chain(terms) if terms else b.num(0.0)
        if dump.get("average_output"):
            from sqlglot import exp

            total = exp.Div(this=exp.Paren(this=total), expression=b.num(float(len(terms))))
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
        class _M:
            classes_ = model.classes_

        return multiclass_outputs(_M, b, raw)
    raise UnsupportedModel(f"LGBMClassifier with objective {parts[0]!r} has no SQL translation.")


# ------------------------------------------------------------------------------ XGBoost

#: XGBoost answers in float32: what the proof can hold it to (absolute, or relative above 1)
XGB_TOLERANCE = 1e-6


def _xgb_model(model):
    import json

    booster = model.get_booster()
    raw = json.loads(booster.save_raw("json"))
    learner = raw["learner"]
    gb = learner["gradient_booster"]
    if gb.get("name") != "gbtree":
        raise UnsupportedModel(
            f"XGBoost booster {gb.get('name')!r} has no SQL translation (only gbtree).",
            hint="Fit with booster='gbtree' (the default).",
        )
    trees = gb["model"]["trees"]
    for t in trees:
        if any(int(v) != 0 for v in t.get("split_type", [])):
            raise UnsupportedModel(
                "XGBoost categorical splits have no SQL translation yet.",
                hint="Encode categories as numbers (or one-hot) before XGBoost, or use HistGradientBoosting.",
            )
        if int(t["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise UnsupportedModel("XGBoost multi-output trees have no SQL translation.")
    info = [int(i) for i in gb["model"]["tree_info"]]
    objective = learner["objective"]["name"]
    text = learner["learner_model_param"]["base_score"].strip("[]")
    base = [np.float32(float(v)) for v in text.split(",")] if text else [np.float32(0.5)]
    return booster, trees, info, objective, base


def xgb_thresholds(tree) -> np.ndarray:
    """Per node, the threshold in scikit-learn's form: XGBoost goes left when float32(x) < c,
    that is when float32(x) <= the float32 just below c."""
    cond = np.asarray(tree["split_conditions"], dtype=np.float32)
    return np.nextafter(cond, np.float32(-np.inf)).astype(np.float64)


def xgb_splits(trees) -> list:
    """(feature index, threshold as :func:`xgb_thresholds` gives it) of every split."""
    out = []
    for t in trees:
        below = xgb_thresholds(t)
        out += [(int(i), float(below[n])) for n, (i, left) in enumerate(zip(t["split_indices"], t["left_children"]))
                if left != -1]
    return out


def _xgb_leaf(tree, x) -> np.float32:
    left, right = tree["left_children"], tree["right_children"]
    node = 0
    while left[node] != -1:
        v = x[tree["split_indices"][node]]
        if np.isnan(v):
            node = left[node] if tree["default_left"][node] else right[node]
        else:
            node = left[node] if np.float32(v) < np.float32(tree["split_conditions"][node]) else right[node]
    return np.float32(tree["split_conditions"][node])


def _xgb_base_margins(model, booster, trees, info, objective, base) -> list:
    """XGBoost's base margin per output, found by reproducing its own output_margin exactly."""
    import xgboost as xgb

    k = max(info) + 1 if info else 1
    n = int(model.n_features_in_)
    probes = np.array([np.zeros(n), np.ones(n), -np.ones(n), np.full(n, np.nan)], dtype=np.float64)
    dm = xgb.DMatrix(probes, feature_names=booster.feature_names, feature_types=booster.feature_types)
    want = np.asarray(booster.predict(dm, output_margin=True), dtype=np.float32).reshape(len(probes), -1)
    margins = []
    for j in range(k):
        b0 = base[j] if j < len(base) else base[0]
        with np.errstate(all="ignore"):
            cands = [b0]
            if objective in ("binary:logistic", "reg:logistic", "binary:logitraw"):
                cands += [np.float32(-np.log(np.float32(1.0) / b0 - np.float32(1.0))), np.float32(-np.log(1.0 / float(b0) - 1.0))]
            if objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
                cands += [np.float32(np.log(b0)), np.float32(np.log(float(b0)))]
        more = []
        for c in cands:
            more += [c, np.nextafter(c, np.float32(np.inf)), np.nextafter(c, np.float32(-np.inf))]
        mine = [t for t, g in zip(trees, info) if g == j]
        for c in more:
            ok = True
            for row, target in zip(probes, want[:, j]):
                acc = np.float32(c)
                for t in mine:
                    acc = np.float32(acc + _xgb_leaf(t, row))
                if acc != target:
                    ok = False
                    break
            if ok:
                margins.append(np.float32(c))
                break
        else:
            raise UnsupportedModel(
                f"Could not reproduce this XGBoost model's base margin (objective {objective}).",
                hint="Report it with the XGBoost version; base_score=0 at fit time avoids it.",
            )
    return margins


def _xgb_raw(model, b: Builder, feats):
    from sqlglot import exp

    booster, trees, info, objective, base = _xgb_model(model)
    margins = _xgb_base_margins(model, booster, trees, info, objective, base)
    feats, f32 = tree_features(b, feats, xgb_splits(trees), len(trees))
    real = exp.DataType.build("real")
    use_real = f32 and b.dialect in F32_DIALECTS  # DuckDB / PostgreSQL: add in float32 as XGBoost does
    heads, groups = [], []
    for j, margin in enumerate(margins):
        heads.append(exp.cast(b.num(float(margin)), real) if use_real else b.num(float(margin)))
        terms = []
        for t in (t for t, g in zip(trees, info) if g == j):
            leaf = np.asarray(t["split_conditions"], dtype=np.float32)  # a leaf's value sits there
            shape = TreeShape(np.asarray(t["left_children"]), np.asarray(t["right_children"]),
                              np.asarray(t["split_indices"]), float32_splitter(b, xgb_thresholds(t), f32),
                              np.asarray(t["default_left"], dtype=bool))
            case = tree_case(b, shape, feats, lambda n, leaf=leaf: b.num(float(leaf[n])))
            if b.dialect == "postgres":
                float8_leaves(case)  # float8 leaves, converted once by the planner, not per row
            terms.append(exp.cast(case, real) if use_real else as_double(b, case))
        groups.append(terms)
    raws = [add_chain([head] + terms) for head, terms in zip(heads, stage_tree_terms(b, groups))]
    return objective, b.stage(raws, prefix="r"), use_real


def _f32(b: Builder, e, use_real: bool):
    from sqlglot import exp

    return exp.cast(e, exp.DataType.build("real")) if use_real else e


@register("xgboost.sklearn.XGBRegressor")
def xgb_regressor(model, b, feats):
    from sqlglot import exp

    objective, (raw,), use_real = _xgb_raw(model, b, feats)
    if objective in ("reg:squarederror", "reg:squaredlogerror", "reg:pseudohubererror", "reg:absoluteerror",
                     "reg:quantileerror"):
        pred = raw
    elif objective in ("count:poisson", "reg:gamma", "reg:tweedie"):
        pred = _f32(b, exp.Exp(this=b.double(raw)), use_real)
    elif objective == "reg:logistic":
        pred = _f32(b, sigmoid(b, b.double(raw)), use_real)
    else:
        raise UnsupportedModel(f"XGBRegressor with objective {objective!r} has no SQL translation.")
    return Outputs(kind="regressor", prediction=b.double(pred) if use_real else pred, tolerance=XGB_TOLERANCE)


@register("xgboost.sklearn.XGBClassifier")
def xgb_classifier(model, b, feats):
    from sqlglot import exp

    objective, raw, use_real = _xgb_raw(model, b, feats)
    classes = list(model.classes_)
    if objective == "binary:logistic" and len(raw) == 1:
        (p1,) = b.stage([_f32(b, sigmoid(b, b.double(raw[0])), use_real)], prefix="q")
        p0, p1 = b.stage([_f32(b, exp.Sub(this=b.num(1.0), expression=p1.copy()), use_real), p1], prefix="q")
        # XGBoost's label: class 1 where p1 > 0.5 (in float32)
        gt = exp.GT(this=p1.copy(), expression=b.num(0.5))
        label = exp.Case(ifs=[exp.If(this=gt, true=b.value(classes[1]))], default=b.value(classes[0]))
        probas = [b.double(p0) if use_real else p0, b.double(p1) if use_real else p1]
    elif objective in ("multi:softprob", "multi:softmax"):
        if b.dialect == "sqlite":
            mx = exp.Anonymous(this="MAX", expressions=[b.double(c.copy()) for c in raw])
        else:
            mx = exp.Greatest(this=b.double(raw[0].copy()), expressions=[b.double(c.copy()) for c in raw[1:]])
        refs = b.stage([exp.Exp(this=exp.Sub(this=b.double(c.copy()), expression=mx.copy())) for c in raw], prefix="e")
        total = add_chain([c.copy() for c in refs])
        probs = b.stage([_f32(b, exp.Div(this=c.copy(), expression=exp.Paren(this=total.copy())), use_real) for c in refs],
                        prefix="q")
        label = argmax_label(b, probs, classes)
        probas = [b.double(c) if use_real else c for c in probs]
    else:
        raise UnsupportedModel(f"XGBClassifier with objective {objective!r} has no SQL translation.")
    return Outputs(kind="classifier", prediction=label, proba=probas, classes=classes, tolerance=XGB_TOLERANCE)
