"""Every supported model and step, on DuckDB, SQLite and a real PostgreSQL, at the thresholds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (
    ElasticNet,
    Lasso,
    LinearRegression,
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier

from sqlhelpers import data, prove_everywhere

X, Y2, Y3, YR = data()

CLASSIFIERS = {
    "tree": lambda: DecisionTreeClassifier(max_depth=5, random_state=0),
    "extra-tree": lambda: ExtraTreeClassifier(max_depth=5, random_state=0),
    "forest": lambda: RandomForestClassifier(8, max_depth=4, random_state=0),
    "extra-trees": lambda: ExtraTreesClassifier(8, max_depth=4, random_state=0),
    "gb": lambda: GradientBoostingClassifier(n_estimators=8, max_depth=2, random_state=0),
    "hgb": lambda: HistGradientBoostingClassifier(max_iter=8, random_state=0),
    "logistic": lambda: LogisticRegression(),
    "sgd-log": lambda: SGDClassifier(loss="log_loss", random_state=0),
    "linear-svc": lambda: LinearSVC(),
}
REGRESSORS = {
    "tree": lambda: DecisionTreeRegressor(max_depth=5, random_state=0),
    "forest": lambda: RandomForestRegressor(8, max_depth=4, random_state=0),
    "extra-trees": lambda: ExtraTreesRegressor(8, max_depth=4, random_state=0),
    "gb": lambda: GradientBoostingRegressor(n_estimators=10, max_depth=2, random_state=0),
    "hgb": lambda: HistGradientBoostingRegressor(max_iter=10, random_state=0),
    "hgb-poisson": lambda: HistGradientBoostingRegressor(loss="poisson", max_iter=10),
    "linear": lambda: LinearRegression(),
    "ridge": lambda: Ridge(),
    "lasso": lambda: Lasso(alpha=0.01),
    "elasticnet": lambda: ElasticNet(alpha=0.01),
    "sgd": lambda: SGDRegressor(random_state=0),
    "linear-svr": lambda: LinearSVR(random_state=0),
}


@pytest.mark.postgres
@pytest.mark.parametrize("classes", ["binary", "multiclass"])
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classifier(name, classes, postgres_url):
    y = Y2 if classes == "binary" else Y3
    model = CLASSIFIERS[name]().fit(X, y)
    prove_everywhere(model, X.head(40), postgres_url)


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_regressor(name, postgres_url):
    y = np.exp(YR / 4) if name == "hgb-poisson" else YR
    model = REGRESSORS[name]().fit(X, y)
    prove_everywhere(model, X.head(40), postgres_url)


STEPS = {
    "standard": StandardScaler,
    "minmax": MinMaxScaler,
    "minmax-clip": lambda: MinMaxScaler(clip=True),
    "maxabs": MaxAbsScaler,
    "robust": RobustScaler,
    "poly": lambda: PolynomialFeatures(2),
    "kbins-ordinal": lambda: KBinsDiscretizer(4, encode="ordinal", quantile_method="averaged_inverted_cdf"),
    "kbins-onehot": lambda: KBinsDiscretizer(3, encode="onehot-dense", quantile_method="averaged_inverted_cdf"),
    "log1p": lambda: FunctionTransformer(np.log1p),
}


@pytest.mark.postgres
@pytest.mark.parametrize("step", sorted(STEPS))
def test_preprocessing_steps(step, postgres_url):
    Xp = X.abs() if step == "log1p" else X
    model = make_pipeline(STEPS[step](), LogisticRegression()).fit(Xp, Y3)
    prove_everywhere(model, Xp.head(40), postgres_url)
    model = make_pipeline(STEPS[step](), DecisionTreeRegressor(max_depth=4, random_state=0)).fit(Xp, YR)
    prove_everywhere(model, Xp.head(40), postgres_url)


def _mixed(n=200, seed=1):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(40, 10, n).round(1),
        "income": rng.lognormal(10, 1, n),
        "city": rng.choice(["Paris", "Lyon", "Nantes"], n),
        "plan": rng.choice(["basic", "pro"], n),
    })
    df.loc[rng.random(n) < 0.1, "age"] = np.nan
    y = np.where((df.income > 25000) ^ (df.city == "Paris"), "churn", "stay")
    return df, y


@pytest.mark.postgres
@pytest.mark.parametrize("est", ["logistic", "forest", "gb"])
def test_column_transformer_pipeline(est, postgres_url):
    df, y = _mixed()
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), ["age", "income"]),
        ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
        ("plan", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), ["plan"]),
    ])
    final = {"logistic": LogisticRegression(max_iter=500), "forest": RandomForestClassifier(6, max_depth=4, random_state=0),
             "gb": GradientBoostingClassifier(n_estimators=6, random_state=0)}[est]
    model = make_pipeline(pre, final).fit(df, y)
    res = prove_everywhere(model, df.head(40), postgres_url)
    assert res["adversarial_rows"] > 0  # NULLs and unseen categories were tried


@pytest.mark.postgres
def test_hgb_missing_and_categorical(postgres_url):
    rng = np.random.default_rng(3)
    n = 300
    Xc = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.integers(0, 5, n).astype(float)})
    Xc.loc[rng.random(n) < 0.15, "num"] = np.nan
    y = np.where((Xc.cat.isin([1, 3])) | (Xc.num.fillna(2) > 1), 1, 0)
    for model in (
        HistGradientBoostingClassifier(max_iter=10, categorical_features=[1], random_state=0).fit(Xc, y),
        HistGradientBoostingRegressor(max_iter=10, categorical_features=[1]).fit(Xc, y * 2.5),
    ):
        sample = pd.concat([Xc.head(30), pd.DataFrame({"num": [0.1, np.nan], "cat": [7.0, -1.0]})], ignore_index=True)
        prove_everywhere(model, sample, postgres_url)


def test_tree_missing_values_route_like_sklearn():
    Xm = X.copy()
    Xm.loc[::5, "x0"] = np.nan
    model = RandomForestClassifier(5, max_depth=4, random_state=0).fit(Xm, Y2)
    res = prove_everywhere(model, Xm.head(30))
    assert res["adversarial_rows"] > 0


def test_threshold_rows_are_exact_where_naive_sql_is_not():
    """At x = the float64 threshold, float32 rounding sends rows the other way; we agree."""
    from jupyter_deploy.sql.trees import float32_split

    rng = np.random.default_rng(5)
    a = np.float32(0.1)
    b = np.nextafter(a, np.float32(1))
    t = float(a) / 2 + float(b) / 2  # a threshold between adjacent float32 values
    op, m = float32_split(t)
    assert m == t and op in ("<", "<=")
    for x in (m, np.nextafter(m, 1), np.nextafter(m, -1)):
        assert (float(np.float32(x)) <= t) == (x < m or (op == "<=" and x == m))
    for _ in range(2000):
        t = float(rng.normal() * 10.0 ** rng.integers(-5, 5))
        op, m = float32_split(t)
        for x in (m, np.nextafter(m, np.inf), np.nextafter(m, -np.inf), t):
            assert (float(np.float32(x)) <= t) == ((x < m) if op == "<" else (x <= m))


def test_float32_cut_takes_sklearns_branch():
    """The short float32 literal sends every float32 value the way scikit-learn does."""
    from decimal import Decimal

    from jupyter_deploy.sql.trees import float32_cut

    rng = np.random.default_rng(11)
    ts = [float(rng.normal() * 10.0 ** rng.integers(-30, 30)) for _ in range(3000)]
    # thresholds exactly between two float32 values, as scikit-learn makes them
    for v in rng.normal(size=500) * 10.0 ** rng.integers(-8, 8, 500):
        a = np.float32(v)
        ts.append(float(a) / 2 + float(np.nextafter(a, np.float32(np.inf))) / 2)
    ts += [0.0, -0.0, 1e-45, -1e-45, 0.5, -0.5, 3.0e38]
    longest = 0
    for t in ts:
        text = float32_cut(t)
        assert text is not None and "e" in text
        cut = float(text)  # DuckDB and PostgreSQL read it as this float64
        assert float(Decimal(text)) == cut
        longest = max(longest, len(text.lstrip("-")))
        f = np.float32(t)
        if float(f) > t:
            f = np.nextafter(f, np.float32(-np.inf))
        # an engine comparing in float32 rounds the literal to f: the same branch again
        assert np.float32(cut) == f, (t, text)
        for x in (f, np.nextafter(f, np.float32(np.inf)), np.nextafter(f, np.float32(-np.inf)),
                  np.float32(cut), np.float32(np.nextafter(cut, np.inf))):
            if np.isfinite(x):
                assert (float(np.float32(x)) <= t) == (float(x) <= cut), (t, text, x)
    assert longest <= 9 + 4  # at most 9 significant digits and an exponent


@pytest.mark.postgres
def test_forest_leaves_are_coded_counts_unless_weighted(postgres_url):
    """Unweighted forests write each leaf as its class counts (no lookup arrays); weighted ones
    fall back to exact leaf values; both give scikit-learn's answers."""
    from jupyter_deploy.sql import to_sql

    plain = RandomForestClassifier(6, max_depth=4, random_state=0).fit(X, Y3)
    weights = np.random.default_rng(3).uniform(0.5, 2.0, len(X))
    # (forests bootstrap in proportion to sample_weight, so ExtraTrees keeps non-integer weights)
    weighted = ExtraTreesClassifier(6, max_depth=4, random_state=0).fit(X, Y3, sample_weight=weights)
    assert "[" not in to_sql(plain, "t", "duckdb") and "%" in to_sql(plain, "t", "duckdb")
    assert "[" in to_sql(weighted, "t", "duckdb")
    for model in (plain, weighted):
        res = prove_everywhere(model, X.head(30), postgres_url)
        assert res["max_abs_error"] == 0.0 and res["label_agreement"] == 1.0


def test_sqlite_float32_rounding_matches_numpy():
    """SQLite has no float32: the generated arithmetic rounds like numpy, ties to even included."""
    import sqlite3

    from sqlglot import exp

    from jupyter_deploy.sql.compiler import Builder
    from jupyter_deploy.sql.trees import sqlite_float32

    rng = np.random.default_rng(2)
    vals = list(rng.normal(size=4000) * 10.0 ** rng.integers(-37, 38, 4000))
    for v in rng.normal(size=3000) * 10.0 ** rng.integers(-37, 38, 3000):
        a = np.float32(v)
        nxt = np.nextafter(a, np.float32(np.inf))
        if np.isfinite(nxt):
            mid = float(a) / 2 + float(nxt) / 2  # a tie: numpy keeps the even neighbour
            vals += [mid, np.nextafter(mid, np.inf), np.nextafter(mid, -np.inf), float(a)]
    vals += [0.0, -0.0, 1.0, 1.0 + 2.0**-24, 1.0 + 3 * 2.0**-24, 2.0**-126, 3.4028234663852886e38, 16777217.0]
    vals = [float(v) for v in vals if abs(v) >= 2.0**-126 or v == 0.0]
    b = Builder("sqlite", exp.to_table("t"), ["i"], [exp.column("i")])
    (x,) = b.first_stage([exp.column("x")], [True])
    (r,) = sqlite_float32(b, [x])
    sql = b.query([("r", r)]).sql(dialect="sqlite")
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t (i INTEGER, x REAL)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(vals)) + [(len(vals), None)])
    got = [row[1] for row in sorted(con.execute(sql).fetchall())]
    assert len(got) == len(vals) + 1 and got[-1] is None  # NULL stays NULL
    want = [float(np.float32(v)) for v in vals]
    bad = [(v, g, w) for v, g, w in zip(vals, got, want) if g != w]
    assert not bad, bad[:5]


def test_veltkamp_rounds_every_tie_of_a_binade_to_even():
    """The arithmetic SQLite runs, over all 2**23 float32 ties in [1, 2) (and scaled copies):
    the identity scales exactly with powers of two, so this covers every normal binade."""
    sig = np.arange(2**23, 2**24, dtype=np.float64)
    for e in (0, -100, 100):
        x = np.concatenate([(sig + 0.5) * 2.0 ** (e - 23), (sig + 0.25) * 2.0 ** (e - 23)])
        c = (2.0**29 + 1) * x
        v = c - (c - x)
        assert np.array_equal(v, x.astype(np.float32).astype(np.float64))


BOOLEAN_MODELS = {
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    "forest": lambda: RandomForestClassifier(6, max_depth=4, random_state=0),
    "gb": lambda: GradientBoostingClassifier(n_estimators=6, random_state=0),
    "hgb": lambda: HistGradientBoostingClassifier(max_iter=6, random_state=0),
}


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(BOOLEAN_MODELS))
def test_a_boolean_target_gives_boolean_labels(name, postgres_url):
    """y = (something > 0): predict() says True/False, so does the SQL (a BOOLEAN column, not
    1/0), and the proof agrees on every engine."""
    import duckdb

    from jupyter_deploy.sql import to_sql
    from sqlhelpers import run_postgres

    y = (X.x0 + X.x1 > 0).to_numpy()
    assert y.dtype == bool
    model = BOOLEAN_MODELS[name]().fit(X, y)
    res = prove_everywhere(model, X.head(40), postgres_url)
    assert res["label_agreement"] == 1.0
    want = model.predict(X.head(40))
    con = duckdb.connect()
    con.register("scores", X.head(40))
    got = con.execute(to_sql(model, "scores", dialect="duckdb")).df()["prediction"]
    assert got.dtype == bool and (got.to_numpy() == want).all()
    pg = run_postgres(postgres_url, to_sql(model, "__jd_sample", dialect="postgres"), X.head(40))["prediction"]
    assert [type(v) for v in pg] == [bool] * 40 and (pg.to_numpy() == want).all()


@pytest.mark.postgres
@pytest.mark.parametrize("name", sorted(BOOLEAN_MODELS))
def test_boolean_feature_columns(name, postgres_url):
    """A feature that is a BOOLEAN column (pandas bool: is_member, is_weekend): PostgreSQL
    cannot cast boolean to double precision, so the SQL reads it through INT; proven with the
    column BOOLEAN on every engine, NULL included where the model takes missing values."""
    import psycopg

    from jupyter_deploy.sql import to_sql
    from jupyter_deploy.sql.compiler import boolean_columns

    rng = np.random.default_rng(11)
    Xb = pd.DataFrame({"a": rng.normal(size=300), "member": rng.random(300) > 0.5,
                       "weekend": rng.random(300) > 0.7})
    y = (Xb.a + Xb.member * 1.0 - Xb.weekend * 0.5 > 0.3).to_numpy()
    model = BOOLEAN_MODELS[name]().fit(Xb, y)
    assert boolean_columns(Xb) == ["member", "weekend"]
    prove_everywhere(model, Xb.head(40), postgres_url)
    # the user's own table, typed as they would type it
    sql = to_sql(model, "members", dialect="postgres", boolean_features=["member", "weekend"])
    with psycopg.connect(postgres_url, autocommit=True) as con:
        con.execute("CREATE TEMP TABLE members (a double precision, member boolean, weekend boolean)")
        with con.cursor() as cur:
            with cur.copy("COPY members FROM STDIN") as cp:
                for row in Xb.itertuples(index=False):
                    cp.write_row((float(row.a), bool(row.member), bool(row.weekend)))
            cur.execute(sql)
            got = [r[0] for r in cur.fetchall()]
    assert got == model.predict(Xb).tolist()


def test_boolean_features_must_be_the_models():
    from jupyter_deploy.errors import UsageError
    from jupyter_deploy.sql import to_sql

    model = LogisticRegression().fit(X, Y2)
    with pytest.raises(UsageError, match="boolean_features names columns the model does not use: nope"):
        to_sql(model, "t", boolean_features=["nope"])


def test_pandas_nullable_dtypes_in_the_sample():
    """A sample read with pandas' nullable dtypes (convert_dtypes(), dtype_backend=
    "numpy_nullable"): Float64/Int64/string columns, NA included, and the proof's threshold and
    NULL rows added to them, through a ColumnTransformer that refuses pandas.NA."""
    from sklearn.ensemble import HistGradientBoostingClassifier as HGB

    from jupyter_deploy.sql import prove

    rng = np.random.default_rng(0)
    n = 300
    Xn = pd.DataFrame({"a": pd.array(rng.normal(size=n), dtype="Float64"),
                       "k": pd.array(rng.integers(0, 5, n), dtype="Int64"),
                       "city": pd.array(rng.choice(["x", "y", "z"], n), dtype="string"),
                       "member": rng.random(n) > 0.5})
    y = (Xn.a + Xn.k + Xn.member > 2).to_numpy()
    forest = make_pipeline(
        ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), ["city"])], remainder="passthrough"),
        RandomForestClassifier(5, max_depth=4, random_state=0)).fit(Xn, y)
    res = prove(forest, Xn.head(40), engines=("duckdb", "sqlite"))
    assert res["ok"] and res["adversarial_rows"] > 0, res
    Xm = Xn[["a", "k", "member"]].copy()
    Xm.loc[::7, "a"] = pd.NA
    hgb = HGB(max_iter=5, random_state=0).fit(Xm, y)
    res = prove(hgb, Xm.head(40), engines=("duckdb", "sqlite"))
    assert res["ok"] and res["label_agreement"] == 1.0, res


@pytest.mark.parametrize("make", [
    lambda: RandomForestRegressor(5, max_depth=3, random_state=0).fit(X, YR),
    lambda: GradientBoostingClassifier(n_estimators=4, max_depth=2, random_state=0).fit(X, Y3),
    lambda: HistGradientBoostingClassifier(max_iter=4, random_state=0).fit(X, Y2),
], ids=["forest-regressor", "gb-multiclass", "hgb"])
def test_duckdb_adds_trees_computed_in_a_stage(make):
    """On DuckDB each tree is a column of one stage and the sums add those columns (DuckDB plans
    one big sum of CASEs far slower); the answers stay scikit-learn's to the bit, and the other
    dialects keep the trees inline in the sum."""
    import duckdb

    from jupyter_deploy.sql import to_sql

    model = make()
    duck, pg = to_sql(model, "t", "duckdb"), to_sql(model, "t", "postgres")
    n_trees = np.asarray(getattr(model, "estimators_", getattr(model, "_predictors", None))).size
    assert sorted(int(i) for i in re.findall(r" AS t(\d+)\b", duck)) == list(range(n_trees))
    assert "t0 + t1" in duck  # a sum over the stage's columns
    assert not re.findall(r" AS t\d+\b", pg) and ("+ CASE" in pg or "+ CAST(CASE" in pg)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM X")
    got = con.execute(duck).df()
    out = [c for c in got.columns if c.startswith("probability_")] or ["prediction"]
    want = model.predict_proba(X) if out[0] != "prediction" else model.predict(X)[:, None]
    assert np.array_equal(got[out].to_numpy(dtype=float), np.asarray(want, dtype=float))
