"""The job worker process on its own, and job bookkeeping in the server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest
from tornado.httpclient import HTTPClientError


def run_worker(stdin: str, cwd, timeout=60):
    proc = subprocess.run([sys.executable, "-m", "jupyter_deploy.server.worker"], input=stdin,
                          capture_output=True, text=True, cwd=cwd, timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc, events


def test_worker_reports_a_bad_spec_as_one_error_event(tmp_path):
    proc, events = run_worker("{not json", tmp_path)
    assert proc.returncode == 2
    assert len(events) == 1 and events[0]["event"] == "error"
    assert events[0]["error"]["code"] == "internal" and events[0]["error"]["hint"]


def test_worker_turns_a_deploy_error_into_code_message_hint_and_status(tmp_path):
    spec = {"action": "check", "notebook": str(tmp_path / "missing.ipynb")}
    proc, events = run_worker(json.dumps(spec), tmp_path)
    assert proc.returncode == 1
    assert events[-1]["event"] == "error"
    assert events[-1]["status"] == 404
    assert events[-1]["error"]["code"] == "notebook-not-found"
    assert "missing.ipynb" in events[-1]["error"]["message"]


def test_worker_keeps_stray_output_off_the_event_stream(tmp_path):
    """What a job prints (libraries, warnings, C extensions) goes to stderr; stdout stays JSON."""
    code = (
        "import os, sys, runpy\n"
        "from jupyter_deploy import api\n"
        "def noisy(notebook, progress=None, **kw):\n"
        "    print('stray line from a library')\n"
        "    os.write(1, b'raw bytes on fd 1\\n')\n"
        "    progress(type('P', (), {'to_json': lambda self: {'stage': 'run', 'done': 1,"
        " 'total': 2, 'message': 'cell 1'}})())\n"
        "    return {'verdict': 'repeatable'}\n"
        "api.check = noisy\n"
        "runpy.run_module('jupyter_deploy.server.worker', run_name='__main__')\n"
    )
    spec = json.dumps({"action": "check", "notebook": str(tmp_path / "x.ipynb")})
    proc = subprocess.run([sys.executable, "-c", code], input=spec, capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["event"] for e in events] == ["progress", "result"]
    assert events[0]["stage"] == "run" and events[0]["done"] == 1
    assert events[1]["result"] == {"verdict": "repeatable"}
    assert "stray line from a library" in proc.stderr
    assert "raw bytes on fd 1" in proc.stderr


async def test_corrupt_notebook_fails_with_its_hint_and_writes_nothing(jp_fetch, jp_root_dir,
                                                                      deploy_home):
    nb = jp_root_dir / "corrupt.ipynb"
    nb.write_text("{ not json")
    resp = await jp_fetch("jupyter-deploy", "jobs", method="POST",
                          body=json.dumps({"action": "check", "path": "corrupt.ipynb"}))
    job = json.loads(resp.body)
    for _ in range(300):
        job = json.loads((await jp_fetch("jupyter-deploy", "jobs", job["id"])).body)
        if job["state"] not in ("queued", "running"):
            break
        await asyncio.sleep(0.1)
    assert job["state"] == "failed"
    assert job["error"]["code"] == "notebook-invalid"
    assert "corrupt.ipynb" in job["error"]["message"] and job["error"]["hint"]
    assert nb.read_text() == "{ not json"
    assert not (deploy_home / "history.jsonl").exists()


async def test_finished_jobs_are_kept_bounded(jp_fetch, jp_serverapp, jp_root_dir):
    manager = jp_serverapp.web_app.settings["jupyter_deploy_jobs"]
    manager.max_finished = 2
    ids = []
    for i in range(4):
        (jp_root_dir / f"c{i}.ipynb").write_text("{}")
        resp = await jp_fetch("jupyter-deploy", "jobs", method="POST",
                              body=json.dumps({"action": "check", "path": f"c{i}.ipynb"}))
        ids.append(json.loads(resp.body)["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(j.active for j in manager.jobs.values()):
        await asyncio.sleep(0.1)
    listing = json.loads((await jp_fetch("jupyter-deploy", "jobs")).body)["jobs"]
    assert [j["id"] for j in listing] == [ids[3], ids[2]]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-deploy", "jobs", ids[0])
    assert info.value.code == 404
