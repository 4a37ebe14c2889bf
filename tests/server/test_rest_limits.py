"""Issue 13, REST half: malformed input is a 400, large bodies a 413 (not read into memory),
destinations are confined to the root and c.DeployServer.allowed_destinations, and an
unsupported --to scheme is refused before any work."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from server_helpers import fetch_json, wait_job

LIMIT = 64 * 1024


@pytest.fixture
def allowed_dir(tmp_path):
    d = tmp_path / "allowed-reports"
    d.mkdir()
    return d


@pytest.fixture
def outside_dir(tmp_path):
    d = tmp_path / "elsewhere"
    d.mkdir()
    (d / "index.html").write_text("precious")
    return d


@pytest.fixture
def jp_server_config(allowed_dir):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_deploy": True}},
        "DeployServer": {"max_body_size": LIMIT, "allowed_destinations": [str(allowed_dir)]},
    }


async def raw_request(port, base_url, auth, head_extra: str, chunks=(), timeout=10):
    """Send a POST to /jupyter-deploy/jobs by hand; return (status, json body, seconds)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    start = time.monotonic()
    path = base_url.rstrip("/") + "/jupyter-deploy/jobs"
    writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Authorization: {auth['Authorization']}\r\n"
                  f"Content-Type: application/json\r\n{head_extra}\r\n").encode())
    await writer.drain()
    for chunk in chunks:
        try:
            writer.write(chunk)
            await writer.drain()
        except (ConnectionError, OSError):
            break  # the server answered and closed: it stopped reading
    raw = b""
    try:
        while True:
            part = await asyncio.wait_for(reader.read(65536), timeout)
            if not part:
                break
            raw += part
            head, _, body = raw.partition(b"\r\n\r\n")
            if b"Content-Length:" in head:
                want = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
                if len(body) >= want:
                    break
    except ConnectionError:
        pass
    seconds = time.monotonic() - start
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, json.loads(body), seconds


async def test_body_over_the_limit_is_413_before_it_is_read(jp_fetch, jp_http_port, jp_base_url,
                                                           jp_auth_header, tiny_notebook):
    # Content-Length of 50 MB and not one byte of body sent: the answer cannot have waited
    status, err, seconds = await raw_request(jp_http_port, jp_base_url, jp_auth_header,
                                             "Content-Length: 50000000\r\n")
    assert status == 413 and err["code"] == "body-too-large", err
    assert "50000000 bytes" in err["message"] and str(LIMIT) in err["message"]
    assert "max_body_size" in err["hint"]
    assert seconds < 5
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}


async def test_chunked_body_over_the_limit_is_413(jp_fetch, jp_http_port, jp_base_url,
                                                 jp_auth_header, tiny_notebook):
    body = json.dumps({"action": "check", "path": "work/tiny.ipynb",
                       "pad": "x" * (3 * LIMIT)}).encode()
    chunks = [f"{len(body[i:i + 8192]):x}\r\n".encode() + body[i:i + 8192] + b"\r\n"
              for i in range(0, len(body), 8192)] + [b"0\r\n\r\n"]
    status, err, _ = await raw_request(jp_http_port, jp_base_url, jp_auth_header,
                                       "Transfer-Encoding: chunked\r\n", chunks)
    assert status == 413 and err["code"] == "body-too-large", err
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}


async def test_body_under_the_limit_still_works(jp_fetch, tiny_notebook):
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "work/tiny.ipynb",
                                 "note": "y" * (LIMIT // 2)}, expect=202)
    job, _ = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "done", job


@pytest.mark.parametrize("how", ["recursion", "depth-40"])
async def test_deeply_nested_json_is_400(jp_fetch, tiny_notebook, how):
    if how == "recursion":
        raw = "[" * 30000 + "]" * 30000
    else:
        inner = {}
        for _ in range(40):
            inner = {"a": inner}
        raw = json.dumps({"action": "check", "path": "work/tiny.ipynb", "options": inner})
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-deploy", "jobs", method="POST", body=raw)
    assert info.value.code == 400
    err = json.loads(info.value.response.body)
    assert err["code"] == "usage" and "levels deep" in err["message"] and err["hint"]
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}


@pytest.mark.parametrize("limit", ["abc", "-3", "0", "1.5"])
async def test_history_limit_must_be_a_positive_number(jp_fetch, tiny_notebook, limit):
    err = await fetch_json(jp_fetch, "jupyter-deploy", "history",
                           params={"path": "work/tiny.ipynb", "limit": limit}, expect=400)
    assert err["code"] == "usage" and repr(limit) in err["message"] and "?limit=20" in err["hint"]
    ok = await fetch_json(jp_fetch, "jupyter-deploy", "history",
                          params={"path": "work/tiny.ipynb", "limit": "5"})
    assert ok == {"records": []}


def _outside_destinations(root, outside):
    link = root / "link-out"
    link.symlink_to(outside, target_is_directory=True)
    return {
        "absolute": ("report", {}, str(outside)),
        "dotdot": ("report", {}, "../elsewhere"),
        "file-url": ("report", {}, outside.as_uri()),
        "symlink": ("report", {}, "link-out"),
        "home": ("report", {}, "~/site"),
        "duckdb": ("sql", {"var": "clf", "table": "t"}, f"duckdb:////{outside}/x.duckdb"),
        "model-registry-option": ("model", {"var": "clf", "name": "m", "registry": str(outside)},
                                  None),
        "container-out-option": ("container", {"var": "clf", "name": "m", "out": str(outside)},
                                 None),
    }


@pytest.mark.parametrize("how", ["absolute", "dotdot", "file-url", "symlink", "home", "duckdb",
                                 "model-registry-option", "container-out-option"])
async def test_destinations_outside_the_root_are_403(jp_fetch, jp_root_dir, outside_dir,
                                                     tiny_notebook, deploy_home, how):
    target, options, to = _outside_destinations(jp_root_dir, outside_dir)[how]
    body = {"action": "deploy", "path": "work/tiny.ipynb", "target": target, "options": options}
    if to is not None:
        body["to"] = to
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST", body=body,
                           expect=403)
    assert err["code"] == "path-not-allowed", err
    assert "outside the server's root folder" in err["message"]
    assert "allowed_destinations" in err["hint"]
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}
    assert sorted(p.name for p in outside_dir.iterdir()) == ["index.html"]
    assert (outside_dir / "index.html").read_text() == "precious"
    assert not (deploy_home / "history.jsonl").exists()


@pytest.mark.parametrize("where", ["inside", "allowed"])
async def test_allowed_destinations_are_accepted_as_absolute_paths(
        jp_fetch, jp_root_dir, allowed_dir, tiny_notebook, where):
    to = "site/reports" if where == "inside" else str(allowed_dir / "team")
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "deploy", "path": "work/tiny.ipynb",
                                 "target": "report", "to": to}, expect=202)
    expected = (jp_root_dir / "site" / "reports") if where == "inside" else allowed_dir / "team"
    assert job["to"] == str(expected.resolve())
    job, _ = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "done", (job["error"], job["log"][-5:])
    assert (expected / "index.html").is_file()


async def test_unsupported_scheme_is_400_before_any_work(jp_fetch, tiny_notebook, deploy_home):
    start = time.monotonic()
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "deploy", "path": "work/tiny.ipynb",
                                 "target": "report", "to": "gopher://example.org/x"},
                           expect=400)
    assert time.monotonic() - start < 5
    assert err["code"] == "usage" and "gopher://" in err["message"] and err["hint"]
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}
    assert not deploy_home.exists() or not any(deploy_home.rglob("*"))


async def test_foreign_folder_is_refused_at_post(jp_fetch, jp_root_dir, tiny_notebook,
                                                 deploy_home):
    site = jp_root_dir / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>mine</h1>")
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "deploy", "path": "work/tiny.ipynb",
                                 "target": "report", "to": "site"}, expect=409)
    assert err["code"] == "not-a-knowledge-repo" and str(site) in err["message"]
    assert "--to" in err["hint"]
    assert await fetch_json(jp_fetch, "jupyter-deploy", "jobs") == {"jobs": []}
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]
    assert (site / "index.html").read_text() == "<h1>mine</h1>"
