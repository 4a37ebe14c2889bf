"""The sql package's internal import graph (read from each module's AST, imports inside
functions included) has no cycle: converters import the registry and the Builder from
sql/builder.py, which imports no converter; the compiler imports every converter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import jupyter_deploy

SQL = Path(jupyter_deploy.__file__).parent / "sql"
PACKAGE = "jupyter_deploy.sql"


def _module_of(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """The modules of the package a ``from ... import ...`` reaches."""
    if node.level:
        base = current.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        root = ".".join(base + ([node.module] if node.module else []))
    else:
        root = node.module or ""
    targets = [root]
    # ``from . import trees`` imports a module; ``from .builder import Builder`` a name
    targets += [f"{root}.{alias.name}" for alias in node.names]
    return targets


def import_graph(folder: Path = SQL) -> dict[str, set[str]]:
    modules = {_module_of(p): p for p in sorted(folder.glob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(name, path.name == "__init__.py", node)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        # importing a submodule runs the package's __init__ first: that edge is not a cycle
        # of the code's making, so it is left out
        graph[name] = edges - {PACKAGE}
    return graph


def find_cycle(graph: dict[str, set[str]]):
    """One cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_sql_package_has_no_import_cycle():
    graph = import_graph()
    assert f"{PACKAGE}.builder" in graph and f"{PACKAGE}.trees" in graph
    # the scan sees the edges that make the registry work
    assert f"{PACKAGE}.builder" in graph[f"{PACKAGE}.trees"]
    assert f"{PACKAGE}.trees" in graph[f"{PACKAGE}.compiler"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle in jupyter_deploy/sql: " + " -> ".join(cycle)
    # the bottom module imports nothing of the package but identifiers
    assert graph[f"{PACKAGE}.builder"] <= {f"{PACKAGE}.identifiers"}


def test_the_cycle_finder_finds_one(tmp_path):
    """What the old compiler did: it loaded converters that import register back from it."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "compiler.py").write_text(
        "def register():\n    pass\n\ndef load():\n    from . import trees\n")
    (tmp_path / "trees.py").write_text("from .compiler import register\n")
    (tmp_path / "builder.py").write_text("import os\n")
    graph = import_graph(tmp_path)
    assert find_cycle(graph) == [f"{PACKAGE}.compiler", f"{PACKAGE}.trees",
                                 f"{PACKAGE}.compiler"]
    assert graph[f"{PACKAGE}.builder"] == set()


def test_every_converter_is_registered_once_the_package_is_imported():
    """No lazy loading any more: importing jupyter_deploy.sql registers every converter, and
    `import jupyter_deploy` imports nothing of sql/."""
    code = ("import sys, jupyter_deploy; "
            "assert not [m for m in sys.modules if m.startswith('jupyter_deploy.sql')]; "
            "from jupyter_deploy.sql import supported; print(len(supported())); "
            "print(sorted(supported()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    names = eval(out[1])  # noqa: S307 - our own printed list
    assert int(out[0]) == len(names) > 20
    assert {"Pipeline", "ColumnTransformer", "StandardScaler", "LogisticRegression",
            "DecisionTreeClassifier", "GradientBoostingClassifier", "LGBMClassifier",
            "XGBRegressor"} <= set(names)
