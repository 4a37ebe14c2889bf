"""Load the model artefact, validate inputs against its schema, predict.

Shared by app.py (the HTTP API) and batch.py (files in, predictions out). It needs only the
model's own requirements (numpy, pandas, scikit-learn...) and, next to it, standalone.py (the
artefact checker) and its parts:

  serving_loading.py     the artefact checked and unpickled
  serving_validation.py  request bodies and batch frames checked against the input schema
  serving_checks.py      one column's checks and conversion
  serving_fastpath.py    a scikit-learn Pipeline's fitted steps called directly (checked on the
                         artefact's sample before it is used)
  serving_handler.py     only when the notebook has a %%deploy handler cell: its preprocess(frame)
                         and postprocess(prediction, frame), run around the model's predict

(Their names start with serving_ because the folder is first on sys.path: a plain name such as
validation.py would hide a package of that name that the model may need.)

Environment:
  MODEL_DIR          the artefact folder (default: ./model next to this file)
  VERIFY_HASHES      "0" skips the sha256 check of the artefact's files at start-up (default 1)
  JUPYTER_DEPLOY_SIGNING_KEY  when set, the artefact's HMAC signature must match it
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import serving_checks  # noqa: E402
import serving_fastpath  # noqa: E402
import serving_validation  # noqa: E402
import standalone  # noqa: E402  (the artefact checker, copied next to this file)
from serving_checks import (  # noqa: E402,F401  (the names app.py, batch.py and tests use)
    INT_RANGES,
    MAX_ERRORS,
    MISSING,
    InputError,
    _quick_check,
    err,
    kind_of,
    show,
)
from serving_fastpath import compile_pipeline, split_pipeline  # noqa: E402,F401
from serving_loading import StartupError, load_artefact  # noqa: E402,F401
from serving_validation import (  # noqa: E402,F401
    Columns,
    InputSchema,
    parse_json,
    strict_categories,
)


# ------------------------------------------------------------------------------ the model


class Model(InputSchema):
    """The served model: its metadata, its schema (see InputSchema for turning JSON into its
    input), and its predictions."""

    def __init__(self, root=None, verify=None):
        root = Path(root or os.environ.get("MODEL_DIR") or HERE / "model")
        if verify is None:
            verify = os.environ.get("VERIFY_HASHES", "1") != "0"
        self.root = root
        meta, self.model = load_artefact(root, verify)
        self.meta = meta
        self.name = meta.get("name") or "model"
        self.version = meta.get("version")
        self.handler = load_handler(meta)
        schema = meta.get("input_schema") or None
        kind = (schema or {}).get("type", "dataframe")
        # the model's encoders describe the model's input, which a preprocess may change
        strict = strict_categories(self.model) if kind == "dataframe" and not self.handler \
            else {}
        InputSchema.__init__(self, schema, strict)
        classes = getattr(self.model, "classes_", None)
        self.classes = standalone.to_list(classes) if classes is not None else None
        self.has_proba = self.classes is not None and hasattr(self.model, "predict_proba")
        self._split = split_pipeline(self.model)
        try:
            import pandas  # noqa: F401  (warm the import before the first request)
        except ImportError:
            pass
        # The pipeline's own fitted steps called one by one (see compile_pipeline), used only
        # once they give exactly the model's own answers on the artefact's sample.
        self._fast = None
        plan = None
        if self.handler:
            self.fast_path = "off: the serving handler (serving_handler.py) runs around the model"
        elif self.kind != "dataframe" or not self.columns:
            self.fast_path = "off: no table schema (the artefact was saved without a sample)"
        else:
            plan = compile_pipeline(self.model)
            self.fast_path = ("off: not a scikit-learn Pipeline that starts with a "
                              "ColumnTransformer")
        if plan is not None:
            self.fast_path = self._check_fast(plan)
            if self.fast_path.startswith("on"):
                self._fast = plan

    # -------------------------------------------------------------------------- describing

    def describe(self):
        keep = ("name", "version", "created", "python", "model_class", "task", "classes",
                "input_schema", "output_schema", "notebook", "notebook_hash", "verdict",
                "description", "metrics", "requirements", "content_sha256",
                "metadata_sha256", "jupyter_deploy")
        out = {k: self.meta.get(k) for k in keep if k in self.meta}
        out["enforced_categories"] = self.allowed
        out["fast_path"] = self.fast_path
        out["serving_python"] = sys.version.split()[0]
        out["serving_handler"] = sorted(self.handler) if self.handler else None
        return out

    def response_schema(self):
        pred = {}
        if self.classes and "postprocess" not in (self.handler or {}):
            pred = {"enum": list(self.classes)}
        return {
            "type": "object",
            "properties": {
                "predictions": {"type": "array", "items": pred},
                "probabilities": {"anyOf": [
                    {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
                    {"type": "null"}]},
                "classes": {"anyOf": [{"type": "array"}, {"type": "null"}]},
                "model": {"type": "object"},
            },
            "required": ["predictions", "probabilities", "classes"],
        }

    # -------------------------------------------------------------------------- predicting

    def predict(self, X):
        """Predictions (and class probabilities) exactly as the model's own predict and
        predict_proba give them. X: Columns, a DataFrame or an array."""
        if self.handler:
            return self._predict_handled(X)
        model = self.model
        if self._fast is not None and isinstance(X, Columns):
            transform, model = self._fast
            X = transform(X)
        else:
            if isinstance(X, Columns):
                X = X.frame()
            if self.has_proba and self._split is not None:
                # A pipeline: transform once, then the final step's predict and predict_proba
                # (exactly what Pipeline.predict and Pipeline.predict_proba do, without doing
                # the transforms twice).
                head, model = self._split
                X = head.transform(X)
        predictions = clean_list(model.predict(X))
        probabilities = None
        if self.has_proba:
            try:
                probabilities = clean_list(model.predict_proba(X))
            except (AttributeError, NotImplementedError):
                probabilities = None
        return {"predictions": predictions, "probabilities": probabilities,
                "classes": self.classes}

    def _predict_handled(self, X):
        """postprocess(model.predict(preprocess(rows)), rows), and the probabilities of
        model.predict_proba(preprocess(rows)), as the notebook's clean run computed them."""
        pre = self.handler.get("preprocess")
        post = self.handler.get("postprocess")
        frame = X.frame() if isinstance(X, Columns) else X
        inputs = pre(frame) if pre else frame
        raw = self.model.predict(inputs)
        predictions = clean_list(post(raw, frame) if post else raw)
        if len(predictions) != len(frame):
            raise ValueError(f"postprocess returned {len(predictions)} values for "
                             f"{len(frame)} rows")
        probabilities = None
        if self.has_proba:
            try:
                probabilities = clean_list(self.model.predict_proba(inputs))
            except (AttributeError, NotImplementedError):
                probabilities = None
        return {"predictions": predictions, "probabilities": probabilities,
                "classes": self.classes}

    def _check_fast(self, plan):
        """'on (...)' when the fast path answers the sample exactly as the model does."""
        try:
            sample = json.loads((self.root / "sample.json").read_text())
            inputs = sample.get("inputs")
        except (OSError, ValueError, AttributeError):
            inputs = None
        if not inputs:
            return "off: no sample in the artefact to check it against"
        try:
            X = self.inputs_from_json(inputs)
            if not isinstance(X, Columns):
                return "off: the sample is not a table"
            frame = X.frame()
            saved, self._fast = self._fast, None
            try:
                mine = self.predict(Columns(X.data, X.names, X.n))  # fresh: no frame yet
                self._fast = plan
                fast = self.predict(Columns(X.data, X.names, X.n))
            finally:
                self._fast = saved
            own = {"predictions": clean_list(self.model.predict(frame)), "probabilities": None}
            if self.has_proba:
                try:
                    own["probabilities"] = clean_list(self.model.predict_proba(frame))
                except (AttributeError, NotImplementedError):
                    pass
        except Exception as exc:  # noqa: BLE001 - any surprise: serve the slow, sure way
            return f"off: {type(exc).__name__} on the sample ({show(str(exc), 80)})"
        for got in (mine, fast):
            if (got["predictions"] != own["predictions"]
                    or got["probabilities"] != own["probabilities"]):
                return "off: its answers on the sample differ from the model's"
        return (f"on: the pipeline's fitted steps called directly; checked equal to "
                f"model.predict{'/predict_proba' if self.has_proba else ''} on the sample's "
                f"{X.n} rows")


def load_handler(meta):
    """{"preprocess": fn, "postprocess": fn} from serving_handler.py next to this file (only
    the functions it defines), or None when the artefact was deployed without a handler (the
    metadata says which, so a stale serving_handler.py left in a folder is never run)."""
    if not meta.get("serving_handler"):
        return None
    if not (HERE / "serving_handler.py").exists():
        raise StartupError("the model was deployed with a serving handler, but "
                           "serving_handler.py is not next to serving.py")
    try:
        import serving_handler
    except Exception as exc:  # noqa: BLE001 - the notebook's handler cell
        raise StartupError(f"serving_handler.py does not load: {type(exc).__name__}: {exc} "
                           "(install the pinned requirements.txt)") from None
    found = {name: getattr(serving_handler, name) for name in ("preprocess", "postprocess")
             if callable(getattr(serving_handler, name, None))}
    if not found:
        raise StartupError("serving_handler.py defines neither preprocess nor postprocess")
    return found


def clean_list(values):
    """numpy output as JSON-safe lists (NaN and infinities become null)."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    if hasattr(values, "dtype"):
        kind = values.dtype.kind
        if kind in "iub":
            return values.tolist()
        if kind == "f":
            import numpy as np

            if np.isfinite(values).all():
                return values.tolist()
            return [_finite(v) for v in values.tolist()]
        return standalone.to_list(values)
    return standalone.to_list(list(values))


def _finite(v):
    if isinstance(v, list):
        return [_finite(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v

