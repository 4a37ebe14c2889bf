"""One model version as a folder: the pickle, its metadata, requirements, sample and card.

::

    model.pkl          cloudpickle of the model
    metadata.json      name, version, schema, hashes of every other file, metadata hash, signature
    requirements.txt   exact pins of what model.pkl imports (and their dependencies)
    sample.json        sample inputs with the expected predictions / probabilities
    README.md          the model card

``write_artefact`` writes them into an existing empty folder, ``read_artefact`` checks every hash
(and the signature when a key is configured) *before* unpickling. Loading a model unpickles it,
which runs code chosen by its author: load only artefacts from authors you trust.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ..errors import IntegrityError, SerializationError, TargetError
from . import standalone
from .standalone import (
    CARD,
    METADATA,
    MODEL,
    REQUIREMENTS,
    SAMPLE,
    ArtefactProblem,
    content_hash,
    metadata_hash,
    predict_outputs as _predict_outputs,
    sha256_bytes,
)
from .._version import __version__

__all__ = [
    "write_artefact",
    "read_artefact",
    "predict_outputs",
    "sample_frame",
    "stamp_version",
    "content_hash",
    "git_info",
    "MAX_SAMPLE_ROWS",
]

MAX_SAMPLE_ROWS = 100


def predict_outputs(model, X) -> dict:
    """``{"predictions": [...], "probabilities": [[...]] | None, "classes": [...] | None}``."""
    return _predict_outputs(model, X)


def sample_frame(sample_json: dict, input_schema: dict | None = None):
    """Rebuild the sample inputs of ``sample.json`` (DataFrame with the schema's dtypes, or array).

    The dtypes come from ``input_schema`` when given, else from the copy of the metadata's
    input schema that ``sample.json`` carries.
    """
    return standalone.sample_frame(sample_json, input_schema)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def git_info(path: os.PathLike | str | None) -> dict | None:
    """``{"commit", "dirty"}`` of the git repository holding ``path``, or None."""
    if not path:
        return None
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    if not folder.exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _write(dest: Path, rel: str, data: bytes) -> str:
    (dest / rel).write_bytes(data)
    return sha256_bytes(data)


def _finish(dest: Path, meta: dict, signing_key: bytes | None) -> dict:
    """Write the card, hash every file, hash and sign the metadata, write metadata.json last."""
    from .card import model_card
    from .signing import sign

    card = model_card(meta).encode("utf-8")
    (dest / CARD).write_bytes(card)
    files = {}
    for p in sorted(dest.rglob("*")):
        if p.is_file() and p.name != METADATA and not p.name.startswith(".tmp-"):
            files[p.relative_to(dest).as_posix()] = sha256_bytes(p.read_bytes())
    meta["files"] = files
    meta["content_sha256"] = content_hash(files)
    meta.pop("metadata_sha256", None)
    meta.pop("signature", None)
    meta["metadata_sha256"] = metadata_hash(meta)
    meta["signature"] = sign(meta["metadata_sha256"], signing_key) if signing_key else None
    tmp = dest / (METADATA + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, dest / METADATA)
    return meta


def write_artefact(
    model,
    dest: Path,
    *,
    name: str,
    version: int | None = None,
    sample=None,
    description: str = "",
    metrics: dict | None = None,
    notebook: str | None = None,
    notebook_hash: str | None = None,
    verdict: str | None = None,
    forced: bool = False,
    pickled: bytes | None = None,
    extra: dict | None = None,
    predict=None,
) -> dict:
    """Write the artefact files into the existing, empty folder ``dest``; return the metadata.

    ``pickled`` is the clean kernel's cloudpickle of the model, used as ``model.pkl`` when given
    (``model`` is then only used to compute the sample's expected outputs). A sample the model
    cannot predict on raises :class:`~jupyter_deploy.errors.TargetError`; ``predict(model, X)``,
    when given, computes the sample's expected outputs instead of the model's own predict (the
    container's serving handler); an object that cannot be
    pickled raises :class:`~jupyter_deploy.errors.SerializationError` naming the attribute.
    """
    from . import pickling, schema
    from .requirements import (
        pickle_modules,
        requirements_for_modules,
        requirements_text,
        unpinned_modules,
    )
    from .signing import signing_key

    dest = Path(dest)
    extra = dict(extra or {})
    key = signing_key(extra.pop("signing_key", None))
    # the clean kernel's interpreter: pins come from where the model was pickled
    kernel_python = extra.pop("kernel_python", None)
    if pickled is None:
        pickled = pickling.dumps(model, pickling.notebook_dir(notebook), name=name)

    sample = schema.as_2d(sample)
    rows = extra.pop("max_sample_rows", MAX_SAMPLE_ROWS)
    sample = schema.head(sample, rows)
    outputs = None
    if sample is not None:
        try:
            outputs = (predict or predict_outputs)(model, sample)
        except Exception as exc:  # noqa: BLE001 - the user's model, the user's sample
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise TargetError(
                f"The model cannot predict on the sample: {type(exc).__name__}: {first}",
                hint="Pass as --sample the kind of data the model was trained on (same columns "
                "and dtypes), e.g. X_test.",
            ) from exc

    modules = pickle_modules(pickled)
    unpinned = unpinned_modules(modules, kernel_python)
    local = tuple(m for m, why in unpinned.items() if why != "not installed")
    if local:
        # Editable or local-folder packages cannot be pinned: carry their code in the pickle,
        # or the model would fail with ModuleNotFoundError where they are not installed.
        pickled = pickling.dumps(model, pickling.notebook_dir(notebook), name=name, by_value=local)
        modules = pickle_modules(pickled)
        unpinned = unpinned_modules(modules, kernel_python)
    extra_modules = set()
    if sample is not None:
        extra_modules.add("numpy")
        if schema.is_dataframe(sample):
            extra_modules.add("pandas")  # the serving side rebuilds frames to call predict
    requirements = requirements_for_modules(sorted(modules | extra_modules), kernel_python)

    in_schema = schema.input_schema(sample)
    sample_json = {
        "inputs": schema.sample_inputs(sample),
        "predictions": (outputs or {}).get("predictions"),
        "probabilities": (outputs or {}).get("probabilities"),
        "classes": (outputs or {}).get("classes"),
        # so that sample_frame(sample_json) alone rebuilds the dtypes (categories, datetimes)
        "input_schema": in_schema,
    }
    _write(dest, MODEL, pickled)
    _write(dest, REQUIREMENTS, requirements_text(requirements, modules, unpinned, extra.get("python")).encode("utf-8"))
    _write(
        dest,
        SAMPLE,
        json.dumps(sample_json, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8"),
    )
    classes = (outputs or {}).get("classes")
    if classes is None and getattr(model, "classes_", None) is not None:
        classes = standalone.to_list(model.classes_)
    cls = type(model)
    meta = {
        "name": name,
        "version": version,
        "created": _now(),
        "jupyter_deploy": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "model_class": f"{cls.__module__}.{cls.__qualname__}",
        "task": schema.task_of(model),
        "classes": classes,
        "input_schema": in_schema,
        "output_schema": schema.output_schema(outputs, model),
        "notebook": str(notebook) if notebook else None,
        "notebook_hash": notebook_hash,
        "verdict": verdict,
        "git": git_info(notebook),
        "description": description or "",
        "metrics": dict(metrics or {}),
        "forced": bool(forced),
        "requirements": requirements,
        "unpinned_modules": unpinned,
        "sample_rows": len(sample_json["predictions"] or []),
    }
    meta.update(extra)
    return _finish(dest, meta, key)


def stamp_version(dest: Path, version: int, *, signing_key: bytes | None = None) -> dict:
    """Give an artefact folder its version number: rewrite the card, the hashes and metadata."""
    from .signing import signing_key as _key

    dest = Path(dest)
    meta = json.loads((dest / METADATA).read_text())
    meta["version"] = int(version)
    return _finish(dest, meta, _key(signing_key))


def read_artefact(
    path: Path, *, verify: bool = True, signing_key: bytes | None = None
) -> tuple[object, dict]:
    """``(model, metadata)`` from an artefact folder, after checking it.

    Every file's sha256 and the metadata hash are checked *before* unpickling; with a signing
    key (given, or from ``$JUPYTER_DEPLOY_SIGNING_KEY``) the signature too. A mismatch raises
    :class:`~jupyter_deploy.errors.IntegrityError` naming the file. ``verify=False`` skips the
    checks (for inspecting a damaged artefact you already trust).
    """
    from .signing import signing_key as _key

    root = Path(path)
    if verify:
        try:
            meta, model_bytes = standalone.check_artefact(str(root), _key(signing_key))
        except ArtefactProblem as exc:
            hint = (
                "Configure the key it was signed with ($JUPYTER_DEPLOY_SIGNING_KEY), or ask its "
                "author to publish it again with that key."
                if exc.kind == "signature"
                else "Do not load it: it is not what was published. Publish the model again."
            )
            raise IntegrityError(
                f"Refusing to load {root}: {exc}.", hint=hint, file=exc.path
            ) from None
    else:
        meta = json.loads((root / METADATA).read_text())
        model_bytes = (root / MODEL).read_bytes()
    try:
        model = standalone.unpickle(model_bytes)
    except Exception as exc:  # noqa: BLE001
        raise SerializationError(
            f"{root / MODEL} does not load here: {type(exc).__name__}: {exc}",
            hint="Install the pinned requirements.txt of the artefact (python "
            f"{meta.get('python')}), e.g. pip install -r {root / REQUIREMENTS}.",
        ) from exc
    return model, meta
