"""Model-to-SQL, side by side: jupyter-deploy's compiler against orbital 0.6.0.

One script runs both sides. orbital (and its ONNX dependencies) live in their own venv,
``.bench/sql-venv``, which this script creates with uv on first use; the models are trained here,
pickled (same scikit-learn version on both sides) and converted by orbital in a subprocess.
Every SQL text then runs here on the same engines and rows:

* which models convert; SQL characters (DuckDB dialect; PostgreSQL/SQLite in the timing rows)
* max absolute error and label agreement against scikit-learn, on random rows plus rows at every
  split threshold (DuckDB)
* DuckDB, SQLite and PostgreSQL time to score N rows (CREATE TEMP TABLE AS), median of --repeat,
  with scikit-learn's in-process predict_proba / predict as the reference.

    .venv/bin/python benchmarks/bench_sql.py [--rows 100000,1000000] [--repeat 3] [--pg URL]

Writes benchmarks/results/sql.md. PostgreSQL: --pg URL, else a throwaway server is started
(initdb/pg_ctl as the postgres user), else it is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".bench" / "sql-venv"
ORBITAL = "orbital==0.6.0"
TABLE = "bench_rows"


# ------------------------------------------------------------------------------ orbital side


def orbital_worker(folder: str):
    """Runs inside the orbital venv: convert each pickled model, write SQL or the error."""
    import orbital
    import orbital.types

    folder = Path(folder)
    meta = json.loads((folder / "models.json").read_text())
    out = {}
    for name in meta["models"]:
        feats = {c: orbital.types.DoubleColumnType() for c in meta["features"]}
        res = {}
        try:
            from sklearn.pipeline import Pipeline

            model = pickle.loads((folder / f"{name}.pkl").read_bytes())

            pipe = model if isinstance(model, Pipeline) else Pipeline([("m", model)])
            parsed = orbital.parse_pipeline(pipe, features=feats)
            for d in ("duckdb", "sqlite", "postgres"):
                try:
                    res[d] = orbital.export_sql(TABLE, parsed, dialect=d)
                except Exception as exc:  # noqa: BLE001
                    res[d + "_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
        except ModuleNotFoundError as exc:
            res["error"] = f"not tried: orbital parses scikit-learn pipelines ({exc.name} not in its venv)"
        except Exception as exc:  # noqa: BLE001
            res["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        out[name] = res
        print("orbital:", name, sorted(res), file=sys.stderr, flush=True)
    (folder / "orbital.json").write_text(json.dumps(out))


def ensure_venv():
    py = VENV / "bin" / "python"
    if py.exists():
        return py
    uv = ROOT / ".venv" / "bin" / "uv"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(VENV)], check=True)
    import sklearn

    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(py), ORBITAL, f"scikit-learn=={sklearn.__version__}", "pandas", "pyarrow"],
        check=True,
    )
    return py


# ------------------------------------------------------------------------------ models and data


def make_models(seed=0):
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeRegressor

    cols = [f"x{i}" for i in range(10)]
    Xc, yc = make_classification(5000, 10, n_informative=6, n_classes=3, n_clusters_per_class=1, random_state=seed)
    Xr, yr = make_regression(5000, 10, n_informative=6, noise=5.0, random_state=seed)
    Xc, Xr = pd.DataFrame(Xc, columns=cols), pd.DataFrame(Xr, columns=cols)
    yb = (yc > 0).astype(int)
    models = {
        "LogisticRegression (scaled, 3 classes)": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(Xc, yc),
        "LinearRegression": LinearRegression().fit(Xr, yr),
        "LinearSVC (poly features)": make_pipeline(PolynomialFeatures(2), StandardScaler(), LinearSVC()).fit(Xc, yb),
        "DecisionTreeRegressor(depth 8)": DecisionTreeRegressor(max_depth=8, random_state=0).fit(Xr, yr),
        "RandomForestClassifier(50, depth 6), 2 classes": RandomForestClassifier(50, max_depth=6, random_state=0).fit(Xc, yb),
        "RandomForestClassifier(50, depth 6), 3 classes": RandomForestClassifier(50, max_depth=6, random_state=0).fit(Xc, yc),
        "RandomForestRegressor(50, depth 6)": RandomForestRegressor(50, max_depth=6, random_state=0).fit(Xr, yr),
        "GradientBoostingRegressor(100)": GradientBoostingRegressor(n_estimators=100, random_state=0).fit(Xr, yr),
        "GradientBoostingClassifier(100), 3 classes": GradientBoostingClassifier(n_estimators=100, random_state=0).fit(Xc, yc),
        "HistGradientBoostingClassifier(50), 2 classes": HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(Xc, yb),
    }
    try:
        import xgboost
    except ImportError:
        pass
    else:
        models["XGBClassifier(100, depth 4), 2 classes"] = xgboost.XGBClassifier(n_estimators=100, max_depth=4, random_state=0).fit(Xc, yb)
    return models, cols


def rows(n, cols, seed=1):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, len(cols))) * 2.0, columns=cols)


# ------------------------------------------------------------------------------ engines


def start_postgres():
    initdb = shutil.which("initdb") or "/usr/lib/postgresql/15/bin/initdb"
    pg_ctl = shutil.which("pg_ctl") or "/usr/lib/postgresql/15/bin/pg_ctl"
    if not Path(initdb).exists():
        return None, None
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="jd-bench-pg-"))
    (base / "sock").mkdir()
    if as_pg:
        shutil.chown(base, "postgres")
        shutil.chown(base / "sock", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    subprocess.run(as_pg + [initdb, "-D", str(base / "data"), "-U", "postgres", "-A", "trust", "--no-sync"], check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base / 'sock'} -c jit=off -c fsync=off -c work_mem=256MB"
    subprocess.run(as_pg + [pg_ctl, "-D", str(base / "data"), "-o", opts, "-l", str(base / "log"), "-w", "start"], check=True, capture_output=True)

    def stop():
        subprocess.run(as_pg + [pg_ctl, "-D", str(base / "data"), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


class Engines:
    def __init__(self, df, pg_url):
        import duckdb

        self.duck = duckdb.connect()
        self.duck.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM df")
        self.lite = sqlite3.connect(":memory:")
        df.to_sql(TABLE, self.lite, index=False)
        self.pg = None
        if pg_url:
            import psycopg

            self.pg = psycopg.connect(pg_url, autocommit=True)
            self.pg.execute("SET jit = off")
            self.pg.execute(f"DROP TABLE IF EXISTS {TABLE}")
            self.pg.execute(f"CREATE TABLE {TABLE} ({', '.join(c + ' float8' for c in df.columns)})")
            with self.pg.cursor().copy(f"COPY {TABLE} FROM STDIN") as cp:
                for r in df.itertuples(index=False):
                    cp.write_row(r)
            self.pg.execute(f"ANALYZE {TABLE}")

    def time(self, engine, sql, repeat, timeout_s=300):
        def once():
            t = time.perf_counter()
            if engine == "duckdb":
                self.duck.execute(f"CREATE OR REPLACE TEMP TABLE __out AS {sql}")
            elif engine == "sqlite":
                deadline = time.perf_counter() + timeout_s
                self.lite.set_progress_handler(lambda: int(time.perf_counter() > deadline), 100000)
                self.lite.execute("DROP TABLE IF EXISTS temp.__out")
                self.lite.execute(f"CREATE TEMP TABLE __out AS {sql}")
            else:
                self.pg.execute("DROP TABLE IF EXISTS __out")
                self.pg.execute(f"SET statement_timeout = '{timeout_s}s'")
                self.pg.execute(f"CREATE TEMP TABLE __out AS {sql}")
            return time.perf_counter() - t

        try:
            return statistics.median(once() for _ in range(repeat)), None
        except Exception as exc:  # noqa: BLE001
            if engine == "postgres":
                try:
                    self.pg.execute("ROLLBACK")
                except Exception:  # noqa: BLE001
                    pass
            return None, str(exc).strip().splitlines()[0][:90]


def score_columns(df):
    """(label column, probability columns) of either tool's output."""
    cols = list(df.columns)
    label = next((c for c in cols if c in ("prediction", "output_label", "variable")), cols[0])
    probs = [c for c in cols if c.startswith("probability_") or c.startswith("output_probability")]
    return label, probs


def accuracy(model, X, got):
    import numpy as np

    from jupyter_deploy.sql.proof import _label_text

    label, probs = score_columns(got)
    pred = model.predict(X)
    out = {}
    if hasattr(model, "classes_"):
        g = np.array([_label_text(v) for v in got[label]])
        e = np.array([_label_text(v) for v in pred])
        out["agree"] = float((g == e).mean())
        if probs and hasattr(model, "predict_proba"):
            p = model.predict_proba(X)
            gp = got[probs].to_numpy(dtype=float)
            out["err"] = float(np.nanmax(np.abs(gp - p))) if gp.shape == p.shape else None
        else:
            out["err"] = None
    else:
        g = got[label].to_numpy(dtype=float)
        out["err"] = float(np.nanmax(np.abs(g - np.asarray(pred, dtype=float))))
        out["agree"] = None
    return out


# ------------------------------------------------------------------------------ main


def fmt_t(v):
    return "-" if v is None else (f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg", default=None)
    ap.add_argument("--engines", default="duckdb,sqlite,postgres")
    ap.add_argument("--sqlite-max-rows", type=int, default=1000000)
    ap.add_argument("--orbital-worker", default=None)
    ap.add_argument("--models", default=None, help="only the models whose name matches this regular expression")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sql.md"))
    args = ap.parse_args()
    if args.orbital_worker:
        return orbital_worker(args.orbital_worker)

    import numpy as np
    import pandas as pd

    from jupyter_deploy.sql import to_sql
    from jupyter_deploy.sql.proof import adversarial_rows

    py = ensure_venv()
    models, cols = make_models()
    if args.models:
        import re

        models = {k: v for k, v in models.items() if re.search(args.models, k)}
    work = Path(tempfile.mkdtemp(prefix="jd-bench-sql-"))
    for i, (name, m) in enumerate(models.items()):
        (work / f"m{i}.pkl").write_bytes(pickle.dumps(m))
    keys = {name: f"m{i}" for i, name in enumerate(models)}
    (work / "models.json").write_text(json.dumps({"models": list(keys.values()), "features": cols}))
    print("converting with orbital...", file=sys.stderr, flush=True)
    subprocess.run([str(py), __file__, "--orbital-worker", str(work)], check=True)
    print("converted", file=sys.stderr, flush=True)
    orb = json.loads((work / "orbital.json").read_text())

    sql = {}
    for name, m in models.items():
        ours = {d: to_sql(m, TABLE, d) for d in ("duckdb", "sqlite", "postgres")}
        sql[name] = {"jupyter-deploy": ours, "orbital": orb[keys[name]]}

    # accuracy: random rows + rows at every threshold, on DuckDB
    import duckdb

    acc = {}
    for name, m in models.items():
        base = rows(2000, cols, seed=7)
        adv = adversarial_rows(m, base.head(200), max_rows=20000)
        X = pd.concat([base, adv], ignore_index=True)
        con = duckdb.connect()
        con.execute(f"CREATE TABLE {TABLE} AS SELECT * FROM X")
        acc[name] = {}
        print("accuracy:", name, len(X), file=sys.stderr, flush=True)
        for tool in ("jupyter-deploy", "orbital"):
            text = sql[name][tool].get("duckdb")
            if not text:
                continue
            try:
                got = con.execute(text).df()
                acc[name][tool] = accuracy(m, X, got)
            except Exception as exc:  # noqa: BLE001
                acc[name][tool] = {"fail": str(exc).splitlines()[0][:80]}
        con.close()

    # timing
    pg_url, stop = (args.pg, None) if args.pg else (None, None)
    engines = args.engines.split(",")
    if "postgres" in engines and not pg_url:
        try:
            pg_url, stop = start_postgres()
        except Exception as exc:  # noqa: BLE001
            print("PostgreSQL not started:", exc, file=sys.stderr)
    timing = {}
    try:
        for n in [int(x) for x in args.rows.split(",")]:
            df = rows(n, cols)
            eng = Engines(df, pg_url if "postgres" in engines else None)
            for name, m in models.items():
                t = time.perf_counter()
                ts = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    (m.predict_proba if hasattr(m, "predict_proba") else m.predict)(df)
                    ts.append(time.perf_counter() - t)
                row = {"sklearn": statistics.median(ts)}
                for tool in ("jupyter-deploy", "orbital"):
                    for e in engines:
                        if e == "postgres" and eng.pg is None:
                            continue
                        if e == "sqlite" and n > args.sqlite_max_rows:
                            continue
                        text = sql[name][tool].get(e)
                        if not text:
                            row[(tool, e)] = (None, "no SQL")
                            continue
                        row[(tool, e)] = eng.time(e, text, args.repeat)
                        print(f"{n} {name} {tool} {e}: {row[(tool, e)]}", file=sys.stderr, flush=True)
                timing[(n, name)] = row
    finally:
        if stop:
            stop()

    # report
    lines = ["# Model to SQL: jupyter-deploy vs orbital 0.6.0", ""]
    lines.append(f"scikit-learn models trained on 5,000 rows x 10 features; scored on random rows. "
                 f"Median of {args.repeat}. Machine: {os.cpu_count()} cores (shared). "
                 f"Command: `.venv/bin/python benchmarks/bench_sql.py --rows {args.rows} --repeat {args.repeat} --engines {args.engines}`.")
    lines.append("")
    lines.append("#### Conversion, size and exactness (DuckDB; 2,000 random rows + rows at every split threshold)")
    lines.append("")
    lines.append("| model | jd converts | orbital converts | jd SQL chars (duckdb / postgres / sqlite) | orbital SQL chars (duckdb / postgres / sqlite) | jd max abs err | orbital max abs err | jd label agreement | orbital label agreement |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for name in models:
        o = sql[name]["orbital"]
        j = sql[name]["jupyter-deploy"]
        ja, oa = acc[name].get("jupyter-deploy", {}), acc[name].get("orbital", {})
        conv = "yes" if "duckdb" in o else ("no: " + o.get("error", o.get("duckdb_error", "?"))[:60])

        def e(a):
            if "fail" in a:
                return "fails: " + a["fail"][:40]
            return "-" if a.get("err") is None else f"{a['err']:.2g}"

        def ag(a):
            return "-" if a.get("agree") is None else f"{a['agree']:.4%}"

        lines.append(
            f"| {name} | yes | {conv} | {len(j['duckdb']):,} / {len(j['postgres']):,} / {len(j['sqlite']):,} | "
            f"{(' / '.join(f'{len(o[d]):,}' for d in ('duckdb', 'postgres', 'sqlite') if d in o)) if 'duckdb' in o else '-'} | "
            f"{e(ja)} | {e(oa) if oa else '-'} | {ag(ja)} | {ag(oa) if oa else '-'} |"
        )
    lines.append("")
    lines.append("#### Scoring time (CREATE TEMP TABLE AS the query), scikit-learn in-process as reference")
    lines.append("")
    hdr = "| rows | model | scikit-learn |"
    sep = "|---|---|---|"
    for e in engines:
        hdr += f" jd {e} | jd {e} / scikit-learn | orbital {e} | orbital/jd {e} |"
        sep += "---|---|---|---|"
    lines += [hdr, sep]
    for (n, name), row in timing.items():
        line = f"| {n:,} | {name} | {fmt_t(row['sklearn'])} |"
        for e in engines:
            j = row.get(("jupyter-deploy", e), (None, "skipped"))
            o = row.get(("orbital", e), (None, "skipped"))
            jt = fmt_t(j[0]) if j[0] is not None else "fails: " + (j[1] or "")[:40]
            ot = fmt_t(o[0]) if o[0] is not None else "fails: " + (o[1] or "")[:40]
            ratio = f"{o[0] / j[0]:.1f}x" if (j[0] and o[0]) else "-"
            sk = row["sklearn"]
            vs_sk = f"{j[0] / sk:.2f}x" if (j[0] and isinstance(sk, (int, float)) and sk) else "-"
            line += f" {jt} | {vs_sk} | {ot} | {ratio} |"
        lines.append(line)
    lines.append("")
    lines.append("jd = jupyter-deploy. orbital/jd > 1 means jupyter-deploy is faster; jd / scikit-learn <= 1 means "
                 "the SQL scores at most as long as scikit-learn's in-process predict_proba / predict. "
                 "Errors are absolute, on "
                 "probabilities for classifiers and values for regressors.")
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
