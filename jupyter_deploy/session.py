"""The live session's side of a notebook: which notebook a kernel runs, and its unsaved edits.

The magics and the widget panel both need these; neither imports the other for them. Light on
purpose (no nbformat, no IPython): ``%load_ext jupyter_deploy`` imports it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from .errors import UsageError
from .notebook import code_lines, only_deploy, read_json

# Set in the check's clean kernel (same value as check.run.CLEAN_RUN_ENV, kept light here).
CLEAN_RUN_ENV = "JUPYTER_DEPLOY_CLEAN_RUN"


def notebook_path(shell, explicit: Optional[str] = None) -> Path:
    """The notebook this kernel runs: --notebook, else what Jupyter or VS Code tells the kernel."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    candidates = []
    vsc = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    if vsc:
        candidates.append(Path(vsc))
    session = os.environ.get("JPY_SESSION_NAME")
    if session:
        p = Path(session)
        candidates += [p, Path.cwd() / p.name] if p.is_absolute() else [Path.cwd() / p, Path.cwd() / p.name]
    for c in candidates:
        if c.suffix == ".ipynb" and c.is_file():
            return c.resolve()
    raise UsageError(
        "Cannot tell which notebook this kernel belongs to.",
        hint="Add --notebook PATH (the .ipynb file, saved), e.g. %deploy check --notebook analysis.ipynb",
    )


def unsaved_inputs(shell, path: Path, last: int = 50) -> int:
    """How many of the cells this kernel ran last are not in the notebook as saved on disk.

    The check and every deploy read the saved file, not the live notebook: a cell edited and run
    but not saved (or the very cell running ``%deploy``) shows up here.
    """
    try:  # plain JSON: nbformat's validator would cost seconds of imports here
        raw = list(getattr(shell.history_manager, "input_hist_raw", []) or [])[-last:]
        cells = read_json(path).get("cells", [])
    except Exception:  # noqa: BLE001 - no history or unreadable file: nothing to warn about
        return 0
    saved = {("".join(c.get("source", "")) if isinstance(c.get("source"), list)
              else str(c.get("source", ""))).strip()
             for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"}
    # %deploy / %load_ext lines do nothing in the clean run: a new, unsaved one does not matter
    ran = [src.strip() for src in raw if code_lines(src) and not only_deploy(src)]
    if not any(src in saved for src in ran):
        return 0  # this kernel is not running that notebook (--notebook names another one)
    return sum(1 for src in ran if src not in saved)


def warn_if_unsaved(shell, path: Path) -> None:
    n = unsaved_inputs(shell, path)
    if n:
        print(f"Warning: {n} cell(s) this kernel ran are not in {path.name} as saved: the check "
              "reads the saved file, so unsaved edits are not part of it. Save the notebook "
              "(Ctrl+S) first to check what you see.", file=sys.stderr)


def session_config(shell):
    """The :class:`~jupyter_deploy.config.DeployConfig` of a live session: config files, then what
    ``%config`` set in this shell (``%config DeployConfig.cell_timeout = 3``,
    ``%config ModelTarget.registry = ...``). A fresh object per call: flags given to one
    ``%deploy`` line never stay."""
    from .config import deploy_config

    return deploy_config(extra=getattr(shell, "config", None))


def register_config(shell) -> None:
    """Make ``%config DeployConfig`` list and validate the options (IPython's ``%config`` sets the
    traits of the configurables the shell knows, and keeps them in ``shell.config``)."""
    from .config import DeployConfig

    configurables = getattr(shell, "configurables", None)
    if configurables is None or any(isinstance(c, DeployConfig) for c in configurables):
        return
    configurables.append(DeployConfig(parent=shell))
