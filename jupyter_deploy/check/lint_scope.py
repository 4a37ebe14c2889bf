"""Which global names each cell reads before any earlier cell defines them (``hidden-state``).

The cells are walked top to bottom as a clean kernel would run them. At the top level of a cell,
order matters: a name read there must already be defined by an earlier cell (or earlier in the
same cell). Names read inside function and lambda bodies are resolved when the function is
called, so they are reported only when no cell of the notebook defines them at all.

Python's scoping is followed: function and lambda parameters and locals (a name bound anywhere in
a function is local to it), ``global`` / ``nonlocal``, class bodies (not visible from their
methods), comprehensions (their own scope; a walrus binds in the enclosing one), imports
(``import a.b`` binds ``a``), ``for`` / ``with`` / ``except`` / ``match`` targets, ``del``,
augmented assignment (a read first). Definitions under ``if`` / ``try`` count as definitions, and
a name bound anywhere in a top-level loop may be read anywhere in that loop.

After anything that defines names in ways the source does not show -- ``from x import *``,
``%run``, ``%store -r``, ``exec(...)``, ``globals()[...] = ...``, ``globals().update(...)``,
``get_ipython().push(...)`` or ``user_ns[...] = ...`` -- hidden-state is no longer reported: it
would only give false alarms.
"""

from __future__ import annotations

import ast
import builtins
import re

# Names a Jupyter kernel defines before any cell runs.
_IPYTHON_NAMES = {
    "In", "Out", "_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh", "_dh", "_exit_code",
    "get_ipython", "display", "exit", "quit", "__IPYTHON__", "__builtins__", "__vsc_ipynb_file__",
    "__session__",
}  # fmt: skip
_INJECTED = re.compile(r"^(_\d+|_i\d+|__\w+__)$")
_BUILTINS = set(dir(builtins))


def predefined(name: str) -> bool:
    return name in _BUILTINS or name in _IPYTHON_NAMES or bool(_INJECTED.match(name))


class _Scope:
    __slots__ = ("binds", "globals", "kind", "nonlocals", "parent", "reads")

    def __init__(self, kind, parent):
        self.kind = kind  # "function", "class" or "comp"
        self.parent = parent
        self.binds = set()
        self.globals = set()
        self.nonlocals = set()
        self.reads = []  # (name, line) not yet resolved (functions only)


def _bound_names(nodes):
    """Names bound (stored) anywhere in these statements, not looking into nested scopes."""
    out = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
            continue
        elif isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                out.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return out


def _catches_name_error(handlers):
    for h in handlers:
        if h.type is None:
            return True
        names = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
        for n in names:
            if isinstance(n, ast.Name) and n.id in ("NameError", "Exception", "BaseException"):
                return True
    return False


class NameFlow(ast.NodeVisitor):
    """Feed it the cells in order with :meth:`cell`; then read :meth:`findings`."""

    def __init__(self):
        self.defined = set()  # global names defined so far
        self.dynamic = False  # names may now come from places the source does not show
        self.dynamic_at = None  # (cell, line) of the first such place
        self.cell_binds = {}  # cell -> {name: first line}
        self.candidates = []  # (name, cell, line): top-level reads of undefined names
        self.deferred = []  # (name, cell, line): reads in function bodies of non-local names
        self.scope = None
        self.index = None
        self.loop_ok = []  # stack of name sets bound somewhere in an enclosing top-level loop
        self.try_name_error = 0

    # ---------------------------------------------------------------- driving

    def cell(self, index, tree, extra_binds=(), dynamic_lines=()):
        """Analyse one cell's (transformed, line-mapped) module. ``extra_binds`` are names a
        magic defines at a line (``%%capture out``); ``dynamic_lines`` lines whose magic makes
        names appear from elsewhere (``%run``)."""
        self.index = index
        self.cell_binds.setdefault(index, {})
        for name, line in extra_binds:
            self._bind_global(name, line)
        self._dyn_lines = sorted(dynamic_lines)
        if tree is not None:
            for stmt in tree.body:
                self._check_dynamic_line(getattr(stmt, "lineno", 0))
                self.visit(stmt)
        for line in self._dyn_lines:
            self._set_dynamic(line)

    def _check_dynamic_line(self, line):
        while self._dyn_lines and self._dyn_lines[0] <= line:
            self._set_dynamic(self._dyn_lines.pop(0))

    def _set_dynamic(self, line):
        if not self.dynamic:
            self.dynamic = True
            self.dynamic_at = (self.index, line)

    def findings(self):
        """[(name, cell, line, defined_in)] where ``defined_in`` is (cell, line) of the first
        definition at or after the read, or None when no cell defines the name."""
        out = []
        seen = set()
        for name, cell, line in self.candidates:
            key = (name, cell)
            if key in seen:
                continue
            seen.add(key)
            out.append((name, cell, line, self._first_def(name, cell, line)))
        if not self.dynamic:
            for name, cell, line in self.deferred:
                key = (name, cell)
                if key in seen or any(name in b for b in self.cell_binds.values()):
                    continue
                seen.add(key)
                out.append((name, cell, line, None))
        out.sort(key=lambda f: (f[1], f[2] or 0))
        return out

    def _first_def(self, name, cell, line):
        for c in sorted(self.cell_binds):
            if c < cell:
                continue
            where = self.cell_binds[c].get(name)
            if where is not None and (c > cell or where >= line):
                return (c, where)
        return None

    # ---------------------------------------------------------------- reads and binds

    def _bind_global(self, name, line):
        self.defined.add(name)
        self.cell_binds[self.index].setdefault(name, line)

    def _bind(self, name, line, scope=...):
        scope = self.scope if scope is ... else scope
        if scope is None:
            self._bind_global(name, line)
        else:
            scope.binds.add(name)
            if scope.kind == "function" and name in scope.globals:
                self._bind_global(name, line)

    def _read(self, name, line, scope=None):
        scope = self.scope if scope is None else scope
        while scope is not None and scope.kind in ("class", "comp"):
            if name in scope.binds:
                return
            scope = scope.parent
        if scope is None:
            self._read_global_now(name, line)
        else:
            scope.reads.append((name, line))

    def _read_global_now(self, name, line):
        if name in self.defined or predefined(name) or self.dynamic or self.try_name_error:
            return
        if any(name in ok for ok in self.loop_ok):
            return
        self.candidates.append((name, self.index, line))

    def _finish_function(self, scope):
        for name, line in scope.reads:
            if name in scope.globals:
                self._deferred(name, line)
                continue
            if name in scope.binds or name in scope.nonlocals:
                continue
            up = scope.parent
            while up is not None:
                if up.kind == "class":
                    up = up.parent
                    continue
                if up.kind == "function":
                    up.reads.append((name, line))
                    break
                if name in up.binds:  # a comprehension
                    break
                up = up.parent
            else:
                self._deferred(name, line)

    def _deferred(self, name, line):
        if predefined(name) or name in self.defined:
            return
        self.deferred.append((name, self.index, line))

    # ---------------------------------------------------------------- visitors

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Store):
            self._bind(node.id, node.lineno)
        else:  # Load, Del
            self._read(node.id, node.lineno)

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self._dynamic_store(target)
            self.visit(target)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self._read(node.target.id, node.lineno)
            self.visit(node.value)
            self._bind(node.target.id, node.lineno)
        else:
            self.visit(node.value)
            self.visit(node.target)

    def visit_AnnAssign(self, node):
        if self.scope is None or self.scope.kind != "function":
            self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self.visit(node.target)
        elif not isinstance(node.target, ast.Name):
            self.visit(node.target)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        scope = self.scope
        while scope is not None and scope.kind == "comp":
            scope = scope.parent
        self._bind(node.target.id, node.lineno, scope)
        if scope is None:
            pass
        elif self.scope is not scope:
            self.scope.binds.add(node.target.id)

    def _dynamic_store(self, target):
        # globals()[...] = ..., get_ipython().user_ns[...] = ...
        if isinstance(target, ast.Subscript):
            base = target.value
            if (
                isinstance(base, ast.Call)
                and isinstance(base.func, ast.Name)
                and base.func.id in ("globals", "vars", "locals")
                and self.scope is None
            ):
                self._set_dynamic(target.lineno)
            if isinstance(base, ast.Attribute) and base.attr in ("user_ns", "__dict__"):
                self._set_dynamic(target.lineno)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id == "exec":
            self._set_dynamic(node.lineno)
        elif isinstance(func, ast.Attribute):
            if (
                func.attr == "update"
                and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name)
                and func.value.func.id in ("globals", "vars")
            ) or func.attr == "push" and isinstance(func.value, ast.Call):
                self._set_dynamic(node.lineno)
        self.generic_visit(node)

    def visit_Import(self, node):
        for alias in node.names:
            self._bind((alias.asname or alias.name).split(".")[0], node.lineno)

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name == "*":
                self._set_dynamic(node.lineno)
            else:
                self._bind(alias.asname or alias.name, node.lineno)

    def visit_Global(self, node):
        if self.scope is not None:
            self.scope.globals.update(node.names)
            for name in node.names:
                # Assigned when the function runs: count it as defined (fewer false alarms).
                self._bind_global(name, node.lineno)

    def visit_Nonlocal(self, node):
        if self.scope is not None:
            self.scope.nonlocals.update(node.names)

    def _function(self, node, args, body, name=None):
        for deco in getattr(node, "decorator_list", ()):
            self.visit(deco)
        for default in list(args.defaults) + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        if not isinstance(node, ast.Lambda):
            for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if arg is not None and arg.annotation is not None:
                    self.visit(arg.annotation)
            if node.returns is not None:
                self.visit(node.returns)
        if name is not None:
            self._bind(name, node.lineno)
        scope = _Scope("function", self.scope)
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None:
                scope.binds.add(arg.arg)
        saved = (self.scope, self.loop_ok, self.try_name_error)
        self.scope, self.loop_ok, self.try_name_error = scope, [], 0
        # Locals are whatever the body binds anywhere (Python decides at compile time).
        stmts = body if isinstance(body, list) else [body]
        scope.binds |= _bound_names(stmts)
        for stmt in stmts:
            self.visit(stmt)
        self.scope, self.loop_ok, self.try_name_error = saved
        self._finish_function(scope)

    def visit_FunctionDef(self, node):
        self._function(node, node.args, node.body, node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._function(node, node.args, node.body)

    def visit_ClassDef(self, node):
        for expr in node.decorator_list + node.bases + [k.value for k in node.keywords]:
            self.visit(expr)
        scope = _Scope("class", self.scope)
        saved = self.scope
        self.scope = scope
        for stmt in node.body:
            self.visit(stmt)
        self.scope = saved
        self._bind(node.name, node.lineno)

    def _comprehension(self, node, elts):
        first = node.generators[0]
        self.visit(first.iter)  # evaluated in the enclosing scope
        scope = _Scope("comp", self.scope)
        saved = self.scope
        self.scope = scope
        for i, gen in enumerate(node.generators):
            if i:
                self.visit(gen.iter)
            for name in _bound_names([gen.target]):
                scope.binds.add(name)
            self.visit(gen.target)
            for cond in gen.ifs:
                self.visit(cond)
        for elt in elts:
            self.visit(elt)
        self.scope = saved

    def visit_ListComp(self, node):
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comprehension(node, [node.key, node.value])

    def _loop(self, node, head):
        for expr in head:
            self.visit(expr)
        top = self.scope is None
        if top:
            self.loop_ok.append(_bound_names(node.body + node.orelse + head[1:]))
        for stmt in node.body:
            self.visit(stmt)
        if top:
            self.loop_ok.pop()
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_For(self, node):
        self._loop(node, [node.iter, node.target])

    visit_AsyncFor = visit_For

    def visit_While(self, node):
        self._loop(node, [node.test])

    def visit_Try(self, node):
        guarded = _catches_name_error(node.handlers)
        self.try_name_error += guarded
        for stmt in node.body:
            self.visit(stmt)
        self.try_name_error -= guarded
        for handler in node.handlers:
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                self._bind(handler.name, handler.lineno)
            for stmt in handler.body:
                self.visit(stmt)
        for stmt in node.orelse + node.finalbody:
            self.visit(stmt)

    visit_TryStar = visit_Try

    def visit_MatchAs(self, node):
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name, node.lineno)

    def visit_MatchStar(self, node):
        if node.name:
            self._bind(node.name, node.lineno)

    def visit_MatchMapping(self, node):
        self.generic_visit(node)
        if node.rest:
            self._bind(node.rest, node.lineno)
