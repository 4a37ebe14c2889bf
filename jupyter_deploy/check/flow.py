"""Which cells can influence which: the evidence a likely cause needs.

A static finding (unseeded randomness in cell 3) explains an output difference (cell 9) only
when something flows from one to the other: the same cell, or a name cell 3 binds (or hands to a
call, ``rng.shuffle(data)``) that cell 9 reads, directly or through the cells in between. Names
bound by imports do not carry the taint (every cell reads ``np``). The def/use sets come from
the same parse as the static findings (:func:`jupyter_deploy.check.lint_cells.parse_cell`);
a cell that cannot be parsed is taken to read and bind everything (so nothing is ruled out
that might flow).
"""

from __future__ import annotations

import ast
import re

_TIMING = re.compile(
    r"^\s*%%?(?:timeit|time|prun)\b|\btime\.(?:time|perf_counter|monotonic|process_time)\("
    r"|\btimeit\.",
    re.M,
)


_PURE = {"print", "len", "repr", "str", "int", "float", "round", "sum", "min", "max", "sorted",
         "list", "tuple", "set", "dict", "type", "isinstance", "display", "format", "abs", "any",
         "all"}
_IN_PLACE = {"shuffle", "sort", "append", "extend", "update", "fill", "resize", "insert", "pop",
             "clear", "remove", "setdefault", "fit", "partial_fit"}


class _Names(ast.NodeVisitor):
    def __init__(self):
        self.binds: set = set()
        self.reads: set = set()
        self.imports: set = set()
        self.passed: set = set()  # names handed to a call (it may change them in place)

    def visit_Call(self, node):
        func = node.func
        if not (isinstance(func, ast.Name) and func.id in _PURE):
            for arg in list(node.args) + [k.value for k in node.keywords]:
                if isinstance(arg, ast.Name):
                    self.passed.add(arg.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
            func.attr in _IN_PLACE or any(k.arg == "inplace" for k in node.keywords)
        ):
            self.passed.add(func.value.id)
        self.generic_visit(node)

    def visit_Name(self, node):
        (self.binds if isinstance(node.ctx, (ast.Store, ast.Del)) else self.reads).add(node.id)

    def visit_FunctionDef(self, node):
        self.binds.add(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.binds.add(node.name)
        self.generic_visit(node)

    def visit_Import(self, node):
        for a in node.names:
            self.imports.add((a.asname or a.name).split(".")[0])

    visit_ImportFrom = visit_Import


class CellFlow:
    """Per code cell: names read, bound, imported; whether it times itself."""

    def __init__(self, nb):
        from .lint_cells import parse_cell

        self._nb = nb
        self.cells: dict = {}
        for index, cell in enumerate(nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            src = cell.get("source") or ""
            src = "".join(src) if isinstance(src, list) else src
            try:
                code = parse_cell(index, src)
                tree = code.tree
            except Exception:  # noqa: BLE001 - unparseable: assume it may touch anything
                tree = None
            names = _Names()
            if tree is not None:
                names.visit(tree)
                binds = names.binds | names.passed
                self.cells[index] = (names.reads, binds, names.imports, bool(_TIMING.search(src)))
            else:
                self.cells[index] = (None, None, set(), bool(_TIMING.search(src)))

    def uses(self, dst, module: str) -> bool:
        """Whether cell ``dst``'s output can depend on ``module``: the cell uses a name the
        notebook imports from it, or reads what such a cell made."""
        from .drift import notebook_aliases

        if dst not in self.cells:
            return False
        if not hasattr(self, "_aliases"):
            self._aliases = notebook_aliases(self._nb)
        names = {a for a, m in self._aliases.items() if m == module}
        for k in sorted(c for c in self.cells if c <= dst):
            reads, _, imports, _ = self.cells[k]
            if reads is None or names & (reads | imports):
                if k == dst or self.flows(k, dst):
                    return True
        return False

    def timing(self, cell) -> bool:
        return bool(cell in self.cells and self.cells[cell][3])

    def flows(self, src, dst) -> bool:
        """Whether what cell ``src`` does can reach cell ``dst``'s output."""
        if src is None or dst is None or src == dst:
            return src == dst and src is not None
        if src not in self.cells or dst not in self.cells:
            return False
        reads, binds, imports, _ = self.cells[src]
        if reads is None:
            return True
        if src > dst:  # a later cell (run earlier in the author's session): direct reads only
            d_reads = self.cells[dst][0]
            return d_reads is None or bool(binds & d_reads)
        taint = binds - imports
        for k in sorted(c for c in self.cells if src < c <= dst):
            k_reads, k_binds, k_imports, _ = self.cells[k]
            if k_reads is None or taint & k_reads:
                if k == dst:
                    return True
                taint |= (k_binds or set()) - k_imports
        return False
