"""Helpers for the REST tests: JSON requests through jp_fetch, and waiting for a job."""

from __future__ import annotations

import asyncio
import json
import time

from tornado.httpclient import HTTPClientError


async def fetch_json(jp_fetch, *parts, method="GET", body=None, params=None, expect=200):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    try:
        resp = await jp_fetch(*parts, **kwargs)
    except HTTPClientError as exc:
        assert exc.code == expect, (exc.code, exc.response.body if exc.response else None)
        return json.loads(exc.response.body)
    assert resp.code == expect, (resp.code, resp.body)
    return json.loads(resp.body)


async def wait_job(jp_fetch, job_id, timeout=180, until=("done", "failed", "cancelled")):
    deadline = time.monotonic() + timeout
    seen = []
    job = None
    while time.monotonic() < deadline:
        job = await fetch_json(jp_fetch, "jupyter-deploy", "jobs", job_id)
        seen.append((job["state"], job["progress"]))
        if job["state"] in until:
            return job, seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['state']} after {timeout}s: {job['log'][-5:]}")
