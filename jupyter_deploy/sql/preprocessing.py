"""Preprocessing steps: each maps a list of feature expressions to a new list, in scikit-learn's
own order of operations (``(x - mean) / scale``, ``x * scale + min``...)."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModel
from .builder import Builder, clamp, register
from .trees import as_double


def _ind(b: Builder, cond):
    """1.0 when cond holds, else 0.0 (a float, as scikit-learn's encoders give)."""
    from sqlglot import exp

    return as_double(b, exp.Case(ifs=[exp.If(this=cond, true=b.num(1.0))], default=b.num(0.0)))


def _is_missing_cat(c) -> bool:
    return c is None or (isinstance(c, float) and np.isnan(c))


@register("sklearn.preprocessing._data.StandardScaler")
def standard_scaler(model, b, feats):
    from sqlglot import exp

    out = []
    for i, x in enumerate(feats):
        e = x
        if model.with_mean:
            e = exp.Sub(this=e, expression=b.num(float(model.mean_[i])))
        if model.with_std and model.scale_ is not None:
            e = exp.Div(this=exp.Paren(this=e) if model.with_mean else e, expression=b.num(float(model.scale_[i])))
        out.append(e)
    return out


@register("sklearn.preprocessing._data.MinMaxScaler")
def min_max_scaler(model, b, feats):
    from sqlglot import exp

    out = []
    lo, hi = model.feature_range
    for i, x in enumerate(feats):
        e = exp.Add(
            this=exp.Mul(this=x, expression=b.num(float(model.scale_[i]))), expression=b.num(float(model.min_[i]))
        )
        if model.clip:
            e = as_double(b, clamp(b, e, float(lo), float(hi)))
        out.append(e)
    return out


@register("sklearn.preprocessing._data.MaxAbsScaler")
def max_abs_scaler(model, b, feats):
    from sqlglot import exp

    return [exp.Div(this=x, expression=b.num(float(s))) for x, s in zip(feats, model.scale_)]


@register("sklearn.preprocessing._data.RobustScaler")
def robust_scaler(model, b, feats):
    from sqlglot import exp

    out = []
    for i, x in enumerate(feats):
        e = x
        if model.with_centering and model.center_ is not None:
            e = exp.Sub(this=e, expression=b.num(float(model.center_[i])))
        if model.with_scaling and model.scale_ is not None:
            e = exp.Div(this=exp.Paren(this=e) if e is not x else e, expression=b.num(float(model.scale_[i])))
        out.append(e)
    return out


@register("sklearn.impute._base.SimpleImputer")
def simple_imputer(model, b, feats):
    from sqlglot import exp

    mv = model.missing_values
    if not (mv is None or (isinstance(mv, float) and np.isnan(mv))):
        raise UnsupportedModel(
            f"SimpleImputer(missing_values={mv!r}) has no SQL translation.",
            hint="Use missing_values=np.nan (NULL in the database).",
        )
    out = []
    stats = model.statistics_
    for i, x in enumerate(feats):
        s = stats[i]
        if _is_missing_cat(s) and not getattr(model, "keep_empty_features", False):
            continue  # scikit-learn drops all-missing features
        if isinstance(s, (str, np.str_)):
            out.append(exp.Coalesce(this=x.copy(), expressions=[b.value(s)]))
        elif _is_missing_cat(s):
            out.append(x.copy())
        else:
            out.append(exp.Coalesce(this=x.copy(), expressions=[b.num(float(s))]))
    if model.add_indicator:
        for j in model.indicator_.features_:
            out.append(_ind(b, exp.Is(this=feats[j].copy(), expression=exp.Null())))
    return out


@register("sklearn.preprocessing._encoders.OneHotEncoder")
def one_hot_encoder(model, b, feats):
    from sqlglot import exp

    if getattr(model, "_infrequent_enabled", False):
        raise UnsupportedModel(
            "OneHotEncoder with min_frequency/max_categories has no SQL translation.",
            hint="Use OneHotEncoder without infrequent-category grouping.",
        )
    drop = model.drop_idx_
    out = []
    for i, (x, cats) in enumerate(zip(feats, model.categories_)):
        d = None if drop is None else drop[i]
        for j, c in enumerate(cats):
            if d is not None and j == d:
                continue
            if _is_missing_cat(c):
                cond = exp.Is(this=x.copy(), expression=exp.Null())
            else:
                cond = exp.EQ(this=x.copy(), expression=b.value(c))
            out.append(_ind(b, cond))
    return out


@register("sklearn.preprocessing._encoders.OrdinalEncoder")
def ordinal_encoder(model, b, feats):
    from sqlglot import exp

    if getattr(model, "_infrequent_enabled", False):
        raise UnsupportedModel("OrdinalEncoder with infrequent categories has no SQL translation.")
    unknown = model.unknown_value if model.handle_unknown == "use_encoded_value" else None
    missing = getattr(model, "encoded_missing_value", np.nan)
    out = []
    for x, cats in zip(feats, model.categories_):
        ifs = []
        for j, c in enumerate(cats):
            if _is_missing_cat(c):
                continue
            ifs.append(exp.If(this=exp.EQ(this=x.copy(), expression=b.value(c)), true=b.num(float(j))))
        default = exp.Null() if unknown is None or (isinstance(unknown, float) and np.isnan(unknown)) else b.num(float(unknown))
        if not (isinstance(missing, float) and np.isnan(missing)):
            ifs.insert(0, exp.If(this=exp.Is(this=x.copy(), expression=exp.Null()), true=b.num(float(missing))))
        out.append(as_double(b, exp.Case(ifs=ifs, default=default)))
    return out


@register("sklearn.preprocessing._polynomial.PolynomialFeatures")
def polynomial_features(model, b, feats):
    from sqlglot import exp

    out = []
    for row in model.powers_:
        idx = []
        for i, p in enumerate(row):
            idx += [i] * int(p)
        if not idx:
            out.append(b.num(1.0))
            continue
        idx = sorted(idx, reverse=True)  # scikit-learn multiplies the higher-index terms first
        e = feats[idx[0]].copy()
        for i in idx[1:]:
            e = exp.Mul(this=e, expression=feats[i].copy())
        out.append(e)
    return out


@register("sklearn.preprocessing._discretization.KBinsDiscretizer")
def kbins_discretizer(model, b, feats):
    from sqlglot import exp

    bins = []
    for x, edges in zip(feats, model.bin_edges_):
        inner = np.asarray(edges, dtype=float)[1:-1]
        if len(inner) == 0:
            bins.append(b.num(0.0))
            continue
        ifs = [exp.If(this=exp.LT(this=x.copy(), expression=b.num(float(e))), true=b.num(float(k))) for k, e in enumerate(inner)]
        bins.append(as_double(b, exp.Case(ifs=ifs, default=b.num(float(len(inner))))))
    if model.encode == "ordinal":
        return bins
    bins = b.stage(bins, prefix="k")
    out = []
    for x, n in zip(bins, model.n_bins_):
        for k in range(int(n)):
            out.append(_ind(b, exp.EQ(this=x.copy(), expression=b.num(float(k)))))
    return out


def _ufunc_sql(name: str, x, b: Builder):
    from sqlglot import exp

    if name == "log1p":
        return exp.Ln(this=exp.Add(this=b.num(1.0), expression=x))
    if name == "log":
        return exp.Ln(this=x)
    if name == "log10":
        return exp.Log(this=b.num(10.0), expression=x) if b.dialect != "sqlite" else exp.Anonymous(this="LOG10", expressions=[x])
    if name == "exp":
        return exp.Exp(this=x)
    if name == "expm1":
        return exp.Sub(this=exp.Exp(this=x), expression=b.num(1.0))
    if name == "sqrt":
        return exp.Sqrt(this=x)
    if name in ("abs", "absolute"):
        return exp.Abs(this=x)
    if name == "square":
        return exp.Mul(this=x, expression=x.copy())
    if name == "negative":
        return exp.Neg(this=x)
    return None


FUNCTIONS = ("log1p", "log", "log10", "exp", "expm1", "sqrt", "abs", "square", "negative")


def _is_check_array(func) -> bool:
    """HistGradientBoosting's own numeric pass-through: partial(check_array, dtype=float64)."""
    import functools

    return isinstance(func, functools.partial) and getattr(func.func, "__name__", "") == "check_array"


@register("sklearn.preprocessing._function_transformer.FunctionTransformer")
def function_transformer(model, b, feats):
    func = model.func
    if func is None or _is_check_array(func):
        return list(feats)
    name = getattr(func, "__name__", "")
    if model.kw_args or _ufunc_sql(name, feats[0] if feats else None, b) is None or not isinstance(func, np.ufunc):
        raise UnsupportedModel(
            f"FunctionTransformer({getattr(func, '__name__', func)!r}) has no SQL translation.",
            hint="Use a numpy ufunc without kw_args: " + ", ".join("np." + f for f in FUNCTIONS) + ".",
        )
    return [_ufunc_sql(name, x.copy(), b) for x in feats]
