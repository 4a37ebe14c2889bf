"""``%deploy`` and ``%%deploy``: the notebook front end.

    %deploy                      the ipywidgets panel
    %deploy check [--runs N]     check repeatability (progress bar, findings, verdict; --kernel K)
    %deploy <target> ...         deploy (the same options as ``jupyter deploy <target>``)
    %deploy history              this notebook's checks and deployments
    %%deploy <target>            the cell holds more options, one or more per line
    %%deploy handler             the cell's Python defines preprocess(frame) and/or
                                 postprocess(prediction, frame): the container's API runs them
                                 around the model's predict

Every error reaches the user as one line (an IPython ``UsageError``), never a traceback. During a
clean re-run (the check's own kernel) every ``%deploy`` line does nothing but say so, except a
``%%deploy handler`` cell, whose body runs there too.
"""

from __future__ import annotations

import os
import sys
from typing import Optional

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from .errors import DeployError
# notebook_path and unsaved_inputs stay importable from here
from .session import (  # noqa: F401 (notebook_path, unsaved_inputs: re-exported)
    CLEAN_RUN_ENV,
    notebook_path,
    register_config,
    session_config,
    unsaved_inputs,
    warn_if_unsaved,
)


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
        if line.split()[:1] == ["handler"]:
            # %%deploy handler: its body runs in the clean re-run too (later cells may use it)
            return self._handler(line, cell)
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

    def _handler(self, line: str, cell: Optional[str]):
        """``%%deploy handler``: check the body (one-line errors, nothing run), run it in the
        notebook's namespace, and say what the container target will ship. The same line is
        printed in the live kernel and in the clean re-run, so the cell's outputs compare."""
        from .errors import DeployError
        from .handler import MAGIC, HandlerError, check_body

        if cell is None:
            raise IPythonUsageError(f"handler is a cell magic: start a cell with {MAGIC} and "
                                    "define preprocess(frame) and/or postprocess(prediction, "
                                    "frame) in it.")
        try:
            handler = check_body(" ".join(line.split()[1:]), cell)
        except DeployError as exc:
            raise IPythonUsageError(exc.one_line()) from None
        result = self.shell.run_cell(cell, store_history=False)
        if not result.success:
            raise IPythonUsageError(
                "the %%deploy handler cell raised an error (above); fix it and run it again.")
        missing = [n for n in handler.functions if not callable(self.shell.user_ns.get(n))]
        if missing:
            raise IPythonUsageError(HandlerError(
                f"the %%deploy handler cell did not define {', '.join(missing)}.",
                hint="Define them at the top level of the cell.").one_line())
        print(f"serving handler: {handler.signature_text()} "
              "(%deploy container ships this cell with the model)")
        return None

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
                return self._models(rest)
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
        from .options import ArgumentParser, add_check_arguments, check_options_from
        from .render import check_html, check_text

        p = ArgumentParser(prog="%deploy check")
        p.add_argument("--notebook")
        add_check_arguments(p)  # --runs, --timeout, --cell-timeout, --kernel, --no-cache
        p.add_argument("--record", action="store_true",
                       help="Record the verdict in the notebook's metadata.")
        ns = p.parse_args(argv)
        path = notebook_path(self.shell, ns.notebook)
        warn_if_unsaved(self.shell, path)
        bar = _Bar()
        try:
            report = api.check(
                path, options=check_options_from(ns), record=True, write_metadata=ns.record,
                progress=bar, config=session_config(self.shell),
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
        records = api.history(nb, limit=ns.limit, config=session_config(self.shell))
        return _Rich(history_text(records), history_html(records))

    def _models(self, argv):
        from . import api
        from .options import ArgumentParser
        from .render import models_text

        p = ArgumentParser(prog="%deploy models")
        p.add_argument("name", nargs="?")
        p.add_argument("--registry", help="Registry folder or URL (default: the configured one).")
        ns = p.parse_args(argv)
        rows = api.models(ns.name, registry=ns.registry, config=session_config(self.shell))
        print(models_text(rows, ns.name))

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
                live=self.shell.user_ns, progress=bar, config=session_config(self.shell),
            )
        finally:
            bar.close()
        return _Rich(result_text(result), result_html(result))


def load_ipython_extension(ipython):
    register_config(ipython)
    ipython.register_magics(DeployMagics)


def unload_ipython_extension(ipython):  # pragma: no cover - IPython has no unregister
    pass
