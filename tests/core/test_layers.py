"""The package's import graph: layers that only import downwards, and no cycles.

Read from the source (every ``import`` statement, at module top or inside a function), so an
import hidden in a function counts as much as one at the top. The layers are the ones
docs/architecture.md describes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupyter_deploy

PKG = Path(jupyter_deploy.__file__).parent

# Lowest first. A module may import its own layer and the ones below, never one above.
LAYERS = [
    ("contract", {"errors", "_version", "_startup", "progress", "tmp", "stopping", "config",
                  "notebook", "history", "bundle", "plugin", "options", "plugins", "session",
                  "http", "files", "objkinds"}),
    ("core", {"check", "model", "sql", "report", "container", "environment", "env_probe",
              "handler"}),
    ("plugins", {"targets", "backends"}),
    ("seam", {"api", "many", "junit", "testing"}),
    ("front ends", {"magics", "widget", "cli", "server", "render", "__main__", "__init__"}),
]


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        if "templates" in p.parts or "labextension" in p.parts:
            continue  # templates are copied into build contexts, never imported here
        rel = p.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    stem = base[: len(base) - (node.level - 1)]
                    target = ".".join(stem + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
                cands = [n for n in names if n in mods] or [target]
            elif isinstance(node, ast.Import):
                cands = [a.name for a in node.names]
            else:
                continue
            for t in cands:
                if not t.startswith("jupyter_deploy"):
                    continue
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t != name and t != "jupyter_deploy":
                    found.add(t)
        edges[name] = found
    return edges


def _layer(module: str) -> int:
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "__init__"
    for i, (_, names) in enumerate(LAYERS):
        if first in names:
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")


def test_every_module_has_a_layer():
    for m in _modules():
        _layer(m)


def test_no_module_imports_upwards():
    edges = _edges(_modules())
    up = sorted(
        f"{a} ({LAYERS[_layer(a)][0]}) imports {b} ({LAYERS[_layer(b)][0]})"
        for a, bs in edges.items() for b in bs if _layer(b) > _layer(a)
    )
    assert not up, "\n".join(up)


def test_targets_and_backends_meet_only_through_the_contract():
    edges = _edges(_modules())
    crossing = sorted(
        f"{a} imports {b}" for a, bs in edges.items() for b in bs
        if {(a.split(".") + [""])[1], (b.split(".") + [""])[1]} == {"targets", "backends"}
    )
    assert not crossing, "\n".join(crossing)


def test_the_contract_imports_nothing_above_it():
    edges = _edges(_modules())
    for m in ("jupyter_deploy.bundle", "jupyter_deploy.plugin"):
        assert all(_layer(b) == 0 for b in edges[m]), edges[m]
    # bundle.py is the very bottom: it imports nothing of the package
    assert edges["jupyter_deploy.bundle"] == set()


def test_no_import_cycles():
    edges = _edges(_modules())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    assert not cycles, cycles
