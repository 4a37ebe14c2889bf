"""Input and output schemas derived from a sample, and the sample's JSON form.

The input schema records what a caller must send: for a data frame, each column's name,
dtype (the numpy/pandas dtype string), whether it holds missing values, and for categorical
or low-cardinality text columns the values seen. It is descriptive: serving code checks the
column names and dtypes it can convert, it does not reject an unseen category (a model that
handles unknown categories should keep doing so).
"""

from __future__ import annotations

from .standalone import _py, to_list

MAX_CATEGORIES = 20


def is_dataframe(obj) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "dtypes") and hasattr(obj, "iloc")


def head(sample, rows: int | None):
    if rows is None or sample is None:
        return sample
    if is_dataframe(sample) or hasattr(sample, "iloc"):
        return sample.iloc[:rows]
    return sample[:rows]


def as_2d(sample):
    """A pandas Series becomes a one-column frame; a list becomes an array."""
    if sample is None:
        return None
    if hasattr(sample, "to_frame") and not is_dataframe(sample):
        return sample.to_frame()
    if isinstance(sample, (list, tuple)):
        import numpy as np

        return np.asarray(sample)
    return sample


def input_schema(sample) -> dict | None:
    if sample is None:
        return None
    if is_dataframe(sample):
        cols = []
        for name in sample.columns:
            s = sample[name]
            dtype = str(s.dtype)
            spec = {"name": str(name), "dtype": dtype, "nullable": bool(s.isna().any())}
            if dtype == "category":
                spec["categories"] = [_py(v) for v in s.cat.categories]
            elif dtype in ("object", "str", "string") or dtype.startswith("string"):
                values = s.dropna().unique()
                if len(values) <= MAX_CATEGORIES:
                    spec["categories"] = sorted((_py(v) for v in values), key=str)
            cols.append(spec)
        return {"type": "dataframe", "columns": cols}
    import numpy as np

    arr = np.asarray(sample)
    width = arr.shape[1] if arr.ndim > 1 else 1
    nullable = bool(arr.dtype.kind == "f" and np.isnan(arr).any())
    return {
        "type": "array",
        "dtype": str(arr.dtype),
        "shape": [None] + list(arr.shape[1:]),
        "columns": [
            {"name": f"x{j}", "dtype": str(arr.dtype), "nullable": nullable} for j in range(width)
        ],
    }


def sample_inputs(sample) -> dict | None:
    """The sample as JSON: pandas "split" orient without the index, or ``{"data": rows}``."""
    if sample is None:
        return None
    if is_dataframe(sample):
        columns = [str(c) for c in sample.columns]
        data = [[_py(v) for v in row] for row in sample.itertuples(index=False, name=None)]
        return {"columns": columns, "data": data}
    import numpy as np

    return {"data": to_list(np.asarray(sample))}


def output_schema(outputs: dict | None, model=None) -> dict:
    preds = (outputs or {}).get("predictions")
    dtype = None
    if preds:
        try:
            import numpy as np

            dtype = str(np.asarray(preds).dtype)
        except Exception:  # noqa: BLE001
            dtype = type(preds[0]).__name__
    classes = (outputs or {}).get("classes")
    if classes is None and model is not None and getattr(model, "classes_", None) is not None:
        classes = to_list(model.classes_)
    has_proba = (outputs or {}).get("probabilities") is not None
    return {"prediction": {"dtype": dtype}, "probabilities": classes if has_proba else None}


def task_of(model) -> str:
    try:
        from sklearn.base import is_classifier, is_regressor

        if is_classifier(model):
            return "classification"
        if is_regressor(model):
            return "regression"
    except Exception:  # noqa: BLE001 - not scikit-learn, or an old one
        pass
    kind = getattr(model, "_estimator_type", None)
    if kind == "classifier" or getattr(model, "classes_", None) is not None:
        return "classification"
    if kind == "regressor":
        return "regression"
    return "other"
