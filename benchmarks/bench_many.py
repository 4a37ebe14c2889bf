"""A repository of notebooks: `jupyter deploy check DIR --jobs 2` against nbmake with
pytest-xdist (`pytest --nbmake -n 2 DIR`).

One script, the same notebooks, the two sides interleaved (their order alternating per round),
median wall seconds of each and the ratio:

    .venv/bin/python benchmarks/bench_many.py [--notebooks 40] [--repeat 3] [--jobs 2]

The notebooks are small (three code cells: imports, a computation, printed output), with their
outputs saved. Both sides run every notebook top to bottom in a fresh kernel; jupyter deploy
also lints each notebook, compares every output with the saved one, captures the environment
and writes its cache (`--no-cache`: nothing answered from an earlier run), nbmake only checks
that no cell raises. A last row: the same `jupyter deploy check` answered from its cache (what
a CI run with the cache restored costs for unchanged notebooks). Writes
benchmarks/results/many.md.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def make_notebooks(folder: Path, count: int) -> None:
    for i in range(count):
        nb = new_notebook(metadata={"kernelspec": KERNEL})
        cells = [
            ("import json\nimport math", None),
            (f"values = [math.sqrt(k) for k in range({i + 10})]\ntotal = round(sum(values), 6)", None),
            ("print(json.dumps({'n': len(values), 'total': total}))",
             '{"n": %d, "total": %s}\n' % (i + 10, round(sum(math.sqrt(k) for k in range(i + 10)), 6))),
        ]
        for n, (src, out) in enumerate(cells):
            cell = new_code_cell(src, execution_count=n + 1)
            if out is not None:
                cell.outputs = [new_output("stream", name="stdout", text=out)]
            nb.cells.append(cell)
        sub = folder / f"topic{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, sub / f"nb{i:03d}.ipynb")


def timed(cmd, cwd, env) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=3600)
    return time.perf_counter() - started, proc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebooks", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    try:
        import nbmake  # noqa: F401
        import xdist  # noqa: F401
    except ImportError:
        sys.exit("bench_many needs nbmake and pytest-xdist: pip install -e '.[bench]'")

    work = Path(tempfile.mkdtemp(prefix="bench-many-"))
    try:
        repo = work / "repo"
        make_notebooks(repo, args.notebooks)
        env = dict(os.environ, JUPYTER_DEPLOY_HOME=str(work / "home"), PYTHONDONTWRITEBYTECODE="1")
        jd = [str(BIN / "python"), "-m", "jupyter_deploy", "check", ".", "--jobs", str(args.jobs), "-q"]
        # nbmake at its best: only its own plugin and xdist's are loaded (this environment holds
        # many other pytest plugins whose start-up would count against it)
        nbmake_cmd = [str(BIN / "python"), "-m", "pytest", "-p", "nbmake", "-p", "xdist.plugin",
                      "--nbmake", "-n", str(args.jobs), "-q", "-p", "no:cacheprovider", "."]
        nbmake_env = dict(env, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        times = {"jd": [], "nbmake": [], "hit": []}
        for r in range(args.repeat):
            sides = [("jd", jd + ["--no-cache"]), ("nbmake", nbmake_cmd)]
            if r % 2:
                sides.reverse()
            for name, cmd in sides:
                seconds, proc = timed(cmd, repo, nbmake_env if name == "nbmake" else env)
                if proc.returncode != 0:
                    sys.exit(f"{name} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
                times[name].append(seconds)
                print(f"round {r + 1} {name:<7} {seconds:7.2f} s", flush=True)
            seconds, proc = timed(jd, repo, env)  # every notebook unchanged: all from the cache
            assert proc.returncode == 0 and f"{args.notebooks} from cache" in proc.stdout, proc.stdout
            times["hit"].append(seconds)
            print(f"round {r + 1} cache   {seconds:7.2f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    from importlib.metadata import version

    lines = [
        "# Repository check vs nbmake + pytest-xdist",
        "",
        f"{args.notebooks} notebooks of 3 cells, `--jobs {args.jobs}` vs `pytest --nbmake -n {args.jobs}`; "
        f"median of {args.repeat} interleaved runs; wall seconds of the whole command "
        f"(nbmake {version('nbmake')}, pytest-xdist {version('pytest-xdist')}, other pytest "
        "plugins not loaded).",
        "",
        f"| notebooks | jupyter deploy check --jobs {args.jobs} --no-cache | pytest --nbmake -n {args.jobs} "
        f"| ratio to nbmake | jupyter deploy check, all from cache |",
        "|---|---|---|---|---|",
        f"| {args.notebooks} | {med['jd']:.2f} | {med['nbmake']:.2f} | {med['jd'] / med['nbmake']:.2f}x "
        f"| {med['hit']:.2f} |",
        "",
        "Ratio per round (the load of the shared machine moves both sides): "
        + ", ".join(f"{a / b:.2f}x" for a, b in zip(times["jd"], times["nbmake"])) + ".",
        "",
        "jupyter deploy does more per notebook than nbmake (lint, output comparison with the saved "
        "outputs, environment capture, cache write); nbmake only fails on a raising cell. "
        f"Command: `.venv/bin/python benchmarks/bench_many.py --notebooks {args.notebooks} "
        f"--repeat {args.repeat} --jobs {args.jobs}` (machine: {os.cpu_count()} cores, "
        f"{platform.python_version()}, load average {load:.1f} at the end).",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "many.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
