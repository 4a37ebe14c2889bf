"""Targets and backends are plugins, found through entry points, loaded only when used.

The built-in ones are declared in ``pyproject.toml`` exactly as a third party would declare its
own::

    [project.entry-points."jupyter_deploy.targets"]
    my-target = "my_package.targets:MyTarget"

Listing the names is cheap (it reads package metadata, imports nothing); a plugin's module is
imported the first time it is asked for. An unknown name lists the known ones; a plugin whose
import fails is reported with its entry point and the original error, and does not hide the
others.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from .errors import BrokenPlugin, UnknownPlugin

TARGETS = "jupyter_deploy.targets"
BACKENDS = "jupyter_deploy.backends"

_KIND = {TARGETS: "target", BACKENDS: "backend"}

# Plugins registered at run time (tests, notebooks): group -> name -> class
_registered: dict[str, dict[str, type]] = {TARGETS: {}, BACKENDS: {}}


@lru_cache(maxsize=None)
def _entry_points(group: str) -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep)
    return found


def refresh() -> None:
    """Forget what was discovered (after installing a plugin in a running process)."""
    _entry_points.cache_clear()
    _load.cache_clear()


def names(group: str) -> list[str]:
    return sorted(set(_entry_points(group)) | set(_registered[group]))


def register(group: str, name: str, cls: type) -> None:
    """Register a plugin class without an entry point (for tests and quick experiments)."""
    _registered[group][name] = cls
    _load.cache_clear()


def unregister(group: str, name: str) -> None:
    _registered[group].pop(name, None)
    _load.cache_clear()


@lru_cache(maxsize=None)
def _load(group: str, name: str) -> type:
    if name in _registered[group]:
        return _registered[group][name]
    eps = _entry_points(group)
    kind = _KIND[group]
    if name not in eps:
        known = ", ".join(names(group)) or "none"
        raise UnknownPlugin(
            f"Unknown {kind} {name!r}.",
            hint=f"Known {kind}s: {known}. A plugin is installed as a package that declares "
            f"an entry point in the {group!r} group.",
        )
    ep = eps[name]
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - any import failure is a broken plugin
        raise BrokenPlugin(
            f"The {kind} plugin {name!r} ({ep.value}) failed to load: "
            f"{type(exc).__name__}: {exc}",
            hint="Reinstall the package that provides it, or uninstall it.",
        ) from exc
    if not isinstance(obj, type):
        raise BrokenPlugin(
            f"The {kind} plugin {name!r} ({ep.value}) is not a class.",
            hint="An entry point in this group must name a class.",
        )
    return obj


def target_class(name: str) -> type:
    return _load(TARGETS, name)


def backend_class(name: str) -> type:
    return _load(BACKENDS, name)


def loadable(group: str) -> list[type]:
    """Every plugin class of a group that loads (a broken plugin never hides the others)."""
    found = []
    for name in names(group):
        try:
            found.append(_load(group, name))
        except BrokenPlugin:
            continue
    return found


def describe(group: str) -> tuple[list[dict], list[dict]]:
    """Every plugin of a group that loads, described; and those that do not, with the error."""
    ok, broken = [], []
    for name in names(group):
        try:
            cls = _load(group, name)
        except BrokenPlugin as exc:
            broken.append({"name": name, "error": exc.one_line()})
            continue
        ok.append(cls.describe())
    return ok, broken
