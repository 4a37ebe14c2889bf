"""Linear models: a weighted sum per output, then the model's link."""

from __future__ import annotations

import numpy as np

from ..errors import UnsupportedModel
from .builder import Builder, Outputs, add_chain, argmax_label, multiclass_outputs, register, sigmoid


def linear_terms(b: Builder, coef, intercept, feats):
    """intercept + sum(coef_i * x_i), skipping zero weights."""
    from sqlglot import exp

    terms = []
    for c, x in zip(np.asarray(coef, dtype=float), feats):
        if c == 0.0:
            continue
        terms.append(exp.Mul(this=x.copy(), expression=b.num(float(c))))
    if not terms:
        return b.num(float(intercept))
    total = add_chain(terms)
    if float(intercept) != 0.0:
        total = exp.Add(this=total, expression=b.num(float(intercept)))
    return total


def decisions(model, b: Builder, feats):
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=float))
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=float))
    if intercept.size == 1 and coef.shape[0] > 1:
        intercept = np.repeat(intercept, coef.shape[0])
    return [linear_terms(b, coef[i], intercept[i], feats) for i in range(coef.shape[0])]


@register(
    "sklearn.linear_model._base.LinearRegression",
    "sklearn.linear_model._ridge.Ridge",
    "sklearn.linear_model._ridge.RidgeCV",
    "sklearn.linear_model._coordinate_descent.Lasso",
    "sklearn.linear_model._coordinate_descent.LassoCV",
    "sklearn.linear_model._coordinate_descent.ElasticNet",
    "sklearn.linear_model._coordinate_descent.ElasticNetCV",
    "sklearn.linear_model._stochastic_gradient.SGDRegressor",
    "sklearn.svm._classes.LinearSVR",
    "sklearn.linear_model._bayes.BayesianRidge",
    "sklearn.linear_model._huber.HuberRegressor",
)
def linear_regressor(model, b, feats):
    coef = np.asarray(model.coef_)
    if coef.ndim > 1 and coef.shape[0] > 1:
        raise UnsupportedModel(
            f"{type(model).__name__} has several outputs; only single-output models translate.",
            hint="Fit one model per target column.",
        )
    (d,) = decisions(model, b, feats)
    return Outputs(kind="regressor", prediction=d)


@register(
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._logistic.LogisticRegressionCV",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.linear_model._ridge.RidgeClassifier",
    "sklearn.linear_model._perceptron.Perceptron",
)
def linear_classifier(model, b, feats):
    from sqlglot import exp

    classes = list(model.classes_)
    ds = b.stage(decisions(model, b, feats), prefix="d")
    name = type(model).__name__
    label = argmax_label(b, ds, classes)
    proba = None
    if name in ("LogisticRegression", "LogisticRegressionCV"):
        if len(ds) == 1:
            p1 = sigmoid(b, ds[0])
            ds2 = b.stage(list(ds) + [p1], prefix="q")
            ds, p1 = ds2[:-1], ds2[-1]
            label = argmax_label(b, ds, classes)
            proba = [exp.Sub(this=b.num(1.0), expression=p1.copy()), p1]
        else:
            class _M:
                classes_ = model.classes_

            out = multiclass_outputs(_M, b, ds)
            return out
    elif name == "SGDClassifier" and model.loss == "log_loss":
        if len(ds) == 1:
            p1 = sigmoid(b, ds[0])
            ds2 = b.stage(list(ds) + [p1], prefix="q")
            ds, p1 = ds2[:-1], ds2[-1]
            label = argmax_label(b, ds, classes)
            proba = [exp.Sub(this=b.num(1.0), expression=p1.copy()), p1]
        else:
            refs = b.stage(list(ds) + [sigmoid(b, d) for d in ds], prefix="q")
            ds, ps = refs[: len(ds)], refs[len(ds) :]
            label = argmax_label(b, ds, classes)
            total = add_chain([p.copy() for p in ps])
            # scikit-learn divides by the sum (or by n_classes when the sum is 0)
            denom = exp.Case(
                ifs=[exp.If(this=exp.EQ(this=exp.Paren(this=total.copy()), expression=b.num(0.0)), true=b.num(float(len(ps))))],
                default=exp.Paren(this=total.copy()),
            )
            proba = [exp.Div(this=p.copy(), expression=denom.copy()) for p in ps]
    return Outputs(kind="classifier", prediction=label, proba=proba, decision=list(ds), classes=classes)
