"""Reading notebooks safely, and the content hash every record and cache key uses."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import NotebookInvalid, NotebookNotFound

# Metadata that changes without the notebook's meaning changing.
_VOLATILE_CELL_METADATA = {"execution", "collapsed", "scrolled", "jupyter", "ExecuteTime"}


# The lines that are jupyter-deploy's own: during a clean re-run they only say they were skipped.
DEPLOY_MAGICS = ("%deploy", "%%deploy")
EXTENSION_LINES = ("%load_ext jupyter_deploy", "%reload_ext jupyter_deploy")


def cell_name(index: int) -> str:
    """How a message names the cell at 0-based ``index``: JupyterLab's number, counted from 1
    over every cell (markdown too), as its status bar's "Cell 11/11" shows it. A finding's
    ``cell`` field stays the 0-based index (for links); see :func:`number_findings`."""
    return f"cell {index + 1}"


def number_findings(findings: list, nb) -> list:
    """Give each finding that points at a cell the number a person sees: ``cell_number``
    (JupyterLab's, from 1) and, when the saved notebook has one, the cell's ``execution_count``
    (the ``[7]`` beside it). Changes the findings in place and returns them."""
    cells = (nb.get("cells") if isinstance(nb, dict) else getattr(nb, "cells", None)) or []
    for f in findings:
        i = f.get("cell")
        if not isinstance(i, int) or isinstance(i, bool) or i < 0:
            continue
        f["cell_number"] = i + 1
        if i < len(cells):
            count = cells[i].get("execution_count")
            if isinstance(count, int):
                f["execution_count"] = count
    return findings


def code_lines(source) -> list[str]:
    text = "".join(source) if isinstance(source, list) else str(source or "")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def runs_deploy(source) -> bool:
    """Whether a cell's source has a ``%deploy``/``%%deploy`` line: its outputs are the magic's
    (not the notebook's), and a clean re-run does not reproduce them. A ``%%deploy handler``
    cell is not one: its body runs in the clean re-run too, and its outputs are compared."""
    if is_handler(source):
        return False
    return any(ln.startswith(DEPLOY_MAGICS) for ln in code_lines(source))


def is_handler(source) -> bool:
    """Whether a cell is a ``%%deploy handler`` cell (the serving handler: its body is Python
    that defines ``preprocess(frame)`` and/or ``postprocess(prediction, frame)``)."""
    text = "".join(source) if isinstance(source, list) else str(source or "")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    return first.startswith("%%deploy") and first.split()[:2] == ["%%deploy", "handler"]


def only_deploy(source) -> bool:
    """Whether every line of a cell is ``%deploy`` or loads the extension (a cell that does
    nothing for the notebook's results)."""
    lines = code_lines(source)
    return bool(lines) and all(ln.startswith(DEPLOY_MAGICS + EXTENSION_LINES) for ln in lines)


def resolve_path(path: os.PathLike | str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise NotebookNotFound(
            f"Notebook not found: {p}",
            hint="Check the path; it is relative to the current directory.",
        )
    if p.is_dir():
        raise NotebookInvalid(f"{p} is a folder, not a notebook.", hint="Give an .ipynb file.")
    return p.resolve()


def read_json(path: os.PathLike | str) -> dict:
    """The notebook file's JSON, plainly parsed (no nbformat import: the cache path and the
    unsaved-edit warning stay fast); a missing, unreadable or non-JSON file is a one-line
    NotebookInvalid / NotebookNotFound."""
    p = resolve_path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise NotebookInvalid(f"Cannot read {p}: {exc.strerror}.", hint="Check its permissions.")
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as exc:
        raise NotebookInvalid(
            f"{p.name} is not a notebook: its JSON is invalid ({exc}).",
            hint="Open it in a text editor, or restore it from a backup or version control.",
        ) from exc
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise NotebookInvalid(
            f"{p.name} is JSON but not a notebook (no 'cells').",
            hint="Give a Jupyter .ipynb file.",
        )
    return data


def read(path: os.PathLike | str, data: dict | None = None):
    """Read and validate a notebook as nbformat 4; raise a one-line error otherwise. ``data``
    is the file's JSON when the caller has already read it (:func:`read_json`): the file is
    parsed once per check or deploy."""
    import nbformat

    p = resolve_path(path)
    if data is None:
        data = read_json(p)
    major = data.get("nbformat")
    if major != 4:
        raise NotebookInvalid(
            f"{p.name} is in notebook format {major}; jupyter-deploy reads format 4.",
            hint=f"Convert it: jupyter nbconvert --to notebook --nbformat 4 {p.name}",
        )
    try:
        nb = from_json(data)
        nbformat.validate(nb, relax_add_props=True)
    except Exception as exc:  # nbformat raises ValidationError and friends
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotebookInvalid(
            f"{p.name} is not a valid notebook: {msg}",
            hint="Open and save it in JupyterLab to repair it.",
        ) from exc
    return nb


def from_json(data: dict):
    """A NotebookNode from parsed JSON, with multi-line strings joined as nbformat.read does."""
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines, strip_transient

    return strip_transient(rejoin_lines(nbformat.from_dict(data)))


def _joined(text) -> str:
    return "".join(text) if isinstance(text, list) else (text or "")


def content_hash(nb) -> str:
    """sha256 over what the notebook says and shows: cell types, sources, outputs and kernel.

    Execution timestamps, widget state and UI flags (collapsed, scrolled) are left out, so
    opening and saving a notebook without changing it keeps its hash. Takes a NotebookNode or
    the plain JSON dict (sources as strings or lists of lines give the same hash).
    """
    cells = []
    for cell in nb["cells"]:
        entry = {"type": cell["cell_type"], "source": _joined(cell.get("source"))}
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k not in _VOLATILE_CELL_METADATA}
        if meta:
            entry["metadata"] = meta
        if cell["cell_type"] == "code":
            entry["outputs"] = [_joined_output(o) for o in cell.get("outputs", [])]
            entry["count"] = cell.get("execution_count")
        cells.append(entry)
    ks = (nb.get("metadata") or {}).get("kernelspec", {}) or {}
    payload = {"kernel": ks.get("name"), "language": ks.get("language"), "cells": cells}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _joined_output(output: dict) -> dict:
    """An output with multi-line strings joined, as nbformat.read gives them (plain JSON works
    too, so the cache can be consulted without importing nbformat)."""
    out = dict(output)
    if "text" in out:
        out["text"] = _joined(out["text"])
    if isinstance(out.get("data"), dict):
        out["data"] = {k: (_joined(v) if isinstance(v, list) else v) for k, v in out["data"].items()}
    out.pop("transient", None)
    return out


def kernel_name(nb) -> str | None:
    """The kernel the notebook's metadata names (a NotebookNode or its plain JSON)."""
    ks = (nb.get("metadata") or {}).get("kernelspec") or {}
    return ks.get("name")
