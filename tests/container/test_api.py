"""The generated API, served from a fresh venv built from the context's requirements.txt only,
called over HTTP on 127.0.0.1: answers, field-level 422s, 413, SIGTERM, fuzzing, batch."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from jdtest import need_module

from jupyter_deploy.container.proof import LocalServer, http, wait_healthy
from jupyter_deploy.model.standalone import compare_outputs, predict_outputs, sample_frame


def records(sample, rows=None):
    inputs = sample["inputs"]
    data = inputs["data"] if rows is None else inputs["data"][:rows]
    return [dict(zip(inputs["columns"], row)) for row in data]


def details(body):
    return [(d["loc"], d["msg"]) for d in body["detail"]]


def test_health_metadata_docs(api):
    status, body = http("GET", api.base_url + "/health")
    assert status == 200 and body["status"] == "ok" and body["model"] == "churn"
    status, meta = http("GET", api.base_url + "/metadata")
    assert status == 200
    assert meta["name"] == "churn" and meta["model_class"] == "sklearn.pipeline.Pipeline"
    assert [c["name"] for c in meta["input_schema"]["columns"]] == ["age", "income", "plan"]
    assert meta["enforced_categories"] == {"plan": ["basic", "plus", "pro"]}
    assert meta["notebook_hash"] == "ab" * 32
    status, docs = http("GET", api.base_url + "/docs")
    assert status == 200 and "swagger" in docs.lower()
    status, spec = http("GET", api.base_url + "/openapi.json")
    assert status == 200 and "/predict" in spec["paths"]


def test_predictions_match_the_notebook_model_in_both_forms(api, sample, churn):
    model, _X = churn
    expected = predict_outputs(model, sample_frame(sample, None))
    status, got = http("POST", api.base_url + "/predict", sample["inputs"])
    assert status == 200, got
    assert compare_outputs(expected, got) is None
    assert got["classes"] == [0, 1] and len(got["probabilities"][0]) == 2
    status, got = http("POST", api.base_url + "/predict", records(sample))
    assert status == 200 and compare_outputs(expected, got) is None
    # One record as a bare object, and the sample.json shape {"inputs": ...}, are accepted too.
    status, one = http("POST", api.base_url + "/predict", records(sample, 1)[0])
    assert status == 200 and one["predictions"] == expected["predictions"][:1]
    status, wrapped = http("POST", api.base_url + "/predict", {"inputs": sample["inputs"]})
    assert status == 200 and wrapped["predictions"] == expected["predictions"]



def test_predict_is_answered_before_the_framework_with_the_same_headers(api, sample):
    """POST /predict is answered by the ASGI front (fast path); the rest is still FastAPI's."""
    import http.client as httpclient
    from urllib.parse import urlsplit

    url = urlsplit(api.base_url)
    conn = httpclient.HTTPConnection(url.hostname, url.port, timeout=30)
    body = json.dumps(records(sample, 3)).encode()
    conn.request("POST", "/predict", body=body, headers={"content-type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    assert resp.status == 200
    assert resp.getheader("content-type") == "application/json"
    assert int(resp.getheader("content-length")) == len(data)
    assert len(json.loads(data)["predictions"]) == 3
    # the model's own metadata says the fast path is on (checked against the sample)
    status, meta = http("GET", api.base_url + "/metadata")
    assert meta["fast_path"].startswith("on"), meta["fast_path"]
    # other methods and paths still go to FastAPI
    conn.request("GET", "/predict")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 405
    conn.request("POST", "/predict?x=1", body=b"[1]", headers={"content-type":
                                                                "application/json"})
    resp = conn.getresponse()
    got = json.loads(resp.read())
    assert resp.status == 422 and got["detail"][0]["loc"] == ["body", 0]
    conn.close()

def test_nulls_where_the_model_saw_them_and_extra_columns(api, sample):
    rec = records(sample, 1)[0]
    rec["income"] = None  # the sample had missing incomes: nullable
    rec["not_a_feature"] = "ignored"
    status, body = http("POST", api.base_url + "/predict", [rec])
    assert status == 200, body


@pytest.mark.parametrize("change, loc, words", [
    ({"age": "forty"}, ["body", 0, "age"], ['column "age" takes integers, got "forty"']),
    ({"age": 41.5}, ["body", 0, "age"], ["takes integers, got 41.5"]),
    ({"age": True}, ["body", 0, "age"], ["takes integers, got true"]),
    ({"income": "high"}, ["body", 0, "income"], ['column "income" takes numbers']),
    ({"plan": "gold"}, ["body", 0, "plan"], ['unknown category "gold" for column "plan"',
                                              '"basic", "plus", "pro"']),
    ({"plan": 3}, ["body", 0, "plan"], ["unknown category 3"]),
    ({"age": None}, ["body", 0, "age"], ['column "age" may not be null']),
    ({"age": 2 ** 70}, ["body", 0, "age"], ["out of range"]),
])
def test_wrong_values_get_field_level_422(api, sample, change, loc, words):
    rec = records(sample, 1)[0]
    rec.update(change)
    status, body = http("POST", api.base_url + "/predict", [rec])
    assert status == 422, body
    (got_loc, msg), = details(body)
    assert got_loc == loc
    for w in words:
        assert w in msg


def test_missing_columns_in_records_and_split_form(api, sample):
    recs = records(sample, 3)
    del recs[1]["plan"]
    status, body = http("POST", api.base_url + "/predict", recs)
    assert status == 422
    assert details(body) == [(["body", 1, "plan"], 'missing column "plan" (str)')]
    split = {"columns": ["age", "income"], "data": [row[:2] for row in sample["inputs"]["data"]]}
    status, body = http("POST", api.base_url + "/predict", split)
    assert status == 422
    assert details(body) == [(["body", "columns"], 'missing column "plan" (str)')]


def test_many_problems_are_all_reported_up_to_a_limit(api, sample):
    recs = records(sample, 20)
    for r in recs:
        r["age"] = "x"
        r["plan"] = "nope"
    status, body = http("POST", api.base_url + "/predict", recs)
    assert status == 422 and body["errors"] > 20 and len(body["detail"]) == 20


@pytest.mark.parametrize("raw, words", [
    (b"", "not valid JSON"),
    (b"{not json", "not valid JSON"),
    (b'[{"age": NaN, "income": 1, "plan": "pro"}]', "NaN is not valid JSON"),
    (b"[]", "no rows"),
    (b"42", "expected a JSON list of records"),
    (b'["a", "b"]', "each record must be an object"),
    (b'{"columns": ["age", "age"], "data": [[1, 2]]}', "duplicate column"),
    (b'{"columns": ["age", "income", "plan"], "data": [[1, 2]]}', "must be a list of 3 values"),
    (b'{"data": [[1, 2, "pro"]]}', "'columns' is required"),
    (b'[{"age": [1], "income": 1.0, "plan": "pro"}]', "takes integers"),
    (b'[{"age": 30, "income": 1.0, "plan": "\\ud800"}]', "unknown category"),
])
def test_malformed_bodies_get_422_not_500(api, raw, words):
    status, body = http("POST", api.base_url + "/predict", raw=raw)
    assert status == 422, body
    assert words in json.dumps(body["detail"])


def test_oversized_request_gets_413(api):
    big = b"[" + b",".join([b'{"age": 30, "income": 1.5, "plan": "pro"}'] * 300_000) + b"]"
    assert len(big) > 10 * 1024 * 1024
    status, body = http("POST", api.base_url + "/predict", raw=big)
    assert status == 413
    assert "larger than the limit of 10485760 bytes" in body["detail"][0]["msg"]
    # Without a Content-Length (chunked), the limit holds as the body streams in.
    host, port = "127.0.0.1", api.port
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(12):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may close as soon as it has answered
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The server is still fine afterwards.
    assert http("GET", api.base_url + "/health")[0] == 200


def test_fuzzed_requests_never_get_a_5xx(api):
    """schemathesis against the running API's OpenAPI, positive and negative cases."""
    need_module("schemathesis")
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(api.base_url + "/openapi.json")
    strategy = (schema.as_strategy(generation_mode=GenerationMode.POSITIVE)
                | schema.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    seen = {}

    @settings(max_examples=60, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case):
        response = case.call(base_url=api.base_url, timeout=30)
        key = f"{case.method} {case.path} {response.status_code}"
        seen[key] = seen.get(key, 0) + 1
        assert response.status_code < 500, (
            f"{case.method} {case.path} body={case.body!r} -> {response.status_code}: "
            f"{response.text[:300]}")

    check()
    assert any(k.startswith("POST /predict 200") for k in seen), seen
    assert any(k.startswith("POST /predict 422") for k in seen), seen
    assert http("GET", api.base_url + "/health")[0] == 200


def test_sigterm_stops_the_server_at_once(churn_context, venv_python):
    with LocalServer(churn_context, venv_python) as server:
        assert wait_healthy(server.base_url, alive=server.alive) is None
        seconds, code = server.stop()
    assert seconds < 5
    assert code in (0, -15)


def test_startup_refuses_a_changed_model_file(churn_context, venv_python, tmp_path):
    import shutil

    ctx = tmp_path / "ctx"
    shutil.copytree(churn_context, ctx)
    with open(ctx / "model" / "model.pkl", "ab") as fh:
        fh.write(b"tampered")
    proc = subprocess.run([str(venv_python), str(ctx / "app.py")], capture_output=True,
                          text=True, timeout=120, env={"PORT": "1", "HOST": "127.0.0.1",
                                                       "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 3
    assert "refusing to serve" in proc.stderr and "model.pkl" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_array_models_take_rows_of_numbers(venv_python, tmp_path):
    import numpy as np
    from sklearn.linear_model import LinearRegression

    from jupyter_deploy.container.context import ContextOptions, write_context
    from jupyter_deploy.model.artefact import write_artefact

    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    model = LinearRegression().fit(X, X @ [1.0, -2.0, 0.5] + 3)
    art = tmp_path / "art"
    art.mkdir()
    write_artefact(model, art, name="lin", sample=X[:5])
    ctx = tmp_path / "ctx"
    write_context(ctx, art, ContextOptions(name="lin"))
    with LocalServer(ctx, venv_python) as server:
        assert wait_healthy(server.base_url, alive=server.alive) is None
        status, got = http("POST", server.base_url + "/predict", X[:5].tolist())
        assert status == 200 and got["classes"] is None and got["probabilities"] is None
        assert np.allclose(got["predictions"], model.predict(X[:5]), rtol=1e-12)
        status, got = http("POST", server.base_url + "/predict", {"data": X[:2].tolist()})
        assert status == 200 and len(got["predictions"]) == 2
        status, body = http("POST", server.base_url + "/predict", [[1.0, 2.0]])
        assert status == 422 and "has 2 values, the model takes 3" in body["detail"][0]["msg"]
        status, body = http("POST", server.base_url + "/predict", [[1.0, "x", 2.0]])
        assert status == 422 and body["detail"][0]["loc"] == ["body", 0, 1]


# ------------------------------------------------------------------------------ batch


def test_batch_csv_in_chunks_matches_the_model(churn, churn_context, venv_python, tmp_path):
    import pandas as pd

    model, X = churn
    src = tmp_path / "in.csv"
    X.head(53).assign(customer=range(53)).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    proc = subprocess.run([str(venv_python), str(churn_context / "batch.py"), str(src), str(out),
                           "--chunk-rows", "10", "--id-column", "customer"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "53 rows ->" in proc.stderr and "10 rows predicted" in proc.stderr
    got = pd.read_csv(out)
    assert list(got.columns) == ["customer", "prediction", "proba_0", "proba_1"]
    assert got["customer"].tolist() == list(range(53))
    assert got["prediction"].tolist() == model.predict(X.head(53)).tolist()
    assert abs(got["proba_1"].to_numpy() - model.predict_proba(X.head(53))[:, 1]).max() < 1e-12


def test_batch_bad_row_stops_with_its_row_and_leaves_no_output(churn, churn_context,
                                                              venv_python, tmp_path):
    _model, X = churn
    frame = X.head(30).copy()
    frame["plan"] = frame["plan"].astype(object)
    frame.loc[frame.index[24], "plan"] = "platinum"
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    proc = subprocess.run([str(venv_python), str(churn_context / "batch.py"), str(src), str(out),
                           "--chunk-rows", "8"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "row 24, column 'plan': unknown category \"platinum\"" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.csv*"))


def test_batch_parquet_needs_pyarrow_and_works_with_it(churn, churn_context, venv_python,
                                                        tmp_path):
    import pandas as pd

    model, X = churn
    src = tmp_path / "in.parquet"
    X.head(25).to_parquet(src)
    # The default image (and this venv) has no pyarrow: a clear message, exit 2.
    proc = subprocess.run([str(venv_python), str(churn_context / "batch.py"), str(src),
                           str(tmp_path / "o.csv")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Parquet needs pyarrow" in proc.stderr
    # With pyarrow (this test environment has it): Parquet in and out.
    out = tmp_path / "out.parquet"
    env = {"MODEL_DIR": str(churn_context / "model"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, str(churn_context / "batch.py"), str(src), str(out),
                           "--chunk-rows", "7"], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    got = pd.read_parquet(out)
    assert got["prediction"].tolist() == model.predict(X.head(25)).tolist()
