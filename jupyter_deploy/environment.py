"""What a notebook's environment holds: which distributions provide its imports, at which versions.

Everything is resolved in the environment of the *kernel's* interpreter (a kernelspec's
``argv[0]``), which is not necessarily the one jupyter-deploy runs in:

- ``python=None`` (or a path to this very interpreter) answers in-process, without importing the
  packages asked about (``importlib.util.find_spec`` for top-level names does not import them);
- any other interpreter is run once with this very file as its script (this module imports
  nothing but the standard library at module level for that reason), and answers in JSON. It
  runs without ``-I``, as a kernel does, so the user's site-packages and ``PYTHONPATH`` count;
  the current folder is taken off its path.

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
import re
import sys

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


def canonical(name: str) -> str:
    """A distribution name normalised as PEP 503 says (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ------------------------------------------------------------------------------------------
# The core. Standard library only: it also runs inside other interpreters (see _main), which
# may be older Pythons (3.8+), so no 3.10+ syntax here.


def _stdlib_names():
    names = getattr(sys, "stdlib_module_names", None)
    if names:
        return set(names)
    # Python < 3.10: the top-level names in the standard library's folder.
    import sysconfig

    out = set(sys.builtin_module_names)
    stdlib = sysconfig.get_paths()["stdlib"]
    for dirpath in (stdlib, os.path.join(stdlib, "lib-dynload")):
        try:
            entries = os.listdir(dirpath)
        except OSError:
            continue
        for entry in entries:
            if entry in ("site-packages", "dist-packages"):
                continue
            out.add(entry.split(".")[0])
    return out


def _path_dirs(path_list):
    """The absolute, existing folders among ``sys.path`` entries (not the current directory)."""
    out = []
    for entry in path_list:
        if not entry or not os.path.isabs(entry):
            continue
        if entry not in out and os.path.isdir(entry):
            out.append(entry)
    return out


def _local_kind(direct_url):
    """``None`` (from an index), ``"editable"``, ``"path"``, ``"vcs"`` or ``"url"`` (an archive URL)."""
    if not direct_url:
        return None
    url = str(direct_url.get("url", ""))
    if "vcs_info" in direct_url:
        return "vcs"
    dir_info = direct_url.get("dir_info")
    if dir_info is not None:
        return "editable" if dir_info.get("editable") else "path"
    if "archive_info" in direct_url:
        return "path" if url.startswith("file:") else "url"
    return None


def _url_to_path(url):
    if not url.startswith("file:"):
        return None
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    return os.path.abspath(unquote(parsed.path))


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None


def _headers(text):
    """The header lines of a METADATA / PKG-INFO file, as (key, value) pairs (no email parser:
    it is slow and we need two fields)."""
    out = []
    for line in text.splitlines():
        if not line:
            break  # the end of the headers (a line of spaces is a continuation, not the end)
        if line[:1] in (" ", "\t") or ":" not in line:
            continue
        key, _, value = line.partition(":")
        out.append((key.strip().lower(), value.strip()))
    return out


class _Dist:
    """An installed distribution, read straight from its ``.dist-info`` / ``.egg-info`` folder."""

    def __init__(self, folder, name, version):
        self.folder = folder
        self.key = canonical(name)
        self._version = version
        self._meta = None
        self._direct = False

    def _metadata(self):
        if self._meta is None:
            text = _read(os.path.join(self.folder, "METADATA"))
            if text is None:
                text = _read(os.path.join(self.folder, "PKG-INFO")) or ""
            self._meta = _headers(text)
        return self._meta

    @property
    def version(self):
        for key, value in self._metadata():
            if key == "version":
                return value
        return self._version

    def requires(self):
        reqs = [value for key, value in self._metadata() if key == "requires-dist"]
        if reqs or self.folder.endswith(".dist-info"):
            return reqs
        # An .egg-info: requires.txt, whose [extra] sections are not followed and whose
        # [:marker] sections are kept (only installed distributions end up pinned anyway).
        text = _read(os.path.join(self.folder, "requires.txt")) or ""
        keep = True
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("["):
                keep = line.startswith("[:")
            elif line and keep:
                reqs.append(line)
        return reqs

    def top_levels(self):
        """Top-level import names, plus ``a.b`` for what sits one level below (which tells the
        distributions sharing a namespace package such as ``google`` apart)."""
        names = set()
        text = _read(os.path.join(self.folder, "top_level.txt"))
        if text:
            names.update(line.strip().split("/")[0] for line in text.splitlines() if line.strip())
        text = _read(os.path.join(self.folder, "RECORD"))
        if text is None:
            text = _read(os.path.join(self.folder, "installed-files.txt")) or ""
        for line in text.splitlines():
            path = line.split(",", 1)[0].strip().strip('"')
            if not path or path.startswith(".."):
                continue
            first, sep, _ = path.partition("/")
            if not sep:
                if not (first.endswith((".py", ".pyd")) or ".so" in first):
                    continue
                first = first.split(".")[0]
            elif first.endswith((".dist-info", ".egg-info", ".data")) or first == "__pycache__":
                continue
            if first.isidentifier():
                names.add(first)
                if sep:
                    second = path.split("/")[1].split(".")[0]
                    if second.isidentifier() and second != "__init__":
                        names.add(first + "." + second)
        return names

    def direct_url(self):
        if self._direct is False:
            text = _read(os.path.join(self.folder, "direct_url.json"))
            data = None
            if text:
                try:
                    data = json.loads(text)
                except ValueError:
                    data = None
            if data is None and self.folder.endswith(".egg-info"):
                parent = os.path.dirname(self.folder)
                if os.path.basename(parent) not in ("site-packages", "dist-packages"):
                    # A legacy ``setup.py develop`` install: the metadata sits in the project.
                    from urllib.parse import quote

                    data = {"url": "file://" + quote(parent), "dir_info": {"editable": True}}
            self._direct = data if isinstance(data, dict) else None
        return self._direct


def _scan(path_list):
    """The distributions installed in the folders of a ``sys.path`` (first one wins)."""
    dists = {}
    for folder in _path_dirs(path_list):
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info"):
                stem = entry[: -len(".dist-info")]
            elif entry.endswith(".egg-info"):
                stem = entry[: -len(".egg-info")]
            else:
                continue
            name, _, rest = stem.partition("-")
            version = rest.split("-")[0] if rest else ""
            full = os.path.join(folder, entry)
            if not os.path.isdir(full):
                continue  # an .egg-info file (distutils): no metadata folder to read
            dist = _Dist(full, name, version)
            if dist.key not in dists:
                dists[dist.key] = dist
    return dists


class _Env:
    """The distributions visible on a ``sys.path``, indexed by canonical name and by module."""

    def __init__(self, path_list=None):
        self.path = list(sys.path if path_list is None else path_list)
        self.dists = _scan(self.path)
        self._by_module = None

    @property
    def by_module(self):
        if self._by_module is None:
            index = {}
            for key in sorted(self.dists):
                for top in self.dists[key].top_levels():
                    index.setdefault(top, []).append(key)
            self._by_module = index
        return self._by_module

    def name(self, key):
        return key

    def version(self, key):
        return self.dists[key].version

    def direct(self, key):
        return self.dists[key].direct_url()

    def dist_for(self, module, origin):
        """The canonical name of the distribution that provides top-level ``module``, or None."""
        keys = self.by_module.get(module, [])
        if keys:
            return keys[0]
        if origin:
            # An editable install whose RECORD holds only a .pth: match the project folder.
            real = os.path.realpath(origin)
            for key in sorted(self.dists):
                info = self.direct(key)
                path = _url_to_path(str((info or {}).get("url", "")))
                if path and (real == path or real.startswith(path.rstrip(os.sep) + os.sep)):
                    return key
        return None

    def requires(self, key):
        return self.dists[key].requires()


def _find(module):
    """(found, origin) of a module in this interpreter, without importing it (a dotted name
    imports its parent: only ever asked for below a namespace package, which runs no code)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError, AttributeError):
        return False, None
    except Exception:
        return False, None
    if spec is None:
        return False, None
    origin = spec.origin if spec.origin not in (None, "namespace", "built-in", "frozen") else None
    if origin is None and spec.submodule_search_locations:
        locations = list(spec.submodule_search_locations)
        origin = locations[0] if locations else None
    return True, origin


def _is_namespace(origin, top):
    return (
        origin is not None
        and os.path.isdir(origin)
        and not os.path.exists(os.path.join(origin, "__init__.py"))
    )


def _probe_here(modules, env, stdlib):
    out = {}
    for module in modules:
        top = module.split(".")[0]
        if top not in out:
            out[top] = _probe_one(top, env, stdlib)
        parts = module.split(".")
        if len(parts) > 1 and out[top]["found"] and out[top].get("_namespace"):
            sub = ".".join(parts[:2])
            if sub not in out:
                out[sub] = _probe_one(sub, env, stdlib)
                if out[sub]["found"] and out[top]["distribution"] is None:
                    out[top].update(
                        {k: out[sub][k] for k in ("distribution", "version", "local", "origin")}
                    )
    for entry in out.values():
        entry.pop("_namespace", None)
    return out


def _probe_one(name, env, stdlib):
    top = name.split(".")[0]
    found, origin = _find(name)
    entry = {"found": found, "distribution": None, "version": None, "local": None, "origin": None}
    if not found or top in stdlib or top in sys.builtin_module_names:
        return entry
    if name == top and _is_namespace(origin, top):
        # A namespace package (google, azure...) that several distributions may share: which
        # one is meant shows one level below.
        entry["_namespace"] = True
        if len(env.by_module.get(top, [])) != 1:
            return entry
    key = env.dist_for(name, origin)
    if key is not None:
        entry["distribution"] = env.name(key)
        entry["version"] = env.version(key)
        kind = _local_kind(env.direct(key))
        if kind in ("editable", "path", "vcs"):
            entry["local"] = kind
            entry["origin"] = str(env.direct(key).get("url"))
    else:
        # Importable but installed by no distribution: a folder on sys.path.
        entry["local"] = "path"
        entry["origin"] = origin
    return entry


def _requirement_parser():
    try:
        from packaging.requirements import Requirement
    except Exception:
        try:
            from pip._vendor.packaging.requirements import Requirement
        except Exception:
            Requirement = None

    def parse(text):
        """(canonical name, applies here) of a Requires-Dist line; extras are not followed."""
        if Requirement is not None:
            try:
                req = Requirement(text)
            except Exception:
                req = None
            if req is not None:
                applies = True
                if req.marker is not None:
                    try:
                        applies = bool(req.marker.evaluate({"extra": ""}))
                    except Exception:
                        applies = "extra" not in str(req.marker)
                return canonical(req.name), applies
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", text)
        if not match:
            return None, False
        marker = text.split(";", 1)[1] if ";" in text else ""
        return canonical(match.group(1)), "extra" not in marker

    return parse


def _pin(env, key):
    """The requirement line of an installed distribution, or None if it cannot be pinned."""
    name = canonical(env.name(key))
    info = env.direct(key)
    kind = _local_kind(info)
    if kind is None:
        return "%s==%s" % (name, env.version(key))
    url = str(info.get("url", ""))
    if kind == "vcs":
        vcs = info["vcs_info"]
        ref = vcs.get("commit_id") or vcs.get("requested_revision")
        line = "%s @ %s+%s" % (name, vcs.get("vcs", "git"), url)
        if ref:
            line += "@" + ref
        if info.get("subdirectory"):
            line += "#subdirectory=" + info["subdirectory"]
        return line
    if kind == "url":
        return "%s @ %s" % (name, url)
    return None  # editable or a local folder/file: not reproducible elsewhere


def _collect(modules, want_requirements, closure, exclude, env=None):
    """Everything the public functions need, computed in *this* interpreter."""
    import platform

    stdlib = _stdlib_names()
    env = env if env is not None else _Env()
    modules = [m for m in modules if m]
    probed = _probe_here(modules, env, stdlib)
    result = {
        "probe": probed,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "executable": sys.executable,
    }
    if want_requirements:
        exclude = set(canonical(e) for e in exclude)
        direct = []
        for top, entry in probed.items():
            if entry["distribution"]:
                key = canonical(entry["distribution"])
                if key not in exclude and key not in direct:
                    direct.append(key)
        seen = set(direct)
        queue = list(direct)
        if closure:
            parse = _requirement_parser()
            while queue:
                key = queue.pop()
                for text in env.requires(key):
                    dep, applies = parse(text)
                    if not applies or dep is None or dep in seen or dep in exclude:
                        continue
                    if dep not in env.dists:
                        continue  # not installed here: nothing to pin
                    seen.add(dep)
                    queue.append(dep)
        pins = {}
        for key in seen:
            line = _pin(env, key)
            if line:
                pins[key] = line
        result["requirements"] = [pins[k] for k in sorted(pins)]
        result["direct"] = [pins[k] for k in sorted(pins) if k in direct]
    return result


def _sys_info():
    return {
        "path": list(sys.path),
        "version": sys.version,
        "executable": sys.executable,
    }


def _main():
    """Entry point when this file runs as a script in another interpreter: JSON in, JSON out."""
    request = json.loads(sys.stdin.read())
    # The script is given with -c: drop the current directory from the path, as a kernel would
    # see its own folder (the lint handles the notebook's folder itself).
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]
    if request["op"] == "sys":
        answer = _sys_info()
    else:
        answer = _collect(
            request["modules"], request["requirements"], request["closure"], request["exclude"]
        )
    sys.stdout.write("\n@@JD@@" + json.dumps(answer) + "\n")


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

    with open(__file__, encoding="utf-8") as fh:
        source = fh.read()
    code = source + "\n_main()\n"
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
    tmp = "%s.%d.tmp" % (path, os.getpid())
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


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
