"""The checks of one column of a request: each value against the column's dtype, nullability
and allowed values, then the conversion to the array the model takes.

Part of the generated API (see serving.py); standard library at import time, numpy and pandas
when a column is converted.
"""

from __future__ import annotations

import json

MAX_ERRORS = 20
INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}


MISSING = object()  # a record without the column


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


def check_column(spec, values, locs, allowed, allowed_list):
    """One column's values checked and converted; returns (array-like, errors).

    ``allowed``: the set of allowed values (None when they are unhashable), ``allowed_list``:
    the same as a list (None: any value of the column's kind).
    """
    import numpy as np

    name = spec["name"]
    kind = spec.get("_kind") or kind_of(spec.get("dtype"))
    dtype = spec.get("dtype") or "object"
    nullable = bool(spec.get("nullable"))
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
