"""``%deploy`` and ``%%deploy``: the notebook front end.

    %deploy                      the ipywidgets panel
    %deploy check [--runs N]     check repeatability (progress bar, findings, verdict; --kernel K)
    %deploy <target> ...         deploy (the same options as ``jupyter deploy <target>``)
    %deploy history              this notebook's checks and deployments
    %%deploy <target>            the cell holds more options, one or more per line

Every error reaches the user as one line (an IPython ``UsageError``), never a traceback. During a
clean re-run (the check's own kernel) every ``%deploy`` line does nothing but say so.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .errors import DeployError

CLEAN_RUN_ENV = "JUPYTER_DEPLOY_CLEAN_RUN"  # same value as check.run.CLEAN_RUN_ENV, kept light


def notebook_path(shell, explicit: Optional[str] = None) -> Path:
    """The notebook this kernel runs: --notebook, else what Jupyter or VS Code tells the kernel."""
    from .errors import UsageError

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
    import json

    from .notebook import code_lines, only_deploy

    try:  # plain JSON: nbformat's validator would cost seconds of imports here
        raw = list(getattr(shell.history_manager, "input_hist_raw", []) or [])[-last:]
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
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


class _Bar:
    """A text progress bar that redraws itself in place in a notebook (one output line)."""

    def __init__(self):
        self.handle = None
        self.in_kernel = "ipykernel" in sys.modules

    def __call__(self, event):
        width = 30
        frac = event.fraction if event.total else 0
        bar = "█" * int(width * frac) + "░" * (width - int(width * frac))
        text = f"{bar} {event.stage}: {event.message}"
        if self.in_kernel:
            from IPython.display import display
            from IPython.display import Pretty

            if self.handle is None:
                self.handle = display(Pretty(text), display_id=True)
            else:
                self.handle.update(Pretty(text))
        else:
            sys.stderr.write("\r" + text[:100].ljust(100))
            sys.stderr.flush()

    def close(self):
        if self.handle is not None:
            self.handle.update({"text/plain": ""}, raw=True)
        elif not self.in_kernel:
            sys.stderr.write("\r" + " " * 100 + "\r")


class _Rich:
    """Shows HTML in a notebook and text in a terminal."""

    def __init__(self, text: str, html: str):
        self.text, self.html = text, html

    def _repr_html_(self):
        return self.html

    def __repr__(self):
        return self.text


@magics_class
class DeployMagics(Magics):
    @line_cell_magic
    def deploy(self, line: str = "", cell: Optional[str] = None):
        """Check a notebook's repeatability and deploy it. `%deploy --help` for details."""
        if os.environ.get(CLEAN_RUN_ENV):
            print(f"%deploy {line.strip()}: skipped during jupyter-deploy's clean re-run.")
            return None
        try:
            return self._run(line, cell)
        except DeployError as exc:
            raise IPythonUsageError(exc.one_line()) from None
        except KeyboardInterrupt:
            raise IPythonUsageError("%deploy was interrupted; nothing was handed off.") from None
        except Exception as exc:  # a bug: one line, the traceback only when asked for
            if os.environ.get("JUPYTER_DEPLOY_DEBUG"):
                raise
            line = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise IPythonUsageError(
                f"internal error: {line} -- this is a bug; set JUPYTER_DEPLOY_DEBUG=1 for the "
                "traceback and report it."
            ) from None

    def _run(self, line: str, cell: Optional[str]):
        from .options import _HelpShown, split_line

        args = split_line(line)
        if cell:
            for row in cell.splitlines():
                row = row.strip()
                if row and not row.startswith("#"):
                    args += split_line(row)
        if not args:
            from .widget import DeployPanel

            return DeployPanel.for_shell(self.shell)
        command, rest = args[0], args[1:]
        try:
            if command in ("-h", "--help", "help"):
                print(self._help())
                return None
            if command == "check":
                return self._check(rest)
            if command == "history":
                return self._history(rest)
            if command == "models":
                from .cli import cmd_models

                cmd_models(rest)
                return None
            return self._deploy(command, rest)
        except _HelpShown as shown:
            if shown.args[0]:
                print(shown.args[0])
            return None

    def _help(self) -> str:
        from . import plugins

        return (__doc__ or "") + "\nTargets: " + ", ".join(plugins.names(plugins.TARGETS))

    def _check(self, argv):
        from . import api
        from .options import ArgumentParser
        from .render import check_html, check_text

        p = ArgumentParser(prog="%deploy check")
        p.add_argument("--notebook")
        p.add_argument("--runs", type=int)
        p.add_argument("--timeout", type=int)
        p.add_argument("--kernel")
        p.add_argument("--no-cache", action="store_true")
        p.add_argument("--record", action="store_true")
        ns = p.parse_args(argv)
        path = notebook_path(self.shell, ns.notebook)
        warn_if_unsaved(self.shell, path)
        bar = _Bar()
        try:
            report = api.check(
                path, runs=ns.runs, timeout=ns.timeout, kernel=ns.kernel,
                use_cache=False if ns.no_cache else None, record=True,
                write_metadata=ns.record, progress=bar,
            )
        finally:
            bar.close()
        return _Rich(check_text(report), check_html(report))

    def _history(self, argv):
        from . import api
        from .options import ArgumentParser
        from .render import history_html, history_text

        p = ArgumentParser(prog="%deploy history")
        p.add_argument("--notebook")
        p.add_argument("--all", action="store_true", help="Every notebook's history.")
        p.add_argument("--limit", type=int, default=20)
        ns = p.parse_args(argv)
        nb = None if ns.all else notebook_path(self.shell, ns.notebook)
        records = api.history(nb, limit=ns.limit)
        return _Rich(history_text(records), history_html(records))

    def _deploy(self, target: str, argv):
        from . import api, plugins
        from .options import magic_parser, options_from
        from .render import result_html, result_text

        cls = plugins.target_class(target)
        ns = magic_parser(cls).parse_args(argv)
        options = options_from(ns, cls)
        path = notebook_path(self.shell, ns.notebook)
        warn_if_unsaved(self.shell, path)
        bar = _Bar()
        try:
            result = api.deploy(
                target, path, options=options, to=ns.to, force=ns.force,
                live=self.shell.user_ns, progress=bar,
            )
        finally:
            bar.close()
        return _Rich(result_text(result), result_html(result))


def load_ipython_extension(ipython):
    ipython.register_magics(DeployMagics)


def unload_ipython_extension(ipython):  # pragma: no cover - IPython has no unregister
    pass
