"""The requirements a pickled model needs: the modules its pickle stream imports, pinned.

A pickle names every class and function it rebuilds by module (GLOBAL / STACK_GLOBAL opcodes),
and cloudpickle names the modules that by-value functions import (``subimport("numpy")``).
Those module names are mapped to installed distributions, pinned exactly, with their
dependency closure, by :func:`jupyter_deploy.environment.requirements_for_modules`. This is
what the model needs, not a ``pip freeze`` of the whole session.
"""

from __future__ import annotations

import pickletools
import platform
import sys
from typing import Iterable
from .._version import __version__

_STRING_OPS = {
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "SHORT_BINSTRING",
    "BINSTRING",
    "STRING",
}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}


def pickle_modules(data: bytes) -> set[str]:
    """Every module a pickle stream imports (full dotted names)."""
    modules: set[str] = set()
    memo: dict = {}
    strings: list = []  # recent pushes: a str, or None for anything else
    memo_index = 0
    pending_subimport = False
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in _STRING_OPS:
            value = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else arg
            strings.append(value)
            if pending_subimport and isinstance(value, str):
                modules.add(value)
                pending_subimport = False
        elif name == "MEMOIZE":
            memo[memo_index] = strings[-1] if strings else None
            memo_index += 1
        elif name in _PUT_OPS:
            memo[arg] = strings[-1] if strings else None
        elif name in _GET_OPS:
            value = memo.get(arg)
            strings.append(value)
            if pending_subimport and isinstance(value, str):
                modules.add(value)
                pending_subimport = False
        elif name == "GLOBAL":
            module, _, qual = str(arg).partition(" ")
            modules.add(module)
            pending_subimport = qual in ("subimport", "_import_module")
        elif name == "STACK_GLOBAL":
            if len(strings) >= 2 and isinstance(strings[-2], str):
                modules.add(strings[-2])
                pending_subimport = strings[-1] in ("subimport", "_import_module")
            strings.append(None)
        else:
            strings.append(None)
        if len(strings) > 8:
            del strings[:-8]
    return {m for m in modules if m and m != "__main__"}


def top_level(modules: Iterable[str]) -> list[str]:
    """Top-level names of the non-standard-library modules among ``modules``."""
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    tops = {m.split(".")[0] for m in modules if m}
    return sorted(t for t in tops if t not in stdlib and not t.startswith("_"))


def requirements_for_pickle(data: bytes, extra_modules: Iterable[str] = ()) -> list[str]:
    """Exact pins ("name==version") for what the pickle needs, plus ``extra_modules``."""
    modules = sorted(set(pickle_modules(data)) | set(extra_modules))
    return requirements_for_modules(modules)


def requirements_for_modules(modules: Iterable[str], python: str | None = None) -> list[str]:
    """Pins for ``modules`` as installed for ``python`` (the clean kernel's interpreter, where the
    model was pickled), or for this interpreter when that one cannot be asked."""
    modules = list(modules)
    try:
        from ..environment import requirements_for_modules as _for_modules
    except ImportError:
        return _fallback_requirements(modules)
    if python:
        try:
            return list(_for_modules(modules, python=python))
        except Exception:  # noqa: BLE001 - the kernel's interpreter went away: pins from here
            pass
    return list(_for_modules(modules))


def _fallback_requirements(modules: Iterable[str]) -> list[str]:
    """Used only while jupyter_deploy.environment is absent: distributions + their closure."""
    import re
    from importlib import metadata

    from packaging.requirements import Requirement

    pkg_to_dists = metadata.packages_distributions()
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    wanted: list[str] = []
    for mod in modules:
        top = mod.split(".")[0]
        if top in stdlib or top in sys.builtin_module_names:
            continue
        wanted.extend(pkg_to_dists.get(top, []))
    seen: dict[str, str] = {}
    stack = list(wanted)
    env = {"extra": ""}
    while stack:
        dist_name = stack.pop()
        key = re.sub(r"[-_.]+", "-", dist_name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = f"{dist.metadata['Name']}=={dist.version}"
        for req in dist.requires or []:
            r = Requirement(req)
            if r.marker is not None and not r.marker.evaluate(env):
                continue
            stack.append(r.name)
    return sorted(seen.values(), key=str.lower)


def unpinned_modules(modules: Iterable[str], python: str | None = None) -> dict[str, str]:
    """Top-level modules the pickle needs that no pin can provide: editable or local-folder
    installs, or modules not installed here. ``{module: "editable /src/pkg" | "not installed"}``."""
    tops = top_level(modules)
    tops = [t for t in tops if t != "jupyter_deploy"]
    if not tops:
        return {}
    try:
        from ..environment import probe
    except ImportError:  # pragma: no cover
        return {}
    found = None
    for py in ([python] if python else []) + [None]:
        try:
            found = probe(tops, python=py)
            break
        except Exception:  # noqa: BLE001 - never lose an artefact over the probe
            continue
    if found is None:
        return {}
    out = {}
    for mod in tops:
        entry = found.get(mod) or {}
        if not entry.get("found"):
            out[mod] = "not installed"
        elif entry.get("local") in ("editable", "path"):
            out[mod] = f"{entry['local']} {entry.get('origin') or ''}".strip()
    return out


def requirements_text(requirements: list[str], modules: Iterable[str] = (),
                      unpinned: dict | None = None, python_version: str | None = None) -> str:
    mods = ", ".join(top_level(modules)) or "none"
    header = [
        f"# Generated by jupyter-deploy {__version__} for Python "
        f"{python_version or platform.python_version()} ({sys.platform}).",
        f"# Exact pins of the distributions that model.pkl imports ({mods}),",
        "# plus their dependencies: not a freeze of the whole environment.",
    ]
    for mod, why in sorted((unpinned or {}).items()):
        header.append(f"# WARNING: {mod} cannot be pinned ({why}); install it by hand.")
    return "\n".join(header + list(requirements)) + "\n"
