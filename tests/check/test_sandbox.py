"""The clean run never changes the user's folder, and leaves no process behind (issue 13, item 4).

Real kernels; what is on disk and in /proc afterwards is what is asserted.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from jdtest import in_threads
from jupyter_deploy import api
from jupyter_deploy.check import sandbox

pytestmark = pytest.mark.kernel


def tree_digest(folder: Path) -> dict:
    """Every file (and link) under ``folder`` with the hash of its bytes."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir():
            out[rel] = "dir"
    return out


def by_kind(report, kind):
    return [f for f in report["findings"] if f["kind"] == kind]


def processes_with(marker: str) -> list:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in argv and state != "Z":
            found.append((int(name), argv))
    return found


def test_writes_overwrites_and_deletes_stay_in_the_copy_and_are_named(make_notebook, tmp_path):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "input.csv").write_text("a,b\n1,2\n")
    (folder / "notes.txt").write_text("keep me\n")
    (folder / "helper.py").write_text("VALUE = 41\n")
    nb = make_notebook([
        "import helper, os\nprint(helper.VALUE + 1, os.path.basename(os.getcwd()))",
        "print(open('data/input.csv').read())",
        "open('data/input.csv', 'w').write('overwritten')\n"
        "open('results.csv', 'w').write('x\\n1\\n')\n"
        "os.remove('notes.txt')",
        "print(sorted(os.listdir('.')))",
    ], execute=False, folder=folder)
    before = tree_digest(folder)
    report = api.check(nb)
    assert tree_digest(folder) == before, "the user's folder is byte-identical after the check"
    assert not (folder / "results.csv").exists()
    # the run saw its folder as usual: local module, relative paths, cwd named like the folder
    assert report["cells_run"] == 4, report["findings"]
    written = by_kind(report, "writes-files")
    assert len(written) == 1 and written[0]["severity"] == "warning"
    assert written[0]["files"] == ["results.csv"]
    assert "results.csv" in written[0]["message"] and written[0]["hint"]
    changed = by_kind(report, "changes-inputs")
    assert len(changed) == 1 and changed[0]["severity"] == "error"
    assert sorted(changed[0]["files"]) == ["data/input.csv", "notes.txt"]
    assert "data/input.csv (overwritten)" in changed[0]["message"]
    assert "notes.txt (deleted)" in changed[0]["message"]
    assert report["verdict"] == "not-repeatable"  # its next run would read other inputs
    assert any("changed files" in r for r in report["reasons"])
    # the executed copy shows the run worked in a folder named like the user's
    import nbformat

    executed = nbformat.read(report["executed_path"], as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42 project\n"
    assert "a,b" in executed.cells[1].outputs[0]["text"]


def test_a_notebook_that_only_reads_has_no_finding_and_parent_paths_work(make_notebook, tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "prices.csv").write_text("p\n3\n")
    folder = tmp_path / "analysis"
    folder.mkdir()
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "__pycache__").mkdir()
    nb = make_notebook([
        "print(open('../shared/prices.csv').read().split()[1])",
        "import os\nprint(os.path.isdir('.git'), os.path.exists('.ipynb_checkpoints'))",
        "open('data.tmp', 'w').write('x')\nos.remove('data.tmp')",  # created and removed: nothing
    ], folder=folder)
    before = tree_digest(tmp_path)
    report = api.check(nb)
    # '../shared' is linted as a path outside the folder; the run itself reads it fine
    assert [f["kind"] for f in report["findings"]] == ["absolute-path"], report["findings"]
    assert report["cells_run"] == 3
    assert tree_digest(tmp_path) == before


def test_absolute_paths_in_outputs_are_the_users_not_the_sandboxs(make_notebook, tmp_path):
    """cwd, resolved paths and tracebacks through a local module name the user's folder."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "boom.py").write_text("def boom():\n    raise ValueError('x')\n")
    nb = make_notebook([
        "import os\nprint(os.getcwd())\nprint(os.path.abspath('../other/file.txt'))",
        "import boom, traceback\ntry:\n    boom.boom()\nexcept ValueError:\n"
        "    print(traceback.format_exc().splitlines()[-3].split(',')[0])",
    ], folder=folder)
    report = api.check(nb)
    # outputs equal the saved ones ('../other' is linted as a path outside the folder)
    assert [f["kind"] for f in report["findings"]] == ["absolute-path"], report["findings"]
    import nbformat

    executed = nbformat.read(report["executed_path"], as_version=4)
    assert executed.cells[0].outputs[0]["text"] == (
        f"{folder}\n{tmp_path / 'other' / 'file.txt'}\n")
    assert str(folder / "boom.py") in executed.cells[1].outputs[0]["text"]


def test_two_runs_each_start_from_the_users_files(make_notebook, tmp_path):
    """With --runs 2 the second run does not see what the first one wrote."""
    (tmp_path / "counter.txt").write_text("0")
    nb = make_notebook([
        "n = int(open('counter.txt').read())\nprint(n)\nopen('counter.txt', 'w').write(str(n + 1))",
    ])
    (tmp_path / "counter.txt").write_text("0")  # as before the fixture ran it to save outputs
    report = api.check(nb, runs=2)
    assert (tmp_path / "counter.txt").read_text() == "0"
    assert not by_kind(report, "nondeterministic"), report["findings"]
    assert not by_kind(report, "output-diff"), report["findings"]
    assert by_kind(report, "changes-inputs")[0]["files"] == ["counter.txt"]


def test_large_files_are_shared_not_copied_and_an_in_place_write_is_reported(
        make_notebook, tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "SHARE_ABOVE", 1000)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\1" * 5000)
    nb = make_notebook([
        "print(len(open('big.bin', 'rb').read()))",
    ])
    report = api.check(nb)
    assert report["verdict"] == "repeatable", report["findings"]
    assert big.read_bytes() == b"\1" * 5000
    # in place, through the shared file: the one change a shared file cannot undo, but it is named
    nb2 = make_notebook([
        "with open('big.bin', 'r+b') as fh:\n    fh.write(b'\\2')\nprint('done')",
    ], name="writer.ipynb", execute=False)
    report = api.check(nb2)
    found = by_kind(report, "changes-inputs")
    assert found and found[0]["files"] == ["big.bin"], report["findings"]
    assert "changed in your folder" in found[0]["message"]


def test_processes_the_run_started_in_any_session_are_gone_and_named(make_notebook, tmp_path):
    marker = f"300.{uuid.uuid4().int % 10**9}"
    double = f"301.{uuid.uuid4().int % 10**9}"
    nb = make_notebook([
        "import subprocess, os\n"
        f"p = subprocess.Popen(['sleep', '{marker}'], start_new_session=True)",
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execvp('sleep', ['sleep', '{double}'])\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "print('started')",
    ], execute=False)
    report = api.check(nb)
    assert processes_with(marker) == [] and processes_with(double) == []
    left = by_kind(report, "left-processes")
    assert len(left) == 1 and left[0]["severity"] == "warning", report["findings"]
    argvs = [" ".join(p["argv"]) for p in left[0]["processes"]]
    assert sorted(argvs) == sorted([f"sleep {marker}", f"sleep {double}"])
    assert marker in left[0]["message"] and double in left[0]["message"]
    # this process is no subreaper any more (pytest and the server are left as they were)
    value = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(value), 0, 0, 0)
    assert value.value == 0


def test_a_run_that_starts_nothing_lasting_has_no_finding(make_notebook):
    nb = make_notebook([
        "import subprocess\nprint(subprocess.run(['echo', 'hi'], capture_output=True, text=True).stdout)",
    ])
    t0 = time.monotonic()
    report = api.check(nb)
    assert not by_kind(report, "left-processes"), report["findings"]
    assert report["verdict"] == "repeatable", report["findings"]
    assert time.monotonic() - t0 < 60


def test_the_sandbox_and_temp_folders_are_gone_after_the_check(make_notebook, deploy_home):
    nb = make_notebook(["x = 1\nprint(x)"])
    api.check(nb)
    left = [p for p in (deploy_home / "tmp").rglob("*")] if (deploy_home / "tmp").exists() else []
    assert left == []


PNG_1x1 = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


def test_a_report_embeds_an_image_that_only_the_clean_run_wrote(make_notebook, tmp_path):
    """The run's files stay out of the user's folder, yet a deploy still finds them."""
    folder = tmp_path / "project"
    (folder / "figs").mkdir(parents=True)
    (folder / "figs" / "other.txt").write_text("mine\n")
    nb = make_notebook([
        "import base64\n"
        f"open('figs/dot.png', 'wb').write(base64.b64decode('{PNG_1x1}'))",
        ("markdown", "![dot](figs/dot.png)"),
    ], execute=False, folder=folder)
    before = tree_digest(folder)
    site = tmp_path / "site"
    res = api.deploy("report", nb, to=str(site))
    assert tree_digest(folder) == before and not (folder / "figs" / "dot.png").exists()
    html = next(site.rglob("report.html")).read_text()
    assert "data:image/png;base64," + PNG_1x1 in html
    report = api.check(nb)  # answered from the cache: the kept files are listed there
    assert report["cached"] and os.listdir(Path(report["produced_dir"]) / "figs") == ["dot.png"]
    assert res["status"] == "ok"


def test_links_in_the_folder_are_no_finding(make_notebook, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "d.txt").write_text("d\n")
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / "data").symlink_to(tmp_path / "real")
    (folder / "a.txt").write_text("a\n")
    (folder / "alias.txt").symlink_to("a.txt")
    (folder / "node_modules").mkdir()
    nb = make_notebook(["print(open('data/d.txt').read(), open('alias.txt').read())"],
                       folder=folder)
    before = tree_digest(tmp_path)
    report = api.check(nb)
    assert report["verdict"] == "repeatable", report["findings"]
    assert tree_digest(tmp_path) == before


def test_worker_pools_that_exit_by_themselves_are_no_finding(make_notebook):
    """joblib's loky resource tracker outlives the kernel by a moment: not a leftover."""
    nb = make_notebook([
        "from joblib import Parallel, delayed\n"
        "print(sum(Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(10))))",
    ])
    report = api.check(nb)
    assert not by_kind(report, "left-processes"), report["findings"]
    assert processes_with("joblib.externals.loky") == [] or all(
        psutil_parent_is_not_us(pid) for pid, _ in processes_with("joblib.externals.loky"))


def psutil_parent_is_not_us(pid):
    """Another test session's loky process (the machine is shared) is none of ours."""
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return True
    return ppid != os.getpid()


# ------------------------------------------------- several checks (or other work) in one process


def test_a_check_ending_first_kills_nothing_of_a_check_still_running(make_notebook):
    """Two checks in threads of one process (api.check from a user's threads, the widget next to
    a magic): the one that ends first must not take the other's kernel, or what the other's
    notebook started, for its own leftovers."""
    short_marker = f"302.{uuid.uuid4().int % 10**9}"
    long_marker = f"303.{uuid.uuid4().int % 10**9}"
    short = make_notebook([
        "import subprocess, time\n"
        f"p = subprocess.Popen(['sleep', '{short_marker}'], start_new_session=True)\n"
        "time.sleep(1)\nprint('short')",
    ], name="short.ipynb", execute=False)
    long = make_notebook([
        "import subprocess, time\n"
        f"child = subprocess.Popen(['sleep', '{long_marker}'], start_new_session=True)\n"
        "time.sleep(12)\nprint(child.poll())",
    ], name="long.ipynb", execute=False)
    r_short, r_long = in_threads(lambda: api.check(short, use_cache=False),
                                  lambda: api.check(long, use_cache=False), stagger=0.5)
    # the long run's kernel and its child lived through the short run's clean-up
    assert not by_kind(r_long, "kernel-died"), r_long["findings"]
    # its child was still running when its own cell looked (None), then its own run ended it
    executed = nbformat.read(r_long["executed_path"], as_version=4)
    stdout = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert stdout.strip() == "None", r_long["findings"]
    left = by_kind(r_long, "left-processes")
    assert len(left) == 1 and [p["argv"] for p in left[0]["processes"]] == [["sleep", long_marker]]
    # the short run named and ended only what its own notebook left
    left = by_kind(r_short, "left-processes")
    assert len(left) == 1 and [p["argv"] for p in left[0]["processes"]] == [["sleep", short_marker]]
    assert processes_with(short_marker) == [] and processes_with(long_marker) == []
    # and this process is no subreaper any more once both are done
    value = ctypes.c_int(-1)
    ctypes.CDLL(None).prctl(37, ctypes.byref(value), 0, 0, 0)
    assert value.value == 0


def test_a_check_leaves_the_processes_its_host_starts_meanwhile_alone(make_notebook):
    """The widget checks in a thread of the user's kernel while the user goes on working: a
    process the user starts during the check is the user's, not the run's."""
    import subprocess

    marker = f"304.{uuid.uuid4().int % 10**9}"
    nb = make_notebook(["import time\ntime.sleep(4)\nprint('done')"], execute=False)
    mine = {}

    def start_mine():
        time.sleep(1.5)  # the check's kernel is running by now
        mine["p"] = subprocess.Popen(["sleep", marker])
        return True

    report, _ = in_threads(lambda: api.check(nb, use_cache=False), start_mine)
    try:
        assert not by_kind(report, "left-processes"), report["findings"]
        assert mine["p"].poll() is None, "the check killed a process it did not start"
    finally:
        mine["p"].kill()
        assert mine["p"].wait(10) == -9  # its exit status is still ours to read (not reaped by the check)
