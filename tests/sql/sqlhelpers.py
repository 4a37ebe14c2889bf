"""Shared helpers for the sql tests: small data, and running SQL on PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd


def data(n=160, seed=0, k=4):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"x{i}" for i in range(k)])
    y2 = np.where(X.x0 + X.x1 * X.x2 > 0, "yes", "no")
    y3 = np.array(["a", "b", "c"])[np.digitize(X.x0 + 0.5 * X.x3, [-0.5, 0.5])]
    yr = 3 * X.x0 + np.sin(X.x1) + 0.1 * X.x2
    return X, y2, y3, yr


def run_postgres(url: str, sql: str, df, table: str = "__jd_sample"):
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute("SET jit = off")
        cols = []
        for c in df.columns:
            t = "BOOLEAN" if pd.api.types.is_bool_dtype(df[c]) else "BIGINT" if pd.api.types.is_integer_dtype(df[c]) else (
                "DOUBLE PRECISION" if pd.api.types.is_numeric_dtype(df[c]) else "TEXT")
            cols.append('"' + str(c).replace('"', '""') + '" ' + t)
        con.execute(f'CREATE TEMP TABLE "{table}" ({", ".join(cols)})')
        rows = [tuple(None if (v is pd.NA or isinstance(v, float) and v != v) else (v.item() if hasattr(v, "item") else v) for v in r)
                for r in df.astype(object).itertuples(index=False, name=None)]
        with con.cursor() as cur:
            with cur.copy(f'COPY "{table}" FROM STDIN') as cp:
                for r in rows:
                    cp.write_row(r)
            cur.execute(sql)
            names = [d.name for d in cur.description]
            out = pd.DataFrame(cur.fetchall(), columns=names)
        con.execute(f'DROP TABLE "{table}"')
    for c in out.columns:
        if out[c].map(lambda v: hasattr(v, "as_tuple")).any():
            out[c] = out[c].astype(float)
    return out


def prove_on_engine(model, X, dialect: str, run, tolerance=1e-9) -> dict:
    """The proof's rows (the sample, the adversarial rows at every threshold, NULLs, unseen
    categories; boolean columns BOOLEAN) through the model's ``dialect`` SQL, run by
    ``run(sql, frame)`` on a real engine over a table named ``__jd_sample``, compared with
    scikit-learn; asserts they agree. The result has ``rows_tried``, ``extra_rows`` and ``sql``."""
    from jupyter_deploy.sql.compiler import compile_model
    from jupyter_deploy.sql.proof import ROW_ID, as_table, compare, proof_rows

    base, allx, _, boolean = proof_rows(model, X)
    t = as_table(allx, boolean)
    t.insert(0, ROW_ID, np.arange(len(t)))
    comp = compile_model(model, "__jd_sample", dialect, keep=[ROW_ID], boolean_features=boolean)
    got = run(comp.sql, t).sort_values(ROW_ID).reset_index(drop=True)
    res = compare(model, allx, got, tolerance=max(tolerance, comp.tolerance or 0.0))
    res.update(rows_tried=len(allx), extra_rows=len(allx) - len(base), sql=comp.sql)
    assert res["ok"], (res, X.columns.tolist())
    return res


def prove_everywhere(model, X, pg_url=None, tolerance=1e-9):
    """prove() on DuckDB and SQLite, then the postgres SQL on the real server over the same rows."""
    from jupyter_deploy.sql import prove

    res = prove(model, X, engines=("duckdb", "sqlite"), tolerance=tolerance)
    assert res["ok"], res
    assert res["label_agreement"] == 1.0
    if pg_url:
        run = lambda sql, frame: run_postgres(pg_url, sql, frame)  # noqa: E731
        res["engines"]["postgres"] = prove_on_engine(model, X, "postgres", run, tolerance)
    return res
