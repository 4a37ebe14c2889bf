"""What a notebook's environment holds: which distributions provide its imports, at which versions.

Everything is resolved in the environment of the *kernel's* interpreter (a kernelspec's
``argv[0]``), which is not necessarily the one jupyter-deploy runs in:

- ``python=None`` (or a path to this very interpreter) answers in-process, without importing the
  packages asked about (``importlib.util.find_spec`` for top-level names does not import them);
- any other interpreter is run once with :mod:`jupyter_deploy.env_probe` as its script (that
  module is standard library only for that reason), and answers in JSON. It runs without
  ``-I``, as a kernel does, so the user's site-packages and ``PYTHONPATH`` count; the current
  folder is taken off its path.

This module is the host side: choosing where to answer, running the probe in another
interpreter, caching, and the public functions.

Public functions: :func:`probe`, :func:`requirements_for_modules`, :func:`capture`,
:func:`fingerprint`.

Requirements are exact pins (``name==version``) of the distributions that provide the notebook's
imports plus their install-requirement closure; never a whole ``pip freeze``. Distributions
installed from a local folder (editable or not) cannot be pinned: they are left out of the
requirements and reported by :func:`probe` (``local`` is ``"editable"`` or ``"path"``). A
distribution installed from version control is pinned as ``name @ git+URL@COMMIT`` (PEP 610), one
installed from a URL archive as ``name @ URL``.

The tool itself and the kernel's machinery (``jupyter-deploy``, ``ipykernel``, ``ipython``,
``pip``, ``setuptools``, ``wheel``) are left out of requirements by default, and their own
requirements are not followed; pass ``exclude=()`` to keep them.
"""

from __future__ import annotations

import json
import os
import sys

from . import env_probe
from .files import write_atomic
from .env_probe import _collect, _Env, _path_dirs, _probe_here, _stdlib_names, canonical

__all__ = ["DEFAULT_EXCLUDE", "capture", "fingerprint", "probe", "requirements_for_modules"]

# Distributions that are the tool or the kernel, not the notebook's dependencies.
DEFAULT_EXCLUDE = frozenset(
    {"jupyter-deploy", "ipykernel", "ipython", "pip", "setuptools", "wheel"}
)

_PY_NAMES = {
    "python",
    "python3",
    "python%d" % sys.version_info[0],
    "python%d.%d" % sys.version_info[:2],
}


# ------------------------------------------------------------------------------------------
# Choosing where to answer.

_EXE_CACHE = {}
_ENV_CACHE = {}  # fingerprint -> _Env  (in-process only)
_FP_CACHE = {}  # (python, dirs and mtimes) -> fingerprint
_ANSWER_CACHE = {}  # (python, fingerprint, request) -> answer of another interpreter


def _resolve_python(python):
    """The absolute path of ``python``, or None for this interpreter."""
    if python is None:
        return None
    python = os.fspath(python)
    if python in _PY_NAMES:
        # What jupyter_client does with a kernelspec whose argv[0] is a bare "python".
        return None
    if os.sep not in python:
        import shutil

        found = shutil.which(python)
        if found is None:
            _no_python(python)
        python = found
    path = os.path.abspath(os.path.expanduser(python))
    if not os.path.exists(path):
        _no_python(python)
    me = os.path.abspath(sys.executable)
    if path == me:
        return None
    if os.path.dirname(path) == os.path.dirname(me) and os.path.realpath(path) == os.path.realpath(
        me
    ):
        return None  # python3 vs python3.11 in the same bin folder
    return path


def _no_python(python):
    from .errors import KernelError

    raise KernelError(
        f"The kernel's Python interpreter was not found: {python}",
        hint="Install the kernel again (python -m ipykernel install) or pick another kernelspec.",
    )


def _run(python, request):
    import subprocess

    with open(env_probe.__file__, encoding="utf-8") as fh:
        code = fh.read()  # run as __main__: its last lines call _main()
    try:
        proc = subprocess.run(
            # Not -I: the kernel sees the user's site-packages and PYTHONPATH, so must we. The
            # current folder is left out by the script itself.
            [python, "-c", code],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=os.path.dirname(python) or None,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        from .errors import KernelError

        raise KernelError(
            f"Could not inspect the kernel's environment with {python}: {exc}",
            hint="Check that this interpreter runs (try it with --version).",
        )
    marker = proc.stdout.rfind("\n@@JD@@")
    if proc.returncode != 0 or marker < 0:
        from .errors import KernelError

        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise KernelError(
            f"Could not inspect the kernel's environment with {python}: {last}",
            hint="The kernel's interpreter must be Python 3.8 or newer.",
        )
    return json.loads(proc.stdout[marker + len("\n@@JD@@") :])


def _env_here():
    key = fingerprint(None)
    env = _ENV_CACHE.get(key)
    if env is None:
        env = _Env()
        _ENV_CACHE.clear()
        _ENV_CACHE[key] = env
    return env


def _answer(modules, python, *, requirements, closure=True, exclude=DEFAULT_EXCLUDE):
    modules = [str(m) for m in modules]
    exe = _resolve_python(python)
    if exe is None:
        env = _env_here()
        if not requirements:
            return {"probe": _probe_here(modules, env, _stdlib_names())}
        return _collect(modules, True, closure, exclude, env)
    request = {
        "op": "collect",
        "modules": modules,
        "requirements": requirements,
        "closure": closure,
        "exclude": sorted(exclude),
    }
    key = (exe, fingerprint(exe), json.dumps(request, sort_keys=True))
    answer = _ANSWER_CACHE.get(key)
    if answer is None:
        answer = _run(exe, request)
        if len(_ANSWER_CACHE) > 32:
            _ANSWER_CACHE.clear()
        _ANSWER_CACHE[key] = answer
    return json.loads(json.dumps(answer))  # a copy the caller may change


# ------------------------------------------------------------------------------------------
# Public API


def probe(modules, python: str | None = None) -> dict[str, dict]:
    """Resolve top-level module names in the environment of ``python`` (None: this one).

    Returns ``{module: {"found", "distribution", "version", "local", "origin"}}`` keyed by the
    top-level name (``"sklearn.linear_model"`` is probed as ``"sklearn"``). ``local`` is
    ``None`` for a distribution installed from an index or the standard library, else
    ``"editable"``, ``"path"`` (a local folder or file, or a folder on ``sys.path`` that no
    distribution installed) or ``"vcs"``; ``origin`` is then the URL or path it came from.
    Standard library modules are found with ``distribution`` None. Nothing is imported.

    A top-level namespace package shared by several distributions (``google``, ``azure``) is
    resolved one level below when a dotted name is given: ``probe(["google.protobuf"])`` answers
    for ``google`` (from the first such name) and for ``google.protobuf``.
    """
    return _answer(modules, python, requirements=False)["probe"]


def requirements_for_modules(
    modules, python: str | None = None, *, closure: bool = True, exclude=DEFAULT_EXCLUDE
) -> list[str]:
    """Exact pins (``name==version``, canonical names, sorted) of the distributions providing
    ``modules`` in the environment of ``python``, and with ``closure`` their install-requirement
    closure (markers evaluated for that environment; extras not followed; only what is
    installed).

    Distributions installed from a local folder (editable or not) are left out, as they cannot be
    installed elsewhere: :func:`probe` reports them (``local``). VCS installs are pinned as
    ``name @ git+URL@COMMIT``. ``exclude`` names distributions to leave out and not to follow
    (default: the tool and the kernel machinery, see :data:`DEFAULT_EXCLUDE`).
    """
    return _answer(modules, python, requirements=True, closure=closure, exclude=exclude)[
        "requirements"
    ]


def capture(modules, python: str | None = None, *, exclude=DEFAULT_EXCLUDE) -> dict:
    """The environment a notebook needs: interpreter facts and pinned requirements.

    ``{"python": "3.11.7", "implementation": "CPython", "platform": ..., "machine": ...,
    "requirements": [...], "direct": [...], "local": {module: {...probe entry...}}}``; ``direct``
    holds the pins of the distributions that provide ``modules`` themselves, ``local`` the
    modules whose distribution could not be pinned (editable, local folder).
    """
    answer = _answer(modules, python, requirements=True, closure=True, exclude=exclude)
    local = {
        m: e
        for m, e in answer["probe"].items()
        if e["local"] in ("editable", "path")
        and canonical(e["distribution"] or "") not in {canonical(x) for x in exclude}
    }
    return {
        "python": answer["python"],
        "implementation": answer["implementation"],
        "platform": answer["platform"],
        "machine": answer["machine"],
        "executable": answer.get("executable"),
        "requirements": answer["requirements"],
        "direct": answer["direct"],
        "local": local,
    }


_SYS_CACHE = {}


def _dir_stamps(path_list):
    out = {}
    for d in _path_dirs(path_list):
        try:
            out[d] = os.stat(d).st_mtime_ns
        except OSError:
            continue
    return out


def _disk_cache_file():
    home = os.environ.get("JUPYTER_DEPLOY_HOME")
    if not home:
        try:
            from jupyter_core.paths import jupyter_data_dir
        except ImportError:
            return None
        home = os.path.join(jupyter_data_dir(), "deploy")
    return os.path.join(os.path.expanduser(home), "cache", "interpreters.json")


def _disk_cache_read():
    path = _disk_cache_file()
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _disk_cache_write(python, record):
    """Remember an interpreter's sys.path across processes; best effort (a read-only home is
    fine: the next process asks the interpreter again)."""
    path = _disk_cache_file()
    if not path:
        return
    data = _disk_cache_read()
    data[python] = record
    if len(data) > 64:
        data = {python: record}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, json.dumps(data))
    except OSError:
        pass  # a cache: the next process asks the interpreter again


def _sys_of(python):
    """(version, sys.path) of another interpreter. Asked once, then remembered in-process and on
    disk while the interpreter file and the folders on its path are unchanged (a new ``.pth``
    file changes its folder's modification time)."""
    try:
        stamp = os.stat(python).st_mtime_ns
    except OSError:
        _no_python(python)
    key = (python, stamp)
    info = _SYS_CACHE.get(key)
    if info is not None:
        return info
    record = _disk_cache_read().get(python)
    if (
        isinstance(record, dict)
        and record.get("stamp") == stamp
        and isinstance(record.get("path"), list)
        and record.get("dirs") == {k: v for k, v in _dir_stamps(record["path"]).items()}
    ):
        info = (record["version"], record["path"])
    else:
        answer = _run(python, {"op": "sys"})
        info = (answer["version"], [p for p in answer["path"] if p not in ("", ".")])
        _disk_cache_write(
            python,
            {"stamp": stamp, "version": info[0], "path": info[1], "dirs": _dir_stamps(info[1])},
        )
    _SYS_CACHE[key] = info
    return info


def fingerprint(python: str | None = None) -> str:
    """A short stable hash of an environment: the interpreter, its version, and the names of
    the distributions installed on its ``sys.path`` (``*.dist-info`` / ``*.egg-info`` names,
    which carry name and version; no METADATA is read). Cached in-process per interpreter and
    the modification times of its path folders, so a repeated call costs a few ``stat`` calls.
    """
    import hashlib

    exe = _resolve_python(python)
    if exe is None:
        version, path_list, who = sys.version, sys.path, os.path.abspath(sys.executable)
    else:
        version, path_list = _sys_of(exe)
        who = exe
    stamps = []
    for d in _path_dirs(path_list):
        try:
            stamps.append((d, os.stat(d).st_mtime_ns))
        except OSError:
            continue
    key = (who, version, tuple(stamps))
    cached = _FP_CACHE.get(key)
    if cached is not None:
        return cached
    names = []
    for d, _ in stamps:
        try:
            entries = os.listdir(d)
        except OSError:
            continue
        names.extend(e for e in entries if e.endswith((".dist-info", ".egg-info")))
    digest = hashlib.sha256()
    digest.update(who.encode())
    digest.update(b"\0" + version.encode())
    for name in sorted(set(names)):
        digest.update(b"\0" + name.encode("utf-8", "surrogateescape"))
    value = digest.hexdigest()[:16]
    if len(_FP_CACHE) > 64:
        _FP_CACHE.clear()
    _FP_CACHE[key] = value
    return value
