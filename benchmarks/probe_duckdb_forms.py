"""Which ways of writing a tree ensemble's SQL make DuckDB score faster, on the SQL benchmark's models.

Not a race with a peer: a probe behind the compiler's DuckDB choices (see also
probe_duckdb_case.py, which varies synthetic trees). Each comparison builds the compiler's SQL
for one of benchmarks/bench_sql.py's models two ways, checks that both give identical outputs on
the probe's rows, then times them in pairs (A then B, B then A, alternately) and reports B's CPU
time over A's: the median and quartiles of the pair ratios. CPU time of the process (DuckDB's
threads included), not wall time, because the machine this was written on is shared: a pair's
two runs see the same load, and the ratio cancels most of it.

Forms compared (A = what the compiler writes, B = the alternative):

* trees inline: the trees' CASE expressions added in one expression, against the compiler's
  trees computed as columns of one stage and added in the next (B is the old form here);
* leaf codes as bit fields: the forest classifier's leaf codes with power-of-two digits read by
  shift and mask, instead of decimal digits read by integer division and modulo;
* decoded terms staged: the forest classifier's per-tree ``c_j / N`` terms as columns of a stage
  before the sums;
* struct / list leaves: the forest classifier's leaves as STRUCT or LIST literals of the class
  probabilities (one CASE per tree still), summed by field;
* REAL comparisons: features kept as REAL and every split literal cast to REAL;
* no CSE: DuckDB's common-subexpression optimizer disabled (it hoists repeated comparisons).

    .venv/bin/python benchmarks/probe_duckdb_forms.py [--rows 300000] [--threads 1] [--pairs 7]

Writes benchmarks/results/duckdb_forms.md.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TABLE = "bench_rows"


def cpu(con, sql):
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    con.execute(f"CREATE OR REPLACE TEMP TABLE __out AS {sql}")
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def pairs(con, a, b, n, setup_a=None, setup_b=None):
    ratios, ta, tb = [], [], []
    for i in range(n):
        order = [(0, a, setup_a), (1, b, setup_b)]
        if i % 2:
            order.reverse()
        got = {}
        for k, sql, setup in order:
            if setup:
                setup(con)
            got[k] = cpu(con, sql)
        ta.append(got[0])
        tb.append(got[1])
        ratios.append(got[1] / got[0])
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios), q[0], q[2]


# ------------------------------------------------------------------------------ variants


def sql_with(model, **patches):
    """The compiler's DuckDB SQL for ``model`` with module attributes patched for the call."""
    from jupyter_deploy.sql import boosting, thirdparty, to_sql, trees

    saved = []
    try:
        for key, value in patches.items():
            for mod in (trees, boosting, thirdparty):
                if hasattr(mod, key):
                    saved.append((mod, key, getattr(mod, key)))
                    setattr(mod, key, value)
        return to_sql(model, TABLE, "duckdb")
    finally:
        for mod, key, value in reversed(saved):
            setattr(mod, key, value)


def inline_trees(b, groups):
    return groups


def _p2(base):
    return 1 << (base - 1).bit_length()


def bits_patches():
    """Leaf codes with power-of-two digits, read by shift and mask."""
    from sqlglot import exp

    from jupyter_deploy.sql import trees

    orig_code = trees._leaf_code

    def leaf_code(n, c, base):
        return orig_code(n, c, _p2(base))

    def coded_probas(b, cols, k, bases):
        probas = [[] for _ in range(k)]
        for col, base in zip(cols, bases):
            base = _p2(base)
            s = base.bit_length() - 1

            def field(j):
                q = col.copy() if j == 0 else exp.Paren(this=exp.BitwiseRightShift(this=col.copy(), expression=exp.Literal.number(s * j)))
                return q if j == k - 1 else exp.BitwiseAnd(this=q, expression=exp.Literal.number(base - 1))

            n = field(k - 1)
            parts = [field(j - 1) for j in range(1, k)]
            first = n.copy()
            for part in parts:
                first = exp.Sub(this=first, expression=exp.Paren(this=part.copy()))
            for j, num in enumerate([first] + parts):
                probas[j].append(exp.Div(this=b.double(num), expression=b.double(n.copy())))
        return probas

    return {"_leaf_code": leaf_code, "_coded_probas": coded_probas}


def staged_decode_patches():
    from jupyter_deploy.sql import trees

    orig = trees._coded_probas

    def coded_probas(b, cols, k, bases):
        return trees.stage_tree_terms(b, orig(b, cols, k, bases))

    return {"_coded_probas": coded_probas}


def payload_sql(model, mode):
    """The forest classifier's SQL with each leaf code replaced by a STRUCT or LIST literal of
    its class probabilities (the same float64 values c_j / N), summed field by field."""
    from jupyter_deploy.sql import trees

    k = len(model.classes_)
    cur = sql_with(model)
    counts = trees.leaf_counts(model.estimators_, k)
    bases = [10 ** len(str(max(n for n, _ in per.values()))) for per in counts]
    head, rest = cur.split("_jd2 AS (SELECT ", 1)
    body = rest.split(" FROM _jd1)", 1)[0]
    items = re.split(r" AS (t\d+)(?:, |$)", body)
    cases, names = items[0:-1:2], items[1::2]
    assert len(cases) == len(model.estimators_)

    def dbl(x):
        r = repr(float(x))
        return r if "e" in r else r + "e0"

    def leaf(mm, base):
        code = int(mm.group(2))
        n = code // base ** (k - 1)
        cs = [(code // base ** (j - 1)) % base for j in range(1, k)]
        vals = [float(v) / float(n) for v in [n - sum(cs)] + cs]
        if mode == "struct":
            lit = "{" + ", ".join(f"'a{j}': {dbl(v)}" for j, v in enumerate(vals)) + "}"
        else:
            lit = "[" + ", ".join(dbl(v) for v in vals) + "]"
        return f"{mm.group(1)} {lit}"

    leaf_re = re.compile(r"(THEN|ELSE) (\d+)")
    stage = ", ".join(leaf_re.sub(lambda mm, base=base: leaf(mm, base), case) + f" AS {name}"
                      for case, name, base in zip(cases, names, bases))
    get = (lambda n, j: f"{n}.a{j}") if mode == "struct" else (lambda n, j: f"{n}[{j + 1}]")
    probs = ", ".join(f"({' + '.join(get(n, j) for n in names)}) / {float(len(names))} AS p{j}" for j in range(k))
    return head + f"_jd2 AS (SELECT {stage} FROM _jd1) SELECT {probs} FROM _jd2"


def real_sql(sql):
    out = re.sub(r"CAST\(CAST\((f\d+) AS REAL\) AS DOUBLE\)", r"CAST(\1 AS REAL)", sql)
    return re.sub(r"\b(g\d+) (<=|>|<|>=) (-?[0-9.e\-]+)", r"\1 \2 \3::REAL", out)


# ------------------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--out", default=str(HERE / "results" / "duckdb_forms.md"))
    args = ap.parse_args()

    import duckdb
    import numpy as np

    import bench_sql

    models, cols = bench_sql.make_models()
    con = duckdb.connect()
    con.execute(f"SET threads={args.threads}")
    df = bench_sql.rows(args.rows, cols)
    con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM df")

    def pick(key):
        return next(m for name, m in models.items() if key in name), next(name for name in models if key in name)

    rows_out = []

    def compare(what, key, a, b, setup_a=None, setup_b=None, exact=True):
        model, name = pick(key)
        if exact:
            ga = con.execute(a).df().select_dtypes("number").to_numpy()
            gb = con.execute(b).df().select_dtypes("number").to_numpy()
            same = ga.shape == gb.shape and np.array_equal(ga, gb)
            if not same:  # the payload forms output only the probabilities
                same = np.array_equal(ga[:, -gb.shape[1]:], gb)
            assert same, f"{what} on {name}: outputs differ"
        r = pairs(con, a, b, args.pairs, setup_a, setup_b)
        rows_out.append((what, name, len(a), len(b)) + r)
        print(f"{what} | {name} | {r[2]:.3f}", file=sys.stderr, flush=True)

    staged_keys = ["XGB", "RandomForestRegressor", "GradientBoostingRegressor", "GradientBoostingClassifier", "HistGradient"]
    for key in staged_keys:
        m, _ = pick(key)
        compare("trees inline in one sum (the form before)", key, sql_with(m), sql_with(m, stage_tree_terms=inline_trees))
    for key in ["depth 6), 2", "depth 6), 3"]:
        m, _ = pick(key)
        cur = sql_with(m)
        compare("leaf codes as bit fields (shift, mask)", key, cur, sql_with(m, **bits_patches()))
        compare("decoded c_j / N terms staged before the sums", key, cur, sql_with(m, **staged_decode_patches()))
        compare("STRUCT leaves", key, cur, payload_sql(m, "struct"))
        compare("LIST leaves", key, cur, payload_sql(m, "list"))
    for key in ["XGB", "RandomForestRegressor"]:
        m, _ = pick(key)
        cur = sql_with(m)
        compare("REAL features and REAL split literals", key, cur, real_sql(cur))

        def cse_off(c):
            c.execute("SET disabled_optimizers='common_subexpressions'")

        def cse_on(c):
            c.execute("RESET disabled_optimizers")

        compare("common-subexpression optimizer off", key, cur, cur, setup_a=cse_on, setup_b=cse_off, exact=False)
        cse_on(con)

    lines = ["# DuckDB: ways of writing the benchmark's tree ensembles", ""]
    lines.append(
        f"DuckDB {duckdb.__version__}, {args.threads} thread(s), {args.rows:,} rows x 10 features (benchmarks/bench_sql.py's "
        f"models and rows). Each line: {args.pairs} pairs of runs, A and B alternately first; CPU time of the process. "
        f"Command: `.venv/bin/python benchmarks/probe_duckdb_forms.py --rows {args.rows} --threads {args.threads} --pairs {args.pairs}`."
    )
    lines.append("")
    lines.append("A is the compiler's current SQL; B the alternative. B / A < 1: the alternative is faster. "
                 "Every B gives outputs identical to A's (checked on these rows) unless marked otherwise.")
    lines.append("")
    lines.append("| B (the alternative) | model | A chars | B chars | A CPU (median) | B CPU (median) | B / A (median of pairs) | quartiles |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for what, name, la, lb, ta, tb, r, q1, q3 in rows_out:
        lines.append(f"| {what} | {name} | {la:,} | {lb:,} | {ta:.3f} s | {tb:.3f} s | {r:.3f} | {q1:.3f} - {q3:.3f} |")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    if out.exists():
        old = out.read_text()
        marker = "\n## Reading"
        if marker in old:
            text += old[old.index(marker):]
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
