"""The container build context: a model artefact plus everything that serves it.

    Dockerfile  .dockerignore  requirements.txt  app.py  batch.py  standalone.py
    serving.py  serving_loading.py  serving_validation.py  serving_checks.py  serving_fastpath.py
    k8s.yaml    README.md      model/ (the artefact, as the model target writes it)

:func:`write_context` writes a new context into an empty folder. Every file it generates starts
with a provenance header (generator and version, source notebook and its hash, model name,
version and content hash, and the command that regenerates it). :func:`sync` copies a context
into the user's ``--out`` folder without ever silently overwriting: a file there that differs
from the new one is an error unless ``overwrite``; identical content (for the model folder:
the same model content hash) is left as it is. Nothing is written before every conflict is known.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import UsageError

TEMPLATES = Path(__file__).resolve().parent / "templates"
MODEL_DIR = "model"
MANIFEST = "manifest.json"
HANDLER_FILE = "serving_handler.py"  # only when the notebook has a %%deploy handler cell
# generated file -> template (None: built in code)
GENERATED = {
    "Dockerfile": "Dockerfile",
    ".dockerignore": "dockerignore",
    "requirements.txt": None,
    "app.py": "app.py",
    "serving.py": "serving.py",
    "serving_loading.py": "serving_loading.py",
    "serving_validation.py": "serving_validation.py",
    "serving_checks.py": "serving_checks.py",
    "serving_fastpath.py": "serving_fastpath.py",
    "standalone.py": None,
    "batch.py": "batch.py",
    "k8s.yaml": "k8s.yaml",
    "README.md": "README.md",
}
# The server's own requirements, pinned to this environment's versions when installed.
# httptools (1.7 MB) is uvicorn's C HTTP parser, used instead of its pure-Python h11 when
# installed: a shorter latency tail (benchmarks/results/container.md); it is listed only when
# installed here, so that every pin stays exact.
SERVER_REQUIREMENTS = ("fastapi", "uvicorn", "starlette", "pydantic", "httptools")
FALLBACK_PINS = {"fastapi": "fastapi>=0.110", "uvicorn": "uvicorn>=0.27"}
DEFAULT_MAX_BODY = 10 * 1024 * 1024
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class ContextConflict(UsageError):
    """Files in ``--out`` that differ from what would be generated."""

    code = "context-conflict"
    status = 409


def check_name(name: str) -> str:
    if not name or not NAME_RE.match(name):
        raise UsageError(
            f"Invalid container name {name!r}.",
            hint="Use letters, digits, '.', '_' or '-' (at most 63, starting with a letter or "
            "digit), e.g. --name churn.",
        )
    return name


def image_repo(name: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("._-") or "model"


def image_version(meta: dict) -> str:
    version = meta.get("version")
    if version not in (None, ""):
        return re.sub(r"[^A-Za-z0-9_.-]", "-", str(version))[:128]
    content = meta.get("content_sha256") or meta.get("metadata_sha256") or "latest"
    return content[:12]


def default_image(name: str, meta: dict) -> str:
    return f"localhost/{image_repo(name)}:{image_version(meta)}"


def python_minor(version: Optional[str]) -> str:
    if version:
        parts = str(version).split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return f"{parts[0]}.{parts[1]}"
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"


def default_base_image(python: Optional[str]) -> str:
    return f"python:{python_minor(python)}-slim"


def k8s_name(name: str) -> str:
    out = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    return (out or "model")[:63].rstrip("-")


@dataclass
class ContextOptions:
    """What the generated files say besides the model's own metadata."""

    name: str
    base_image: str = ""  # "" -> python:<the model's Python major.minor>-slim
    image: str = ""  # "" -> localhost/<name>:<version or content hash>
    engine: str = "podman"  # for the commands in the README
    regenerate: str = ""  # the command that regenerates the context
    notebook: Optional[str] = None
    notebook_hash: Optional[str] = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    parquet: bool = False
    extra_requirements: list = field(default_factory=list)
    # The %%deploy handler cell's body (None: no handler), its cell number and functions.
    handler: Optional[str] = None
    handler_cell: Optional[int] = None
    handler_functions: tuple = ()


def server_requirements(parquet: bool = False) -> list[str]:
    from importlib import metadata

    out = []
    for dist in SERVER_REQUIREMENTS:
        try:
            out.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            if dist in FALLBACK_PINS:
                out.append(FALLBACK_PINS[dist])
    if parquet:
        try:
            out.append(f"pyarrow=={metadata.version('pyarrow')}")
        except metadata.PackageNotFoundError:
            out.append("pyarrow>=15")
    return out


def _req_name(line: str) -> str:
    return re.split(r"[<>=!~;\[ @]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")


def requirements_lines(artefact_reqs: list[str], opts: ContextOptions) -> tuple[list, list]:
    """(the model's pins, the server's additions that the model does not already pin)."""
    model = [r.strip() for r in artefact_reqs if r.strip() and not r.strip().startswith("#")]
    have = {_req_name(r) for r in model}
    server = []
    for req in server_requirements(opts.parquet) + list(opts.extra_requirements or []):
        if _req_name(req) not in have:
            server.append(req)
            have.add(_req_name(req))
    return model, server


def header(meta: dict, opts: ContextOptions, style: str = "#", stable: bool = False) -> str:
    """The provenance header. ``stable`` (requirements.txt) leaves out what changes with every
    model version, so that the image's dependency layer is reused across versions."""
    from .._version import __version__

    nb = opts.notebook or meta.get("notebook") or "(no notebook)"
    nb_hash = opts.notebook_hash or meta.get("notebook_hash") or "unknown"
    version = meta.get("version")
    content = (meta.get("content_sha256") or "")[:12] or "unknown"
    regen = opts.regenerate or f"jupyter deploy container NOTEBOOK --var VAR --name {opts.name}"
    lines = [
        f"Generated by jupyter-deploy {__version__} (container target): do not edit; "
        "regenerate with",
        f"  {regen}",
        f"Source notebook: {nb} (sha256 {nb_hash[:16]})",
        f"Model: {meta.get('name') or opts.name} version "
        f"{version if version is not None else 'unversioned'} (content sha256 {content}), "
        f"{meta.get('model_class') or 'unknown class'}",
    ]
    if stable:
        lines[2:] = [
            f"Source notebook: {nb}; model: {meta.get('name') or opts.name} (its version, the "
            "notebook's hash and",
            "the model's content hash are in model/metadata.json: they are left out here so that "
            "the image's",
            "dependency layer is reused across model versions with the same requirements)",
        ]
    if style == "md":
        return "<!--\n" + "\n".join(lines) + "\n-->\n"
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


def _fill(text: str, values: dict) -> str:
    def sub(match):
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return str(values[key])

    return re.sub(r"\{\{(\w+)\}\}", sub, text)


def _example_records(sample: Optional[dict], limit: int = 1) -> str:
    inputs = (sample or {}).get("inputs") or {}
    cols, data = inputs.get("columns"), inputs.get("data")
    if cols and data:
        recs = [dict(zip(cols, row)) for row in data[:limit]]
        text = json.dumps(recs, ensure_ascii=True, separators=(",", ":"), default=str)
    elif data:
        text = json.dumps(data[:limit], ensure_ascii=True, separators=(",", ":"), default=str)
    else:
        text = '[{"feature": 1.0}]'
    return text.replace("'", "'\\''")


def _memory(model_bytes: int) -> tuple[str, str]:
    mib = 1024 * 1024
    request = max(256, -(-(3 * model_bytes + 200 * mib) // (64 * mib)) * 64)
    return f"{request}Mi", f"{2 * request}Mi"


def render(artefact_dir: os.PathLike | str, opts: ContextOptions) -> dict[str, bytes]:
    """The generated files (not the artefact) as {relative path: bytes}."""
    from .._version import __version__
    from ..model import standalone

    check_name(opts.name)
    art = Path(artefact_dir)
    meta = json.loads((art / "metadata.json").read_text())
    try:
        sample = json.loads((art / "sample.json").read_text())
    except (OSError, ValueError):
        sample = None
    python = python_minor(meta.get("python"))
    base_image = opts.base_image or default_base_image(meta.get("python"))
    image = opts.image or default_image(opts.name, meta)
    version = meta.get("version")
    model_reqs = meta.get("requirements") or []
    model_part, server_part = requirements_lines(model_reqs, opts)
    model_size = (art / "model.pkl").stat().st_size if (art / "model.pkl").exists() else 0
    mem_req, mem_limit = _memory(model_size)
    nb_hash = opts.notebook_hash or meta.get("notebook_hash") or ""
    schema_cols = ((meta.get("input_schema") or {}).get("columns")) or []
    values = {
        "name": opts.name,
        "version": version if version is not None else image_version(meta),
        "python": python,
        "base_image": base_image,
        "image": image,
        "engine": opts.engine or "podman",
        "content_sha256": meta.get("content_sha256") or "",
        "notebook_hash": nb_hash,
        "notebook_hash_short": (nb_hash or "unknown")[:16],
        "notebook_name": Path(opts.notebook or meta.get("notebook") or "notebook").name,
        "model_class": meta.get("model_class") or "unknown",
        "task": meta.get("task") or "model",
        "jd_version": __version__,
        "regenerate": opts.regenerate or f"jupyter deploy container NOTEBOOK --var VAR "
        f"--name {opts.name}",
        "k8s_name": k8s_name(opts.name),
        "max_body_bytes": int(opts.max_body_bytes),
        "memory_request": mem_req,
        "memory_limit": mem_limit,
        "example_records": _example_records(sample),
        "parquet_note": " or Parquet" if opts.parquet else " (Parquet when pyarrow is added)",
        "verdict": meta.get("verdict") or "unchecked",
        "category_note": " (for columns whose encoder rejects unknown categories)"
        if any(c.get("categories") for c in schema_cols) else "",
        "handler_copy": f" {HANDLER_FILE}" if opts.handler is not None else "",
        "handler_keep": f"!{HANDLER_FILE}\n" if opts.handler is not None else "",
    }
    out: dict[str, bytes] = {}
    for rel, template in GENERATED.items():
        style = "md" if rel.endswith(".md") else "#"
        head = header(meta, opts, style, stable=(rel == "requirements.txt"))
        if rel == "requirements.txt":
            body = ["# The model's exact pins (from model/requirements.txt):", *model_part]
            if server_part:
                body += ["# The API server's own:", *server_part]
            text = head + "\n".join(body) + "\n"
        elif rel == "standalone.py":
            text = head + Path(standalone.__file__).read_text()
        else:
            text = head + _fill((TEMPLATES / template).read_text(), values)
        if rel == "Dockerfile" and int(opts.max_body_bytes) != DEFAULT_MAX_BODY:
            text = text.replace("    PORT=8000\n",
                                f"    PORT=8000 \\\n    MAX_BODY_BYTES={int(opts.max_body_bytes)}\n")
        out[rel] = text.encode("utf-8")
    if opts.handler is not None:
        out[HANDLER_FILE] = handler_module(meta, opts).encode("utf-8")
    return out


def handler_module(meta: dict, opts: ContextOptions) -> str:
    """serving_handler.py: the notebook's %%deploy handler cell, as the clean re-run ran it."""
    cell = f"cell {opts.handler_cell}" if opts.handler_cell else "the %%deploy handler cell"
    functions = ", ".join(opts.handler_functions) or "preprocess / postprocess"
    return (header(meta, opts)
            + f"# The serving handler: {cell} of the notebook (%%deploy handler), defining "
            f"{functions}.\n# serving.Model answers postprocess(model.predict(preprocess(rows)), "
            "rows).\n# Edit the notebook's cell, not this file.\n\n"
            + opts.handler.rstrip() + "\n")


def write_context(dest: os.PathLike | str, artefact_dir: os.PathLike | str,
                  opts: ContextOptions) -> dict:
    """Write a complete build context into the new or empty folder ``dest``."""
    dest = Path(dest)
    art = Path(artefact_dir).resolve()
    model_dest = dest / MODEL_DIR
    in_place = art == model_dest.resolve()  # the artefact was written straight into dest/model
    if dest.exists() and any(p.name != MODEL_DIR or not in_place for p in dest.iterdir()):
        raise UsageError(f"{dest} is not empty.", hint="Give a new folder.")
    files = render(artefact_dir, opts)
    dest.mkdir(parents=True, exist_ok=True)
    if not in_place:
        shutil.copytree(art, model_dest)
    for rel, data in files.items():
        (dest / rel).write_bytes(data)
    meta = json.loads((model_dest / "metadata.json").read_text())
    return {
        "files": sorted(files) + sorted(
            f"{MODEL_DIR}/{p.relative_to(model_dest).as_posix()}"
            for p in model_dest.rglob("*") if p.is_file()),
        "image": opts.image or default_image(opts.name, meta),
        "base_image": opts.base_image or default_base_image(meta.get("python")),
    }


# ------------------------------------------------------------------------------ copying to --out


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _content_hash(model_dir: Path) -> Optional[str]:
    try:
        return json.loads((model_dir / "metadata.json").read_text()).get("content_sha256")
    except (OSError, ValueError, AttributeError):
        return None


def _is_our_manifest(path: Path) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == "container" and "jupyter_deploy" in data


def plan_sync(src: os.PathLike | str, dest: os.PathLike | str) -> dict:
    """What copying ``src`` over ``dest`` would do: new, same, changed (conflicts), replaced."""
    src, dest = Path(src), Path(dest)
    plan = {"new": [], "same": [], "changed": [], "replace": []}
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"--out {dest} is a file, not a folder.", hint="Give a folder path.")
    src_files = _files(src)
    same_model = False
    if (dest / MODEL_DIR).is_dir():
        new_hash = _content_hash(src / MODEL_DIR)
        same_model = bool(new_hash) and new_hash == _content_hash(dest / MODEL_DIR)
    for rel, path in src_files.items():
        target = dest / rel
        if not target.exists():
            plan["new"].append(rel)
        elif target.is_dir():
            plan["changed"].append(rel)
        elif target.read_bytes() == path.read_bytes():
            plan["same"].append(rel)
        elif same_model and rel.startswith(MODEL_DIR + "/"):
            plan["same"].append(rel)  # same model content; metadata differs only in time
        elif rel == MANIFEST and _is_our_manifest(target):
            plan["replace"].append(rel)
        else:
            plan["changed"].append(rel)
    return plan


def sync(src: os.PathLike | str, dest: os.PathLike | str, *, overwrite: bool = False) -> dict:
    """Copy the context ``src`` into ``dest``; refuse (writing nothing) on differing files."""
    src, dest = Path(src), Path(dest)
    plan = plan_sync(src, dest)
    if plan["changed"] and not overwrite:
        shown = ", ".join(plan["changed"][:6])
        more = f" and {len(plan['changed']) - 6} more" if len(plan["changed"]) > 6 else ""
        raise ContextConflict(
            f"{dest} already holds different files: {shown}{more}; nothing was written.",
            hint="Pass --overwrite to replace them (files you edited there are lost), or give "
            "another --out.",
            changed=plan["changed"],
        )
    dest.mkdir(parents=True, exist_ok=True)
    if plan["changed"] and (dest / MODEL_DIR).is_dir() and any(
            r.startswith(MODEL_DIR + "/") for r in plan["changed"]):
        # A different model replaces the whole artefact folder (no stale files in the image).
        shutil.rmtree(dest / MODEL_DIR)
        plan["changed"] = [r for r in plan["changed"] if not r.startswith(MODEL_DIR + "/")]
        plan["new"] += [r for r in _files(src) if r.startswith(MODEL_DIR + "/")]
        plan["same"] = [r for r in plan["same"] if not r.startswith(MODEL_DIR + "/")]
    for rel in plan["new"] + plan["changed"] + plan["replace"]:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            shutil.rmtree(target)
        tmp = target.with_name(f".{target.name}.jd-tmp")
        shutil.copyfile(src / rel, tmp)
        os.replace(tmp, target)
    return plan
