"""The generated serving.py in-process: the fast path (a pipeline's fitted steps called one by
one, transforms shared by predict and predict_proba) answers exactly as the model's own
predict / predict_proba, and is used only when the artefact's sample proves it."""

from __future__ import annotations

import importlib.util
import itertools
import json

import pytest

from container_helpers import make_churn

_count = itertools.count()


def serve_model(model, X, tmp_path, *, sample=True, name="m"):
    """(the generated serving module, its Model) for ``model``, from a generated context."""
    from jupyter_deploy.container.context import ContextOptions, write_context
    from jupyter_deploy.model.artefact import write_artefact

    art = tmp_path / "art"
    art.mkdir(parents=True)
    write_artefact(model, art, name=name, sample=X.head(20) if sample else None)
    ctx = tmp_path / "ctx"
    write_context(ctx, art, ContextOptions(name=name))
    spec = importlib.util.spec_from_file_location(f"serving_{next(_count)}", ctx / "serving.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.Model(ctx / "model")


def answers(serving, m, X, form="records"):
    """The served answers for the rows of X, sent as JSON the way a client would."""
    import math

    # Exact floats (DataFrame.to_json rounds to 10 digits); NaN -> null.
    rows = [[None if isinstance(v, float) and math.isnan(v) else v for v in row]
            for row in X.astype(object).values.tolist()]
    rows = [[v.item() if hasattr(v, "item") else v for v in row] for row in rows]
    if form == "records":
        payload = [dict(zip(X.columns, row)) for row in rows]
    else:
        payload = {"columns": list(X.columns), "data": rows}
    out = m.predict(m.inputs_from_json(serving.parse_json(json.dumps(payload).encode())))
    return out


def own(serving, model, X):
    """The model's own answers, as the API writes them."""
    proba = None
    if hasattr(model, "predict_proba"):
        try:
            proba = serving.clean_list(model.predict_proba(X))
        except AttributeError:
            proba = None
    return serving.clean_list(model.predict(X)), proba


def frame(rows=300, seed=1):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.integers(18, 80, rows).astype("int64"),
        "income": rng.normal(50.0, 12.0, rows),
        "plan": rng.choice(["basic", "plus", "pro"], rows),
        "region": rng.choice(["n", "s", "e", "w"], rows),
    })
    X.loc[X.index % 5 == 2, "income"] = np.nan
    y = ((X["age"] > 45) ^ (X["plan"] == "pro")).astype(int)
    y3 = np.where(X["plan"] == "basic", "low", np.where(X["age"] > 50, "high", "mid"))
    return X, y, y3


def pipelines():
    """Pipelines the fast path takes over, each (name, fitted model, X)."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
    from sklearn.svm import LinearSVC

    X, y, y3 = frame()
    num = make_pipeline(SimpleImputer(), StandardScaler())
    out = [("churn", *make_churn())]
    ct = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
                            ("num", num, ["age", "income"])])
    out.append(("multiclass", make_pipeline(ct, LogisticRegression(max_iter=500)).fit(X, y3), X))
    # remainder passed through, a dropped column, weights, an ordinal encoder, two steps
    ct2 = ColumnTransformer(
        [("ord", OrdinalEncoder(), ["plan"]), ("drop", "drop", ["region"])],
        remainder=make_pipeline(SimpleImputer(strategy="median")),
        transformer_weights={"ord": 2.0})
    out.append(("remainder", make_pipeline(ct2, StandardScaler(),
                                           RandomForestClassifier(n_estimators=15,
                                                                  random_state=0)).fit(X, y), X))
    ct3 = ColumnTransformer(
        [("cat", OneHotEncoder(), ["plan", "region"]), ("num", num, ["age", "income"])],
        sparse_threshold=1.0)  # a sparse matrix into the final step
    out.append(("sparse", make_pipeline(ct3, LogisticRegression()).fit(X, y), X))
    # columns picked by dtype, the rest passed through as is, a nested ColumnTransformer
    from sklearn.compose import make_column_selector
    from sklearn.preprocessing import FunctionTransformer

    inner = ColumnTransformer([("log", FunctionTransformer(np.log1p), [0])],
                              remainder="passthrough")
    ct4 = ColumnTransformer(
        [("cat", OneHotEncoder(), make_column_selector(dtype_include=object)),
         ("num", make_pipeline(SimpleImputer(), inner), ["age", "income"])],
        remainder="passthrough")
    out.append(("selectors", make_pipeline(ct4, LogisticRegression(max_iter=500)).fit(
        X[["age", "income", "plan"]].astype({"plan": object}), y),
        X[["age", "income", "plan"]].astype({"plan": object})))
    ct5 = ColumnTransformer([("cat", OneHotEncoder(), ["plan"])], remainder="passthrough")
    out.append(("passthrough", make_pipeline(make_pipeline(ct5, SimpleImputer()),
                                             LogisticRegression(max_iter=1000)).fit(
        X[["age", "income", "plan"]], y), X[["age", "income", "plan"]]))
    # no predict_proba: predictions only
    out.append(("svc", make_pipeline(ct, LinearSVC()).fit(X, y), X))
    out.append(("regressor", make_pipeline(ct, Ridge()).fit(X, X["age"] * 1.5), X))
    return out


@pytest.mark.parametrize("case", pipelines(), ids=lambda c: c[0])
def test_the_fast_path_answers_exactly_as_the_model(case, tmp_path):
    name, model, X = case
    serving, m = serve_model(model, X, tmp_path, name=name)
    assert m.fast_path.startswith("on"), m.fast_path
    assert m.describe()["fast_path"] == m.fast_path
    rows = X.iloc[20:120]  # not the sample the start-up check used
    want_pred, want_proba = own(serving, model, rows)
    for form in ("records", "split"):
        got = answers(serving, m, rows, form)
        assert got["predictions"] == want_pred, (name, form)
        assert got["probabilities"] == want_proba, (name, form)
    one = answers(serving, m, rows.head(1))
    assert (one["predictions"], one["probabilities"]) == own(serving, model, rows.head(1))
    if want_proba is None:
        assert m.has_proba is False


def test_bare_estimator_and_non_column_pipelines_take_the_model_path(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, _ = frame()
    X = X[["age"]].assign(score=X["age"] * 0.5)
    for i, model in enumerate([LogisticRegression().fit(X, y),
                               make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)]):
        serving, m = serve_model(model, X, tmp_path / str(i))
        assert m.fast_path.startswith("off"), m.fast_path
        got = answers(serving, m, X.iloc[20:90])
        assert (got["predictions"], got["probabilities"]) == own(serving, model, X.iloc[20:90])


def test_set_output_pandas_is_left_to_the_model(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X, y, _ = frame()
    ct = ColumnTransformer([("cat", OneHotEncoder(sparse_output=False), ["plan"]),
                            ("num", SimpleImputer(), ["age", "income"])])
    model = make_pipeline(ct, LogisticRegression(max_iter=500)).set_output(transform="pandas")
    model.fit(X, y)
    serving, m = serve_model(model, X, tmp_path)
    assert m.fast_path.startswith("off"), m.fast_path
    got = answers(serving, m, X.iloc[20:90])
    assert (got["predictions"], got["probabilities"]) == own(serving, model, X.iloc[20:90])


def test_without_a_sample_nothing_proves_the_fast_path_so_it_stays_off(tmp_path):
    model, X = make_churn()
    serving, m = serve_model(model, X, tmp_path, sample=False)
    assert m.fast_path.startswith("off") and "sample" in m.fast_path
    # No schema either: the body goes to the model as a DataFrame, answers unchanged.
    got = answers(serving, m, X.iloc[20:60])
    assert (got["predictions"], got["probabilities"]) == own(serving, model, X.iloc[20:60])


def test_a_fast_path_that_disagrees_on_the_sample_is_not_used(tmp_path, monkeypatch):
    model, X = make_churn()
    serving, m = serve_model(model, X, tmp_path)
    assert m.fast_path.startswith("on")
    transform, final = serving.compile_pipeline(model)

    def wrong(cols):
        return transform(cols) * 1.5

    assert m._check_fast((wrong, final)).startswith("off: its answers on the sample differ")

    def broken(cols):
        raise RuntimeError("boom")

    assert m._check_fast((broken, final)).startswith("off: RuntimeError")
    # and the model in service still answers right
    got = answers(serving, m, X.iloc[20:60])
    assert (got["predictions"], got["probabilities"]) == own(serving, model, X.iloc[20:60])


def test_batch_frames_take_the_fast_path_too(tmp_path):
    model, X = make_churn()
    serving, m = serve_model(model, X, tmp_path)
    cols = m.check_frame(X.iloc[30:90].reset_index(drop=True))
    assert isinstance(cols, serving.Columns)
    got = m.predict(cols)
    assert (got["predictions"], got["probabilities"]) == own(serving, model, X.iloc[30:90])


def test_validation_errors_are_the_same_whichever_way_the_values_are_checked(tmp_path):
    model, X = make_churn()
    serving, m = serve_model(model, X, tmp_path)
    base = json.loads(X.head(3).to_json(orient="records"))
    cases = [
        ("age", "x", "takes integers"), ("age", 1.5, "takes integers"),
        ("age", 2**70, "out of range"), ("age", True, "takes integers"),
        ("income", "7", "takes numbers"), ("income", [1], "takes numbers"),
        ("plan", "gold", "unknown category"), ("plan", 3, "unknown category"),
        ("plan", None, "may not be null"), ("age", None, "may not be null"),
    ]
    for col, value, words in cases:
        body = [dict(r) for r in base]
        body[2][col] = value
        with pytest.raises(serving.InputError) as info:
            m.inputs_from_json(body)
        assert len(info.value.errors) == 1, (col, value, info.value.errors)
        e = info.value.errors[0]
        assert e["loc"] == ["body", 2, col] and words in e["msg"], (col, value, e)
    # nulls where the model saw them, ints in a float column, floats that are whole in ints
    body = [dict(r) for r in base]
    body[0]["income"], body[1]["income"], body[2]["age"] = None, 50, 41.0
    cols = m.inputs_from_json(body)
    assert list(cols.frame()["age"]) == [base[0]["age"], base[1]["age"], 41]
    assert cols.frame()["income"].isna().tolist() == [True, False, False]



def test_the_column_wide_check_agrees_with_the_per_value_checks(tmp_path):
    """Model._column's quick whole-column pass never lets through what the per-value checks
    refuse, and converts to the same arrays."""
    import numpy as np
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    model, X = make_churn()
    serving, m = serve_model(model, X, tmp_path)
    values = st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False), st.integers(18, 80),
        st.sampled_from(["basic", "plus", "pro", "gold", "", "\ud800"]),
        st.text(max_size=3), st.just([1]), st.just({"a": 1}), st.just(serving.MISSING))
    columns = st.lists(st.one_of(values, st.integers(18, 80), st.sampled_from(["basic", "pro"]),
                                 st.floats(0, 100)), min_size=1, max_size=8)
    slow = lambda *a: (False, None in a[3])  # noqa: E731 - the per-value loop only

    @settings(max_examples=300, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.sampled_from(m.columns), columns)
    def check(spec, col):
        locs = lambda i: ["body", i, spec["name"]]  # noqa: E731
        fast_arr, fast_err = m._column(spec, list(col), locs)
        checks = serving.serving_checks  # one column's checks live in serving_checks.py
        real = checks._quick_check
        checks._quick_check = slow
        try:
            slow_arr, slow_err = m._column(spec, list(col), locs)
        finally:
            checks._quick_check = real
        assert fast_err == slow_err
        if slow_arr is None:
            assert fast_arr is None
        else:
            a, b = np.asarray(fast_arr, dtype=object), np.asarray(slow_arr, dtype=object)
            assert a.shape == b.shape and all(
                (x is y) or (x == y) or (x != x and y != y) for x, y in zip(a, b))
            assert getattr(fast_arr, "dtype", None) == getattr(slow_arr, "dtype", None)

    check()
