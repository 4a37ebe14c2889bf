"""The Open action of deploy results, against a real jupyter_server with the extension loaded.

``/jupyter-deploy/files?path=...`` serves read-only what a deploy recorded in the history wrote
(its destination file or folder, and the files inside such a folder), and nothing else: every
other path is refused before it is opened. A FIFO proves "nothing opened": opening one for
reading blocks until a writer comes, so a prompt 403 for it means the server never opened it.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote

import pytest
from tornado.httpclient import HTTPClientError

from server_helpers import fetch_json

from jupyter_deploy.history import History
from jupyter_deploy.server.files import open_action


@pytest.fixture
def deployed(tmp_path, jp_root_dir, deploy_home):
    """A history with a container build context and a .sql file outside the root, a report
    inside it, and a database view; plus files next to them that no deploy wrote."""
    outside = tmp_path / "outside"
    ctx = outside / "churn-container"
    ctx.mkdir(parents=True)
    (ctx / "app.py").write_text("print('serve')\n")
    (ctx / "Dockerfile").write_text("FROM python:3.11-slim\n")
    sql = outside / "churn.sql"
    sql.write_text("SELECT 1 AS prediction;\n")
    (outside / "private.txt").write_text("not written by a deploy\n")
    report = jp_root_dir / "reports" / "sales" / "v1"
    report.mkdir(parents=True)
    (report / "report.html").write_text("<h1>Sales</h1>")
    nb = str((jp_root_dir / "a.ipynb").resolve())
    hist = History(deploy_home / "history.jsonl")
    hist.append({"action": "deploy", "target": "container", "notebook": nb,
                 "destination": str(ctx), "status": "ok"})
    hist.append({"action": "deploy", "target": "sql", "notebook": nb,
                 "destination": str(sql), "status": "ok"})
    hist.append({"action": "deploy", "target": "report", "notebook": nb, "status": "ok",
                 "destination": str(report), "url": (report / "report.html").as_uri()})
    hist.append({"action": "deploy", "target": "sql", "notebook": nb, "status": "ok",
                 "destination": "postgresql://db/x#churn_view", "details": {"view": "churn_view"}})
    # a check record names a notebook, never something to serve
    hist.append({"action": "check", "notebook": str(outside / "private.txt"), "status": "ok"})
    return {"ctx": ctx, "sql": sql, "outside": outside, "report": report}


async def get_file(jp_fetch, path, expect=200, **kw):
    try:
        resp = await asyncio.wait_for(
            jp_fetch("jupyter-deploy", "files", params={"path": str(path)}, **kw), timeout=20)
    except HTTPClientError as exc:
        assert exc.code == expect, (exc.code, exc.response.body if exc.response else None)
        return exc.response
    assert resp.code == expect, resp.code
    return resp


async def test_history_says_how_to_open_each_deploy(jp_fetch, deployed):
    data = await fetch_json(jp_fetch, "jupyter-deploy", "history", params={"path": "a.ipynb"})
    opens = {r["target"] + ("-view" if "#" in r["destination"] else ""): r["open"]
             for r in data["records"]}
    # inside the root: JupyterLab opens the report's page itself
    assert opens["report"] == {"kind": "lab", "path": "reports/sales/v1/report.html", "folder": False}
    # outside it: served read-only by the extension
    sql = os.path.realpath(deployed["sql"])
    assert opens["sql"]["kind"] == "served" and opens["sql"]["path"] == sql
    assert opens["sql"]["url"].endswith("/jupyter-deploy/files?path=" + quote(sql))
    assert opens["container"]["kind"] == "served"
    assert opens["sql-view"] is None  # a database view has nothing to open


async def test_served_files_are_the_deploys_own(jp_fetch, deployed):
    sql = await get_file(jp_fetch, deployed["sql"])
    assert sql.body == b"SELECT 1 AS prediction;\n"
    assert sql.headers["Content-Type"].startswith("text/plain")
    assert "sandbox" in sql.headers["Content-Security-Policy"]
    listing = await get_file(jp_fetch, deployed["ctx"])
    assert b"app.py" in listing.body and b"Dockerfile" in listing.body
    assert b"private.txt" not in listing.body and b">..<" not in listing.body  # no way up
    app = await get_file(jp_fetch, deployed["ctx"] / "app.py")
    assert app.body == b"print('serve')\n"
    gone = await get_file(jp_fetch, deployed["ctx"] / "missing.py", expect=404)
    assert b"no longer exists" in gone.body


@pytest.mark.parametrize("which", ["passwd", "sibling", "dotdot", "symlink", "check-record"])
async def test_paths_no_deploy_wrote_are_refused(jp_fetch, deployed, which):
    ctx, outside = deployed["ctx"], deployed["outside"]
    if which == "symlink":
        os.symlink("/etc/passwd", ctx / "passwd-link")
    path = {
        "passwd": "/etc/passwd",
        "sibling": outside / "private.txt",
        "dotdot": f"{ctx}/../private.txt",
        "symlink": ctx / "passwd-link",
        "check-record": outside / "private.txt",
    }[which]
    resp = await get_file(jp_fetch, path, expect=403)
    assert b"serves only what its deploys wrote" in resp.body
    assert b"root:" not in resp.body and b"not written by a deploy" not in resp.body


async def test_a_refused_path_is_never_opened(jp_fetch, deployed, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # opening a FIFO for reading blocks until a writer comes: a prompt answer proves it was not
    resp = await get_file(jp_fetch, fifo, expect=403)
    assert b"serves only what its deploys wrote" in resp.body


async def test_bad_requests(jp_fetch, deployed):
    resp = await get_file(jp_fetch, "relative/churn.sql", expect=400)
    assert b"absolute path" in resp.body
    # without the token: sent to the login page (a browser's request), the file not sent
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-deploy", "files", method="GET", follow_redirects=False,
                       params={"path": str(deployed["sql"])},
                       headers={"Authorization": "token not-the-token"})
    assert info.value.code == 302 and "/login" in info.value.response.headers["Location"]
    assert b"SELECT" not in (info.value.response.body or b"")


def test_open_action_of_a_result(tmp_path):
    root = tmp_path / "root"
    (root / "out").mkdir(parents=True)
    inside = {"destination": str(root / "out"), "url": None}
    assert open_action(inside, str(root)) == {"kind": "lab", "path": "out", "folder": True}
    served = open_action({"destination": "/srv/x/churn.sql"}, str(root), "/base/")
    assert served == {"kind": "served", "path": "/srv/x/churn.sql",
                      "url": "/base/jupyter-deploy/files?path=/srv/x/churn.sql"}
    assert open_action({"destination": "https://h/r", "url": "https://h/r"}, str(root)) == {
        "kind": "link", "url": "https://h/r"}
    assert open_action({"destination": "registry://churn/v1"}, str(root)) is None
    assert open_action({"destination": str(root)}, str(root)) == {"kind": "lab", "path": "",
                                                                 "folder": True}
