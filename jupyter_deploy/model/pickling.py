"""Serialise a model so that it loads where the notebook is absent.

cloudpickle already pickles what the notebook defined in ``__main__`` by value. Modules that
sit next to the notebook (``from helpers import MyTransformer``) would be pickled by reference
and fail to import on another machine, so they are registered for pickling by value too.
When something cannot be pickled (a lock, a socket, an open file...), the error names the
attribute path that holds it, e.g. ``model.steps[0][1].cache_lock``.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from ..errors import SerializationError

_MAX_DEPTH = 8


def _library_roots() -> list[str]:
    roots = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            roots.add(os.path.realpath(sysconfig.get_paths()[key]))
        except KeyError:
            pass
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        roots.add(os.path.realpath(p))
    return sorted(roots)


def local_modules(folder: os.PathLike | str | None) -> list:
    """Imported modules whose source lives under ``folder`` (and not in an installed library)."""
    if not folder:
        return []
    base = os.path.realpath(folder)
    libs = _library_roots()
    try:
        from importlib.metadata import packages_distributions

        installed = set(packages_distributions())
    except Exception:  # noqa: BLE001 - broken metadata: rely on the paths alone
        installed = set()
    installed.add("jupyter_deploy")
    found = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if not path or name == "__main__" or name.split(".")[0] in installed:
            continue  # an installed (maybe editable) package is a requirement, not notebook code
        real = os.path.realpath(path)
        if not real.startswith(base + os.sep):
            continue
        if any(real.startswith(lib + os.sep) for lib in libs if not base.startswith(lib)):
            continue
        if "site-packages" in real[len(base):]:
            continue
        found.append(mod)
    return found


def dumps(model, notebook_dir: os.PathLike | str | None = None, name: str = "model",
          by_value: tuple = ()) -> bytes:
    """cloudpickle bytes of ``model``; modules in ``notebook_dir`` (and the top-level packages
    named in ``by_value``, e.g. editable installs) are pickled by value."""
    import cloudpickle

    registered = []
    extra = [sys.modules[n] for n in by_value if n in sys.modules]
    for mod in local_modules(notebook_dir) + extra:
        try:
            cloudpickle.register_pickle_by_value(mod)
            registered.append(mod)
        except (ValueError, TypeError):
            pass
    try:
        return cloudpickle.dumps(model, protocol=5)
    except Exception as exc:  # noqa: BLE001 - turned into a message that names the culprit
        culprit = find_unpicklable(model, name)
        if culprit:
            path, kind = culprit
            raise SerializationError(
                f"{name} cannot be pickled: {path} holds a {kind}.",
                hint=f"Drop or recreate that attribute before deploying (for example set it to "
                f"None, or implement __getstate__ to leave it out). ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''})",
            ) from exc
        raise SerializationError(
            f"{name} cannot be pickled: {type(exc).__name__}: {exc}",
            hint="Objects that hold locks, sockets, open files or generators cannot be deployed.",
        ) from exc
    finally:
        for mod in registered:
            try:
                cloudpickle.unregister_pickle_by_value(mod)
            except (ValueError, TypeError):
                pass


def _picklable(obj) -> bool:
    import cloudpickle

    try:
        cloudpickle.dumps(obj)
        return True
    except Exception:  # noqa: BLE001
        return False


def _children(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield f"[{k!r}]", v
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield f"[{i}]", v
    elif isinstance(obj, (set, frozenset)):
        for i, v in enumerate(obj):
            yield f".<item {i}>", v
    else:
        state = getattr(obj, "__dict__", None)
        if isinstance(state, dict):
            for k, v in state.items():
                yield f".{k}", v
        for klass in type(obj).__mro__:
            for slot in getattr(klass, "__slots__", ()) or ():
                if isinstance(slot, str) and hasattr(obj, slot) and slot != "__dict__":
                    yield f".{slot}", getattr(obj, slot)


def _kind(obj) -> str:
    import io
    import socket
    import types

    t = type(obj)
    tname = f"{t.__module__}.{t.__qualname__}"
    if "lock" in t.__name__.lower() or tname.startswith("_thread."):
        return f"lock ({tname})"
    if isinstance(obj, socket.socket):
        return f"socket ({tname})"
    if isinstance(obj, io.IOBase):
        return f"open file ({tname}, {getattr(obj, 'name', '?')})"
    if isinstance(obj, types.GeneratorType):
        return f"generator ({tname})"
    return tname


def find_unpicklable(obj, path: str = "model", depth: int = 0, seen=None):
    """``(attribute path, kind)`` of the innermost object that cannot be pickled, or None."""
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > _MAX_DEPTH:
        return None
    seen.add(id(obj))
    for suffix, child in _children(obj):
        if _picklable(child):
            continue
        deeper = find_unpicklable(child, path + suffix, depth + 1, seen)
        return deeper or (path + suffix, _kind(child))
    return None


def notebook_dir(notebook: os.PathLike | str | None) -> Path | None:
    return Path(notebook).resolve().parent if notebook else None
