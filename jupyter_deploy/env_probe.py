"""The environment probe: which distributions provide a list of modules, in *this* interpreter.

It runs in two ways: imported by :mod:`jupyter_deploy.environment` (the host side) when the
kernel's interpreter is the one jupyter-deploy runs in, and as a script (its source given with
``-c``, a JSON request on stdin, the JSON answer on stdout after a marker, see :func:`_main`)
inside any other kernel interpreter, which may be an older Python (3.8+) without any of
jupyter-deploy's dependencies. So: the standard library only (``packaging`` is used when the
interpreter has it, else a plain parser of Requires-Dist lines), no 3.10+ syntax, and nothing
imported from jupyter_deploy. tests/check/test_env_probe.py holds it to that.
"""

from __future__ import annotations

import json
import os
import re
import sys


def canonical(name: str) -> str:
    """A distribution name normalised as PEP 503 says (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()



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


if __name__ == "__main__":
    _main()
