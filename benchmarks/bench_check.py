"""`jupyter deploy check` against `jupyter nbconvert --execute` and `pytest --nbval-lax`.

One script, the same notebooks, median of N runs each, side by side:

    .venv/bin/python benchmarks/bench_check.py [--repeat 5]

Notebooks (made here, of different sizes): a tiny one, the binder model demo (scikit-learn), a
100-cell notebook, and a 300-cell notebook with plots' worth of text output. For each: wall time
of a full check (no cache), of nbconvert's execution, of nbval-lax, the ratio to nbconvert, and
the time of a cache hit. Also `python -c "import jupyter_deploy"`. Writes
benchmarks/results/check.md.
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

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def make_notebooks(folder: Path) -> dict[str, Path]:
    from nbclient import NotebookClient

    def save(name, cells):
        nb = new_notebook(cells=[new_code_cell(c) for c in cells], metadata={"kernelspec": KERNEL})
        NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
        path = folder / name
        nbformat.write(nb, path)
        return path

    out = {
        "tiny (3 cells)": save("tiny.ipynb", ["x = 1", "y = x + 1", "print(y)"]),
        "100 cells": save("hundred.ipynb", [f"v{i} = {i} ** 2\nprint(v{i})" for i in range(100)]),
        "300 cells": save("three-hundred.ipynb",
                          ["import math"] + [f"print([round(math.sin(j / {i + 1}), 6) for j in range(20)])"
                                             for i in range(299)]),
    }
    demo = folder / "model-demo.ipynb"
    shutil.copy(ROOT / "binder" / "model-demo.ipynb", demo)
    out["model demo (sklearn, 15 cells)"] = demo
    return out


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    env = dict(os.environ, JUPYTER_DEPLOY_HOME=str(work / "home"))
    notebooks = make_notebooks(work)
    rows = []
    for label, nb in notebooks.items():
        ours = [timed([str(BIN / "jupyter"), "deploy", "check", str(nb), "--no-cache", "-q", "--json"], env)
                for _ in range(args.repeat)]
        cached = [timed([str(BIN / "jupyter"), "deploy", "check", str(nb), "-q", "--json"], env)
                  for _ in range(args.repeat)]
        nbconvert = [timed([str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                            "--output", str(work / "out.ipynb"), str(nb)], env)
                     for _ in range(args.repeat)]
        nbval = [timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                        str(nb)], env) for _ in range(args.repeat)]
        m = {k: statistics.median(v) for k, v in
             (("ours", ours), ("cached", cached), ("nbconvert", nbconvert), ("nbval", nbval))}
        rows.append((label, m))
        print(label, {k: round(v, 2) for k, v in m.items()}, flush=True)

    imports = [float(subprocess.run([sys.executable, "-c", "import time; t=time.perf_counter(); "
                                     "import jupyter_deploy; print(time.perf_counter()-t)"],
                                    capture_output=True, text=True).stdout) for _ in range(args.repeat)]
    lines = [
        f"Median of {args.repeat} runs; wall seconds; one clean run per check (`--no-cache`).",
        "",
        "| notebook | jupyter deploy check | nbconvert --execute | ratio to nbconvert | pytest --nbval-lax | cache hit |",
        "|---|---|---|---|---|---|",
    ]
    for label, m in rows:
        lines.append(f"| {label} | {m['ours']:.2f} | {m['nbconvert']:.2f} | {m['ours'] / m['nbconvert']:.2f}x "
                     f"| {m['nbval']:.2f} | {m['cached']:.2f} |")
    lines += ["", f"`import jupyter_deploy`: {statistics.median(imports) * 1000:.0f} ms (median, in-process timer)."]
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "check.md").write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
