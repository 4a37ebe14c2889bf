"""Static findings: what can be said about a notebook's repeatability before running it.

:func:`static_findings` reads the saved notebook (execution counts, saved outputs) and the code
of every cell, parsed with IPython's own input transformation so magics, ``!commands`` and ``?``
lines do not break the analysis. A cell that is still not valid Python afterwards gets no
code-based findings (the clean run reports its error) and does not stop the others.

Kinds (severity): ``out-of-order``, ``never-executed``, ``hidden-state``, ``unseeded-random``,
``absolute-path``, ``wall-clock``, ``local-package``, ``error-output`` (warnings) and
``missing-package`` (error). Each finding is a dict ``{"kind", "cell", "line", "severity",
"message", "hint"}``; ``cell`` is the index among all cells (markdown included), ``line`` is
1-based in the cell's source as the user wrote it.

``hidden-state`` stops being reported after ``from x import *``, ``%run``, ``%store -r``,
``exec(...)`` or ``globals()[...] = ...``: from there on, names can come from places the source
does not show (see :mod:`jupyter_deploy.check.lint_scope`).
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from ..notebook import cell_name, only_deploy
from ..errors import DeployError

__all__ = ["KINDS", "static_findings"]

_log = logging.getLogger(__name__)

KINDS = {
    "out-of-order": "warning",
    "never-executed": "warning",
    "hidden-state": "warning",
    "unseeded-random": "warning",
    "absolute-path": "warning",
    "wall-clock": "warning",
    "missing-package": "error",
    "local-package": "warning",
    "error-output": "warning",
}

# Import names whose distribution is called something else (for hints only).
_PIP_NAMES = {
    "sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
    "bs4": "beautifulsoup4", "skimage": "scikit-image", "dateutil": "python-dateutil",
    "dotenv": "python-dotenv", "Crypto": "pycryptodome", "docx": "python-docx",
    "attr": "attrs", "google.protobuf": "protobuf", "jwt": "pyjwt", "magic": "python-magic",
    "psycopg2": "psycopg2-binary", "serial": "pyserial", "usb": "pyusb", "zmq": "pyzmq",
}  # fmt: skip
_TOOL_DISTS = {"jupyter-deploy"}
_IPYTHON_EXTENSIONS = {"autoreload", "storemagic"}  # found as IPython.extensions.<name>
_INSTALL_MAGICS = {"pip", "conda", "mamba", "micromamba", "uv"}


def _finding(kind, cell, line, message, hint):
    return {
        "kind": kind,
        "cell": cell,
        "line": line,
        "severity": KINDS[kind],
        "message": " ".join(str(message).split()),
        "hint": " ".join(str(hint).split()),
    }


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else (src or "")


# ------------------------------------------------------------------------------ saved state


def _is_python(nb) -> bool:
    meta = nb.get("metadata") or {}
    lang = (meta.get("kernelspec") or {}).get("language") or (meta.get("language_info") or {}).get(
        "name"
    )
    return not lang or str(lang).lower() in ("python", "python3", "ipython", "python2")


_MAGIC_OUTPUT_VARS = re.compile(r"--(?:out|err|proc)\s+([A-Za-z_]\w*)|^\s*([A-Za-z_]\w*)\s*<<")


def _magic_line(src: str) -> int:
    """The 1-based line of a cell's %% line (after leading blank lines)."""
    for n, line in enumerate(src.splitlines(), 1):
        if line.strip():
            return n
    return 1


def _increasing_run(counts: list) -> set:
    """Positions of a longest strictly increasing subsequence of ``counts``, preferring earlier
    positions when several are as long."""
    import bisect

    n = len(counts)

    def ending_lengths(seq):
        tails, out = [], []
        for v in seq:
            pos = bisect.bisect_left(tails, v)
            if pos == len(tails):
                tails.append(v)
            else:
                tails[pos] = v
            out.append(pos + 1)
        return out

    ends = ending_lengths(counts)  # longest increasing run ending at each position
    starts = ending_lengths([-v for v in reversed(counts)])[::-1]  # ... starting at it
    best = max(ends, default=0)
    keep, want, last = set(), 1, None
    for k in range(n):
        if (
            ends[k] == want
            and ends[k] + starts[k] - 1 == best
            and (last is None or counts[k] > last)
        ):
            keep.add(k)
            last = counts[k]
            want += 1
    return keep


def _injected(cell) -> bool:
    """A parameters cell injected for this run (papermill's tag), not one the user saved."""
    return "injected-parameters" in ((cell.get("metadata") or {}).get("tags") or [])


def _has_code(src: str) -> bool:
    return any(ln.strip() and not ln.strip().startswith("#") for ln in src.splitlines())


def _order_findings(nb):
    out = []
    cells = list(nb.get("cells", []))
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    counted = [
        (i, c.get("execution_count")) for i, c in code if c.get("execution_count") is not None
    ]
    # out-of-order: the cells outside the longest run of increasing counts (so re-running the
    # first cell at the end flags that one cell, not every cell below it).
    keep = _increasing_run([count for _, count in counted])
    for k, (i, count) in enumerate(counted):
        if k in keep:
            continue
        above = [(c, j) for j, c in counted[:k] if c >= count]
        if above:
            c, j = max(above)
            msg = f"{cell_name(i)} ran (count {count}) before {cell_name(j)} (count {c}) above it"
        else:
            c, j = max((c, j) for j, c in counted[k + 1 :] if c <= count)
            msg = f"{cell_name(i)} ran (count {count}) after {cell_name(j)} (count {c}) below it"
        out.append(
            _finding(
                "out-of-order",
                i,
                None,
                msg,
                "Restart the kernel and run all cells top to bottom, then save.",
            )
        )
    # never-executed (cells made only of %deploy lines are meant to be run by hand)
    nonempty = [
        (i, c)
        for i, c in code
        if _has_code(_source(c)) and not only_deploy(_source(c)) and not _injected(c)
    ]
    if nonempty and not counted:
        out.append(
            _finding(
                "never-executed",
                None,
                None,
                "no cell has an execution count: the notebook was saved without outputs",
                "Run all cells and save, so the check can compare the clean run with what you saw.",
            )
        )
    elif counted:
        for i, c in nonempty:
            if c.get("execution_count") is None:
                out.append(
                    _finding(
                        "never-executed",
                        i,
                        None,
                        f"{cell_name(i)} was never run in the saved session",
                        "Run all cells top to bottom and save; or delete the cell if it is not needed.",
                    )
                )
    # error-output
    for i, c in code:
        for output in c.get("outputs", []) or []:
            if output.get("output_type") == "error":
                ename = output.get("ename", "Error")
                evalue = " ".join(str(output.get("evalue", "")).split())
                if len(evalue) > 160:
                    evalue = evalue[:157] + "..."
                out.append(
                    _finding(
                        "error-output",
                        i,
                        None,
                        f"{cell_name(i)} was saved with an error: {ename}: {evalue}".rstrip(": "),
                        "Fix the error and re-run the notebook before deploying it.",
                    )
                )
                break
    return out


# ------------------------------------------------------------------------------ imports


def _guarded_by_import_error(handlers):
    for h in handlers:
        if h.type is None:
            return True
        names = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
        for n in names:
            if isinstance(n, ast.Name) and n.id in (
                "ImportError",
                "ModuleNotFoundError",
                "Exception",
                "BaseException",
            ):
                return True
    return False


def _local_module(name: str, notebook_dir: Path, written: set) -> bool:
    if name in written:
        return True
    try:
        if (notebook_dir / f"{name}.py").is_file() or (notebook_dir / name).is_dir():
            return True
        for p in notebook_dir.glob(f"{name}.*"):
            if p.suffix in (".so", ".pyd", ".pyc") or p.name.startswith(f"{name}.cpython"):
                return True
    except OSError:
        pass
    return False


# ------------------------------------------------------------------------------ the lint


def static_findings(
    nb, notebook_dir: Path, *, python: str | None = None, ignore: Iterable[str] = ()
) -> list[dict]:
    """The static findings of notebook ``nb`` (nbformat v4) that lives in ``notebook_dir``,
    resolving imports in the environment of interpreter ``python`` (None: this one).
    ``ignore`` lists kinds not to report. One environment probe per call."""
    from .lint_calls import Aliases, ClockRule, PathRule, RandomRule
    from .lint_cells import parse_cell
    from .lint_scope import NameFlow

    ignore = set(ignore or ())
    notebook_dir = Path(notebook_dir)
    findings = _order_findings(nb)

    def reporter(kind):
        def report(cell, line, message, hint):
            findings.append(_finding(kind, cell, line, message, hint))

        return report

    if not _is_python(nb):
        # Another language: only what the saved notebook itself says applies.
        return [f for f in findings if f["kind"] not in ignore]

    aliases = Aliases()
    randoms = RandomRule(aliases, reporter("unseeded-random"))
    clocks = ClockRule(aliases, reporter("wall-clock"))
    paths = PathRule(aliases, reporter("absolute-path"), notebook_dir)
    names = NameFlow()
    imports = []  # (module, cell, line, shown, after_install)
    written = set()  # modules written next to the notebook by %%writefile
    installs = False  # the notebook installs packages itself (%pip install)

    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        src = _source(cell)
        if not src.strip():
            continue
        try:
            code = parse_cell(index, src)
        except Exception:  # noqa: BLE001 - a cell the lint cannot read: the clean run still checks it
            _log.debug("cell %s could not be parsed", index, exc_info=True)
            continue
        if code.cell_magic in ("writefile", "file"):
            target = code.cell_magic_args.split()[-1:] if code.cell_magic_args else []
            if target and target[0].endswith(".py"):
                written.add(Path(target[0]).stem)
        extra_binds, dynamic = [], []
        if code.cell_magic == "capture" and code.cell_magic_args:
            var = [a for a in code.cell_magic_args.split() if not a.startswith("-")]
            if var and var[0].isidentifier():
                extra_binds.append((var[0], _magic_line(src)))
        elif code.cell_magic:
            # %%bash --out var / --err var, %%sql result << SELECT ...
            for match in _MAGIC_OUTPUT_VARS.finditer(code.cell_magic_args):
                extra_binds.append((match.group(1) or match.group(2), _magic_line(src)))
        if code.tree is None:
            if extra_binds:
                names.cell(index, None, extra_binds)
            continue
        for m in code.magics:
            if m.name == "run" or (m.name == "store" and "-r" in m.arg.split()):
                dynamic.append(m.line)
            elif m.name in _INSTALL_MAGICS and "install" in m.arg.split() or m.name == "system" and any(
                w in m.arg for w in ("pip install", "conda install", "uv pip install")
            ):
                installs = True
            elif m.name == "load_ext":
                mod = m.arg.strip().split(" ")[0]
                if mod and not mod.startswith("-") and mod not in _IPYTHON_EXTENSIONS:
                    imports.append(
                        (mod.split(".")[0], index, m.line, f"%load_ext {mod}", installs, mod)
                    )
        try:
            names.cell(index, code.tree, extra_binds, dynamic)
            for mod, line, shown, full in _walk_calls(code.tree, index, aliases, randoms, paths):
                imports.append((mod, index, line, shown, installs, full))
            clocks.on_statements(code.tree.body, index, not code.last_suppressed)
        except (RecursionError, MemoryError):
            # Code nested too deeply to walk (generated expressions): the clean run checks it.
            _log.debug("cell %s is nested too deeply to analyse", index)

    for name, cell, line, defined_in in names.findings():
        if defined_in is None:
            msg = f"`{name}` is read here but no cell defines it (a deleted cell, or a session variable?)"
            hint = f"Define `{name}` in a cell above this one, or remove its use."
        elif defined_in[0] == cell:
            msg = f"`{name}` is read here before this cell assigns it (line {defined_in[1]})"
            hint = f"Assign `{name}` before using it; the live session had it from an earlier run."
        else:
            msg = f"`{name}` is read here but first defined in {cell_name(defined_in[0])}"
            hint = f"Move the cell that defines `{name}` above this one, then restart and run all."
        findings.append(_finding("hidden-state", cell, line, msg, hint))

    if {"missing-package", "local-package"} - ignore and imports:
        findings += _package_findings(imports, notebook_dir, python, written)

    findings = [f for f in findings if f["kind"] not in ignore]
    findings.sort(key=lambda f: (-1 if f["cell"] is None else f["cell"], f["line"] or 0))
    return findings


def _is_type_checking(test) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_calls(tree, index, aliases, randoms, paths):
    """Visit calls and assignments in source order, keeping import aliases up to date.

    Returns the imports ``[(top-level module, line, shown, dotted module)]`` that are not guarded by an
    ``except ImportError`` (nor ``ModuleNotFoundError``, ``Exception`` or a bare ``except``).
    """
    imports = []
    try_types = (ast.Try, getattr(ast, "TryStar", ast.Try))

    def visit(node, guarded):
        if isinstance(node, ast.Import):
            aliases.add_import(node)
            for a in node.names:
                top = a.name.split(".")[0]
                randoms.pandas = randoms.pandas or top == "pandas"
                if not guarded:
                    imports.append((top, node.lineno, f"import {a.name}", a.name))
            return
        if isinstance(node, ast.ImportFrom):
            aliases.add_import(node)
            if node.module and not node.level:
                top = node.module.split(".")[0]
                randoms.pandas = randoms.pandas or top == "pandas"
                if not guarded:
                    imports.append(
                        (top, node.lineno, f"from {node.module} import ...", node.module)
                    )
            return
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for stmt in node.body:
                visit(stmt, True)
            for stmt in node.orelse:
                visit(stmt, guarded)
            return
        if isinstance(node, try_types):
            inner = guarded or _guarded_by_import_error(node.handlers)
            for stmt in node.body:
                visit(stmt, inner)
            for h in node.handlers:
                for stmt in h.body:
                    visit(stmt, guarded)
            for stmt in node.orelse + node.finalbody:
                visit(stmt, guarded)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for d in node.decorator_list:
                # @app.get("/predict"): a route, not a path; still look for randomness.
                for sub in ast.walk(d):
                    if isinstance(sub, ast.Call):
                        randoms.on_call(sub, index)
            if not isinstance(node, ast.ClassDef):
                for d in node.args.defaults + [x for x in node.args.kw_defaults if x is not None]:
                    visit(d, guarded)
            for stmt in node.body:
                visit(stmt, guarded)
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            paths.on_assign(node.value, index)
        elif isinstance(node, ast.Call):
            randoms.on_call(node, index)
            paths.on_call(node, index)
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in ("import_module", "__import__") and node.args and not guarded:
                a = node.args[0]
                if (
                    isinstance(a, ast.Constant)
                    and isinstance(a.value, str)
                    and not a.value.startswith(".")
                ):
                    imports.append(
                        (a.value.split(".")[0], node.lineno, f"{name}({a.value!r})", a.value)
                    )
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(tree, False)
    return imports


def _package_findings(imports, notebook_dir, python, written):
    from .. import environment

    wanted = []
    for mod, *_, full in imports:
        if full not in wanted and not _local_module(mod, notebook_dir, written):
            wanted.append(full)
    if not wanted:
        return []

    try:
        probed = environment.probe(wanted, python=python)
    except DeployError:
        # The kernel's interpreter cannot be asked (gone, broken): the clean run reports that.
        _log.debug("could not probe the kernel's environment", exc_info=True)
        return []
    out = []
    reported = set()
    for mod, cell, line, shown, after_install, _full in imports:
        if mod in reported or mod not in probed:
            continue
        entry = probed[mod]
        if not entry["found"]:
            reported.add(mod)
            pip = _PIP_NAMES.get(mod, mod)
            finding = _finding(
                "missing-package",
                cell,
                line,
                f"`{shown}`: module `{mod}` is not installed in the kernel's environment",
                f"Install it where the kernel runs (%pip install {pip}) and add it to the "
                "project's requirements, or remove the import.",
            )
            if after_install:
                finding["severity"] = "warning"
                finding["message"] += (
                    " (the notebook installs packages itself; the clean run will tell)"
                )
            out.append(finding)
        elif (
            entry.get("local")
            and environment.canonical(entry.get("distribution") or "") not in _TOOL_DISTS
        ):
            reported.add(mod)
            dist = entry.get("distribution")
            what = {
                "editable": "an editable install",
                "path": "a local folder",
                "vcs": "version control",
            }.get(entry["local"], entry["local"])
            source = f" of {dist} {entry.get('version') or ''}".rstrip() if dist else ""
            origin = f" ({entry['origin']})" if entry.get("origin") else ""
            if entry["local"] == "vcs":
                why = "it installs elsewhere only while that repository and commit stay reachable"
            else:
                why = "it cannot be installed elsewhere as is"
            out.append(
                _finding(
                    "local-package",
                    cell,
                    line,
                    f"`{mod}` comes from {what}{source}{origin}: {why}",
                    "Publish it to a package index (or a wheel next to the notebook) and pin that "
                    "version, or copy the module next to the notebook.",
                )
            )
    return out
