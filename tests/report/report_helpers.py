"""Helpers of the report tests: tool checks, real executed notebooks, a DeployContext."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def need(tool: str, what: str | None = None) -> str:
    """The path of ``tool``; skip without it, but FAIL under CI (CI must have everything)."""
    found = shutil.which(tool)
    if found:
        return found
    from jdtest import need

    need(False, tool, what or f"apt-get install -y {tool}")


def new_notebook(cells: list) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    out = []
    for item in cells:
        if isinstance(item, nbformat.NotebookNode):
            out.append(item)
        elif isinstance(item, tuple):
            kind, source, *rest = item
            tags = rest[0] if rest else []
            maker = nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell
            cell = maker(source)
            if tags:
                cell.metadata["tags"] = list(tags)
            out.append(cell)
        else:
            out.append(nbformat.v4.new_code_cell(item))
    nb.cells = out
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(nb, cwd: Path) -> nbformat.NotebookNode:
    """Run ``nb`` in a fresh kernel with nbclient (a real clean run)."""
    from nbclient import NotebookClient

    NotebookClient(nb, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


BASIC_CELLS = [
    ("md", "# Quarterly sales\n\nRevenue by region, from a clean run."),
    ("code", "region = 'EMEA'\nmonths = 3", ["parameters"]),
    ("code", "import matplotlib.pyplot as plt\n"
             "fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([1, 2, 3], [3, 1, 2])\n"
             "ax.set_title('trend')\nplt.show()"),
    ("code", "HIDDEN_INPUT_MARKER = 1\nprint('shown output of a remove_input cell')", ["remove_input"]),
    ("code", "HIDE_INPUT_MARKER = 2\nprint('shown output of a hide-input cell')", ["hide-input"]),
    ("code", "print('REMOVED_CELL_OUTPUT')", ["remove_cell"]),
    ("code", "VISIBLE_CODE_MARKER = 3\nprint(f'fresh result for {region}: {months * 2}')"),
]


def make_ctx(executed: Path, tmp_path: Path, *, verdict="repeatable", force=False, reasons=None,
             parameters=None, notebook: Path | None = None):
    """A DeployContext as api.deploy builds one, around an executed copy made by a real kernel."""
    from jupyter_deploy.config import deploy_config
    from jupyter_deploy.progress import Reporter
    from jupyter_deploy.plugin import DeployContext, ObjectSource

    nb_path = notebook or executed
    workdir = tmp_path / "work"
    workdir.mkdir(exist_ok=True)
    check = {
        "verdict": verdict,
        "reasons": list(reasons or []),
        "executed_path": str(executed),
        "parameters": dict(parameters or {}),
        "environment": {
            "python": "3.11.7",
            "implementation": "CPython",
            "platform": "Linux-6.1-x86_64",
            "requirements": ["matplotlib==3.8.0", "numpy==1.26.4", "pandas==2.2.0", "six==1.16.0"],
            "direct": ["matplotlib==3.8.0"],
        },
        "notebook_hash": "sha256:" + "ab" * 32,
    }
    return DeployContext(
        notebook=nb_path,
        notebook_hash=check["notebook_hash"],
        check=check,
        objects=ObjectSource(None, live={}),
        reporter=Reporter(),
        workdir=workdir,
        config=deploy_config(),
        force=force,
    )
