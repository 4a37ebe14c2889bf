"""``--explain-drift``: are the differences every clean run agrees on library drift, and whose?

The check says a saved output differs from what a clean run prints today. When the libraries
moved since the notebook was saved, that is expected; when they did not, the saved output came
from hidden state or other data. :func:`explain_drift` tells them apart by running the notebook
again in a temporary environment resolved as the notebook's author could have had it:

1. the date: the notebook file's last git commit (when the file is committed and unchanged
   since), else the latest execution time JupyterLab or papermill saved in it, else the file's
   modification time;
2. the packages: the distributions that provide what the notebook imports (resolved in the
   kernel's environment), installed with ``uv pip install --exclude-newer DATE --only-binary
   :all:`` into a new virtual environment of the kernel's Python (a version the notebook printed,
   ``pandas 2.2.3``, is pinned as printed), then ipykernel;
3. if the saved outputs come back there, the difference is library drift: each package whose
   version differs is upgraded alone to the version installed today (a bounded number of runs,
   :data:`MAX_UPGRADES`), and each differing cell is attributed to the upgrade that changes it.
   A package whose current version needs newer dependencies is upgraded with them.

Runs are cached under the tool's cache folder (``cache/drift``), keyed by the notebook, the files
it reads, the date and the package set, so asking again costs no environment and no kernel. The
environments themselves are temporary (built from uv's cache in seconds) and removed after use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from ..errors import EnvironmentBuildError, UsageError
from ..progress import Reporter
from ..notebook import content_hash, read
from .. import tmp

__all__ = ["MAX_UPGRADES", "explain_drift", "explanation_text", "notebook_date"]

#: at most this many packages are upgraded one at a time (each one environment and one run)
MAX_UPGRADES = 6
KERNEL = "jupyter-deploy-drift"
UV_TIMEOUT = 900
RUNS_KEPT = 64
_CANDIDATE_KINDS = ("output-diff", "format-drift", "version-drift", "execution-error")
_NETWORK = re.compile(
    r"Failed to fetch|error sending request|dns error|Connection refused|connect error|"
    r"tcp connect|timed out|Could not connect|Network is unreachable|No route to host|"
    r"client error \(Connect\)",
    re.IGNORECASE,
)


# ------------------------------------------------------------------------------------ the date


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_date(path: Path) -> Optional[str]:
    """The last commit date of ``path``, when it is committed and unchanged since."""
    git = shutil.which("git")
    if not git:
        return None
    run = dict(cwd=path.parent, capture_output=True, text=True, timeout=30)
    try:
        log = subprocess.run([git, "log", "-1", "--format=%cI", "--", path.name], **run)
        dirty = subprocess.run([git, "status", "--porcelain", "--", path.name], **run)
    except (OSError, subprocess.SubprocessError):
        return None
    if log.returncode or not log.stdout.strip() or dirty.returncode or dirty.stdout.strip():
        return None
    try:
        return _iso(dt.datetime.fromisoformat(log.stdout.strip()))
    except ValueError:
        return None


def _metadata_date(nb) -> Optional[str]:
    """The latest execution time saved in the notebook (JupyterLab's recorded timing, papermill)."""
    stamps = []
    pm = (nb.get("metadata") or {}).get("papermill") or {}
    stamps += [pm.get("end_time"), pm.get("start_time")]
    for cell in nb.get("cells", []):
        ex = (cell.get("metadata") or {}).get("execution") or {}
        stamps += [v for k, v in ex.items() if isinstance(v, str)]
    found = []
    for s in stamps:
        if not s:
            continue
        try:
            when = dt.datetime.fromisoformat(str(s).replace("Z", "+00:00"))
        except ValueError:
            continue
        found.append(when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc))
    return _iso(max(found)) if found else None


def notebook_date(path: Path, nb=None) -> tuple[str, str]:
    """(UTC date, where it came from) of the notebook's last change: its last git commit, else
    the execution times saved in it, else the file's modification time."""
    path = Path(path)
    when = _git_date(path)
    if when:
        return when, "its last git commit"
    if nb is not None:
        when = _metadata_date(nb)
        if when:
            return when, "the execution times saved in it"
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
    return _iso(mtime), "the file's modification time"


# ------------------------------------------------------------------------------ environments


def _uv() -> str:
    """uv's executable: next to this interpreter, on PATH, or from the uv package."""
    here = Path(sys.executable).parent / ("uv.exe" if os.name == "nt" else "uv")
    if here.is_file():
        return str(here)
    found = shutil.which("uv")
    if found:
        return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]

        return find_uv_bin()
    except Exception:  # noqa: BLE001 - not installed, or a broken install
        raise EnvironmentBuildError(
            "--explain-drift needs uv to build the older environment, and it is not installed.",
            hint="pip install uv (or install it from your package manager), then try again.",
        ) from None


def _uv_reason(stderr: str) -> str:
    """uv's explanation in one line."""
    lines = [ln.strip() for ln in stderr.split("\nhint:")[0].splitlines() if ln.strip()]
    because = next((i for i, ln in enumerate(lines) if "Because" in ln), None)
    if because is not None:
        lines = lines[because:]  # the resolver's reasoning, without its preamble
    text = " ".join(lines[:6])
    for noise in ("error: ", "cause: ", "Caused by: ", "╰─▶ "):
        text = text.replace(noise, "")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:400] or "uv gave no reason"


class _Failed(Exception):
    def __init__(self, reason: str, network: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.network = network


def _future() -> str:
    return _iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2))


def _build(folder: Path, python: str, date: str, pins: dict, upgrades: dict, packages: list) -> str:
    """A virtual environment in ``folder`` with ``packages`` as of ``date`` (``pins``: exact
    versions, e.g. those the notebook printed; ``upgrades``: name -> today's version), plus
    ipykernel. Returns its interpreter; raises :class:`_Failed` with uv's reason."""
    uv = _uv()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_EXCLUDE_NEWER")}
    env["UV_NO_PROGRESS"] = "1"

    def run_uv(args):
        try:
            done = subprocess.run([uv, *args], capture_output=True, text=True, env=env,
                                  timeout=UV_TIMEOUT, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise _Failed(f"uv did not finish within {UV_TIMEOUT} s", network=True) from None
        if done.returncode:
            reason = _uv_reason(done.stderr)
            raise _Failed(reason, network=bool(_NETWORK.search(done.stderr)))

    run_uv(["venv", "--quiet", "--python", python, str(folder)])
    exe = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    reqs, later = [], []
    for name in [*packages, *(u for u in upgrades if u not in packages)]:
        if name in upgrades:
            reqs.append(f"{name}=={upgrades[name]}")
            later += ["--exclude-newer-package", f"{name}={_future()}"]
        elif name in pins:
            reqs.append(f"{name}=={pins[name]}")
            later += ["--exclude-newer-package", f"{name}={_future()}"]
        else:
            reqs.append(name)
    if reqs:
        run_uv(["pip", "install", "--quiet", "--python", str(exe), "--only-binary", ":all:",
              "--exclude-newer", date, *later, *reqs])
    # the kernel itself as of today (an old ipykernel may not run on this Python), without
    # moving the notebook's packages
    installed = _freeze(uv, exe, env)
    constraints = folder / "constraints.txt"
    constraints.write_text("".join(f"{n}=={installed[n]}\n" for n in packages if n in installed))
    run_uv(["pip", "install", "--quiet", "--python", str(exe), "-c", str(constraints), "ipykernel"])
    return str(exe)


def _freeze(uv: str, exe, env) -> dict:
    done = subprocess.run([uv, "pip", "freeze", "--python", str(exe)], capture_output=True,
                          text=True, env=env, timeout=120)
    out = {}
    for line in done.stdout.splitlines():
        if "==" in line:
            name, _, version = line.partition("==")
            out[_canon(name)] = version.strip()
    return out


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _kernel_dir(root: Path, exe: str) -> Path:
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [exe, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (jupyter-deploy drift)", "language": "python",
    }))
    return root / "kernels"


# ---------------------------------------------------------------------------------- packages


def _packages(nb, python: Optional[str]) -> dict:
    """distribution -> (today's version, module) of what the notebook imports, in the kernel's
    environment (the standard library, local folders and the kernel's own machinery left out)."""
    from ..environment import DEFAULT_EXCLUDE, probe
    from .drift import notebook_aliases

    modules = sorted(set(notebook_aliases(nb).values()))
    found = probe(modules, python) if modules else {}
    out = {}
    for module, entry in sorted(found.items()):
        dist = entry.get("distribution")
        if not entry.get("found") or not dist or entry.get("local") or not entry.get("version"):
            continue
        dist = _canon(dist)
        if dist in DEFAULT_EXCLUDE or dist in out:
            continue
        out[dist] = (entry["version"], module)
    return out


def _candidates(report: dict) -> list:
    """The cells whose difference every clean run agrees on (not nondeterministic)."""
    cells = set()
    nondet = {f.get("cell") for f in report.get("findings", []) if f["kind"] == "nondeterministic"}
    for f in report.get("findings", []):
        if f["kind"] not in _CANDIDATE_KINDS or f.get("cause") == "unordered-iteration":
            continue
        if f["kind"] == "output-diff" and report.get("runs", 1) > 1 and (
            f.get("cause") != "hidden-state-or-drift"
        ):
            continue
        for c in f.get("cells") or [f.get("cell")]:
            if c is not None and c not in nondet:
                cells.add(c)
    return sorted(cells)


# ------------------------------------------------------------------------------------- runs


def _differing(saved_nb, run, cells, conf) -> set:
    """The cells of ``cells`` whose saved outputs this run does not reproduce (a printed version
    that differs alone does not count: the index may not hold the author's exact patch release)."""
    from .compare import compare_notebooks

    found = compare_notebooks(saved_nb, run, float_tol=conf.float_tolerance,
                              image_tol=conf.image_tolerance, cells=cells)
    return {c for f in found if f["kind"] != "version-drift" for c in (f.get("cells") or [f["cell"]])}


class _Runner:
    def __init__(self, path: Path, nb, conf, reporter: Reporter, python: str, date: str,
                 packages: list, pins: dict):
        from . import input_files

        self.path, self.nb, self.conf, self.reporter = path, nb, conf, reporter
        self.python, self.date, self.packages, self.pins = python, date, packages, pins
        self.cache = conf.cache_path / "drift"
        self.base_key = {
            "nb": content_hash(nb), "inputs": input_files(nb, path.parent), "python": python,
            "python_version": _python_version(python), "date": date, "packages": packages,
            "pins": pins,
        }
        self.runs = 0  # runs made (not answered from the cache)

    def run(self, upgrades: dict, label: str):
        """The executed notebook with ``upgrades``, and the versions installed; raises _Failed."""
        import nbformat

        key = hashlib.sha256(json.dumps({**self.base_key, "upgrades": upgrades}, sort_keys=True,
                                        default=str).encode()).hexdigest()[:32]
        entry = self.cache / f"{key}.json"
        if self.conf.use_cache and entry.is_file():
            try:
                data = json.loads(entry.read_text())
                self.reporter(label, 1, 1, "from the cache")
                if data.get("failed"):
                    raise _Failed(data["failed"])
                return nbformat.reads(data["nb"], as_version=4), data["versions"]
            except (ValueError, KeyError, OSError):
                pass
        from .run import CleanRun

        root = Path(tmp.mkdtemp(prefix="drift-env-"))
        try:
            self.reporter(label, 0, 1, "building the environment with uv")
            try:
                exe = _build(root / "env", self.python, self.date, self.pins, upgrades,
                             self.packages)
            except _Failed as exc:
                if not exc.network:
                    self._store(entry, {"failed": exc.reason})
                raise
            versions = _freeze(_uv(), exe, os.environ)
            runner = CleanRun(
                nbformat.from_dict(json.loads(json.dumps(self.nb))), self.path, KERNEL,
                cell_timeout=self.conf.cell_timeout, total_timeout=self.conf.total_timeout,
                startup_timeout=self.conf.startup_timeout, reporter=self.reporter,
                label=label, kernel_dirs=[_kernel_dir(root, exe)], kernel_log=root / "kernel.log",
            )
            result = runner.execute()
            self.runs += 1
            self._store(entry, {"nb": nbformat.writes(result.nb), "versions": versions})
            return result.nb, versions
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def _store(self, entry: Path, data: dict) -> None:
        from . import _private_dir

        _private_dir(self.cache)
        tmp_file = entry.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp_file, entry)
        kept = sorted(self.cache.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[RUNS_KEPT:]:
            old.unlink(missing_ok=True)


def _python_version(python: str) -> str:
    try:
        done = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


# ------------------------------------------------------------------------------ the explanation


def _depends_on(reason: str) -> list:
    """The packages uv says an upgrade needs newer versions of."""
    named = re.findall(r"depends on ([A-Za-z0-9][\w.-]*)", reason)
    return list(dict.fromkeys(_canon(x) for x in named))


def _installed_version(python: str, dist: str) -> Optional[str]:
    """The version of ``dist`` in the kernel's environment, or None."""
    code = f"import importlib.metadata as m\ntry: print(m.version({dist!r}))\nexcept Exception: pass"
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def explain_drift(path: Path, report: dict, conf, reporter: Reporter, *, as_of: Optional[str] = None,
                  python: Optional[str] = None) -> dict:
    """Whether the differences every clean run of ``report`` agrees on are library drift, and
    which package's upgrade changes each cell (see the module's docstring). Raises
    :class:`~jupyter_deploy.errors.EnvironmentBuildError` when no environment can be built."""
    started = time.monotonic()
    nb = read(path)
    cells = _candidates(report)
    if as_of:
        date, source = _iso(_parse_date(as_of)), "the date given"
    else:
        date, source = notebook_date(path, nb)
    out = {"as_of": date, "date_from": source, "cells": cells, "packages": {}, "trials": [],
           "explained": {}, "unexplained": [], "verdict": "nothing-to-explain", "runs": 0}
    if not cells:
        out["summary"] = "no difference that every clean run agrees on: nothing to explain"
        out["seconds"] = round(time.monotonic() - started, 2)
        return out
    python = python or (report.get("environment") or {}).get("executable") or sys.executable
    today = _packages(nb, python)
    pins = {}
    from .drift import version_evidence

    for lib, (saved, _clean, _cell) in version_evidence(report.get("findings", [])).items():
        dist = next((d for d, (_, m) in today.items() if m == lib or d == _canon(lib)), None)
        if dist:
            pins[dist] = saved  # the version the notebook printed
    packages = sorted(today)
    runner = _Runner(path, nb, conf, reporter, python, date, packages, pins)
    day = date[:10]
    try:
        base, old = runner.run({}, f"explain, packages as of {day}")
    except _Failed as exc:
        if exc.network:
            raise EnvironmentBuildError(
                f"--explain-drift cannot reach the package index to build the environment as "
                f"of {day}: {exc.reason}",
                hint="Check the network or the index uv is configured with (UV_INDEX_URL, "
                "uv.toml), then try again.",
            ) from None
        raise EnvironmentBuildError(
            f"No environment as of {day} ({source}) can be built for Python "
            f"{_python_version(python)}: {exc.reason}",
            hint="Only wheels are used (building old releases from source is slow and rarely "
            "works on a newer Python): the notebook may be older than this Python's wheels. "
            "Check it with a kernel of an older Python (--kernel), or give a later date (as_of).",
        ) from None
    out["packages"] = {d: {"saved": old.get(d), "current": today[d][0]} for d in packages}
    differ = _differing(nb, base, cells, conf)
    explained = [c for c in cells if c not in differ]
    out["unexplained"] = sorted(differ)
    if not explained:
        out["verdict"] = "not-library-drift"
    else:
        out["verdict"] = "library-drift" if not differ else "partly-library-drift"
        changed = [d for d in packages if old.get(d) and old[d] != today[d][0]]
        # the packages the differing outputs name come first (their library is the suspect)
        named = " ".join(f.get("library", "") for f in report.get("findings", []))
        changed.sort(key=lambda d: (today[d][1] not in named and d not in named, d))
        trials = []
        for dist in changed[:MAX_UPGRADES]:
            upgrades = {dist: today[dist][0]}
            for _ in range(3):
                label = "explain, upgrading " + ", ".join(f"{d} {v}" for d, v in upgrades.items())
                try:
                    run, _v = runner.run(upgrades, label)
                except _Failed as exc:
                    # a dependency it needs newer (numpy for pandas 3): upgraded with it, to the
                    # version the kernel has today
                    needs = {d: today[d][0] if d in today else _installed_version(python, d)
                             for d in _depends_on(exc.reason) if d not in upgrades}
                    needs = {d: v for d, v in needs.items() if v}
                    if needs and not exc.network:
                        upgrades.update(needs)
                        continue
                    trials.append({"package": dist, "upgrades": upgrades, "failed": exc.reason,
                                   "changes": []})
                    break
                trials.append({"package": dist, "upgrades": upgrades, "changes": sorted(
                    _differing(nb, run, explained, conf))})
                break
        out["trials"] = trials
        out["not_tried"] = changed[MAX_UPGRADES:]
        for c in explained:
            out["explained"][c] = _culprits(c, trials)
    out["runs"] = runner.runs
    out["seconds"] = round(time.monotonic() - started, 2)
    out["summary"] = _summary(out)
    return out


def _culprits(cell: int, trials: list) -> list:
    """The packages whose upgrade changes ``cell``: those whose trial changes it, less a package
    upgraded together with another one (a dependency it needs) whose own trial changes it too
    (pandas 3 brings NumPy 2: when NumPy 2 alone changes the cell, pandas is not named)."""
    changing = [t for t in trials if not t.get("failed") and cell in t["changes"]]
    by_itself = {t["package"] for t in changing}
    named = [t["package"] for t in changing
             if not (set(t["upgrades"]) - {t["package"]}) & (by_itself - {t["package"]})]
    return sorted(named or by_itself)


def _parse_date(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"Not a date: {text!r}.", hint="Give it as YYYY-MM-DD.") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _versions(out: dict, names) -> str:
    return ", ".join(f"{n} {out['packages'][n]['saved']} -> {out['packages'][n]['current']}"
                     if n in out["packages"] else n for n in names)


def _summary(out: dict) -> str:
    day, cells = out["as_of"][:10], out["cells"]
    def where(cs):
        return ("cell " if len(cs) == 1 else "cells ") + ", ".join(map(str, cs))

    def differ(cs):
        return f"{where(cs)} still {'differs' if len(cs) == 1 else 'differ'}"

    if out["verdict"] == "not-library-drift":
        return (f"not library drift: with the packages of {day} ({out['date_from']}) "
                f"{differ(cells)} from the saved outputs: hidden state, other data, or Python "
                "itself")
    explained = sorted(out["explained"])
    head = (f"library drift: with the packages of {day} ({out['date_from']}) the saved outputs of "
            f"{where(explained)} come back")
    if out["unexplained"]:
        head += f"; {differ(out['unexplained'])} (not library drift)"
    return head


def explanation_text(out: dict) -> str:
    """The explanation as text lines, for the terminal."""
    lines = [out["summary"]]
    old = {d: v for d, v in out.get("packages", {}).items() if v["saved"]}
    if old:
        lines.append("  as of " + out["as_of"][:10] + ": " + ", ".join(
            f"{d} {v['saved']}" + (f" (now {v['current']})" if v["saved"] != v["current"] else "")
            for d, v in old.items()))
    tried = [t for t in out.get("trials", []) if not t.get("failed")]
    for cell, names in sorted(out.get("explained", {}).items(), key=lambda kv: int(kv[0])):
        if names:
            deps = {d: v for t in tried if t["package"] in names and cell in t["changes"]
                    for d, v in t["upgrades"].items() if d not in names}
            with_ = f" (upgraded with {', '.join(f'{d} {v}' for d, v in deps.items())}, which it " \
                    "needs)" if deps else ""
            lines.append(f"  cell {cell}: changed by the upgrade of {_versions(out, names)}{with_}")
        elif tried:
            lines.append(f"  cell {cell}: no upgrade tried alone changes it (several together, "
                         "or one not tried)")
        else:
            lines.append(f"  cell {cell}: not attributed (no upgrade could be installed)")
    for t in out.get("trials", []):
        if t.get("failed"):
            lines.append(f"  could not upgrade {', '.join(t['upgrades'])}: {t['failed']}")
    if out.get("not_tried"):
        lines.append(f"  not tried (limit of {MAX_UPGRADES} upgrades): {', '.join(out['not_tried'])}")
    lines.append(f"  {out['runs']} run(s) in {out.get('seconds', 0):.0f} s")
    return "\n".join(lines)
