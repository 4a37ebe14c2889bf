"""The kinds of deployable objects: one table for the clean run, the widget and the sidebar.

An object's kind is one of ``estimator`` (has ``fit`` and ``predict`` or ``transform``),
``model`` (has ``predict`` only), ``dataframe``, ``series`` and ``array`` (recognised by their
class: pandas, polars, numpy). An option asks for objects with a word (its ``object_kind`` tag,
``x-object-kind`` in the option schema): :data:`ACCEPTS` says which kinds each word takes. The
``sample`` word takes only 2-D data (frames, 2-D arrays) whose columns are the chosen model's
features (:func:`sample_fits`).

Stdlib only and self-contained, on purpose: :mod:`jupyter_deploy.check.run` sends this file's
source to the clean kernel (whose environment need not have jupyter-deploy installed) and
executes it there in a namespace of its own. Nothing here imports a library: a class is
recognised by its module and name, and a model's fitted state is read the way scikit-learn's
``check_is_fitted`` reads it, without importing scikit-learn.
"""

import types

# (kind, top-level module, class name): data classes, recognised anywhere in an object's MRO.
DATA_CLASSES = (
    ("dataframe", "pandas", "DataFrame"),
    ("series", "pandas", "Series"),
    ("array", "numpy", "ndarray"),
    ("dataframe", "polars", "DataFrame"),
    ("series", "polars", "Series"),
)
MODEL_KINDS = ("estimator", "model")
DATA_KINDS = ("dataframe", "series", "array")
KINDS = MODEL_KINDS + DATA_KINDS

# What an option asks for (its x-object-kind) -> the object kinds that fit it.
ACCEPTS = {
    "estimator": MODEL_KINDS,
    "model": MODEL_KINDS,
    "data": DATA_KINDS,
    "sample": ("dataframe", "array"),  # and 2-D, with the model's features: see sample_fits
    "any": KINDS,
}
for _kind in KINDS:
    ACCEPTS.setdefault(_kind, (_kind,))
del _kind

# How each word reads to a person ("No ... in this session yet").
WORDS = {
    "estimator": "fitted model",
    "model": "fitted model",
    "data": "DataFrame, Series or array",
    "sample": "DataFrame or 2-D array with the model's features",
    "dataframe": "DataFrame",
    "series": "Series",
    "array": "array",
    "any": "model or data",
}

MAX_COLUMNS = 5000  # column and feature names kept per object (enough to match a model's)


def accepts(wanted) -> list:
    """The object kinds an option asking for ``wanted`` (a word or a list of words) takes."""
    words = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    out = []
    for word in words:
        for kind in ACCEPTS.get(word, ()):
            if kind not in out:
                out.append(kind)
    return out


def fits(kind) -> list:
    """The words (x-object-kind values) an object of ``kind`` can be offered for."""
    return [word for word, kinds in ACCEPTS.items() if kind in kinds]


def _data_kind(value):
    for cls in type(value).__mro__:
        top = (getattr(cls, "__module__", "") or "").split(".")[0]
        for kind, module, name in DATA_CLASSES:
            if cls.__name__ == name and top == module:
                return kind
    return None


def kind_of(value):
    """The object kind of ``value`` (see the module's docstring), or None when it is none."""
    try:
        kind = _data_kind(value)
        if kind is not None:
            return kind
        if isinstance(value, (type, types.ModuleType)):
            return None
        has_fit = callable(getattr(value, "fit", None))
        if callable(value) and not has_fit:
            return None  # functions, and callables that are not models
        has_predict = callable(getattr(value, "predict", None))
        if has_fit and (has_predict or callable(getattr(value, "transform", None))):
            return "estimator"
        if has_predict:
            return "model"
    except Exception:  # noqa: BLE001 - an object whose attributes raise is not deployable
        return None
    return None


def is_fitted(value, _depth=0):
    """Whether a model is fitted, as scikit-learn's ``check_is_fitted`` decides (None: unknown).

    An object's own ``__sklearn_is_fitted__`` decides first (a Pipeline's says whether its last
    step is fitted); a pipeline-like object without one (``steps`` of (name, step) pairs) is
    fitted when its last step other than "passthrough" is; otherwise a public attribute ending
    in "_" (set by ``fit``) says it is.
    """
    if _depth > 20:
        return None
    try:
        own = getattr(value, "__sklearn_is_fitted__", None)
        if callable(own):
            return bool(own())
        steps = getattr(value, "steps", None)
        if isinstance(steps, list) and steps and all(isinstance(s, tuple) and len(s) >= 2 for s in steps):
            for step in reversed(steps):
                if step[1] is not None and not (isinstance(step[1], str) and step[1] == "passthrough"):
                    return is_fitted(step[1], _depth + 1)
            return True
        return any(k.endswith("_") and not k.startswith("__") for k in vars(value))
    except Exception:  # noqa: BLE001 - no __dict__, or a check that raised: unknown
        return None


def _names(values) -> list:
    return [str(v) for v in list(values)[:MAX_COLUMNS]]


def describe(name: str, value, kind=None) -> dict:
    """What the pickers need to know of one object: its kind and type, shape, a frame's columns,
    a model's fitted state and the features it was fitted on (``n_features_in_`` and
    ``feature_names_in_``, when it has them)."""
    kind = kind or kind_of(value)
    t = type(value)
    entry = {"name": name, "kind": kind, "type": f"{t.__module__}.{t.__qualname__}"}
    try:
        shape = getattr(value, "shape", None)
        if shape is not None:
            entry["shape"] = [int(s) for s in shape]
    except Exception:  # noqa: BLE001 - an odd shape is left out
        pass
    if kind == "dataframe":
        try:
            entry["columns"] = _names(value.columns)
        except Exception:  # noqa: BLE001
            pass
    if kind in MODEL_KINDS:
        entry["fitted"] = is_fitted(value)
        for attr in ("n_features_in_", "feature_names_in_"):
            try:
                got = getattr(value, attr, None)  # a property that raises when not fitted
            except Exception:  # noqa: BLE001
                got = None
            if got is None:
                continue
            try:
                entry[attr] = int(got) if attr == "n_features_in_" else _names(got)
            except Exception:  # noqa: BLE001
                pass
    return entry


def sample_fits(data: dict, model=None) -> bool:
    """Whether the object described by ``data`` can be the sample inputs of the model described
    by ``model`` (both from :func:`describe`; ``model`` None: of some model).

    A sample is 2-D: a frame or a 2-D array (a label Series or 1-D array is not). A model fitted
    with feature names takes a frame with exactly those columns, in that order (a frame that
    also holds the target column does not fit); one fitted with ``n_features_in_`` only takes
    data with that many columns; a model that says neither takes any 2-D data.
    """
    if data.get("kind") not in ACCEPTS["sample"]:
        return False
    shape = data.get("shape") or []
    if len(shape) != 2:
        return False
    if not model:
        return True
    names = model.get("feature_names_in_")
    if names:
        return data.get("kind") == "dataframe" and list(data.get("columns") or []) == list(names)
    n = model.get("n_features_in_")
    if isinstance(n, int):
        return shape[1] == n
    return True


def annotate(described: list) -> list:
    """The descriptions with what the pickers read: ``fits`` (the words each object can be
    offered for) and, for data, ``sample_for`` (the models among them it is a sample of)."""
    models = [d for d in described if d.get("kind") in MODEL_KINDS]
    out = []
    for d in described:
        d = dict(d)
        words = fits(d.get("kind"))
        if "sample" in words and not sample_fits(d):
            words.remove("sample")
        d["fits"] = words
        if "sample" in words:
            d["sample_for"] = [m["name"] for m in models if sample_fits(d, m)]
        out.append(d)
    return out
