"""The REST API under /jupyter-deploy/ against a real jupyter_server with the extension loaded."""

from __future__ import annotations

import json
import os

import pytest
from tornado.httpclient import HTTPClientError

from server_helpers import fetch_json

from jupyter_deploy import __version__


ROUTES = [
    ("GET", "jupyter-deploy/version"),
    ("GET", "jupyter-deploy/targets"),
    ("GET", "jupyter-deploy/jobs"),
    ("POST", "jupyter-deploy/jobs"),
    ("GET", "jupyter-deploy/jobs/abc123"),
    ("DELETE", "jupyter-deploy/jobs/abc123"),
    ("GET", "jupyter-deploy/history?path=a.ipynb"),
    ("GET", "jupyter-deploy/objects?path=a.ipynb"),
]


# ------------------------------------------------------------------------------ auth


@pytest.mark.parametrize("method,route", ROUTES)
@pytest.mark.parametrize("auth", ["", "token not-the-token"])
async def test_unauthenticated_requests_are_refused(jp_fetch, tiny_notebook, deploy_home, method,
                                                    route, auth):
    route, _, query = route.partition("?")
    params = dict([query.split("=")]) if query else None
    body = json.dumps({"action": "check", "path": "work/tiny.ipynb"}) if method == "POST" else None
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*route.split("/"), method=method, body=body, params=params,
                       headers={"Authorization": auth})
    assert info.value.code == 403
    # nothing was started
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}
    assert not (deploy_home / "history.jsonl").exists()


# ------------------------------------------------------------------------------ reading


async def test_version(jp_fetch):
    assert await fetch_json(jp_fetch, "jupyter-deploy", "version") == {"version": __version__}


async def test_targets_lists_targets_backends_and_schemas(jp_fetch):
    data = await fetch_json(jp_fetch, "jupyter-deploy", "targets")
    assert set(data) == {"targets", "backends", "broken", "check"}
    # the check's options, from the one definition the CLI's and the magic's flags come from
    assert {"runs", "cell_timeout", "total_timeout", "kernel", "use_cache"} == set(
        data["check"]["properties"])
    assert data["check"]["properties"]["total_timeout"]["x-flag"] == "timeout"
    # Every target that loads is described with its option schema; one that fails to import
    # is listed under "broken" with the reason, and does not hide the others.
    for target in data["targets"]:
        assert {"name", "description", "schema", "needs_object", "default_backend"} <= set(target)
        assert target["schema"]["type"] == "object"
    for broken in data["broken"]:
        assert broken["name"] and broken["error"]
    names = {t["name"] for t in data["targets"]} | {b["name"] for b in data["broken"]}
    assert {"report", "model", "sql", "container"} <= names


async def test_targets_shows_a_registered_plugin(jp_fetch):
    from traitlets import Unicode

    from jupyter_deploy import plugins
    from jupyter_deploy.plugin import Target

    class EchoTarget(Target):
        plugin_name = "echo"
        description = "Writes a greeting."
        default_backend = "knowledge-repo"
        greeting = Unicode("hi", help="What to say.").tag(config=True, option=True)
        variable = Unicode(help="The object.").tag(config=True, option=True, object_kind="estimator",
                                                   cli_positional=True, required=True)

    plugins.register(plugins.TARGETS, "echo", EchoTarget)
    try:
        data = await fetch_json(jp_fetch, "jupyter-deploy", "targets")
    finally:
        plugins.unregister(plugins.TARGETS, "echo")
    echo = next(t for t in data["targets"] if t["name"] == "echo")
    props = echo["schema"]["properties"]
    assert props["greeting"] == {"description": "What to say.", "type": "string", "default": "hi"}
    assert props["variable"]["x-object-kind"] == "estimator"
    assert props["variable"]["x-cli-positional"] is True
    assert echo["schema"]["required"] == ["variable"]


async def test_history_of_a_notebook(jp_fetch, jp_root_dir, deploy_home, make_notebook):
    write_notebook = make_notebook
    from jupyter_deploy.history import History

    nb = write_notebook(jp_root_dir / "a.ipynb", ["1"])
    other = write_notebook(jp_root_dir / "b.ipynb", ["2"])
    hist = History(deploy_home / "history.jsonl")
    hist.append({"action": "deploy", "target": "model", "notebook": str(nb.resolve()),
                 "destination": "registry://churn/v1", "status": "ok"})
    hist.append({"action": "deploy", "target": "model", "notebook": str(other.resolve()),
                 "destination": "registry://other/v1", "status": "ok"})
    hist.append({"action": "deploy", "target": "model", "notebook": str(nb.resolve()),
                 "destination": "registry://churn/v2", "status": "ok"})
    data = await fetch_json(jp_fetch, "jupyter-deploy", "history", params={"path": "a.ipynb"})
    assert [r["destination"] for r in data["records"]] == [
        "registry://churn/v2", "registry://churn/v1"]
    empty = await fetch_json(jp_fetch, "jupyter-deploy", "history", params={"path": "new.ipynb"})
    assert empty == {"records": []}


async def test_objects_empty_before_any_check(jp_fetch, tiny_notebook):
    data = await fetch_json(jp_fetch, "jupyter-deploy", "objects",
                            params={"path": "work/tiny.ipynb"})
    assert data == {"objects": []}


async def test_objects_offer_as_sample_only_frames_with_the_models_features(jp_fetch, jp_root_dir,
                                                                             make_notebook):
    """Issue 16: the sample picker offered labels (y_test) and the frame holding the target."""
    import asyncio

    from jupyter_deploy import api

    nb = make_notebook(jp_root_dir / "churn.ipynb", [
        "import numpy as np, pandas as pd\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler",
        "df = pd.DataFrame({'tenure': [1.0, 5, 3, 8, 2, 9, 4, 7], 'spend': [9.0, 1, 7, 2, 8, 1, 6, 3],\n"
        "                   'churn': [1, 0, 1, 0, 1, 0, 1, 0]})",
        "X_train, X_test = df[['tenure', 'spend']][:6], df[['tenure', 'spend']][6:]\n"
        "y_train, y_test = df['churn'][:6], df['churn'][6:]\n"
        "X_arr = X_test.to_numpy()",
        "pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)\n"
        "unfitted = make_pipeline(StandardScaler(), LogisticRegression())",
    ])
    report = await asyncio.get_running_loop().run_in_executor(None, api.check, nb)
    assert report["verdict"] != "not-repeatable", report["reasons"]  # (saved without outputs)
    data = await fetch_json(jp_fetch, "jupyter-deploy", "objects", params={"path": "churn.ipynb"})
    objects = {o["name"]: o for o in data["objects"]}
    assert data["objects"] == api.objects(nb)
    # a fitted Pipeline is fitted (its last step is); its features are the training columns
    assert objects["pipe"]["kind"] == "estimator" and objects["pipe"]["fitted"] is True
    assert objects["unfitted"]["fitted"] is False
    assert objects["pipe"]["feature_names_in_"] == ["tenure", "spend"]
    assert objects["pipe"]["n_features_in_"] == 2
    assert objects["df"]["columns"] == ["tenure", "spend", "churn"]
    # what the pickers offer: the model option, any 2-D data as a sample, and pipe's samples
    assert sorted(n for n, o in objects.items() if "estimator" in o["fits"]) == ["pipe", "unfitted"]
    assert sorted(n for n, o in objects.items() if "sample" in o["fits"]) == [
        "X_arr", "X_test", "X_train", "df"]
    assert sorted(n for n, o in objects.items() if "pipe" in o.get("sample_for", [])) == [
        "X_test", "X_train"]
    assert "sample" not in objects["y_test"]["fits"] and "sample_for" not in objects["y_test"]
    # the schema says which option a sample follows
    targets = await fetch_json(jp_fetch, "jupyter-deploy", "targets")
    model = next(t for t in targets["targets"] if t["name"] == "model")
    assert model["schema"]["properties"]["sample"]["x-object-kind"] == "sample"
    assert model["schema"]["properties"]["sample"]["x-features-of"] == "var"


async def test_unknown_job_is_404(jp_fetch):
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", "0123abcd", expect=404)
    assert err["code"] == "job-not-found" and err["hint"]
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", "0123abcd", method="DELETE",
                           expect=404)
    assert err["code"] == "job-not-found"


# ------------------------------------------------------------------------------ paths


@pytest.fixture
def outside(tmp_path, make_notebook):
    write_notebook = make_notebook
    """A notebook outside the server's root, and the root-relative ways to reach it."""
    return write_notebook(tmp_path / "outside" / "secret.ipynb", ["print('secret')"])


def _escapes(jp_root_dir, outside):
    link = jp_root_dir / "link.ipynb"
    link.symlink_to(outside)
    dirlink = jp_root_dir / "linkdir"
    dirlink.symlink_to(outside.parent, target_is_directory=True)
    rel = os.path.relpath(outside, jp_root_dir)
    assert rel.startswith("..")
    return {
        "dotdot": rel,
        "dotdot-inside-first": "work/../" + rel,
        "absolute": str(outside),
        "home": "~/secret.ipynb",
        "symlink": "link.ipynb",
        "symlinked-folder": "linkdir/secret.ipynb",
    }


@pytest.mark.parametrize("how", ["dotdot", "dotdot-inside-first", "absolute", "home", "symlink",
                                 "symlinked-folder"])
async def test_paths_outside_the_root_are_refused(jp_fetch, jp_root_dir, outside, deploy_home,
                                                  how):
    path = _escapes(jp_root_dir, outside)[how]
    before = outside.read_bytes()
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": path}, expect=403)
    assert err["code"] == "path-not-allowed"
    assert "root" in err["message"] or "absolute" in err["message"]
    assert err["hint"]
    for route in ("history", "objects"):
        err = await fetch_json(jp_fetch, "jupyter-deploy", route, params={"path": path},
                               expect=403)
        assert err["code"] == "path-not-allowed"
    # nothing started, nothing written
    jobs = await fetch_json(jp_fetch, "jupyter-deploy", "jobs")
    assert jobs == {"jobs": []}
    assert outside.read_bytes() == before
    assert not (deploy_home / "history.jsonl").exists()


async def test_symlink_inside_the_root_is_allowed(jp_fetch, jp_root_dir, tiny_notebook):
    (jp_root_dir / "alias.ipynb").symlink_to(tiny_notebook)
    data = await fetch_json(jp_fetch, "jupyter-deploy", "history",
                            params={"path": "alias.ipynb"})
    assert data == {"records": []}


async def test_missing_notebook_is_404(jp_fetch):
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "nope.ipynb"}, expect=404)
    assert err["code"] == "notebook-not-found"
    assert "nope.ipynb" in err["message"] and err["hint"]


@pytest.mark.parametrize(
    "body,code,status,words",
    [
        ({"action": "explode", "path": "work/tiny.ipynb"}, "usage", 400, "Unknown action"),
        ({"action": "check"}, "usage", 400, "No notebook path"),
        ({"action": "check", "path": "work/tiny.ipynb", "runs": 0}, "usage", 400, "runs"),
        ({"action": "check", "path": "work/tiny.ipynb", "options": [1]}, "usage", 400, "options"),
        ({"action": "deploy", "path": "work/tiny.ipynb"}, "usage", 400, "needs a target"),
        ({"action": "deploy", "path": "work/tiny.ipynb", "target": "nosuch"}, "unknown-plugin",
         404, "nosuch"),
        ({"action": "check", "path": "work"}, "notebook-invalid", 422, "folder"),
        ({"action": "deploy", "path": "work/tiny.ipynb", "target": "model",
          "options": {"varr": "clf"}}, "usage", 400, "Unknown option(s) for model: varr"),
        ({"action": "deploy", "path": "work/tiny.ipynb", "target": "model",
          "options": {"var": "clf", "name": ["x"]}}, "usage", 400, "Invalid option for model"),
        ({"action": "deploy", "path": "work/tiny.ipynb", "target": "model",
          "options": {"var": "clf", "metric": "auc"}}, "usage", 400, "Invalid option for model"),
    ],
)
async def test_bad_job_requests(jp_fetch, tiny_notebook, body, code, status, words):
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST", body=body,
                           expect=status)
    assert err["code"] == code, err
    assert words in err["message"] and err["hint"]
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}


async def test_body_that_is_not_json(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-deploy", "jobs", method="POST", body="{not json")
    assert info.value.code == 400
    err = json.loads(info.value.response.body)
    assert err["code"] == "usage" and "not JSON" in err["message"]
