"""Papermill's parameter convention: values injected in a new cell after the one tagged
``parameters`` (the new cell is tagged ``injected-parameters``), so one notebook gives one
report per region, month or customer."""

from __future__ import annotations

import ast
import copy

from ..errors import UsageError

TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def parse_value(text: str):
    """``--param k=v`` values: Python literals when they parse (3, 0.5, 'x', [1, 2]), else text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def declared(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for t in targets:
            if isinstance(t, ast.Name) and t.id not in names:
                names.append(t.id)
    return names


def inject(nb, parameters: dict):
    """A copy of ``nb`` with ``parameters`` injected; refuses names the notebook does not declare."""
    if not parameters:
        return nb
    index = next(
        (i for i, c in enumerate(nb.cells) if TAG in c.get("metadata", {}).get("tags", [])), None
    )
    if index is None:
        raise UsageError(
            "The notebook has no cell tagged 'parameters', so it takes no parameters.",
            hint="Tag the cell that sets the defaults with 'parameters' (papermill's convention).",
        )
    known = declared(nb.cells[index].source)
    unknown = [k for k in parameters if k not in known]
    if unknown:
        raise UsageError(
            f"The notebook does not declare the parameter(s) {', '.join(unknown)}.",
            hint=f"Its parameters cell declares: {', '.join(known) or 'nothing'}.",
        )
    import nbformat

    out = copy.deepcopy(nb)
    lines = ["# Parameters injected by jupyter-deploy"]
    lines += [f"{k} = {v!r}" for k, v in parameters.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = [INJECTED_TAG]
    out.cells.insert(index + 1, cell)
    return out


def map_cells_back(findings: list[dict], run_nb) -> list[dict]:
    """Findings on the injected notebook, with cell indices of the user's notebook: the injected
    cell's findings point at the parameters cell, and later cells move up by one."""
    injected = next(
        (i for i, c in enumerate(run_nb.cells) if INJECTED_TAG in c.get("metadata", {}).get("tags", [])),
        None,
    )
    if injected is None:
        return findings
    for f in findings:
        cell = f.get("cell")
        if cell is not None and cell >= injected:
            f["cell"] = cell - 1 if cell > injected else injected - 1
    return findings
