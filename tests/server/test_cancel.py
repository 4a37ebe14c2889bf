"""Cancel and kill tell the truth (issue 13, item 2): a real server, real workers, a real deploy.

Cancelled during the check, during the build and during the verification, or killed with
SIGKILL: the job's final JSON says what was handed off, the history records a hand-off that was
not verified, and no byte is left in the tool's temp folder or the system's.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time

import psutil
import pytest
from server_helpers import fetch_json, wait_job

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

# A model whose unpickling is slow: the build (which loads the clean run's object) and the
# verification (which loads the published artefact in a fresh process) each take seconds.
MODEL = (
    "import numpy as np\n"
    "class Slow:\n"
    "    def __init__(self):\n"
    "        self.k = 1\n"
    "    def predict(self, X):\n"
    "        return np.zeros(len(X))\n"
    "    def __setstate__(self, state):\n"
    "        import time\n"
    "        time.sleep(3)\n"
    "        self.__dict__.update(state)\n"
    "m = Slow()\n"
    "X = np.ones((3, 2))"
)
OPTIONS = {"var": "m", "name": "slow", "sample": "X", "alias": "production"}


@pytest.fixture
def system_tmp(tmp_path, monkeypatch):
    """The system temp folder the workers see: must stay empty."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def files_under(folder):
    """Every file and folder left under ``folder`` (an empty list: 0 bytes, nothing at all)."""
    return [str(p) for p in folder.rglob("*")] if folder.exists() else []


def history(deploy_home):
    path = deploy_home / "history.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def workers():
    """This test's workers (other test sessions on the machine may run theirs)."""
    return [p for p in psutil.process_iter(["cmdline", "ppid"])
            if p.info["cmdline"] and "jupyter_deploy.server.worker" in p.info["cmdline"]
            and p.info["ppid"] == os.getpid()]


async def start_deploy(jp_fetch, jp_root_dir, make_notebook, sources):
    make_notebook(jp_root_dir / "model.ipynb", sources)
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST", expect=202,
                           body={"action": "deploy", "path": "model.ipynb", "target": "model",
                                 "options": OPTIONS})
    return job["id"]


async def wait_stage(jp_fetch, job_id, stage, timeout=120, after=0.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job_id)
        if job["progress"]["stage"] == stage:
            await asyncio.sleep(after)
            return job
        assert job["state"] in ("queued", "running"), (job["state"], job["error"], job["log"][-5:])
        await asyncio.sleep(0.05)
    raise AssertionError(f"never reached {stage}: {job['progress']}")


async def wait_gone(jp_fetch, job_id, timeout=60):
    """Until the worker has exited (a cancelled job's worker cleans up first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job_id)
        if job["finished"] is not None:
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never finished: {job['log'][-5:]}")


def family_of_workers():
    pids = []
    for w in workers():
        try:
            pids += [w.pid] + [c.pid for c in w.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    return pids


def alive(pids):
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def registry_versions(deploy_home):
    folder = deploy_home / "registry" / "slow"
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("v")) \
        if folder.exists() else []


@pytest.mark.parametrize("stage", ["run", "build"])
async def test_cancel_before_the_hand_off_says_nothing_was_handed_off(
        stage, jp_fetch, jp_root_dir, make_notebook, deploy_home, system_tmp):
    sources = ["import time\ntime.sleep(20)", MODEL] if stage == "run" else [MODEL]
    job_id = await start_deploy(jp_fetch, jp_root_dir, make_notebook, sources)
    await wait_stage(jp_fetch, job_id, stage, after=1.0)
    family = family_of_workers()
    assert family
    answer = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job_id, method="DELETE")
    assert answer["state"] == "cancelled"
    job = await wait_gone(jp_fetch, job_id)
    assert job["state"] == "cancelled" and job["result"] is None
    where = "check" if stage == "run" else "build"
    assert job["handoff"] == {"handed_off": False, "verified": False, "stage": where}, job
    assert job["error"]["code"] == "cancelled"
    assert job["error"]["message"] == (f"The deploy was cancelled during {where}; nothing was "
                                       "handed off."), job["error"]
    assert history(deploy_home) == []
    assert registry_versions(deploy_home) == []
    await asyncio.sleep(0.3)
    assert alive(family) == [], "the worker and its kernel are gone"
    assert files_under(deploy_home / "tmp") == [], "0 bytes left in the tool's temp folder"
    assert files_under(system_tmp) == []


async def test_cancel_during_verify_says_what_was_handed_off_and_records_it(
        jp_fetch, jp_root_dir, make_notebook, deploy_home, system_tmp):
    job_id = await start_deploy(jp_fetch, jp_root_dir, make_notebook, [MODEL])
    await wait_stage(jp_fetch, job_id, "verify", timeout=180, after=0.5)
    family = family_of_workers()
    await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job_id, method="DELETE")
    job = await wait_gone(jp_fetch, job_id)
    assert job["state"] == "cancelled", job
    destination = str(deploy_home / "registry" / "slow" / "v1")
    handoff = job["handoff"]
    assert handoff["handed_off"] is True and handoff["verified"] is False
    assert handoff["stage"] == "verify" and handoff["version"] == 1
    assert handoff["destination"] == destination
    assert "handed off to " + destination in job["error"]["message"]
    assert "not verified" in job["error"]["message"] and job["error"]["hint"]
    records = history(deploy_home)
    assert len(records) == 1
    rec = records[0]
    assert rec["status"] == "cancelled" and rec["verified"] is False
    assert rec["destination"] == destination and rec["id"] == handoff["record_id"]
    assert rec["proofs"] == []
    assert registry_versions(deploy_home) == ["v1"]  # it is there: the job says so
    await asyncio.sleep(0.3)
    assert alive(family) == []
    assert files_under(deploy_home / "tmp") == []
    assert files_under(system_tmp) == []


async def test_a_worker_killed_with_sigkill_leaves_no_temp_and_says_what_it_knows(
        jp_fetch, jp_root_dir, make_notebook, deploy_home, system_tmp):
    job_id = await start_deploy(jp_fetch, jp_root_dir, make_notebook, [MODEL])
    await wait_stage(jp_fetch, job_id, "build", after=1.5)
    assert files_under(deploy_home / "tmp"), "the worker works in the tool's temp folder"
    (worker,) = workers()
    os.kill(worker.pid, signal.SIGKILL)  # as the OOM killer would
    job, _ = await wait_job(jp_fetch, job_id)
    assert job["state"] == "failed"
    assert "stopped unexpectedly" in job["error"]["message"] and "-9" in job["error"]["message"]
    assert job["handoff"] == {"handed_off": False, "verified": False, "stage": "build"}
    assert history(deploy_home) == []
    assert registry_versions(deploy_home) == []
    assert files_under(deploy_home / "tmp") == [], "the server swept the dead worker's folder"
    assert files_under(system_tmp) == []
