"""The history store: concurrent appends from many processes, torn lines, filters."""

from __future__ import annotations

import multiprocessing as mp

from jupyter_deploy.history import History


def _writer(path, n, who):
    h = History(path)
    for i in range(n):
        h.append({"action": "deploy", "target": "model", "notebook": f"/nb/{who}.ipynb",
                  "summary": "x" * 2000, "details": {"i": i}})


def test_concurrent_appends_never_interleave(tmp_path):
    path = tmp_path / "history.jsonl"
    procs = [mp.Process(target=_writer, args=(path, 50, w)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    records = History(path).records()
    assert len(records) == 300
    assert len({r["id"] for r in records}) == 300
    assert len(History(path).records(notebook="/nb/3.ipynb")) == 50


def test_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "history.jsonl"
    h = History(path)
    h.append({"action": "check", "verdict": "repeatable"})
    with open(path, "a") as fh:
        fh.write('{"action": "dep')
    assert [r["action"] for r in h.records()] == ["check"]
    h.append({"action": "deploy"})
    assert [r["action"] for r in h.records()] == ["deploy", "check"]
