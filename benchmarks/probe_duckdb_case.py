"""Where DuckDB spends its time on a tree ensemble written as CASE expressions.

Not a race with a peer: a probe that explains the SQL benchmark's DuckDB figures. It scores
synthetic forests (50 complete trees of random splits over 10 standard-normal features) and
varies one thing at a time:

* depth 1..6: time against the number of CASE branches per tree;
* distinct rows per 2,048-row vector (1 .. 2,048): the same trees and row count, but the rows of
  one vector follow 1, 4, 16, 64 or all-different paths;
* the shape of one depth-6 tree: nested CASE, chained WHENs (what the compiler writes), the
  bottom split as arithmetic, a flat CASE of path conjunctions, and a branch-free walk over heap
  arrays (lists indexed by node number).

    .venv/bin/python benchmarks/probe_duckdb_case.py [--rows 500000] [--threads 1]

Writes benchmarks/results/duckdb_case.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def random_tree(rng, depth):
    if depth == 0:
        return int(rng.integers(1000, 99999))
    return (int(rng.integers(10)), round(float(rng.normal(0, 0.5)), 6),
            random_tree(rng, depth - 1), random_tree(rng, depth - 1))


def nested(t):
    if isinstance(t, int):
        return str(t)
    f, thr, a, b = t
    return f"CASE WHEN g{f} <= {thr} THEN {nested(a)} ELSE {nested(b)} END"


def chained(t):
    """The compiler's form: the ELSE side continues the same CASE, the THEN side nests."""
    if isinstance(t, int):
        return str(t)
    whens = []
    while not isinstance(t, int):
        f, thr, a, b = t
        whens.append(f"WHEN g{f} <= {thr} THEN {chained(a)}")
        t = b
    return "CASE " + " ".join(whens) + f" ELSE {t} END"


def arithmetic_bottom(t):
    if isinstance(t, int):
        return str(t)
    f, thr, a, b = t
    if isinstance(a, int) and isinstance(b, int):
        return f"({b} + {a - b} * (g{f} <= {thr})::INTEGER)"
    return f"CASE WHEN g{f} <= {thr} THEN {arithmetic_bottom(a)} ELSE {arithmetic_bottom(b)} END"


def conjunctions(t):
    leaves = []

    def walk(t, path):
        if isinstance(t, int):
            leaves.append((path, t))
            return
        f, thr, a, b = t
        walk(a, path + [f"g{f} <= {thr}"])
        walk(b, path + [f"NOT (g{f} <= {thr})"])

    walk(t, [])
    body = " ".join(f"WHEN {' AND '.join(p)} THEN {v}" for p, v in leaves[:-1])
    return f"CASE {body} ELSE {leaves[-1][1]} END"


def heap_query(trees, depth, table):
    """Each tree walked level by level: node = 2 * node + (x[feature[node]] > threshold[node])."""
    levels = []
    for t in trees:
        feats, thrs, frontier = [[] for _ in range(depth)], [[] for _ in range(depth)], [t]
        for level in range(depth):
            nxt = []
            for f, thr, a, b in frontier:
                feats[level].append(f + 1)
                thrs[level].append(thr)
                nxt += [a, b]
            frontier = nxt
        levels.append((feats, thrs, frontier))
    g = ", ".join(f"g{i}" for i in range(10))
    stages = [f"s0 AS (SELECT [{g}] AS gl, " + ", ".join(f"0 AS n{i}" for i in range(len(trees)))
              + f" FROM {table})"]
    for level in range(depth):
        cols = []
        for i, (feats, thrs, _) in enumerate(levels):
            fl = "[" + ",".join(map(str, feats[level])) + "]"
            tl = "[" + ",".join(map(str, thrs[level])) + "]"
            cols.append(f"2 * n{i} + (gl[{fl}[n{i} + 1]] > {tl}[n{i} + 1])::INTEGER AS n{i}")
        stages.append(f"s{level + 1} AS (SELECT gl, " + ", ".join(cols) + f" FROM s{level})")
    final = ", ".join(f"[{','.join(map(str, lv[2]))}][n{i} + 1] AS t{i}" for i, lv in enumerate(levels))
    return "WITH " + ", ".join(stages) + f" SELECT {final} FROM s{depth}"


def select(form, trees, table):
    return "SELECT " + ", ".join(f"{form(t)} AS t{i}" for i, t in enumerate(trees)) + f" FROM {table}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trees", type=int, default=50)
    args = ap.parse_args(argv)

    import duckdb
    import numpy as np
    import pandas as pd

    con = duckdb.connect(config={"threads": args.threads})
    rng = np.random.default_rng(0)
    n = args.rows
    frame = pd.DataFrame(rng.normal(0, 1, (n, 10)), columns=[f"g{i}" for i in range(10)])
    con.execute("CREATE TABLE rows_random AS SELECT * FROM frame")

    def timed(q):
        con.execute("CREATE OR REPLACE TEMP TABLE out AS " + q)  # warm
        runs = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            con.execute("CREATE OR REPLACE TEMP TABLE out AS " + q)
            runs.append(time.perf_counter() - t0)
        return statistics.median(runs)

    lines = [
        "# DuckDB: what a forest written as CASE expressions costs",
        "",
        f"DuckDB {duckdb.__version__}, {args.threads} thread(s), {n:,} rows x 10 features, "
        f"{args.trees} complete trees of random splits, median of {args.repeat}. Command: "
        f"`.venv/bin/python benchmarks/probe_duckdb_case.py --rows {n} --threads {args.threads}`.",
        "",
        "#### Time against depth (chained CASE, rows all different)",
        "",
        "| depth | branches per tree | time | time per branch per 1M rows |",
        "|---|---|---|---|",
    ]
    by_depth = {}
    for depth in range(1, 7):
        trees = [random_tree(rng, depth) for _ in range(args.trees)]
        by_depth[depth] = trees
        t = timed(select(chained, trees, "rows_random"))
        branches = 2 ** depth - 1
        lines.append(f"| {depth} | {branches} | {t:.3f} s | "
                     f"{t / args.trees / branches * 1e6 / n * 1e3:.2f} ms |")
        print(lines[-1], flush=True)

    trees = by_depth[6]
    lines += ["", "#### Same depth-6 trees, rows per 2,048-row vector following 1 .. 2,048 paths", "",
              "| distinct rows per vector | time |", "|---|---|"]
    by_distinct = {}
    for distinct in (1, 4, 16, 64, 2048):
        base = rng.normal(0, 1, (n // 2048 * distinct + distinct, 10))
        idx = (np.arange(n) // 2048) * distinct + rng.integers(0, distinct, n)
        part = pd.DataFrame(base[idx], columns=[f"g{i}" for i in range(10)])
        con.execute("CREATE OR REPLACE TABLE rows_grouped AS SELECT * FROM part")
        t = by_distinct[distinct] = timed(select(chained, trees, "rows_grouped"))
        lines.append(f"| {distinct} | {t:.3f} s |")
        print(lines[-1], flush=True)

    lines += ["", "#### Same depth-6 trees, other ways to write them", "",
              "| form | SQL characters | time | vs chained |", "|---|---|---|---|"]
    forms = {
        "chained WHENs (the compiler's form)": select(chained, trees, "rows_random"),
        "nested CASE": select(nested, trees, "rows_random"),
        "bottom split as arithmetic": select(arithmetic_bottom, trees, "rows_random"),
        "heap arrays walked level by level": heap_query(trees, 6, "rows_random"),
        "flat CASE of path conjunctions": select(conjunctions, trees, "rows_random"),
    }
    reference = con.execute(forms["nested CASE"] + " LIMIT 2000").fetchall()
    base_time = None
    for label, q in forms.items():
        assert con.execute(q + " LIMIT 2000").fetchall() == reference, label
        t = timed(q)
        base_time = base_time or t
        lines.append(f"| {label} | {len(q):,} | {t:.3f} s | {t / base_time:.2f}x |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "Reading: the time grows with the number of branches a vector's rows reach, not only with",
        "rows times depth: the same forest costs %.1fx more when the rows of a vector are all"
        % (by_distinct[2048] / by_distinct[1]),
        "different than when they share one path, and doubling the branches per tree nearly doubles",
        "the time from depth 4 on. Chained and nested CASEs are within this machine's noise of each",
        "other; every rewrite that trades branches for work on whole vectors (arithmetic, heap",
        "arrays, conjunctions) is slower.",
        "",
    ]
    out = HERE / "results" / "duckdb_case.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
