"""The fast path: a scikit-learn Pipeline's own fitted steps called one by one.

Part of the generated API (see serving.py). ``compile_pipeline`` gives a (transform, final
estimator) pair that does what ``Pipeline.predict`` does with less overhead per call;
serving.Model uses it only after checking that it answers the artefact's sample exactly as the
model does. ``split_pipeline`` gives (the transforming steps, the final estimator) so that
predict and predict_proba share one transform.
"""

from __future__ import annotations


def compile_pipeline(model):
    """(transform, final estimator) doing exactly what a scikit-learn Pipeline's predict does,
    with less overhead per call, or None.

    Pipeline.predict(X) is final.predict(step_n.transform(...step_1.transform(X))); a
    ColumnTransformer's transform is each fitted transformer's transform on its columns,
    stacked by the ColumnTransformer's own _hstack. This calls the same fitted objects the same
    way, skipping only the checks our schema validation already made (every column present,
    in order, with its dtype) and the pandas/narwhals bookkeeping around them. Anything it
    does not know (set_output containers, string passthroughs, other libraries' composites)
    is left to the estimator's own transform. Model() uses it only after checking that it
    answers the sample exactly as the model does.
    """
    if type(model).__name__ != "Pipeline" or not type(model).__module__.startswith("sklearn"):
        return None
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or len(steps) < 2:
        return None
    final = steps[-1][1]
    if final is None or isinstance(final, str) or not hasattr(final, "predict"):
        return None
    try:
        if _output_config(None) != "default":
            return None
        transform = _chain([s for _, s in steps[:-1]], top=True)
    except Exception:  # noqa: BLE001 - introspection is best effort
        return None
    if transform is None or not transform.fast:
        return None  # nothing to gain over the split path
    return transform, final


def _chain(steps, top):
    """A callable applying each step's transform in turn (None and 'passthrough' skipped), or
    None when a step cannot be compiled; ``.fast`` when the first one takes Columns directly."""
    steps = [s for s in steps if s is not None and not _is_str(s, "passthrough")]
    if not steps:
        return None
    fns = [_compile(steps[0], top)] + [_compile(s, False) for s in steps[1:]]
    if any(f is None for f in fns):
        return None

    def run(X):
        for f in fns:
            X = f(X)
        return X

    run.fast = getattr(fns[0], "fast", False)
    return run


def _is_str(value, text):
    return isinstance(value, str) and value == text


def _output_config(est):
    """'default' unless set_output (or the global transform_output) asks for a container."""
    if est is None:
        try:
            from sklearn import get_config

            return get_config().get("transform_output", "default") or "default"
        except ImportError:
            return "default"
    config = getattr(est, "_sklearn_output_config", None) or {}
    return config.get("transform", "default") or "default"


def _compile(est, top):
    """A callable equal to est.transform; at the top it takes Columns."""
    cls = type(est)
    sk = cls.__module__.startswith("sklearn")
    if sk and cls.__name__ == "Pipeline":
        return _chain([s for _, s in est.steps], top)
    if sk and cls.__name__ == "ColumnTransformer" and top:
        run = _compile_column_transformer(est)
        if run is not None:
            return run
    transform = getattr(est, "transform", None)
    if transform is None:
        return None
    if top:
        return lambda X: transform(X.frame())
    return transform


def _compile_column_transformer(ct):
    import inspect

    import numpy as np

    if _output_config(ct) != "default":
        return None
    hstack = getattr(ct, "_hstack", None)
    indices = getattr(ct, "_transformer_to_input_indices", None)
    names_in = getattr(ct, "feature_names_in_", None)
    fitted = getattr(ct, "transformers_", None)
    if hstack is None or indices is None or names_in is None or fitted is None:
        return None
    pass_n = "n_samples" in inspect.signature(hstack).parameters
    weights = ct.transformer_weights or {}
    parts = []
    for name, trans, cols in fitted:
        if _is_str(trans, "drop"):
            continue
        if isinstance(trans, str) or name not in indices:
            return None  # a 'passthrough' kept as a string: the ColumnTransformer's business
        where = list(indices[name])
        if not where:
            continue  # no columns selected: skipped, as ColumnTransformer does
        labels = [names_in[i] for i in where]
        if not all(isinstance(label, str) for label in labels):
            return None
        fn = _compile(trans, top=False)
        if fn is None:
            return None
        parts.append((labels, bool(np.isscalar(cols)), fn, weights.get(name)))
    if not parts:
        return None

    def run_column_transformer(X):
        outs = []
        for labels, scalar, fn, weight in parts:
            res = fn(X.frame()[labels[0]] if scalar else X.select(labels))
            outs.append(res if weight is None else res * weight)
        return hstack(outs, n_samples=X.n) if pass_n else hstack(outs)

    run_column_transformer.fast = True
    return run_column_transformer


def split_pipeline(model):
    """(the transforming steps, the final estimator) of a scikit-learn Pipeline, else None."""
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or len(steps) < 2 or type(model).__name__ != "Pipeline":
        return None
    final = steps[-1][1]
    if final in (None, "passthrough") or not hasattr(final, "predict_proba"):
        return None
    if any(step in (None, "passthrough") for _, step in steps[:-1]):
        return None
    try:
        head = model[:-1]
    except Exception:  # noqa: BLE001 - an old scikit-learn without slicing
        return None
    if not hasattr(head, "transform"):
        return None
    return head, final

