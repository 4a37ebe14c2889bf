"""Checks for a whole repository: find the notebooks, shard them, judge each, summarise.

    find_notebooks(patterns)          -> the notebooks named by files, folders and globs
    shard(notebooks, "2/4")           -> the part of that list one CI job checks
    check_many(notebooks, jobs=2)     -> one row per notebook (verdict, seconds, findings...)
    summary(rows), table_text(rows)   -> the counts, the table the CLI prints

Each notebook is judged by :func:`jupyter_deploy.api.check`, with ``jobs > 1`` in a pool of
worker processes (each check starts its own kernel). A notebook that cannot be judged (invalid
JSON, a kernel that is not installed...) is a row with the verdict ``error``, never a crash of
the whole run.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Callable, Iterable, Optional

from .errors import DeployError, NotebookNotFound, UsageError
from .notebook import cell_name

#: folders never searched for notebooks (hidden folders, .ipynb_checkpoints included, are skipped too)
SKIPPED_FOLDERS = frozenset({"node_modules", "site-packages", "__pycache__"})
ERROR = "error"  # the verdict of a notebook that could not be judged
_GLOB_CHARS = re.compile(r"[*?\[]")


def is_glob(pattern: str) -> bool:
    return bool(_GLOB_CHARS.search(pattern))


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_FOLDERS


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        for f in sorted(files):
            if f.endswith(".ipynb") and not f.startswith("."):
                yield Path(root) / f


def _literal_depth(pattern: str) -> int:
    """How many leading parts of ``pattern`` hold no wildcard (those the user named)."""
    parts = Path(pattern).parts
    for i, part in enumerate(parts):
        if is_glob(part):
            return i
    return len(parts)


def find_notebooks(patterns: Iterable[str], cwd: Optional[os.PathLike] = None) -> list[Path]:
    """The notebooks named by ``patterns``, absolute, without duplicates, sorted by their
    display path (see :func:`display_path`).

    A pattern is a notebook file, a folder (searched recursively for ``*.ipynb``, skipping hidden
    folders, ``.ipynb_checkpoints``, ``.venv``, ``node_modules`` and ``site-packages``) or a glob
    expanded here (``**`` crosses folders; a folder it matches is searched like a named folder;
    the folders above rules apply to what the wildcards matched). A named file or folder that
    does not exist is an error; a glob may match nothing as long as another pattern finds a
    notebook. No notebook at all is a usage error naming the patterns.
    """
    cwd = Path(cwd or os.getcwd())
    patterns = [str(p) for p in patterns]
    found: dict[str, Path] = {}

    def add(p: Path):
        p = p if p.is_absolute() else cwd / p
        found.setdefault(os.path.realpath(p), Path(os.path.normpath(p)))

    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        if not is_glob(expanded):
            p = Path(expanded)
            p = p if p.is_absolute() else cwd / p
            if p.is_dir():
                for nb in _walk(p):
                    add(nb)
            elif p.exists():
                add(p)
            else:
                raise NotebookNotFound(
                    f"Notebook not found: {pattern}",
                    hint="Check the path; quote globs ('**/*.ipynb') so that jupyter deploy expands them.",
                )
            continue
        depth = _literal_depth(expanded)
        base = expanded if os.path.isabs(expanded) else os.path.join(str(cwd), expanded)
        skip_from = len(Path(base).parts) - len(Path(expanded).parts) + depth
        for match in sorted(glob.glob(base, recursive=True)):
            m = Path(match)
            wild = m.parts[skip_from:]
            if any(_skipped(part) for part in wild[:-1]) or (wild and wild[-1] in SKIPPED_FOLDERS):
                continue
            if m.is_dir():
                for nb in _walk(m):
                    add(nb)
            elif m.name.endswith(".ipynb"):
                add(m)
    if not found:
        shown = " ".join(patterns)
        raise UsageError(
            f"No notebook found in: {shown}",
            hint="Name .ipynb files, folders holding them, or quoted globs such as 'notebooks/**/*.ipynb'.",
        )
    return sorted(found.values(), key=lambda p: display_path(p, cwd))


def display_path(path: os.PathLike, cwd: Optional[os.PathLike] = None) -> str:
    """``path`` relative to ``cwd`` with ``/`` separators when it lies below it, else absolute:
    what the table, the JUnit report and the shards use (the same on every machine that checks
    out the repository and runs from its root)."""
    cwd = os.path.realpath(cwd or os.getcwd())
    real = os.path.realpath(path)
    try:
        rel = os.path.relpath(real, cwd)
    except ValueError:  # another drive
        return Path(real).as_posix()
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return Path(real).as_posix()
    return Path(rel).as_posix()


# ------------------------------------------------------------------------------------ shards


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; anything else (0/2, 3/2, abc) is a one-line usage error."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise UsageError(
            f"--shard must be I/N with 1 <= I <= N (this job's number and the number of jobs), got {text!r}.",
            hint="For example --shard 1/4 ... --shard 4/4 in a CI matrix of four jobs.",
        )
    return int(m.group(1)), int(m.group(2))


def shard_of(path: str, count: int) -> int:
    """The shard (1..count) of a notebook: a hash of its display path, so a notebook stays in
    its shard when others are added or removed, on every run and every machine."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard(notebooks: list[Path], spec: str, cwd: Optional[os.PathLike] = None) -> list[Path]:
    index, count = parse_shard(spec)
    return [nb for nb in notebooks if shard_of(display_path(nb, cwd), count) == index]


# ------------------------------------------------------------------------------------ checks


def _first_finding(findings: list[dict]) -> Optional[dict]:
    errors = [f for f in findings if f.get("severity") == "error"]
    return (errors or findings or [None])[0]


def finding_line(f: dict) -> str:
    """``cell 4 output-diff: stdout differs ... (likely cause: unseeded-random in cell 2)``
    (cells numbered as JupyterLab numbers them, from 1)."""
    from .check.verdict import cause_text

    where = "" if f.get("cell") is None else f"{cell_name(f['cell'])} "
    msg = " ".join(str(f.get("message", "")).split())
    if where and msg.startswith(f"{cell_name(f['cell'])}: "):
        msg = msg[len(f"{cell_name(f['cell'])}: "):]
    cause = cause_text(f)
    if cause:
        msg += f" ({cause})"
    return f"{where}{f.get('kind', '?')}: {msg}"


def _row(path: Path, cwd, report: Optional[dict], seconds: float, error: Optional[dict]) -> dict:
    row = {
        "notebook": display_path(path, cwd),
        "path": str(path),
        "verdict": report["verdict"] if report else ERROR,
        "seconds": round(seconds, 3),
        "cached": bool(report and report.get("cached")),
        "reasons": list(report.get("reasons", [])) if report else [],
        "findings": list(report.get("findings", [])) if report else [],
        "executed_path": report.get("executed_path") if report else None,
        "error": error,
    }
    return row


_IN_WORKER = False  # in a worker process whose parent stops on Ctrl-C
_RUNNING = False  # a check is under way in this worker
_INTERRUPTED = False  # Ctrl-C was pressed: the checks queued to this worker are not started


def _on_sigint(signum, frame):
    global _INTERRUPTED
    _INTERRUPTED = True
    if _RUNNING:
        raise KeyboardInterrupt


def _check_one(path: str, cwd: str, options: dict) -> dict:
    """Judge one notebook (in a worker process or in this one); never raises a DeployError."""
    from . import api

    global _RUNNING
    started = time.monotonic()
    if _IN_WORKER and _INTERRUPTED:
        error = {"code": "interrupted", "message": "not started (Ctrl-C)", "hint": "Run it again."}
        return _row(Path(path), cwd, None, 0.0, error)
    try:
        _RUNNING = True
        report = api.check(path, record=True, **options)
    except KeyboardInterrupt:
        # Ctrl-C reaches the whole process group: the check under way stopped as a single check
        # does (its kernel stopped, nothing cached); the parent shows no table, only that.
        if not _IN_WORKER:
            raise
        error = {"code": "interrupted", "message": "interrupted (Ctrl-C)", "hint": "Run it again."}
        return _row(Path(path), cwd, None, time.monotonic() - started, error)
    except DeployError as exc:
        return _row(Path(path), cwd, None, time.monotonic() - started, exc.to_json())
    except Exception as exc:  # noqa: BLE001 - one broken notebook must not hide the others' verdicts
        line = f"{type(exc).__name__}: {exc}".splitlines()[0]
        error = {"code": "internal", "message": line,
                 "hint": "This is a bug in jupyter-deploy or a plugin; rerun this notebook alone "
                         "with JUPYTER_DEPLOY_DEBUG=1 for the traceback."}
        return _row(Path(path), cwd, None, time.monotonic() - started, error)
    finally:
        _RUNNING = False
    return _row(Path(path), cwd, report, time.monotonic() - started, None)


def _worker_start(interruptible: bool = True) -> None:
    import signal

    from ._startup import skip_slow_optional_imports

    global _IN_WORKER
    skip_slow_optional_imports()
    if interruptible:
        _IN_WORKER = True
        signal.signal(signal.SIGINT, _on_sigint)
    else:  # a parent that ignores Ctrl-C (started with nohup or &): so do we
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _interruptible() -> bool:
    import signal

    try:
        return signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, None)
    except ValueError:
        return False


def check_many(
    notebooks: list[Path],
    *,
    jobs: int = 1,
    options: Optional[dict] = None,
    on_done: Optional[Callable[[dict, int, int], None]] = None,
    cwd: Optional[os.PathLike] = None,
) -> list[dict]:
    """Judge every notebook; rows in the order of ``notebooks``. ``jobs`` > 1 runs that many
    checks at once, each in a worker process with its own kernel. ``options`` go to
    :func:`jupyter_deploy.api.check` (runs, timeout, cell_timeout, use_cache, parameters,
    write_metadata). ``on_done(row, finished, total)`` is called as each notebook finishes."""
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}.", hint="Use --jobs 1 or more.")
    options = dict(options or {})
    cwd = str(cwd or os.getcwd())
    total = len(notebooks)
    rows: list[Optional[dict]] = [None] * total
    finished = 0
    if jobs == 1 or total <= 1:
        for i, nb in enumerate(notebooks):
            rows[i] = _check_one(str(nb), cwd, options)
            finished += 1
            if on_done:
                on_done(rows[i], finished, total)
        return rows  # type: ignore[return-value]

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn, not fork: the parent may hold threads (a server, a test runner) that fork would copy
    # in an arbitrary state.
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, total),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(_interruptible(),),
    )
    try:
        futures = {pool.submit(_check_one, str(nb), cwd, options): i for i, nb in enumerate(notebooks)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                rows[i] = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker that died (killed, out of memory)
                error = {"code": "worker", "message": f"the worker checking it stopped: "
                         f"{type(exc).__name__}: {exc}".splitlines()[0],
                         "hint": "Check this notebook alone (jupyter deploy check NOTEBOOK)."}
                rows[i] = _row(notebooks[i], cwd, None, 0.0, error)
            finished += 1
            if on_done:
                on_done(rows[i], finished, total)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return rows  # type: ignore[return-value]


# ------------------------------------------------------------------------------------ summary

VERDICT_WORDS = {
    "repeatable": "repeatable",
    "repeatable-with-warnings": "repeatable (warnings)",
    "not-repeatable": "NOT repeatable",
    ERROR: "ERROR (not judged)",
}


def summary(rows: list[dict], *, wall: Optional[float] = None, jobs: int = 1,
            shard_spec: Optional[str] = None) -> dict:
    counts = {v: 0 for v in ("repeatable", "repeatable-with-warnings", "not-repeatable", ERROR)}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return {
        "notebooks": len(rows),
        "repeatable": counts["repeatable"],
        "repeatable_with_warnings": counts["repeatable-with-warnings"],
        "not_repeatable": counts["not-repeatable"],
        "errors": counts[ERROR],
        "cached": sum(1 for r in rows if r["cached"]),
        "ok": counts["not-repeatable"] == 0 and counts[ERROR] == 0,
        "seconds": round(wall, 3) if wall is not None else round(sum(r["seconds"] for r in rows), 3),
        "jobs": jobs,
        "shard": shard_spec,
    }


def first_finding_text(row: dict) -> str:
    if row["error"]:
        return f"{row['error']['code']}: {row['error']['message']}"
    f = _first_finding(row["findings"])
    return finding_line(f) if f else ""


def summary_line(s: dict) -> str:
    parts = [f"{s['repeatable']} repeatable"]
    if s["repeatable_with_warnings"]:
        parts.append(f"{s['repeatable_with_warnings']} with warnings")
    parts.append(f"{s['not_repeatable']} not repeatable")
    if s["errors"]:
        parts.append(f"{s['errors']} not judged (errors)")
    cached = f", {s['cached']} from cache" if s["cached"] else ""
    shard_txt = f" (shard {s['shard']})" if s["shard"] else ""
    noun = "notebook" if s["notebooks"] == 1 else "notebooks"
    return (f"{s['notebooks']} {noun}{shard_txt}: {', '.join(parts)}{cached}; "
            f"{s['seconds']:.1f} s with {s['jobs']} job{'s' if s['jobs'] != 1 else ''}")


def _width() -> int:
    import shutil
    import sys

    if sys.stdout.isatty():
        return max(100, shutil.get_terminal_size().columns)
    return 200  # a CI log: long lines are fine, the JUnit report has every finding in full


def table_text(rows: list[dict], s: dict, width: Optional[int] = None) -> str:
    width = width or _width()
    name_w = max([len("notebook")] + [len(r["notebook"]) for r in rows])
    verdict_w = max(len(v) for v in VERDICT_WORDS.values())
    lines = [f"{'notebook':<{name_w}}  {'verdict':<{verdict_w}}  {'seconds':>7}  first finding"]
    room = max(20, width - name_w - verdict_w - 13)
    for r in rows:
        first = first_finding_text(r)
        if len(first) > room:
            first = first[: room - 3] + "..."
        verdict = VERDICT_WORDS.get(r["verdict"], r["verdict"])
        secs = f"{r['seconds']:.2f}" + ("*" if r["cached"] else " ")
        lines.append(f"{r['notebook']:<{name_w}}  {verdict:<{verdict_w}}  {secs:>8} {first}".rstrip())
    lines.append(summary_line(s) + (" (* from cache)" if s["cached"] else ""))
    return "\n".join(lines)


def progress_line(row: dict, finished: int, total: int) -> str:
    width = len(str(total))
    verdict = VERDICT_WORDS.get(row["verdict"], row["verdict"])
    cached = " (cache)" if row["cached"] else ""
    return f"[{finished:>{width}}/{total}] {verdict:<21} {row['seconds']:6.1f} s  {row['notebook']}{cached}"
