"""Request bodies (JSON) and batch frames checked against the model's input schema.

Part of the generated API (see serving.py). :class:`InputSchema` turns records, pandas' split
form or rows of numbers into checked :class:`Columns` (or an array), raising
:class:`InputError` with FastAPI-style field-level errors (422), and writes the JSON schema of
POST /predict's body. One column's checks are in serving_checks.py.
"""

from __future__ import annotations

import json

import standalone
from serving_checks import (
    INT_RANGES,
    MAX_ERRORS,
    MISSING,
    InputError,
    _is_number,
    check_column,
    err,
    kind_of,
    show,
)


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes):
    """Strict JSON (no NaN/Infinity); raises InputError."""
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError([err(["body"], f"the body is not valid JSON: {show(str(exc), 120)}",
                              "value_error.jsondecode")]) from None


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



class InputSchema:
    """The model's input schema, and how to turn JSON (or a batch frame) into its input."""

    def __init__(self, schema, strict=None):
        """``schema``: the artefact's input_schema (None: pass rows through as given);
        ``strict``: column -> the categories the model itself refuses to extend."""
        self.schema = schema or None
        self.kind = (self.schema or {}).get("type", "dataframe")
        self.columns = list((self.schema or {}).get("columns") or [])
        self.names = [c["name"] for c in self.columns]
        strict = strict or {}
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

    # -------------------------------------------------------------------------- JSON schemas

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
        name = spec["name"]
        allowed = self._allowed_sets.get(name) if name in self._allowed_sets else None
        return check_column(spec, values, locs, allowed, self.allowed.get(name))

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

