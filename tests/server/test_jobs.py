"""Jobs: a real check of a tiny notebook in a real kernel, cancel, conflicts, latency."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from server_helpers import fetch_json, wait_job

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


async def test_check_job_reports_progress_and_result(jp_fetch, tiny_notebook, deploy_home):
    before = tiny_notebook.read_bytes()
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "work/tiny.ipynb"}, expect=202)
    assert job["state"] in ("queued", "running")
    assert job["magic"] == "%deploy check"
    assert job["action"] == "check" and job["path"] == "work/tiny.ipynb"
    job, seen = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "done", (job["error"], job["log"][-10:])
    assert job["error"] is None
    result = job["result"]
    assert result["verdict"] in ("repeatable", "repeatable-with-warnings"), result
    assert "findings" in result and "notebook_hash" in result
    # progress went through the cells: some poll saw a stage other than queued/starting
    stages = {p["stage"] for _, p in seen}
    assert stages - {"queued", "starting", "done"}, stages
    assert any(p["total"] for _, p in seen), seen
    assert job["log"], "the job log has the progress messages"
    # the user's notebook is untouched; the check is in the history
    assert tiny_notebook.read_bytes() == before
    hist = await fetch_json(jp_fetch, "jupyter-deploy", "history",
                            params={"path": "work/tiny.ipynb"})
    assert [r["action"] for r in hist["records"]] == ["check"]
    listing = await fetch_json(jp_fetch, "jupyter-deploy", "jobs")
    assert [j["id"] for j in listing["jobs"]] == [job["id"]]
    assert "log" not in listing["jobs"][0]


async def test_check_of_a_broken_notebook_is_a_verdict_not_a_failure(
        jp_fetch, jp_root_dir, make_notebook):
    make_notebook(jp_root_dir / "broken.ipynb", ["print(undefined_name)"], ["42\n"])
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "broken.ipynb"}, expect=202)
    job, _ = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "done", job["error"]
    assert job["result"]["verdict"] == "not-repeatable"
    cells = [f.get("cell") for f in job["result"]["findings"]]
    assert 0 in cells, job["result"]["findings"]


async def test_deploy_error_comes_back_with_code_message_and_hint(jp_fetch, tiny_notebook):
    """A deploy of an object the notebook does not define fails with the core's error + hint."""
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "deploy", "path": "work/tiny.ipynb", "target": "model",
                                 "options": {"var": "nope", "name": "m"}}, expect=202)
    assert job["magic"].startswith("%deploy model")
    job, _ = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "failed"
    assert job["error"]["code"] != "internal", job["error"]
    assert job["error"]["message"] and job["error"]["hint"]


async def test_cancel_kills_the_worker_and_its_kernel(jp_fetch, slow_notebook):
    import psutil

    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "slow.ipynb"}, expect=202)
    # wait until the clean run is executing the slow cell
    job, _ = await wait_job(jp_fetch, job["id"], until=("running",), timeout=60)
    deadline = time.monotonic() + 60
    mgr_job = None
    while time.monotonic() < deadline:
        job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job["id"])
        if job["progress"]["stage"] not in ("queued", "starting") and job["progress"]["total"]:
            break
        await asyncio.sleep(0.1)
    from jupyter_deploy.server import jobs as jobs_mod  # noqa: F401

    worker_pids = [p.pid for p in psutil.process_iter(["cmdline"])
                   if p.info["cmdline"] and "jupyter_deploy.server.worker" in p.info["cmdline"]]
    assert worker_pids
    family = []
    for pid in worker_pids:
        try:
            family += [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    cancelled = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job["id"], method="DELETE")
    assert cancelled["state"] == "cancelled"
    job, _ = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "cancelled" and job["result"] is None
    assert job["error"]["code"] == "cancelled"
    # the worker gets SIGTERM and a grace period to shut its kernel down and remove its temp
    # folder: "finished" is set once it has exited
    deadline = time.monotonic() + 30
    while job["finished"] is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job["id"])
    assert job["finished"] is not None and job["handoff"] is None  # a check hands nothing off
    await asyncio.sleep(0.5)
    alive = [pid for pid in family if psutil.pid_exists(pid)
             and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], "the worker and the kernel it started are gone"
    # cancelling again is harmless; a new job on the notebook can start
    again = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job["id"], method="DELETE")
    assert again["state"] == "cancelled"
    new = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "slow.ipynb"}, expect=202)
    await fetch_json(jp_fetch, "jupyter-deploy", "jobs", new["id"], method="DELETE")


async def test_one_job_at_a_time_per_notebook_and_latency_while_it_runs(
        jp_fetch, slow_notebook, tiny_notebook, record_property):
    first = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                             body={"action": "check", "path": "slow.ipynb"}, expect=202)
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "slow.ipynb"}, expect=409)
    assert err["code"] == "job-running"
    assert first["id"] in err["message"] and err["hint"]
    assert err["details"] == {"job": first["id"]}  # so a second window can follow that job
    # the same notebook through another spelling of its path is the same notebook
    err = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "work/../slow.ipynb"}, expect=409)
    assert err["code"] == "job-running"

    # While the job runs, the server answers other requests fast.
    await wait_job(jp_fetch, first["id"], until=("running",), timeout=60)
    latencies = []
    for i in range(30):
        route = [("jupyter-deploy", "version"), ("jupyter-deploy", "jobs", first["id"]),
                 ("api", "contents")][i % 3]
        t0 = time.perf_counter()
        await jp_fetch(*route)
        latencies.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.05)
    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", first["id"])
    assert job["state"] == "running", "the latency was measured while the job ran"
    median = statistics.median(latencies)
    worst = max(latencies)
    record_property("rest_latency_median_ms", round(median, 1))
    record_property("rest_latency_max_ms", round(worst, 1))
    print(f"REST latency while a job runs: median {median:.1f} ms, max {worst:.1f} ms")
    assert median < 100 and sorted(latencies)[int(0.9 * len(latencies))] < 100, latencies

    # another notebook may run at the same time
    other = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                             body={"action": "check", "path": "work/tiny.ipynb"}, expect=202)
    job, _ = await wait_job(jp_fetch, first["id"])
    assert job["state"] == "done", job["error"]
    other, _ = await wait_job(jp_fetch, other["id"])
    assert other["state"] == "done", other["error"]
    # once finished, the notebook takes a new job
    again = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                             body={"action": "check", "path": "slow.ipynb"}, expect=202)
    again, _ = await wait_job(jp_fetch, again["id"])
    assert again["state"] == "done"
    assert again["result"]["cached"] is True, "an unchanged notebook is answered from the cache"
    fresh = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                             body={"action": "check", "path": "work/tiny.ipynb",
                                   "no_cache": True}, expect=202)
    assert fresh["magic"] == "%deploy check --no-cache"
    fresh, _ = await wait_job(jp_fetch, fresh["id"])
    assert fresh["state"] == "done" and fresh["result"]["cached"] is False


async def test_a_worker_that_dies_fails_its_job_with_an_explanation(jp_fetch, slow_notebook):
    import os
    import signal

    import psutil

    job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                           body={"action": "check", "path": "slow.ipynb"}, expect=202)
    await wait_job(jp_fetch, job["id"], until=("running",), timeout=60)
    workers = [p for p in psutil.process_iter(["cmdline"])
               if p.info["cmdline"] and "jupyter_deploy.server.worker" in p.info["cmdline"]]
    assert len(workers) == 1
    kernels = workers[0].children(recursive=True)
    os.kill(workers[0].pid, signal.SIGKILL)  # as the OOM killer would
    job, _ = await wait_job(jp_fetch, job["id"])
    assert job["state"] == "failed"
    assert job["error"]["code"] == "internal"
    assert "stopped unexpectedly" in job["error"]["message"] and "-9" in job["error"]["message"]
    assert job["error"]["hint"]
    # its kernel notices its parent is gone and exits by itself
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
            k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kernels):
        await asyncio.sleep(0.5)
    # the notebook takes a new job
    again = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", method="POST",
                             body={"action": "check", "path": "slow.ipynb"}, expect=202)
    await fetch_json(jp_fetch, "jupyter-deploy", "jobs", again["id"], method="DELETE")
