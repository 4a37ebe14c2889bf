"""Temp work in one folder the tool owns; stale subfolders swept; SIGTERM honoured after a hand-off."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from jupyter_deploy import stopping, tmp
from jupyter_deploy.errors import Cancelled


def files_under(folder):
    return [p for p in folder.rglob("*") if not p.is_dir()] if folder.exists() else []


def test_session_is_one_subfolder_removed_at_the_end(deploy_home):
    with tmp.session(deploy_home) as folder:
        assert folder.parent == deploy_home / "tmp"
        pid, started, host, _ = folder.name.split("-")
        assert int(pid) == os.getpid() and started == tmp._start_time(os.getpid())
        assert host == tmp._host()
        with tmp.session(deploy_home) as inner:  # nested: the same folder
            assert inner == folder
        work = tmp.mkdtemp(prefix="jupyter-deploy-")
        (folder / "x").write_bytes(b"1" * 1000)
        assert os.path.dirname(work) == str(folder)
        assert tempfile.gettempdir() != str(folder), "no redirect unless asked"
    assert not folder.exists()
    assert files_under(deploy_home / "tmp") == []


def test_redirect_points_tempfile_and_tmpdir_there_and_restores_them(deploy_home, monkeypatch):
    monkeypatch.setenv("TMPDIR", "/tmp")
    before = tempfile.tempdir
    with tmp.session(deploy_home, redirect=True) as folder:
        assert tempfile.gettempdir() == str(folder) and os.environ["TMPDIR"] == str(folder)
        with tempfile.TemporaryDirectory() as inner:
            assert inner.startswith(str(folder))
    assert tempfile.tempdir == before and os.environ["TMPDIR"] == "/tmp"


def test_sweep_removes_folders_of_dead_processes_only(deploy_home):
    base = deploy_home / "tmp"
    base.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead_start = None
    for _ in range(100):
        dead_start = tmp._start_time(dead.pid)
        if dead_start:
            break
        time.sleep(0.01)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live_start = tmp._start_time(live.pid)
        h = tmp._host()
        (base / f"{dead.pid}-{dead_start}-{h}-aaaa").mkdir()
        (base / f"{dead.pid}-{dead_start}-{h}-aaaa" / "big").write_bytes(b"x" * 100_000)
        (base / f"{live.pid}-{live_start}-{h}-bbbb").mkdir()
        (base / f"{live.pid}-1-{h}-cccc").mkdir()  # the live pid, another start time: reused
        (base / f"{dead.pid}-{dead_start}-zzzzzz-dddd").mkdir()  # another machine's: kept
        (base / "junk").mkdir()  # not in our form: nobody owns it
        dead.kill()
        dead.wait()
        removed = sorted(tmp.sweep(deploy_home))
        assert removed == sorted([f"{dead.pid}-{dead_start}-{h}-aaaa", f"{live.pid}-1-{h}-cccc",
                                  "junk"])
        assert sorted(p.name for p in base.iterdir()) == sorted([
            f"{live.pid}-{live_start}-{h}-bbbb", f"{dead.pid}-{dead_start}-zzzzzz-dddd"])
    finally:
        live.kill()
        live.wait()
    tmp.sweep(deploy_home)
    assert [p.name for p in base.iterdir()] == [f"{dead.pid}-{dead_start}-zzzzzz-dddd"]


def test_a_killed_process_leaves_its_folder_to_the_next_sweep(deploy_home, tmp_path):
    """kill -9 in the middle of temp work: the folder stays until the next first deploy/check."""
    code = (
        "import sys, time\nfrom jupyter_deploy import tmp\n"
        "with tmp.session(sys.argv[1], redirect=True) as f:\n"
        "    import tempfile\n"
        "    d = tempfile.mkdtemp(prefix='jupyter-deploy-publish-')\n"
        "    open(d + '/blob', 'wb').write(b'x' * 1_000_000)\n"
        "    print(f, flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(deploy_home)], stdout=subprocess.PIPE,
                            text=True)
    folder = proc.stdout.readline().strip()
    assert os.path.isdir(folder)
    proc.kill()
    proc.wait()
    assert files_under(deploy_home / "tmp"), "SIGKILL leaves it"
    tmp._swept.discard(str(deploy_home / "tmp"))
    with tmp.session(deploy_home):  # the first session of a process sweeps
        pass
    assert files_under(deploy_home / "tmp") == []


def test_sigterm_inside_a_hand_off_is_raised_when_it_ends():
    old = signal.getsignal(signal.SIGTERM)
    stopping.install()
    handed_off = []
    try:
        with pytest.raises(Cancelled):
            with stopping.shielded():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)  # the handler ran: it did not interrupt the hand-off
                handed_off.append("v1")
        assert handed_off == ["v1"]
        assert stopping.stopping()
    finally:
        signal.signal(signal.SIGTERM, old)
        stopping._stopping = False
        stopping._pending = False


def test_sigterm_outside_a_hand_off_stops_at_once():
    old = signal.getsignal(signal.SIGTERM)
    stopping.install()
    try:
        t0 = time.monotonic()
        with pytest.raises(Cancelled):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        assert time.monotonic() - t0 < 2
    finally:
        signal.signal(signal.SIGTERM, old)
        stopping._stopping = False
