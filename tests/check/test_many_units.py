"""The parts of repository checks that need no kernel: shards, JUnit text, the cache's pruning."""

from __future__ import annotations

import json
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jupyter_deploy.errors import UsageError
from jupyter_deploy.junit import junit_xml
from jupyter_deploy.many import parse_shard, shard, shard_of, summary

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_- é", min_size=1, max_size=12)
rel_path = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/".join(parts) + ".ipynb")


@settings(max_examples=300, deadline=None)
@given(paths=st.lists(rel_path, min_size=0, max_size=60, unique=True), count=st.integers(1, 9),
       seed=st.randoms(use_true_random=False))
def test_every_notebook_in_exactly_one_shard_whatever_the_order(paths, count, seed, tmp_path_factory):
    cwd = Path("/repo")
    absolute = [cwd / p for p in paths]
    parts = [shard(absolute, f"{i}/{count}", cwd=cwd) for i in range(1, count + 1)]
    flat = [p for part in parts for p in part]
    assert sorted(flat) == sorted(absolute) and len(flat) == len(set(flat))
    shuffled = list(absolute)
    seed.shuffle(shuffled)
    for i in range(1, count + 1):  # the list's order changes nothing
        assert sorted(shard(shuffled, f"{i}/{count}", cwd=cwd)) == sorted(parts[i - 1])
    # a notebook's shard depends on its own path only: other notebooks added or removed move nothing
    for p in paths[:5]:
        alone = [i for i in range(1, count + 1) if shard([cwd / p], f"{i}/{count}", cwd=cwd)]
        assert alone == [shard_of(p, count)]


def test_shards_are_the_same_on_every_machine():
    # sha256 of the path relative to the folder the check runs from: fixed values, whatever the
    # checkout folder, the platform or Python's hash seed (pinned here: changing them moves
    # every notebook of every user's CI matrix)
    assert shard_of("notebooks/analysis.ipynb", 4) == 3
    assert shard_of("notebooks/analysis.ipynb", 7) == 1
    assert [shard_of(p, 4) for p in ("a.ipynb", "nbs/b.ipynb", "nbs/sub/c.ipynb", "d.ipynb")] == [1, 2, 4, 3]
    here = [i for i in (1, 2, 3) if shard([Path("/x/checkout1/nbs/n.ipynb")], f"{i}/3", cwd="/x/checkout1")]
    there = [i for i in (1, 2, 3) if shard([Path("/y/other/nbs/n.ipynb")], f"{i}/3", cwd="/y/other")]
    assert here == there == [shard_of("nbs/n.ipynb", 3)]


def test_shards_spread_a_repository():
    paths = [f"nbs/topic{i // 10}/nb{i}.ipynb" for i in range(200)]
    sizes = [sum(1 for p in paths if shard_of(p, 4) == i) for i in range(1, 5)]
    assert sum(sizes) == 200 and min(sizes) >= 30  # no starving job in a 4-job matrix


@pytest.mark.parametrize("text, parsed", [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3 / 3 ", (3, 3))])
def test_parse_shard(text, parsed):
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["0/2", "3/2", "abc", "1/0", "-1/2", "1/2/3", "1", "", "a/b"])
def test_parse_shard_refuses(text):
    with pytest.raises(UsageError) as info:
        parse_shard(text)
    assert f"got {text!r}" in info.value.one_line() and "\n" not in info.value.one_line()


def _row(name, verdict, findings=(), error=None, reasons=()):
    return {"notebook": name, "path": "/r/" + name, "verdict": verdict, "seconds": 1.25,
            "cached": False, "reasons": list(reasons), "findings": list(findings),
            "executed_path": None, "error": error}


def test_junit_survives_control_characters_and_counts():
    tb = "\x1b[0;31mValueError\x1b[0m: bad \x00 byte \x07 bell <&> \"quoted\""
    rows = [
        _row("a.ipynb", "repeatable"),
        _row("d/b.ipynb", "not-repeatable", [{"kind": "execution-error", "cell": 2, "severity": "error",
                                              "message": tb, "hint": "fix <it> & rerun"}], reasons=[tb, "x"]),
        _row("d/e/c.ipynb", "error", error={"code": "kernel", "message": "no kernel \x1b[1mfoo\x1b[0m",
                                           "hint": "install it"}),
    ]
    data = junit_xml(rows, summary(rows, wall=3.5))
    root = ET.fromstring(data)  # valid XML despite the escape codes and NUL
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("time")) == \
        ("3", "1", "1", "3.500")
    cases = root.findall("testsuite/testcase")
    assert [c.get("classname") for c in cases] == ["(root)", "d", "d.e"]
    assert [c.get("time") for c in cases] == ["1.250"] * 3
    fail = cases[1].find("failure")
    assert fail.get("message") == 'not repeatable: ValueError: bad ? byte ? bell <&> "quoted" (+1 more)'
    assert "[error] cell 3 execution-error: ValueError: bad ? byte" in fail.text
    assert "-> fix <it> & rerun" in fail.text
    err = cases[2].find("error")
    assert (err.get("type"), err.get("message")) == ("kernel", "could not be judged: no kernel foo")
    assert err.text == "no kernel foo -- install it"


def test_prune_keeps_recently_used_entries_beyond_the_count(tmp_path):
    from jupyter_deploy.check import CACHE_ENTRIES_KEPT, CACHE_KEEP_SECONDS, _prune

    folder = tmp_path / "check"
    recent = [folder / f"recent{i:03d}" for i in range(CACHE_ENTRIES_KEPT + 10)]
    old = [folder / f"old{i:03d}" for i in range(5)]
    for p in recent + old:
        p.mkdir(parents=True)
        (p / "report.json").write_text("{}")
    long_ago = time.time() - CACHE_KEEP_SECONDS - 3600
    for p in old:
        os.utime(p, (long_ago, long_ago))
    _prune(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in recent)


def test_publish_replaces_an_existing_entry_whole(tmp_path):
    from jupyter_deploy.check import _publish

    entry = tmp_path / "key"
    entry.mkdir()
    (entry / "report.json").write_text(json.dumps({"v": "old"}))
    (entry / "stale.txt").write_text("from the older check")
    tmp = tmp_path / ".tmp-1"
    tmp.mkdir()
    (tmp / "report.json").write_text(json.dumps({"v": "new"}))
    _publish(tmp, entry)
    assert json.loads((entry / "report.json").read_text()) == {"v": "new"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]  # no .tmp-/.old- left
    assert not (entry / "stale.txt").exists()
