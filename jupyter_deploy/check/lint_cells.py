"""Code cells as Python syntax trees whose line numbers point into the cell as the user wrote it.

Each cell goes through IPython's own input transformation, so ``%magics``, ``!commands``,
``x = !cmd`` and ``obj?`` lines become the Python they run as. Cell magics whose body is Python
(``%%time``, ``%%timeit``, ``%%capture``, ``%%prun``) are analysed through their body; the others
(``%%bash``, ``%%html``, ``%%writefile``, ``%%sql``...) are not Python and are skipped. ``%time``,
``%timeit`` and ``%prun`` line magics are analysed as the statement they time.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field

PY_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug"}
_TIMING_LINE_MAGICS = {"time", "timeit", "prun"}
_TIMEIT_OPTS = re.compile(r"^\s*(?:-[nrp]\s*\S+\s+|-[otcq]\s+)*")


@dataclass
class Magic:
    name: str  # "pip", "run", "load_ext", "system" (a ! line), "getoutput" (x = !cmd)...
    arg: str
    line: int


@dataclass
class CellCode:
    index: int
    source: str
    tree: ast.Module | None = None
    syntax_error: str | None = None
    cell_magic: str | None = None  # the %%name of the cell, if any
    cell_magic_args: str = ""
    magics: list[Magic] = field(default_factory=list)
    last_suppressed: bool = False  # the last line ends with ";": no displayed result


_TM = None


_FLAGS = ast.PyCF_ONLY_AST | getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)


def _parse(code: str) -> ast.Module:
    """Parse a cell; top-level ``await`` is allowed, as IPython allows it."""
    return compile(code, "<cell>", "exec", _FLAGS, dont_inherit=True)


def _transformer():
    global _TM
    if _TM is None:
        from IPython.core.inputtransformer2 import TransformerManager

        _TM = TransformerManager()
    return _TM


def _line_map(original: list[str], transformed: list[str]):
    """Transformed line number (1-based) -> original line number (1-based)."""
    if len(original) == len(transformed):
        return None  # identity
    mapping = {}
    matcher = difflib.SequenceMatcher(
        None, [s.strip() for s in original], [s.strip() for s in transformed], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k, j in enumerate(range(j1, j2)):
            if tag == "equal":
                mapping[j + 1] = i1 + k + 1
            else:
                mapping[j + 1] = min(i1 + k, max(i1, i2 - 1)) + 1
    return mapping


def _magic_call(node):
    """('name', 'arg') if ``node`` is get_ipython().run_line_magic(name, arg) / system / getoutput."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    inner = node.func.value
    if not (
        isinstance(inner, ast.Call)
        and isinstance(inner.func, ast.Name)
        and inner.func.id == "get_ipython"
    ):
        return None
    args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
    if node.func.attr == "run_line_magic" and len(args) >= 2 and isinstance(args[0], str):
        return args[0], args[1] if isinstance(args[1], str) else ""
    if node.func.attr in ("system", "getoutput") and args and isinstance(args[0], str):
        return node.func.attr, args[0]
    return None


def _set_lines(tree, line):
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            node.lineno = line
            node.end_lineno = line


def parse_cell(index: int, source: str) -> CellCode:
    cell = CellCode(index=index, source=source)
    lines = source.splitlines()
    offset = 0
    while offset < len(lines) and not lines[offset].strip():
        offset += 1
    body_lines = lines[offset:]
    if body_lines and body_lines[0].startswith("%%"):
        head = body_lines[0][2:].strip().split(None, 1)
        cell.cell_magic = head[0] if head else ""
        cell.cell_magic_args = head[1] if len(head) > 1 else ""
        python_body = cell.cell_magic in PY_CELL_MAGICS or (
            cell.cell_magic == "deploy" and cell.cell_magic_args.split()[:1] == ["handler"])
        if not python_body:  # %%deploy handler: the serving handler's Python
            return cell
        offset += 1
        body_lines = body_lines[1:]
    if not "".join(body_lines).strip():
        return cell
    cell.last_suppressed = body_lines[-1].rstrip().endswith(";") if body_lines else False
    body = "\n".join(body_lines)
    try:
        tree = _parse(body)  # plain Python: IPython would leave it as it is
        transformed = None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        tree = None
    if tree is None:
        transformed = _quick_transform(body_lines)
        if transformed is not None:
            try:
                tree = _parse(transformed)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                tree = None
    if tree is None:
        try:
            transformed = _transformer().transform_cell(body)
        except Exception as exc:  # noqa: BLE001 - IPython cannot read it either: the run will say
            cell.syntax_error = f"{type(exc).__name__}: {exc}"
            return cell
        try:
            tree = _parse(transformed)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            cell.syntax_error = f"{type(exc).__name__}: {exc}"
            return cell
    mapping = None if transformed is None else _line_map(body_lines, transformed.splitlines())
    if mapping is not None or offset:
        _shift_lines(tree, mapping, offset)
    if transformed is None:
        cell.tree = tree
        return cell
    _expand_magics(tree, cell)
    cell.tree = tree
    return cell


def _shift_lines(tree, mapping, offset):
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            ln = node.lineno if mapping is None else mapping.get(node.lineno, node.lineno)
            node.lineno = ln + offset
            end = getattr(node, "end_lineno", None)
            if end is not None:
                end = end if mapping is None else mapping.get(end, end)
                node.end_lineno = end + offset


_SPECIAL = re.compile(r"^\s*[%!?]|\?\s*$|^\s*[\w.,\s\[\]()]+?=\s*[%!]")


def _quick_transform(lines):
    """Transform only the lines that use IPython syntax, one by one, keeping indentation; None
    when that is not safe (continuation lines), so the whole cell goes through IPython."""
    out = []
    changed = False
    for line in lines:
        if line.rstrip().endswith("\\"):
            return None
        if _SPECIAL.search(line):
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            try:
                new = _transformer().transform_cell(stripped).rstrip("\n")
            except Exception:  # noqa: BLE001
                return None
            if "\n" in new:
                return None
            out.append(indent + new)
            changed = True
        else:
            out.append(line)
    return "\n".join(out) + "\n" if changed else None


def _expand_magics(tree, cell):
    """Record magics, and put the statements that %time / %timeit / %prun run in their place."""

    class Expand(ast.NodeTransformer):
        def visit_Expr(self, node):
            found = _magic_call(node.value)
            if found and found[0] in _TIMING_LINE_MAGICS:
                cell.magics.append(Magic(found[0], found[1], node.lineno))
                code = found[1]
                if found[0] != "time":
                    code = _TIMEIT_OPTS.sub("", code, count=1)
                try:
                    inner = _parse(_transformer().transform_cell(code))
                except Exception:  # noqa: BLE001
                    return node
                _set_lines(inner, node.lineno)
                return inner.body or node
            return self.generic_visit(node)

        def visit_Call(self, node):
            found = _magic_call(node)
            if found:
                cell.magics.append(Magic(found[0], found[1], node.lineno))
            return self.generic_visit(node)

    Expand().visit(tree)
