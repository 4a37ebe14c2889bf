"""Read, check and exercise a model artefact with nothing but the standard library.

This module imports nothing from jupyter-deploy (numpy and pandas only inside the functions that
need them), so the same file is the library's loader *and* the script that the fresh-process
verification runs, even in a virtual environment built from ``requirements.txt`` alone::

    python -I standalone.py ARTEFACT_DIR [--signing-key-env VAR]

prints one JSON object: ``{"ok": bool, "stage": ..., "detail": ..., ...}``.

Loading an artefact unpickles it, and unpickling runs code chosen by whoever wrote it: load only
artefacts whose author you trust. The hashes (and the HMAC signature, when a key is configured)
prove that the files are the ones that author wrote, not that the author is benign.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import sys

METADATA = "metadata.json"
MODEL = "model.pkl"
REQUIREMENTS = "requirements.txt"
SAMPLE = "sample.json"
CARD = "README.md"
# The files whose hashes identify a version's content (the card and the metadata change with
# the version number and the time, the model does not).
CONTENT_FILES = (MODEL, REQUIREMENTS, SAMPLE)
SIGNING_ENV = "JUPYTER_DEPLOY_SIGNING_KEY"


class ArtefactProblem(Exception):
    """An artefact that fails a check; ``path`` names the file, ``kind`` the check."""

    def __init__(self, message, path=None, kind="integrity"):
        super().__init__(message)
        self.path = path
        self.kind = kind


# ------------------------------------------------------------------------------- hashing


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    """The one byte form of a JSON value that hashes are computed over."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    ).encode("ascii")


def metadata_hash(metadata: dict) -> str:
    body = {k: v for k, v in metadata.items() if k not in ("metadata_sha256", "signature")}
    return sha256_bytes(canonical_json(body))


def content_hash(files: dict) -> str:
    """Identity of a version's content: the hashes of the model, requirements and sample."""
    return sha256_bytes(canonical_json({k: files.get(k) for k in CONTENT_FILES}))


def sign(metadata_sha256: str, key: bytes) -> str:
    return hmac.new(key, metadata_sha256.encode("ascii"), hashlib.sha256).hexdigest()


def env_signing_key(var: str = SIGNING_ENV):
    value = os.environ.get(var)
    return value.encode("utf-8") if value else None


# ------------------------------------------------------------------------------- checking


def _safe_join(root: str, rel: str) -> str:
    if rel.startswith(("/", "\\")) or ".." in rel.replace("\\", "/").split("/"):
        raise ArtefactProblem(f"metadata.json lists an unsafe path {rel!r}", path=METADATA)
    return os.path.join(root, *rel.split("/"))


def read_metadata(root: str) -> dict:
    path = os.path.join(root, METADATA)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise ArtefactProblem(f"{METADATA} is missing in {root}", path=METADATA) from None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ArtefactProblem(f"{METADATA} is not valid JSON ({exc})", path=METADATA) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
        raise ArtefactProblem(f"{METADATA} has no 'files' table", path=METADATA)
    return meta


def check_artefact(root: str, signing_key: bytes | None = None) -> tuple[dict, bytes]:
    """Check the metadata hash, the signature and every file's sha256.

    Returns ``(metadata, model_bytes)``: the model bytes that were hashed, so the caller
    unpickles exactly what was checked. Raises :class:`ArtefactProblem` naming the file.
    """
    meta = read_metadata(root)
    expected = meta.get("metadata_sha256")
    if not expected or metadata_hash(meta) != expected:
        raise ArtefactProblem(
            f"{METADATA} was changed after it was written (its hash does not match)",
            path=METADATA,
        )
    if signing_key:
        sig = meta.get("signature")
        if not sig:
            raise ArtefactProblem(
                "the artefact is not signed, and a signing key is configured",
                path=METADATA,
                kind="signature",
            )
        if not hmac.compare_digest(sig, sign(expected, signing_key)):
            raise ArtefactProblem(
                "the artefact's signature does not match the configured signing key",
                path=METADATA,
                kind="signature",
            )
    model_bytes = None
    for rel, digest in sorted(meta["files"].items()):
        path = _safe_join(root, rel)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            raise ArtefactProblem(f"{rel} is missing", path=rel) from None
        if sha256_bytes(data) != digest:
            raise ArtefactProblem(
                f"{rel} was changed after it was written (sha256 mismatch)", path=rel
            )
        if rel == MODEL:
            model_bytes = data
    if model_bytes is None:
        raise ArtefactProblem(f"{MODEL} is not listed in {METADATA}", path=MODEL)
    return meta, model_bytes


def unpickle(model_bytes: bytes):
    try:
        import cloudpickle as _pickle  # noqa: F401  (registers nothing; plain pickle loads it)
    except ImportError:
        pass
    import pickle

    return pickle.loads(model_bytes)


# ------------------------------------------------------------------------------- samples


def _py(value):
    """A JSON-safe Python value from a numpy/pandas scalar (NaN and NaT become None)."""
    if value is None:
        return None
    try:
        import numpy as np
    except ImportError:  # pragma: no cover
        np = None
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "isoformat"):
        try:
            import pandas as pd

            if value is pd.NaT:
                return None
        except ImportError:
            pass
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (ImportError, TypeError, ValueError):
        pass
    return str(value)


def to_list(values):
    if values is None:
        return None
    if hasattr(values, "tolist") and not hasattr(values, "columns"):
        values = values.tolist()
    elif hasattr(values, "to_numpy"):
        values = values.to_numpy().tolist()
    return [to_list(v) if isinstance(v, (list, tuple)) else _py(v) for v in values]


def sample_frame(sample_json: dict, input_schema: dict | None = None):
    """Rebuild the sample inputs: a DataFrame with the schema's dtypes, or a numpy array."""
    inputs = sample_json.get("inputs") if "inputs" in sample_json else sample_json
    if inputs is None:
        return None
    schema = input_schema or sample_json.get("input_schema") or {}
    if "columns" in inputs and (schema.get("type", "dataframe") == "dataframe"):
        import pandas as pd

        columns = inputs["columns"]
        data = inputs.get("data", [])
        specs = {c.get("name"): c for c in schema.get("columns", [])}
        out = {}
        for j, col in enumerate(columns):
            values = [row[j] for row in data]
            spec = specs.get(col, {})
            dtype = spec.get("dtype")
            out[col] = _column(pd, values, dtype, spec)
        frame = pd.DataFrame(out, columns=columns)
        return frame
    import numpy as np

    dtype = schema.get("dtype")
    data = inputs.get("data", [])
    arr = np.array([[(np.nan if v is None else v) for v in row] if isinstance(row, list) else row
                    for row in data])
    if dtype:
        try:
            arr = arr.astype(dtype)
        except (TypeError, ValueError):
            pass
    return arr


def _column(pd, values, dtype, spec):
    if not dtype:
        return pd.Series(values, dtype=object if any(isinstance(v, str) for v in values) else None)
    if dtype == "category":
        cats = spec.get("categories")
        return pd.Series(pd.Categorical(values, categories=cats) if cats is not None
                         else pd.Categorical(values))
    if dtype.startswith("datetime64"):
        s = pd.to_datetime(pd.Series(values))
        try:
            return s.astype(dtype)
        except (TypeError, ValueError):
            return s
    if dtype.startswith(("float", "Float")):
        return pd.Series([float("nan") if v is None else v for v in values]).astype(dtype)
    try:
        return pd.Series(values).astype(dtype)
    except (TypeError, ValueError):
        return pd.Series(values, dtype=object)


def predict_outputs(model, X) -> dict:
    """What the model says about ``X``: predictions, class probabilities and the classes."""
    predictions = to_list(model.predict(X))
    classes = getattr(model, "classes_", None)
    classes = to_list(classes) if classes is not None else None
    probabilities = None
    if classes is not None and hasattr(model, "predict_proba"):
        try:
            probabilities = to_list(model.predict_proba(X))
        except Exception:  # noqa: BLE001 - e.g. SVC(probability=False): no probabilities
            probabilities = None
    return {"predictions": predictions, "probabilities": probabilities, "classes": classes}


def _close(a, b, rtol=1e-7, atol=1e-9):
    if isinstance(a, bool) or isinstance(b, bool) or not (
        isinstance(a, (int, float)) and isinstance(b, (int, float))
    ):
        return a == b
    if math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


def _row_equal(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_row_equal(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is None and b is None
    return _close(a, b)


def compare_outputs(expected: dict, got: dict) -> str | None:
    """None when the outputs agree, else which output differed first (one line)."""
    exp_p, got_p = expected.get("predictions") or [], got.get("predictions") or []
    if len(exp_p) != len(got_p):
        return f"predictions: {len(got_p)} rows instead of {len(exp_p)}"
    for k, (a, b) in enumerate(zip(exp_p, got_p)):
        if not _row_equal(a, b):
            return f"prediction row {k}: expected {a!r}, got {b!r}"
    if (expected.get("classes") or None) != (got.get("classes") or None) and expected.get(
        "classes"
    ) is not None:
        return f"classes: expected {expected.get('classes')!r}, got {got.get('classes')!r}"
    exp_pr, got_pr = expected.get("probabilities"), got.get("probabilities")
    if exp_pr is not None:
        if got_pr is None:
            return "probabilities: expected class probabilities, got none"
        if len(got_pr) != len(exp_pr):
            return f"probabilities: {len(got_pr)} rows instead of {len(exp_pr)}"
        for k, (a, b) in enumerate(zip(exp_pr, got_pr)):
            if not _row_equal(a, b):
                return f"probabilities row {k}: expected {a!r}, got {b!r}"
    return None


# ------------------------------------------------------------------------------- the script


def verify_dir(root: str, signing_key: bytes | None = None) -> dict:
    """Everything the fresh-process verification checks, as one JSON-able result."""
    import platform

    result = {"ok": False, "stage": "hashes", "python": platform.python_version()}
    try:
        meta, model_bytes = check_artefact(root, signing_key)
    except ArtefactProblem as exc:
        result.update(detail=str(exc), path=exc.path)
        return result
    result["stage"] = "unpickle"
    try:
        model = unpickle(model_bytes)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        result["detail"] = f"model.pkl does not load here: {type(exc).__name__}: {exc}"
        return result
    cls = f"{type(model).__module__}.{type(model).__qualname__}"
    result["model_class"] = cls
    if meta.get("model_class") and meta["model_class"] != cls:
        result["detail"] = f"model.pkl loads as {cls}, metadata says {meta['model_class']}"
        return result
    sample_path = os.path.join(root, SAMPLE)
    with open(sample_path, "rb") as fh:
        sample = json.loads(fh.read().decode("utf-8"))
    if sample.get("inputs") is None:
        result.update(ok=True, stage="done", detail="loaded; no sample to predict on", rows=0)
        return result
    result["stage"] = "predict"
    if meta.get("serving_handler"):
        # The sample's answers are the serving handler's (serving_handler.py, next to the
        # container's API, not in the artefact): the container's API proof compares them.
        result.update(ok=True, stage="done", rows=0, detail="loaded; the sample's answers go "
                      "through the container's serving handler (its API proof compares them)")
        return result
    try:
        X = sample_frame(sample, meta.get("input_schema"))
        got = predict_outputs(model, X)
    except Exception as exc:  # noqa: BLE001
        result["detail"] = f"predicting on the sample failed: {type(exc).__name__}: {exc}"
        return result
    diff = compare_outputs(sample, got)
    result["rows"] = len(got.get("predictions") or [])
    if diff:
        result["detail"] = diff
        return result
    result.update(ok=True, stage="done", detail=f"{result['rows']} sample rows agree")
    return result


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    key_env = SIGNING_ENV
    if "--signing-key-env" in argv:
        i = argv.index("--signing-key-env")
        key_env = argv[i + 1]
        del argv[i : i + 2]
    root = argv[0]
    try:
        result = verify_dir(root, env_signing_key(key_env))
    except Exception as exc:  # noqa: BLE001 - the caller reads JSON, never a traceback
        result = {"ok": False, "stage": "error", "detail": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write("\n" + json.dumps(result, default=str) + "\n")
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
