"""Notebook -> published HTML report: jupyter-deploy side by side with nbconvert and papermill.

    .venv/bin/python benchmarks/bench_report.py [--runs 3] [--notebooks binder/report-demo.ipynb ...]

Each measurement is a whole command in a fresh process, as a user runs it:

- ``jupyter nbconvert --execute --to html NB``
- ``papermill NB out.ipynb`` then ``jupyter nbconvert --to html out.ipynb``
- ``jupyter deploy report NB --to REPO`` on a notebook that has not been checked (fresh state
  folder each run: lint, clean re-run in a fresh kernel, output comparison, environment capture,
  secret scan, render with provenance, publish into a knowledge repo, verify)
- the same once the check is cached (unchanged notebook: the clean run's executed copy is
  reused, nothing is executed again)

The demo notebooks' ``%deploy`` / ``%load_ext jupyter_deploy`` cells are dropped from the copies
that all sides run (a plain ``nbconvert --execute`` would otherwise deploy from inside itself).
Prints a markdown table (median of N, ratio to nbconvert) and writes
``benchmarks/results/report.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_NOTEBOOKS = ["binder/report-demo.ipynb", "binder/model-demo.ipynb"]


def strip_deploy(src: Path, dst_dir: Path) -> Path:
    import nbformat

    nb = nbformat.read(src, as_version=4)
    nb.cells = [
        c for c in nb.cells
        if not (c.cell_type == "code" and c.source.lstrip().startswith(("%deploy", "%%deploy", "%load_ext jupyter_deploy")))
    ]
    dst = dst_dir / src.name
    nbformat.write(nb, dst)
    data = src.parent / "data"
    if data.is_dir() and not (dst_dir / "data").exists():
        shutil.copytree(data, dst_dir / "data")
    return dst


def run(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> float:
    started = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - started
    if r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    return took


def bench_notebook(nb: Path, work: Path, runs: int) -> dict:
    base_env = dict(os.environ)
    base_env.pop("JUPYTER_DEPLOY_HOME", None)
    times: dict[str, list[float]] = {k: [] for k in ("nbconvert", "papermill", "uncached", "cached")}
    cached_home = work / "home-cached"
    env_cached = dict(base_env, JUPYTER_DEPLOY_HOME=str(cached_home))
    # warm-up: page caches, bytecode, the kernel's first start (not timed)
    run([str(BIN / "jupyter-nbconvert"), "--execute", "--to", "html", str(nb), "--output-dir", str(work / "warm")])
    run([str(BIN / "jupyter-deploy"), "report", str(nb), "--to", str(work / "repo-cached"), "-q"], env=env_cached)
    for i in range(runs):
        out = work / f"out-{i}"
        times["nbconvert"].append(run([str(BIN / "jupyter-nbconvert"), "--execute", "--to", "html", str(nb),
                                        "--output-dir", str(out / "nbconvert")]))
        pm_out = out / "papermill" / nb.name
        pm_out.parent.mkdir(parents=True, exist_ok=True)
        t = run([str(BIN / "papermill"), "--cwd", str(nb.parent), str(nb), str(pm_out)])
        t += run([str(BIN / "jupyter-nbconvert"), "--to", "html", str(pm_out)])
        times["papermill"].append(t)
        env = dict(base_env, JUPYTER_DEPLOY_HOME=str(work / f"home-{i}"))
        times["uncached"].append(run([str(BIN / "jupyter-deploy"), "report", str(nb), "--to",
                                       str(out / "repo"), "-q"], env=env))
        times["cached"].append(run([str(BIN / "jupyter-deploy"), "report", str(nb), "--to",
                                     str(work / "repo-cached"), "-q"], env=env_cached))
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--notebooks", nargs="*", default=DEFAULT_NOTEBOOKS)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "report.md"))
    args = ap.parse_args(argv)

    load_before = os.getloadavg()[0]
    bench_root = ROOT / ".bench"
    bench_root.mkdir(exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="report-", dir=bench_root) as tmp:
        tmp = Path(tmp)
        for rel in args.notebooks:
            src = (ROOT / rel).resolve()
            nb_dir = tmp / src.stem
            nb_dir.mkdir()
            nb = strip_deploy(src, nb_dir)
            print(f"benchmarking {rel} ({args.runs} runs)...", file=sys.stderr)
            res = bench_notebook(nb, nb_dir, args.runs)
            rows.append((rel, res))

    lines = [
        f"Notebook -> published HTML report, median of {args.runs} runs, seconds (ratio to "
        "`nbconvert --execute`). Each is a whole command in a fresh process.",
        "",
        "| notebook | nbconvert --execute --to html | papermill + nbconvert | jupyter deploy report (not checked) | jupyter deploy report (check cached) |",
        "|---|---|---|---|---|",
    ]
    for rel, r in rows:
        nbc = r["nbconvert"]
        lines.append(
            f"| {rel} | {nbc:.2f} | {r['papermill']:.2f} ({r['papermill'] / nbc:.2f}x) | "
            f"{r['uncached']:.2f} ({r['uncached'] / nbc:.2f}x) | {r['cached']:.2f} ({r['cached'] / nbc:.2f}x) |"
        )
    lines += [
        "",
        "jupyter deploy report does more than the peers in that time: lint, clean re-run, output "
        "comparison with the saved notebook, environment capture, secret scan, provenance block, "
        "knowledge-repo publish with an atomic index, and hash verification. Targets: at most "
        "1.1x nbconvert when not checked, at most 0.3x when the check is cached.",
        "",
        f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average "
        f"{load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (a shared machine: "
        "absolute times vary, the sides ran interleaved so ratios are comparable). Command: "
        f"`{Path(sys.executable).relative_to(ROOT) if Path(sys.executable).is_relative_to(ROOT) else sys.executable} "
        f"benchmarks/bench_report.py --runs {args.runs}`.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
