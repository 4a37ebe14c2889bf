"""Load the model artefact, validate inputs against its schema, predict.

Shared by app.py (the HTTP API) and batch.py (files in, predictions out). It needs only the
model's own requirements (numpy, pandas, scikit-learn...) and standalone.py next to it.

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

import standalone  # noqa: E402  (the artefact checker, copied next to this file)

MAX_ERRORS = 20
INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


MISSING = object()  # a record without the column


class StartupError(Exception):
    """The artefact cannot be served (missing, changed, or does not load)."""


class InputError(Exception):
    """Input that does not fit the model's schema: FastAPI-style field-level errors."""

    def __init__(self, errors, total=None):
        super().__init__("; ".join(e["msg"] for e in errors[:3]))
        self.errors = errors[:MAX_ERRORS]
        self.total = total if total is not None else len(errors)


def show(value, limit=60):
    """A value as it may appear in an error message (ASCII-safe, short)."""
    text = json.dumps(value, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def err(loc, msg, kind):
    return {"loc": list(loc), "msg": msg, "type": kind}


# ------------------------------------------------------------------------------ column kinds


def kind_of(dtype):
    d = (dtype or "").lower()
    if d.startswith(("int", "uint")):
        return "integer"
    if d.startswith("float"):
        return "number"
    if d in ("bool", "boolean"):
        return "boolean"
    if d == "category":
        return "category"
    if d.startswith("datetime"):
        return "datetime"
    if d in ("object", "str", "string") or d.startswith("string"):
        return "string"
    return "any"


def strict_categories(model):
    """Columns whose categories the model itself refuses to extend.

    A OneHotEncoder / OrdinalEncoder with handle_unknown="error" raises on a category it did not
    see in training: those columns get a 422 naming the known values instead of a 500.
    Encoders that ignore unknown categories keep doing so.
    """
    found = {}
    seen = set()

    def visit(est, columns=None, depth=0):
        if est is None or depth > 12 or id(est) in seen:
            return
        seen.add(id(est))
        name = type(est).__name__
        if name in ("OneHotEncoder", "OrdinalEncoder") and hasattr(est, "categories_"):
            if getattr(est, "handle_unknown", "error") == "error":
                names = getattr(est, "feature_names_in_", None)
                names = list(names) if names is not None else list(columns or [])
                for col, cats in zip(names, est.categories_):
                    if isinstance(col, str):
                        values = [standalone._py(v) for v in list(cats)]
                        found[col] = [v for v in values if v is not None]
            return
        if hasattr(est, "steps"):  # Pipeline
            for _, step in est.steps:
                if step not in (None, "passthrough", "drop"):
                    visit(step, columns, depth + 1)
                    columns = None
            return
        transformers = getattr(est, "transformers_", None)
        if transformers is not None:  # ColumnTransformer
            for _, trans, cols in transformers:
                if isinstance(trans, str):
                    continue
                col_names = list(cols) if isinstance(cols, (list, tuple)) else None
                if col_names is not None and not all(isinstance(c, str) for c in col_names):
                    names_in = getattr(est, "feature_names_in_", None)
                    if names_in is not None and all(isinstance(c, int) for c in col_names):
                        col_names = [names_in[c] for c in col_names]
                    else:
                        col_names = None
                visit(trans, col_names, depth + 1)
            return
        for attr in ("estimator", "base_estimator", "regressor", "classifier"):
            inner = getattr(est, attr + "_", None) or getattr(est, attr, None)
            if inner is not None and not isinstance(inner, (str, type)):
                visit(inner, columns, depth + 1)

    try:
        visit(model)
    except Exception:  # noqa: BLE001 - introspection is best effort
        return {}
    return found


# ------------------------------------------------------------------------------ the model


class Model:
    """The served model: its metadata, its schema, and how to turn JSON into its input."""

    def __init__(self, root=None, verify=None):
        root = Path(root or os.environ.get("MODEL_DIR") or HERE / "model")
        if verify is None:
            verify = os.environ.get("VERIFY_HASHES", "1") != "0"
        self.root = root
        try:
            if verify:
                meta, model_bytes = standalone.check_artefact(
                    str(root), standalone.env_signing_key())
            else:
                meta = standalone.read_metadata(str(root))
                model_bytes = (root / standalone.MODEL).read_bytes()
        except standalone.ArtefactProblem as exc:
            raise StartupError(f"refusing to serve {root}: {exc}") from None
        except OSError as exc:
            raise StartupError(f"cannot read the model artefact in {root}: {exc}") from None
        try:
            self.model = standalone.unpickle(model_bytes)
        except Exception as exc:  # noqa: BLE001
            raise StartupError(
                f"model.pkl does not load: {type(exc).__name__}: {exc} (install the pinned "
                "requirements.txt with the Python the model was saved with)") from None
        self.meta = meta
        self.name = meta.get("name") or "model"
        self.version = meta.get("version")
        self.schema = meta.get("input_schema") or None
        self.kind = (self.schema or {}).get("type", "dataframe")
        self.columns = list((self.schema or {}).get("columns") or [])
        self.names = [c["name"] for c in self.columns]
        classes = getattr(self.model, "classes_", None)
        self.classes = standalone.to_list(classes) if classes is not None else None
        self.has_proba = self.classes is not None and hasattr(self.model, "predict_proba")
        self._split = split_pipeline(self.model)
        strict = strict_categories(self.model) if self.kind == "dataframe" else {}
        self.allowed = {}
        for spec in self.columns:
            k = kind_of(spec.get("dtype"))
            spec["_kind"] = k
            if k == "category" and spec.get("categories") is not None:
                self.allowed[spec["name"]] = list(spec["categories"])
            elif spec["name"] in strict:
                self.allowed[spec["name"]] = strict[spec["name"]]
        self._allowed_sets = {}
        for col, values in self.allowed.items():
            try:
                self._allowed_sets[col] = set(values)
            except TypeError:
                self._allowed_sets[col] = None
        try:
            import pandas  # noqa: F401  (warm the import before the first request)
        except ImportError:
            pass
        # The pipeline's own fitted steps called one by one (see compile_pipeline), used only
        # once they give exactly the model's own answers on the artefact's sample.
        self._fast = None
        plan = None
        if self.kind != "dataframe" or not self.columns:
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
        return out

    def value_schema(self, spec):
        k = spec.get("_kind") or kind_of(spec.get("dtype"))
        allowed = self.allowed.get(spec["name"])
        if allowed is not None:
            schema = {"enum": list(allowed)}
        elif k == "integer":
            schema = {"type": "integer"}
            lo_hi = INT_RANGES.get((spec.get("dtype") or "").lower())
            if lo_hi and lo_hi[1] < 2**53:
                schema.update(minimum=lo_hi[0], maximum=lo_hi[1])
        elif k == "number":
            schema = {"type": "number"}
        elif k == "boolean":
            schema = {"type": "boolean"}
        elif k == "datetime":
            schema = {"type": "string", "format": "date-time"}
        elif k == "string":
            schema = {"type": "string"}
        else:
            schema = {}
        if spec.get("nullable") and schema:
            if "enum" in schema:
                schema = {"enum": schema["enum"] + [None]}
            else:
                schema = {"anyOf": [schema, {"type": "null"}]}
        schema["description"] = f"dtype {spec.get('dtype')}"
        return schema

    def request_schema(self):
        """The JSON schema of POST /predict's body (records, or pandas' split form)."""
        if self.kind == "array":
            row = {"type": "array", "items": {"type": "number"}}
            if self.columns:
                row.update(minItems=len(self.columns), maxItems=len(self.columns))
            return {"anyOf": [
                {"type": "array", "items": row, "minItems": 1,
                 "title": "rows", "description": "A list of rows of numbers."},
                {"type": "object", "title": "data",
                 "properties": {"data": {"type": "array", "items": row, "minItems": 1}},
                 "required": ["data"]},
            ]}
        if not self.columns:
            return {"anyOf": [
                {"type": "array", "items": {"type": "object"}, "minItems": 1, "title": "records"},
                {"type": "object", "title": "split",
                 "properties": {"columns": {"type": "array", "items": {"type": "string"}},
                                "data": {"type": "array", "items": {"type": "array"}}},
                 "required": ["columns", "data"]},
            ]}
        props = {c["name"]: self.value_schema(c) for c in self.columns}
        record = {"type": "object", "properties": props, "required": list(self.names)}
        cells = [self.value_schema(c) for c in self.columns]
        split_row = {"type": "array", "prefixItems": cells, "items": False,
                     "minItems": len(cells), "maxItems": len(cells)}
        return {"anyOf": [
            {"type": "array", "items": record, "minItems": 1, "title": "records",
             "description": "A list of records: one object per row, keyed by column."},
            {"type": "object", "title": "split",
             "description": "pandas' split form (DataFrame.to_dict(orient='split') without the "
             "index).",
             "properties": {
                 "columns": {"type": "array", "items": {"enum": list(self.names)},
                             "minItems": len(self.names), "maxItems": len(self.names),
                             "uniqueItems": True},
                 "data": {"type": "array", "items": split_row, "minItems": 1},
             },
             "required": ["columns", "data"]},
        ]}

    def response_schema(self):
        pred = {}
        if self.classes:
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

    # -------------------------------------------------------------------------- parsing

    def rows_from_json(self, payload):
        """(columns, list of rows) from records, the split form, or {"inputs": ...}."""
        if isinstance(payload, dict) and "inputs" in payload and len(payload) <= 2:
            payload = payload["inputs"]
        if isinstance(payload, dict) and "records" in payload and "columns" not in payload:
            payload = payload["records"]
        if isinstance(payload, dict):
            if "data" not in payload:
                if self.kind == "dataframe" and payload and all(
                        not isinstance(v, (list, dict)) for v in payload.values()):
                    payload = [payload]  # one record
                else:
                    raise InputError([err(["body"], "expected a list of records, or an object "
                                          "with 'columns' and 'data' (pandas split form)",
                                          "value_error.format")])
            else:
                data = payload.get("data")
                columns = payload.get("columns")
                if not isinstance(data, list):
                    raise InputError([err(["body", "data"], "'data' must be a list of rows",
                                          "type_error.list")])
                if columns is None:
                    if self.kind == "dataframe" and self.names:
                        raise InputError([err(["body", "columns"], "'columns' is required with "
                                              "'data' (pandas split form)", "value_error.missing")])
                    return None, data
                if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                    raise InputError([err(["body", "columns"], "'columns' must be a list of "
                                          "column names", "type_error.list")])
                if len(set(columns)) != len(columns):
                    dup = sorted({c for c in columns if columns.count(c) > 1})
                    raise InputError([err(["body", "columns"], f"duplicate column(s): "
                                          f"{', '.join(show(c) for c in dup)}",
                                          "value_error.duplicate")])
                return columns, data
        if isinstance(payload, list):
            if self.kind == "array":
                return None, payload
            bad = next((i for i, r in enumerate(payload) if not isinstance(r, dict)), None)
            if bad is not None:
                raise InputError([err(["body", bad], "each record must be an object keyed by "
                                      "column name", "type_error.dict")])
            return "records", payload
        raise InputError([err(["body"], "expected a JSON list of records, or an object with "
                              "'columns' and 'data'", "type_error")])

    def frame_from_json(self, payload):
        """The model's input built from a request body; raises InputError (422)."""
        X = self.inputs_from_json(payload)
        return X.frame() if isinstance(X, Columns) else X

    def inputs_from_json(self, payload):
        """Like frame_from_json, but checked columns stay columns (Columns) until the model
        needs a DataFrame: the fast path builds only the sub-frames each transformer takes."""
        columns, rows = self.rows_from_json(payload)
        if not rows:
            raise InputError([err(["body"], "no rows to predict on", "value_error.empty")])
        if self.kind == "array":
            return self._array(columns, rows)
        if columns == "records":
            loc_base = ["body"]
            getters = None
        else:
            loc_base = ["body", "data"]
            getters = {c: j for j, c in enumerate(columns)}
            width = len(columns)
            for i, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != width:
                    raise InputError([err(["body", "data", i],
                                          f"row {i} must be a list of {width} values (one per "
                                          "column)", "value_error.row_length")])
        if not self.columns:  # no schema: pass through as given
            import pandas as pd

            if getters is None:
                return pd.DataFrame.from_records(rows)
            return pd.DataFrame(rows, columns=columns)
        errors = []
        out = {}
        for spec in self.columns:
            name = spec["name"]
            if getters is None:
                values = [r.get(name, MISSING) for r in rows]
                locs = lambda i, n=name: ["body", i, n]  # noqa: E731
            else:
                if name not in getters:
                    errors.append(err(["body", "columns"],
                                      f"missing column {show(name)} ({spec.get('dtype')})",
                                      "value_error.missing"))
                    continue
                j = getters[name]
                values = [r[j] for r in rows]
                locs = lambda i, j=j: ["body", "data", i, j]  # noqa: E731
            col, col_errors = self._column(spec, values, locs)
            out[name] = col
            errors.extend(col_errors)
            if len(errors) > MAX_ERRORS:
                break
        if errors:
            raise InputError(errors)
        return Columns(out, self.names, len(rows))

    def _array(self, columns, rows):
        import numpy as np

        width = len(self.columns) or None
        errors = []
        for i, row in enumerate(rows):
            if not isinstance(row, list):
                errors.append(err(["body", i], "each row must be a list of numbers",
                                  "type_error.list"))
            elif width is not None and len(row) != width:
                errors.append(err(["body", i], f"row {i} has {len(row)} values, the model "
                                  f"takes {width}", "value_error.row_length"))
            else:
                for j, v in enumerate(row):
                    if v is None:
                        if not (self.columns and self.columns[j].get("nullable")):
                            errors.append(err(["body", i, j], "null is not allowed here",
                                              "value_error.null"))
                    elif type(v) is bool or not isinstance(v, (int, float)):
                        errors.append(err(["body", i, j], f"{show(v)} is not a number",
                                          "type_error.number"))
                    elif isinstance(v, int) and abs(v) > 1e300:
                        errors.append(err(["body", i, j], "number out of range",
                                          "value_error.range"))
            if len(errors) > MAX_ERRORS:
                break
        if errors:
            raise InputError(errors)
        dtype = (self.schema or {}).get("dtype") or "float64"
        try:
            arr = np.array([[np.nan if v is None else v for v in r] for r in rows], dtype=float)
            if not dtype.startswith("float"):
                if np.isnan(arr).any():
                    raise ValueError("missing values")
                arr = arr.astype(dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InputError([err(["body"], f"cannot convert the rows to {dtype}: {exc}",
                                  "type_error")]) from None
        return arr

    def _column(self, spec, values, locs):
        """One column's values checked and converted; returns (array-like, errors)."""
        import numpy as np

        name = spec["name"]
        kind = spec.get("_kind") or kind_of(spec.get("dtype"))
        dtype = spec.get("dtype") or "object"
        nullable = bool(spec.get("nullable"))
        allowed = self._allowed_sets.get(name) if name in self._allowed_sets else None
        allowed_list = self.allowed.get(name)
        errors = []
        # One pass over the column's types and range at C speed; the per-value loop runs (and
        # words each error) only when that pass finds something to complain about.
        ok, has_null = _quick_check(kind, dtype, nullable, values, allowed, allowed_list)
        for i, v in enumerate(() if ok else values):
            if v is MISSING:
                errors.append(err(locs(i), f"missing column {show(name)} ({dtype})",
                                  "value_error.missing"))
                continue
            if v is None:
                if not nullable:
                    errors.append(err(locs(i), f"column {show(name)} may not be null (the model "
                                      "was given no missing values there)", "value_error.null"))
                has_null = True
                continue
            t = type(v)
            if allowed_list is not None:
                if not _member(v, t, allowed, allowed_list):
                    known = ", ".join(show(a, 30) for a in allowed_list[:12])
                    more = ", ..." if len(allowed_list) > 12 else ""
                    errors.append(err(locs(i), f"unknown category {show(v)} for column "
                                      f"{show(name)} (known: {known}{more})",
                                      "value_error.category"))
                    continue
                if kind in ("category", "string", "any"):
                    continue
            if kind == "integer":
                if t is bool or t not in (int, float):
                    errors.append(err(locs(i), f"column {show(name)} takes integers, got "
                                      f"{show(v)}", "type_error.integer"))
                elif t is float and not v.is_integer():
                    errors.append(err(locs(i), f"column {show(name)} takes integers, got "
                                      f"{show(v)}", "type_error.integer"))
                else:
                    lo, hi = INT_RANGES.get(dtype.lower(), (-(2**63), 2**63 - 1))
                    if not lo <= v <= hi:
                        errors.append(err(locs(i), f"{show(v)} is out of range for column "
                                          f"{show(name)} ({dtype})", "value_error.range"))
            elif kind == "number":
                if t is bool or t not in (int, float):
                    errors.append(err(locs(i), f"column {show(name)} takes numbers, got "
                                      f"{show(v)}", "type_error.number"))
                elif t is int and abs(v) > 1e300:
                    errors.append(err(locs(i), f"{show(v)} is out of range for column "
                                      f"{show(name)}", "value_error.range"))
            elif kind == "boolean":
                if t is not bool:
                    errors.append(err(locs(i), f"column {show(name)} takes true or false, got "
                                      f"{show(v)}", "type_error.bool"))
            elif kind in ("string", "datetime"):
                if t is not str:
                    errors.append(err(locs(i), f"column {show(name)} takes strings, got "
                                      f"{show(v)}", "type_error.str"))
                else:
                    try:
                        v.encode("utf-8")
                    except UnicodeEncodeError:
                        errors.append(err(locs(i), f"column {show(name)}: the string is not "
                                          "valid Unicode", "value_error.unicode"))
            elif kind in ("any", "category"):
                if t in (list, dict):
                    errors.append(err(locs(i), f"column {show(name)} takes single values, got "
                                      f"{show(v)}", "type_error.scalar"))
            if len(errors) > MAX_ERRORS:
                break
        if errors:
            return None, errors
        import pandas as pd

        try:
            if kind == "integer":
                if has_null:
                    if dtype[:1].isupper():  # pandas' nullable Int64 & co
                        return pd.array(values, dtype=dtype), []
                    return np.array([np.nan if v is None else v for v in values], float), []
                return np.array(values, dtype=dtype), []
            if kind == "number":
                if not has_null:
                    return np.array(values, dtype=dtype), []
                return np.array([np.nan if v is None else v for v in values], dtype=dtype), []
            if kind == "boolean":
                if has_null:
                    return pd.array(values, dtype="boolean"), []
                return np.array(values, dtype=bool), []
            if kind == "category":
                return pd.Categorical(values, categories=spec.get("categories")), []
            if kind == "datetime":
                parsed = pd.to_datetime(pd.Series(values), errors="coerce", utc="UTC" in dtype
                                        or "," in dtype)
                bad = [i for i, v in enumerate(values) if v is not None and pd.isna(parsed[i])]
                if bad:
                    return None, [err(locs(i), f"column {show(name)}: {show(values[i])} is not "
                                      "a date-time", "value_error.datetime") for i in bad[:5]]
                try:
                    return parsed.astype(dtype), []
                except (TypeError, ValueError):
                    return parsed, []
            if kind == "string":
                if dtype in ("str", "string") or dtype.startswith("string"):
                    return pd.array(values, dtype=dtype), []
                return np.array(values, dtype=object), []
            return np.array(values, dtype=object), []
        except (TypeError, ValueError, OverflowError) as exc:
            return None, [err(["body"], f"column {show(name)} cannot be converted to {dtype}: "
                              f"{show(str(exc), 120)}", "type_error")]

    # -------------------------------------------------------------------------- frames (batch)

    def check_frame(self, frame, offset=0):
        """A DataFrame read from a file, checked and converted like a request body (Columns,
        or the frame itself / an array when there is no table schema)."""
        if self.kind == "array" or not self.columns:
            return frame.to_numpy() if self.kind == "array" else frame
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise InputError([err(["columns"], f"missing column(s): "
                                  f"{', '.join(show(c) for c in missing)}", "value_error.missing")])
        import pandas as pd

        out = {}
        errors = []
        for spec in self.columns:
            s = frame[spec["name"]]
            values = [None if (not isinstance(v, (list, dict)) and pd.isna(v)) else
                      (v.item() if hasattr(v, "item") else v) for v in s.tolist()]
            if spec.get("_kind") == "integer":
                values = [float(v) if isinstance(v, str) and _is_number(v) else v for v in values]
            if spec.get("_kind") == "number":
                values = [float(v) if isinstance(v, str) and _is_number(v) else v for v in values]
            col, col_errors = self._column(
                spec, values, lambda i, n=spec["name"]: ["row", offset + i, n])
            out[spec["name"]] = col
            errors.extend(col_errors)
        if errors:
            raise InputError(errors)
        return Columns(out, self.names, len(frame))

    # -------------------------------------------------------------------------- predicting

    def predict(self, X):
        """Predictions (and class probabilities) exactly as the model's own predict and
        predict_proba give them. X: Columns, a DataFrame or an array."""
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


class Columns:
    """A request's checked columns (name -> array), in the schema's order.

    The full DataFrame is built only when something needs it; the fast path builds just the
    sub-frame each of the pipeline's column transformers takes.
    """

    __slots__ = ("data", "names", "n", "_frame")

    def __init__(self, data, names, n, frame=None):
        self.data = data
        self.names = list(names)
        self.n = n
        self._frame = frame

    def frame(self):
        if self._frame is None:
            import pandas as pd

            self._frame = pd.DataFrame(self.data, columns=self.names)
        return self._frame

    def select(self, labels):
        """frame()[labels], without building the whole frame."""
        if self._frame is not None or len(set(labels)) != len(labels):
            return self.frame()[labels]
        import pandas as pd

        return pd.DataFrame({k: self.data[k] for k in labels}, columns=labels)


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


_NONE = type(None)
_DEFAULT_INT_RANGE = (-(2**63), 2**63 - 1)


def _quick_check(kind, dtype, nullable, values, allowed, allowed_list):
    """(True when no value of the column can fail Model._column's checks, whether it has nulls).

    Whole-column set, min and max operations instead of a branch per value; anything unusual
    (a missing key, a null where none is allowed, a mixed or unexpected type, a value out of
    range or not among the allowed ones) answers False and the per-value loop says what is
    wrong where.
    """
    types = set(map(type, values))
    has_null = _NONE in types
    if has_null:
        if not nullable:
            return False, True
        types.discard(_NONE)
        present = [v for v in values if v is not None]
    else:
        present = values
    if not types:
        return True, has_null
    if object in types:  # MISSING: a record without the column
        return False, has_null
    if allowed_list is not None:
        if types != {str} or allowed is None or not allowed.issuperset(present):
            return False, has_null
        return kind in ("category", "string", "any"), has_null
    if kind == "integer":
        if types != {int}:
            return False, has_null
        lo, hi = INT_RANGES.get(dtype.lower(), _DEFAULT_INT_RANGE)
        return lo <= min(present) and max(present) <= hi, has_null
    if kind == "number":
        if not types <= {int, float}:
            return False, has_null
        if int in types:
            return all(abs(v) <= 1e300 for v in present if type(v) is int), has_null
        return True, has_null
    if kind == "boolean":
        return types == {bool}, has_null
    if kind in ("string", "datetime"):
        if types != {str}:
            return False, has_null
        try:
            "".join(present).encode("utf-8")
        except UnicodeEncodeError:
            return False, has_null
        return True, has_null
    if kind in ("any", "category"):
        return not (types & {list, dict}), has_null
    return False, has_null


def _member(v, t, aset, alist):
    """Whether ``v`` is one of the allowed values (1, 1.0 and True are not the same here)."""
    try:
        hit = (v in aset) if aset is not None else (v in alist)
    except TypeError:
        return False
    if not hit:
        return False
    if t is bool or t is int or t is float:
        return any(a == v and (type(a) is bool) == (t is bool) for a in alist)
    return True


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes):
    """Strict JSON (no NaN/Infinity); raises InputError."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError([err(["body"], f"the body is not valid JSON: {show(str(exc), 120)}",
                              "value_error.jsondecode")]) from None
