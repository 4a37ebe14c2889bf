"""``jupyter deploy``: the command-line front end (also ``jupyter-deploy``).

    jupyter deploy check NOTEBOOK [--runs N] [--timeout S] [--kernel NAME] [--json] [--record]
    jupyter deploy check PATH... [--jobs N] [--junit FILE] [--shard I/N] [--json]
    jupyter deploy <target> NOTEBOOK [target options] [--to DEST] [--force] [--json]
    jupyter deploy history [NOTEBOOK] [--json]
    jupyter deploy models [NAME] [--registry URL] [--json]
    jupyter deploy targets [--json]

Exit codes: 0 success (a check that is repeatable, with or without warnings; with several
notebooks, all of them); 1 a notebook is not repeatable or could not be judged, or a deploy
failed; 2 a usage error (bad arguments, missing file, no notebook found...).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

from . import plugins
from .errors import DeployError, UsageError
from .options import (
    ArgumentParser,
    _HelpShown,
    add_check_arguments,
    add_destination_argument,
    add_plugin_arguments,
    check_options_from,
    options_from,
)

USAGE_CODES = {
    "usage", "notebook-not-found", "notebook-invalid", "unknown-plugin", "path-not-allowed",
    "kernel", "variable-not-found",
}

BUILTIN = ("check", "history", "models", "targets")


class _Progress:
    """Progress on stderr: a bar that redraws itself on a terminal, stage lines otherwise."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last_stage = None

    def __call__(self, event):
        if self.quiet:
            return
        if self.tty and event.total:
            width = 24
            filled = int(width * event.done / event.total)
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(f"\r[{bar}] {event.stage:<8} {event.message[:60]:<60}")
            if event.done >= event.total:
                sys.stderr.write("\n")
            sys.stderr.flush()
        elif event.stage != self.last_stage or (event.message and not event.total):
            sys.stderr.write(f"{event.stage}: {event.message}\n")
        self.last_stage = event.stage


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _main_parser() -> ArgumentParser:
    targets = ", ".join(plugins.names(plugins.TARGETS))
    p = ArgumentParser(
        prog="jupyter deploy",
        description="Take a notebook to production: check it re-runs cleanly, deploy it, prove it.",
        epilog=f"Targets: {targets}. Run 'jupyter deploy COMMAND --help' for a command's options.",
    )
    p.add_argument("command", help="check, history, models, targets, or a target: " + targets)
    p.add_argument("--version", action="version", version=_version())
    return p


def _version() -> str:
    from ._version import __version__

    return f"jupyter-deploy {__version__}"


def cmd_check(argv) -> int:
    p = ArgumentParser(prog="jupyter deploy check", description="Check that notebooks re-run "
                       "cleanly and reproduce their saved outputs: one notebook, or every "
                       "notebook in folders and globs (a summary table, exit 1 if any is not "
                       "repeatable).")
    p.add_argument("notebook", nargs="+", help="Notebooks, folders (searched recursively) or "
                   "quoted globs ('**/*.ipynb').")
    add_check_arguments(p)  # --runs, --timeout, --cell-timeout, --kernel, --no-cache
    p.add_argument("--record", action="store_true",
                   help="Record the verdict in the notebook's metadata (the only change made to it).")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="Inject a papermill-style parameter.")
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="Notebooks checked at once, each in its own kernel (default 1).")
    p.add_argument("--junit", metavar="FILE", help="Also write a JUnit XML report (one test "
                   "case per notebook) for CI.")
    p.add_argument("--shard", metavar="I/N", help="Check only the I-th of N parts of the "
                   "notebooks (a CI matrix); a notebook's part depends on its path only.")
    p.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
    p.add_argument("-q", "--quiet", action="store_true", help="No progress on stderr.")
    p.add_argument("--explain-drift", action="store_true", help="For the differences every "
                   "clean run agrees on, re-run the notebook with its packages as of its last "
                   "change (uv --exclude-newer) and name the upgrade that changes each cell "
                   "(one notebook; needs uv and the package index; a few runs).")
    ns = p.parse_args(argv)
    from .check.parameters import parse_value

    params = {}
    for item in ns.param:
        if "=" not in item:
            raise UsageError(f"--param needs KEY=VALUE, got {item!r}.")
        k, v = item.split("=", 1)
        params[k] = parse_value(v)
    if ns.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {ns.jobs}.", hint="Use --jobs 1 or more.")
    if ns.shard is not None:
        from .many import parse_shard

        parse_shard(ns.shard)
    if ns.junit:
        from .junit import check_writable

        check_writable(ns.junit)
    options = dict(options=check_options_from(ns), parameters=params, write_metadata=ns.record)
    from .many import is_glob

    single = (len(ns.notebook) == 1 and ns.shard is None and not is_glob(ns.notebook[0])
              and not os.path.isdir(os.path.expanduser(ns.notebook[0])))
    if not single:
        if ns.explain_drift:
            raise UsageError("--explain-drift explains one notebook at a time.",
                             hint="Give one notebook path.")
        return _check_many(ns, options)
    import time

    from . import api

    started = time.monotonic()
    report = api.check(ns.notebook[0], record=True, progress=_Progress(ns.quiet or ns.json), **options)
    unexplained = None
    if ns.explain_drift:
        from .errors import EnvironmentBuildError

        try:
            report["drift_explanation"] = api.explain_drift(
                ns.notebook[0], report=report, kernel=ns.kernel,
                progress=_Progress(ns.quiet or ns.json))
        except EnvironmentBuildError as exc:  # the check's answer is still printed, then this
            report["drift_explanation"] = {"error": exc.to_json()}
            unexplained = exc
    if ns.junit:
        from .junit import write_junit
        from .many import _row, summary

        rows = [_row(Path(report["notebook"]), os.getcwd(), report, time.monotonic() - started, None)]
        write_junit(ns.junit, rows, summary(rows))
    if ns.json:
        _print_json(report)
    else:
        from .render import check_text

        print(check_text(report))
        if ns.explain_drift and unexplained is None:
            from .check.explain import explanation_text

            print(explanation_text(report["drift_explanation"]))
    if unexplained is not None:
        if ns.json:
            return 1  # the error is in the report (one JSON object)
        raise unexplained
    return 1 if report["verdict"] == "not-repeatable" else 0


def _check_many(ns, options: dict) -> int:
    """Every notebook of folders and globs: progress lines, one table (or JSON), JUnit."""
    import time

    from . import many

    notebooks = many.find_notebooks(ns.notebook)
    found = len(notebooks)
    if ns.shard:
        notebooks = many.shard(notebooks, ns.shard)
    quiet = ns.quiet or ns.json
    if not quiet:
        where = f" (shard {ns.shard} of the {found} found)" if ns.shard else ""
        jobs = min(ns.jobs, max(1, len(notebooks)))
        sys.stderr.write(f"checking {len(notebooks)} notebook{'s' if len(notebooks) != 1 else ''}"
                         f"{where} with {jobs} job{'s' if jobs != 1 else ''}\n")
        sys.stderr.flush()

    def done(row, finished, total):
        if not quiet:
            sys.stderr.write(many.progress_line(row, finished, total) + "\n")
            sys.stderr.flush()

    started = time.monotonic()
    rows = many.check_many(notebooks, jobs=ns.jobs, options=options, on_done=done)
    summary = many.summary(rows, wall=time.monotonic() - started, jobs=min(ns.jobs, max(1, len(rows))),
                           shard_spec=ns.shard)
    summary["found"] = found
    if ns.junit:
        from .junit import write_junit

        write_junit(ns.junit, rows, summary)
    if ns.json:
        _print_json({"summary": summary, "notebooks": rows})
    elif rows:
        print(many.table_text(rows, summary))
    else:
        print(f"shard {ns.shard}: none of the {found} notebooks found falls in this shard.")
    return 0 if summary["ok"] else 1


def cmd_history(argv) -> int:
    p = ArgumentParser(prog="jupyter deploy history", description="Past checks and deployments.")
    p.add_argument("notebook", nargs="?")
    p.add_argument("--target")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    ns = p.parse_args(argv)
    from . import api

    records = api.history(ns.notebook, target=ns.target, limit=ns.limit)
    if ns.json:
        _print_json(records)
    else:
        from .render import history_text

        print(history_text(records))
    return 0


def cmd_models(argv) -> int:
    p = ArgumentParser(prog="jupyter deploy models",
                       description="Models in a registry, or the versions and aliases of one.")
    p.add_argument("name", nargs="?")
    p.add_argument("--registry", help="Registry folder or URL (default: the configured one).")
    p.add_argument("--json", action="store_true")
    ns = p.parse_args(argv)
    from . import api
    from .render import models_text

    rows = api.models(ns.name, registry=ns.registry)
    if ns.json:
        _print_json(rows)
        return 0
    print(models_text(rows, ns.name))
    return 0


def cmd_targets(argv) -> int:
    p = ArgumentParser(prog="jupyter deploy targets", description="Installed targets and backends.")
    p.add_argument("--json", action="store_true")
    ns = p.parse_args(argv)
    from . import api

    t, b = api.targets(), api.backends()
    if ns.json:
        _print_json({"targets": t["targets"], "backends": b["backends"], "broken": t["broken"] + b["broken"]})
        return 0
    print("Targets:")
    for d in t["targets"]:
        print(f"  {d['name']:<12} {d['description'][:90]}")
    print("Backends:")
    for d in b["backends"]:
        print(f"  {d['name']:<16} takes {','.join(d['accepts']):<10} {d['description'][:70]}")
    for d in t["broken"] + b["broken"]:
        print(f"  broken: {d['name']}: {d['error']}")
    return 0


def cmd_target(name: str, argv) -> int:
    cls = plugins.target_class(name)
    p = ArgumentParser(prog=f"jupyter deploy {name}", description=cls.describe()["description"])
    p.add_argument("notebook", help="The notebook to deploy (it is checked first).")
    add_plugin_arguments(p, cls, positional=False)
    add_destination_argument(p, cls)
    p.add_argument("--force", action="store_true",
                   help="Deploy even if the notebook is not repeatable (recorded as forced).")
    p.add_argument("--json", action="store_true", help="Print the result as one JSON object.")
    p.add_argument("-q", "--quiet", action="store_true", help="No progress on stderr.")
    ns = p.parse_args(argv)
    options = options_from(ns, cls)
    from . import api

    result = api.deploy(name, ns.notebook, options=options, to=ns.to, force=ns.force,
                        progress=_Progress(ns.quiet or ns.json))
    if ns.json:
        _print_json(result)
    else:
        from .render import result_text

        print(result_text(result))
    return 0


def run(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        try:
            _main_parser().parse_args(argv or ["--help"])
        except _HelpShown as shown:
            if shown.args[0]:
                print(shown.args[0])
        return 0 if argv else 2
    if argv[0] == "--version":
        print(_version())
        return 0
    command, rest = argv[0], argv[1:]
    handlers = {"check": cmd_check, "history": cmd_history, "models": cmd_models, "targets": cmd_targets}
    if command in handlers and command != "check":
        return handlers[command](rest)
    # A check or a deploy: this process is the tool's own, so SIGTERM stops it in order (a
    # hand-off in progress finishes, temp work is removed) and every temporary file, a library's
    # too, goes to the tool's temp folder (swept if this process is killed).
    from . import stopping, tmp

    stopping.install()
    with tmp.session(redirect=True):
        return cmd_check(rest) if command == "check" else cmd_target(command, rest)


def main(argv: Optional[list[str]] = None) -> int:
    from ._startup import skip_slow_optional_imports

    skip_slow_optional_imports()
    argv = sys.argv[1:] if argv is None else argv
    json_mode = "--json" in argv
    try:
        code = run(argv)
    except _HelpShown as shown:
        if shown.args[0]:
            print(shown.args[0])
        code = 0
    except DeployError as exc:
        if json_mode:
            _print_json({"error": exc.to_json()})
        sys.stderr.write(f"jupyter deploy: error: {exc.one_line()}\n")
        code = 2 if exc.code in USAGE_CODES else 1
    except KeyboardInterrupt:
        sys.stderr.write("jupyter deploy: interrupted\n")
        code = 130
    except Exception as exc:  # a bug: one line, the traceback only when asked for
        if os.environ.get("JUPYTER_DEPLOY_DEBUG"):
            raise
        line = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if json_mode:
            _print_json({"error": {"code": "internal", "message": line,
                                   "hint": "This is a bug in jupyter-deploy or a plugin."}})
        sys.stderr.write(
            f"jupyter deploy: internal error: {line} -- this is a bug; rerun with "
            "JUPYTER_DEPLOY_DEBUG=1 for the traceback and report it.\n"
        )
        code = 1
    sys.stdout.flush()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
