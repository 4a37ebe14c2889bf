"""The repeatability check: static findings, a clean re-run, output comparison, a verdict.

``run_check`` is what :func:`jupyter_deploy.api.check` calls. The report it returns is cached
under a key made of the notebook's content hash, the kernel environment's fingerprint, the
files the notebook reads (see :func:`input_files`), the parameters and the options that change
the answer, so asking again about an unchanged notebook answers from the cache without starting
a kernel, and a changed data file or local module is checked again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Optional

from .._version import __version__
from ..errors import DeployError
from ..handler import find as find_handler
from ..notebook import (
    content_hash, kernel_name, number_findings, read, read_json, resolve_path, runs_deploy,
)
from ..progress import Reporter
from ..history import now_utc

CACHE_ENTRIES_KEPT = 32
#: entries used within this many seconds are kept whatever their number, so that a repository of
#: hundreds of notebooks checked in CI (jupyter deploy check FOLDER) finds all of them next time
CACHE_KEEP_SECONDS = 7 * 24 * 3600


#: a quoted string in a code cell: a candidate path the notebook reads
_QUOTED = re.compile(r"""(?:[rRbBfFuU]{0,2})(['"])([^'"\n]{1,400})\1""")
INPUTS_LISTED = 500  # at most this many files enter the key (a folder of data counts its files)


def input_files(raw: dict, folder: Path) -> list:
    """(path, size, mtime) of the files a notebook's results may depend on, for the cache key.

    The Python modules next to the notebook (it may import them), and every existing file or
    folder named by a string literal in a code cell, relative to the notebook's folder or
    absolute ("data/sales.csv", "/srv/shared/prices.parquet"). Size and modification time, not
    content hashes, so a cache hit stays a matter of milliseconds even for large data."""
    found: dict = {}

    def add(p: Path):
        if len(found) >= INPUTS_LISTED:
            return
        try:
            st = p.stat()
        except OSError:
            return
        found[str(p)] = (st.st_size, st.st_mtime_ns)

    try:
        for py in sorted(folder.glob("*.py")):
            add(py)
    except OSError:
        pass
    for cell in raw.get("cells") or []:
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source") or ""
        src = "".join(src) if isinstance(src, list) else src
        for m in _QUOTED.finditer(src):
            text = m.group(2).strip()
            if not text or text.startswith(("http://", "https://", "s3://", "gs://")) or "\0" in text:
                continue
            try:
                cand = Path(os.path.expanduser(text))
                cand = cand if cand.is_absolute() else folder / cand
                if cand.is_file():
                    add(cand)
                elif cand.is_dir() and cand.resolve() != folder.resolve():
                    for f in sorted(cand.rglob("*"))[: INPUTS_LISTED]:
                        if f.is_file():
                            add(f)
            except (OSError, ValueError):
                continue
    return sorted([k, *v] for k, v in found.items())


def _cache_key(nb_hash: str, fingerprint: str, parameters: dict, conf, inputs=()) -> str:
    payload = {
        "nb": nb_hash,
        "env": fingerprint,
        "inputs": list(inputs),
        "params": parameters,
        "runs": conf.runs,
        "float_tol": conf.float_tolerance,
        "image_tol": conf.image_tolerance,
        "ignore": sorted(conf.ignore_kinds),
        "keep_objects": conf.keep_objects,
        "kernel": getattr(conf, "kernel", ""),
        "version": __version__,
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _env_fingerprint(kernel: Optional[str]) -> tuple[str, Optional[str]]:
    from ..environment import fingerprint
    from .run import kernel_python

    python = None
    if kernel:
        try:
            python = kernel_python(kernel)
        except Exception:  # an uninstalled kernel is reported by the run itself
            python = None
    return f"{kernel}:{fingerprint(python) if python else 'no-python'}", python


def _locate(notebook, conf, parameters: dict):
    path = resolve_path(notebook)
    raw = read_json(path)
    if raw.get("nbformat") != 4:
        read(path, raw)  # the precise error; the cache path stays free of validation cost
    nb_hash = content_hash(raw)  # plain JSON: the cache path never imports nbformat
    fp, python = _env_fingerprint(getattr(conf, "kernel", "") or kernel_name(raw))
    key = _cache_key(nb_hash, fp, parameters, conf, input_files(raw, path.parent))
    return path, nb_hash, python, conf.cache_path / "check" / key, raw


def cached_report(notebook, conf, parameters: Optional[dict] = None) -> Optional[dict]:
    """The cached report for the notebook's current content, or None."""
    try:
        _, _, _, entry, _ = _locate(notebook, conf, parameters or {})
    except Exception:
        return None
    return _read_entry(entry)


def _read_entry(entry: Path) -> Optional[dict]:
    report_file = entry / "report.json"
    if not report_file.is_file():
        return None
    try:
        report = json.loads(report_file.read_text())
    except (ValueError, OSError):  # being replaced by a concurrent check of the same notebook
        return None
    return report


def run_check(notebook, conf, reporter: Reporter, parameters: Optional[dict] = None) -> dict:
    parameters = dict(parameters or {})
    started = time.monotonic()
    path, nb_hash, python, entry, raw = _locate(notebook, conf, parameters)

    if conf.use_cache:
        report = _read_entry(entry)
        if report is not None:
            try:
                os.utime(entry)  # recently used: kept by _prune
            except OSError:
                pass
            report["cached"] = True
            report["duration"] = round(time.monotonic() - started, 4)
            reporter("cache", 1, 1, f"unchanged since the last check: {report['verdict']}")
            return report

    nb = read(path, raw)  # full validation only when we actually run it
    kernel = conf.kernel or kernel_name(nb)
    findings: list[dict] = []
    if conf.kernel:
        from .run import _kernel_spec

        _kernel_spec(conf.kernel)  # the user named it: an unknown name is an error, not a verdict
        python = None
    if not kernel:
        from .run import _finding

        kernel = "python3"
        findings.append(
            _finding(
                "no-kernelspec", None,
                "the notebook names no kernel; it was run with python3",
                "Open it in JupyterLab, pick a kernel and save, so everyone runs it the same way.",
                severity="warning",
            )
        )
        python = None

    from . import parameters as params_mod

    run_nb = params_mod.inject(nb, parameters)

    # 1. static findings, before running anything
    reporter("lint", 0, 1, "reading the notebook")
    from .lint import static_findings
    from .run import CleanRun, kernel_python

    missing = _missing_kernel(kernel)
    if missing:
        python = None
    elif python is None:
        python = kernel_python(kernel)
    deploy_cells = {i for i, c in enumerate(run_nb.cells) if c.get("cell_type") == "code" and runs_deploy(c.get("source"))}
    findings += [
        f for f in static_findings(run_nb, path.parent, python=python, ignore=conf.ignore_kinds)
        # %deploy cells are meant to be run by the reader, not saved with outputs
        if not (f["kind"] == "never-executed" and f.get("cell") in deploy_cells)
    ]
    reporter("lint", 1, 1, f"{len(findings)} static finding(s)")
    if missing:
        return _verdict_without_run(
            path, nb, nb_hash, kernel, findings + [missing], parameters, started
        )

    # 2. clean re-run(s), into a fresh cache entry written atomically at the end
    tmp = entry.parent / f".tmp-{uuid.uuid4().hex[:8]}"
    _private_dir(entry.parent)
    tmp.mkdir(mode=0o700)
    os.chmod(tmp, 0o700)  # executed copies carry whatever the notebook printed: the user's only
    try:
        import copy

        runs = []
        for i in range(conf.runs):
            label = "run" if conf.runs == 1 else f"run {i + 1}/{conf.runs}"
            runner = CleanRun(
                copy.deepcopy(run_nb),
                path,
                kernel,
                cell_timeout=conf.cell_timeout,
                total_timeout=conf.total_timeout,
                startup_timeout=conf.startup_timeout,
                reporter=reporter,
                objects_dir=(tmp / "objects") if (conf.keep_objects and i == 0) else None,
                produced_dir=(tmp / "produced") if i == 0 else None,
                max_object_bytes=conf.max_object_bytes,
                label=label,
                kernel_log=tmp / "kernel.log",
            )
            result = runner.execute()
            runs.append(result)
            # a second run repeats the first one's errors: list them once
            findings += result.findings if i == 0 else [
                f for f in result.findings if f["kind"] not in ("execution-error", "expected-error")
            ]
            if not result.completed:
                break
        first = runs[0]

        # 3. output comparison (not meaningful when parameters changed the inputs)
        compared = False
        if not parameters:
            reporter("compare", 0, 1, "comparing saved and clean outputs")
            from .compare import compare_notebooks, compare_runs

            tol = {"float_tol": conf.float_tolerance, "image_tol": conf.image_tolerance}
            cells_ok = _compared_cells(runs)
            # cells whose values may change run to run: a rounding there is no print setting
            volatile = {f.get("cell") for f in findings if f["kind"] in ("unseeded-random", "wall-clock")}
            # %deploy cells do nothing in a clean run (they say so): their outputs differ by design.
            if len(runs) > 1 and all(r.completed for r in runs):
                diffs = compare_runs(nb, [r.nb for r in runs], cells=cells_ok, volatile_cells=volatile, **tol)
            else:
                diffs = compare_notebooks(nb, first.nb, cells=cells_ok, volatile_cells=volatile, **tol)
            from .drift import group_drift

            diffs = [f for f in diffs if f.get("cell") not in deploy_cells]
            diffs = group_drift(diffs, nb, first.nb)
            findings += diffs
            # nothing to compare with when the notebook was saved without outputs
            compared = _has_outputs(nb)
            reporter("compare", 1, 1, "outputs compared")

        # 4. environment of the clean kernel
        from ..environment import capture

        try:
            environment = capture(first.modules, python=first.kernel_python or python)
        except Exception as exc:  # noqa: BLE001 - never lose a verdict over the capture
            environment = {"error": f"{type(exc).__name__}: {exc}"}

        from .verdict import decide

        if run_nb is not nb:
            findings = params_mod.map_cells_back(findings, run_nb)

        from .flow import CellFlow

        verdict, reasons, findings = decide(findings, tuple(conf.ignore_kinds), flow=CellFlow(nb))
        findings.sort(key=lambda f: (f.get("cell") if f.get("cell") is not None else -1))
        number_findings(findings, nb)  # JupyterLab's cell numbers and the saved [n] counts
        failed = sorted({f["cell"] for f in findings if f["kind"] == "execution-error"})

        executed = tmp / "executed.ipynb"
        _write_notebook(first.nb, executed)
        if len(runs) > 1:
            _write_notebook(runs[1].nb, tmp / "executed-2.ipynb")
        from .objects import ObjectStore

        if first.objects or (tmp / "objects").exists():
            ObjectStore.write_index(tmp / "objects", first.objects)
        final = entry
        report = _report(
            path, nb, nb_hash, kernel, parameters, verdict, reasons, findings,
            cells_run=first.cells_run,
            failed_cells=failed,
            runs=len(runs),
            outputs_compared=compared,
            environment=environment,
            objects=first.objects,
            executed_path=str(final / "executed.ipynb"),
            objects_dir=str(final / "objects") if (tmp / "objects").exists() else None,
            # the files the clean run wrote in (its copy of) the notebook's folder
            produced_dir=str(final / "produced") if (tmp / "produced").exists() else None,
            run_seconds=round(sum(r.duration for r in runs), 3),
        )
        (tmp / "report.json").write_text(json.dumps(report, indent=1, default=str))
        os.chmod(tmp / "report.json", 0o600)  # private: outputs may hold what a scan refuses
        _publish(tmp, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(entry.parent)
    report["duration"] = round(time.monotonic() - started, 3)
    return report


def _publish(tmp: Path, entry: Path) -> None:
    """Move a finished cache entry into place. Concurrent checks of the same notebook (two
    jobs, two terminals) may finish together: renames are atomic, a rename onto a non-empty
    folder fails, so the older entry is first renamed aside. If another check's entry landed in
    between, it holds the same key's answer: ours is dropped and theirs kept."""
    for attempt in range(4):
        try:
            os.replace(tmp, entry)
            return
        except OSError:
            if not entry.exists():
                raise
        if attempt == 3:
            break
        aside = entry.parent / f".old-{uuid.uuid4().hex[:8]}"
        try:
            os.replace(entry, aside)
        except OSError:
            continue  # another check moved it first
        shutil.rmtree(aside, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)


def _compared_cells(runs) -> list:
    """Cells whose outputs are compared: those every run reached, less those that raised (their
    error is reported as such; an error that reproduces the saved one compares equal anyway)."""
    reached = min(r.cells_run for r in runs)
    raised = {f["cell"] for r in runs for f in r.findings if f["kind"] == "execution-error"}
    return [i for i in range(reached) if i not in raised]


def _has_outputs(nb) -> bool:
    return any(c.get("outputs") for c in nb.cells if c.get("cell_type") == "code")


def _missing_kernel(kernel: str) -> Optional[dict]:
    """A ``kernel-missing`` finding when the notebook's kernel is not installed here, else None."""
    from .run import _finding, installed_kernels, missing_kernel_hint

    installed = installed_kernels()
    if kernel in installed:
        return None
    return _finding(
        "kernel-missing", None,
        f"the notebook's kernel {kernel!r} is not installed, so it was not run",
        missing_kernel_hint(kernel, ", ".join(installed) or "none"),
    )


def _verdict_without_run(path, nb, nb_hash, kernel, findings, parameters, started) -> dict:
    """The report of a notebook that could not be run: its static findings and why (not cached:
    installing the kernel changes the answer)."""
    from .verdict import decide

    verdict, reasons, findings = decide(findings, ())
    findings.sort(key=lambda f: (f.get("cell") if f.get("cell") is not None else -1))
    number_findings(findings, nb)
    report = _report(path, nb, nb_hash, kernel, parameters, verdict, reasons, findings)
    report["duration"] = round(time.monotonic() - started, 3)
    return report


def _report(path, nb, nb_hash, kernel, parameters, verdict, reasons, findings, **run) -> dict:
    """The check report: one list of keys for a notebook that ran and one that could not (the
    run's facts in ``run``; without them, what a report says of a notebook that did not run)."""
    report = {
        "notebook": str(path),
        "notebook_hash": nb_hash,
        "kernel": kernel,
        "verdict": verdict,
        "reasons": reasons,
        "findings": findings,
        "cells": len(nb.cells),
        "cells_run": 0,
        "failed_cells": [],
        "runs": 0,
        "parameters": parameters,
        "outputs_compared": False,
        "environment": {},
        "objects": [],
        "executed_path": None,
        "objects_dir": None,
        "produced_dir": None,
        "run_seconds": 0.0,
        "checked_at": _now(),
        "jupyter_deploy": __version__,
        "cached": False,
        # the %%deploy handler cell the container's API runs around predict, when there is one
        "handler": handler_summary(nb),
    }
    unknown = set(run) - set(report)
    if unknown:  # a typo must not add a key silently
        raise TypeError(f"not report keys: {sorted(unknown)}")
    report.update(run)
    return report


def handler_summary(nb) -> Optional[dict]:
    """What the notebook's ``%%deploy handler`` cell gives the API (``cell``, ``functions``,
    ``signature``), ``{"error": ...}`` when it cannot serve, None without one: the front ends
    show it with the verdict."""
    try:
        found = find_handler(nb)
    except DeployError as exc:
        return {"error": exc.one_line()}
    if found is None:
        return None
    return {"cell": found.cell, "functions": list(found.functions),
            "signature": found.signature_text()}


def _now() -> str:
    return now_utc()


def _write_notebook(nb, target: Path) -> None:
    """Write an executed notebook; outputs with invalid Unicode (lone surrogates) are repaired."""
    import nbformat

    text = nbformat.writes(nb)
    # 0600 from the first byte: outputs can carry secrets (the report target refuses them, but
    # the executed copy is written before any target sees it)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8", errors="replace"))
    os.chmod(target, 0o600)


def _private_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) readable by the user only (0700)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(folder, 0o700)
    except OSError:
        pass


def _prune(folder: Path) -> None:
    try:
        entries = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
    except OSError:
        return
    horizon = time.time() - CACHE_KEEP_SECONDS
    for old in entries[CACHE_ENTRIES_KEPT:]:
        try:
            if old.stat().st_mtime >= horizon:
                continue
        except OSError:
            continue
        shutil.rmtree(old, ignore_errors=True)
