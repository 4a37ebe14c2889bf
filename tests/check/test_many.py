"""`jupyter deploy check PATH...`: folders, globs, --jobs, --junit, --shard, --json, exit codes.

Real kernels throughout; the notebooks are one or two cells with hand-written saved outputs, so
each clean run is a kernel start and little more.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from jdtest import PYTHON, ROOT, file_digest, in_threads, run_cli

pytestmark = pytest.mark.kernel

SKIPPED = (".ipynb_checkpoints", ".venv/lib", ".hidden", "node_modules/pkg", "lib/site-packages/x")


def write_nb(path: Path, cells, kernel=True) -> Path:
    """cells: (source, saved stdout or None)."""
    nb = new_notebook()
    for i, (src, out) in enumerate(cells):
        cell = new_code_cell(src, execution_count=i + 1)
        if out is not None:
            cell.outputs = [new_output("stream", name="stdout", text=out)]
        nb.cells.append(cell)
    if kernel:
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository: 2 repeatable, 1 with warnings, 2 not repeatable, 1 corrupt, and notebooks
    in folders that must never be searched (corrupt too: picking one up shows as an error)."""
    root = tmp_path_factory.mktemp("repo")
    write_nb(root / "nbs/good/a.ipynb", [("print(1)", "1\n")])
    write_nb(root / "nbs/good/sub/b.ipynb", [("x = 2", None), ("print(x * 3)", "6\n")])
    write_nb(root / "nbs/bad/random.ipynb", [("import random\nprint(random.random())", "0.123\n")])
    write_nb(root / "nbs/bad/fails.ipynb", [("print(2)", "2\n"), ("raise ValueError('boom')", None)])
    write_nb(root / "nbs/warn.ipynb", [("print(3)", "3\n")], kernel=False)
    (root / "nbs/bad/broken").mkdir(parents=True)
    (root / "nbs/bad/broken/corrupt.ipynb").write_text("{not json")
    for skip in SKIPPED:
        (root / "nbs" / skip).mkdir(parents=True)
        (root / "nbs" / skip / "skipped.ipynb").write_text("not json")
    (root / "empty").mkdir()
    return root


ALL = ["nbs/bad/broken/corrupt.ipynb", "nbs/bad/fails.ipynb", "nbs/bad/random.ipynb",
       "nbs/good/a.ipynb", "nbs/good/sub/b.ipynb", "nbs/warn.ipynb"]
VERDICTS = {"nbs/bad/broken/corrupt.ipynb": "error", "nbs/bad/fails.ipynb": "not-repeatable",
            "nbs/bad/random.ipynb": "not-repeatable", "nbs/good/a.ipynb": "repeatable",
            "nbs/good/sub/b.ipynb": "repeatable", "nbs/warn.ipynb": "repeatable-with-warnings"}


def digests(root: Path) -> dict:
    return {str(p.relative_to(root)): file_digest(p) for p in sorted(root.rglob("*.ipynb"))}


def test_folder_jobs_2_table_junit_then_json_from_cache(repo, tmp_path):
    before = digests(repo)
    report = tmp_path / "out" / "junit.xml"
    report.parent.mkdir()
    proc = run_cli("check", "nbs", "--jobs", "2", "--junit", report, cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr

    # the table: one row per notebook, sorted, verdict and first finding; then the summary line
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split() == ["notebook", "verdict", "seconds", "first", "finding"]
    assert [line.split()[0] for line in lines[1:-1]] == ALL
    row = {line.split()[0]: line for line in lines[1:-1]}
    assert "NOT repeatable" in row["nbs/bad/random.ipynb"]
    assert "cell 1 output-diff: stdout differs" in row["nbs/bad/random.ipynb"]
    assert "likely cause: unseeded-random" in row["nbs/bad/random.ipynb"]
    assert "cell 2 execution-error: cell 2 raised ValueError: boom" in row["nbs/bad/fails.ipynb"]
    assert "ERROR (not judged)" in row["nbs/bad/broken/corrupt.ipynb"]
    assert "notebook-invalid" in row["nbs/bad/broken/corrupt.ipynb"]
    assert "repeatable (warnings)" in row["nbs/warn.ipynb"] and "no-kernelspec" in row["nbs/warn.ipynb"]
    assert lines[-1].startswith("6 notebooks: 2 repeatable, 1 with warnings, 2 not repeatable, "
                                "1 not judged (errors); ")
    assert lines[-1].endswith("with 2 jobs")
    assert "skipped" not in proc.stdout  # nothing from hidden folders, node_modules, site-packages

    # progress: a header, then one line per notebook as it finishes
    progress = proc.stderr.strip().splitlines()
    assert progress[0] == "checking 6 notebooks with 2 jobs"
    assert sorted(line.split()[-1] for line in progress[1:]) == ALL
    assert {line.split("]")[0] + "]" for line in progress[1:]} == {f"[{i}/6]" for i in range(1, 7)}

    # JUnit: one testcase per notebook, failures carry the findings, errors the unjudged
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "2", "1")
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("6", "2", "1")
    cases = {c.get("file"): c for c in suite.findall("testcase")}
    assert sorted(cases) == ALL
    assert cases["nbs/good/sub/b.ipynb"].get("classname") == "nbs.good.sub"
    assert cases["nbs/good/sub/b.ipynb"].get("name") == "b.ipynb"
    assert cases["nbs/warn.ipynb"].get("classname") == "nbs"
    assert all(float(c.get("time")) >= 0 for c in cases.values())
    assert float(cases["nbs/good/a.ipynb"].get("time")) > 0.1  # a real kernel ran
    fail = cases["nbs/bad/random.ipynb"].find("failure")
    assert fail.get("message").startswith("not repeatable: cell 1: stdout differs")
    assert "[warning] cell 1 unseeded-random:" in fail.text  # every finding, warnings included
    assert "[error] cell 1 output-diff:" in fail.text and "-> " in fail.text
    assert cases["nbs/bad/fails.ipynb"].find("failure").get("message") == \
        "not repeatable: cell 2 raised ValueError: boom (cause unknown)"  # no evidence of a cause
    err = cases["nbs/bad/broken/corrupt.ipynb"].find("error")
    assert err.get("type") == "notebook-invalid" and "not a notebook" in err.get("message")
    for ok in ("nbs/good/a.ipynb", "nbs/good/sub/b.ipynb", "nbs/warn.ipynb"):
        assert cases[ok].find("failure") is None and cases[ok].find("error") is None
    assert "no-kernelspec" in cases["nbs/warn.ipynb"].find("system-out").text
    assert [p.name for p in report.parent.iterdir()] == ["junit.xml"]  # no temporary file left

    # --json: a summary and one entry per notebook; the unchanged notebooks come from the cache
    proc = run_cli("check", "nbs", "--json", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    s = data["summary"]
    assert (s["notebooks"], s["repeatable"], s["repeatable_with_warnings"], s["not_repeatable"],
            s["errors"], s["ok"]) == (6, 2, 1, 2, 1, False)
    assert s["cached"] == 5  # all but the corrupt one
    assert {n["notebook"]: n["verdict"] for n in data["notebooks"]} == VERDICTS
    assert proc.stderr == ""  # --json: no progress
    assert digests(repo) == before  # notebooks untouched


def test_globs_recursive_deduplicated_exit_0(repo):
    proc = run_cli("check", "nbs/good/**/*.ipynb", "nbs/good/a.ipynb", "nbs/*/sub", "-q", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines[1:-1]] == ["nbs/good/a.ipynb", "nbs/good/sub/b.ipynb"]
    assert lines[-1].startswith("2 notebooks: 2 repeatable, 0 not repeatable;")
    assert proc.stderr == ""  # -q


def test_glob_skips_hidden_and_vendored_folders(repo):
    from jupyter_deploy.many import display_path, find_notebooks

    found = [display_path(p, repo) for p in find_notebooks(["**/*.ipynb"], cwd=repo)]
    assert found == ALL
    found = [display_path(p, repo) for p in find_notebooks(["nbs/**"], cwd=repo)]
    assert found == ALL
    # a folder named on purpose is searched, even one the wildcards skip
    found = [display_path(p, repo) for p in find_notebooks(["nbs/node_modules"], cwd=repo)]
    assert found == ["nbs/node_modules/pkg/skipped.ipynb"]


def test_single_notebook_keeps_its_output_and_can_write_junit(repo, tmp_path):
    nb = "nbs/good/a.ipynb"
    plain = run_cli("check", nb, cwd=repo)
    assert plain.returncode == 0
    assert plain.stdout.strip().splitlines()[-1].startswith("a.ipynb: ✔ repeatable")
    report = tmp_path / "one.xml"
    again = run_cli("check", nb, "--junit", report, "--json", cwd=repo)
    assert again.returncode == 0
    assert json.loads(again.stdout)["verdict"] == "repeatable"  # the single-notebook report
    case = ET.parse(report).getroot().find("testsuite/testcase")
    assert (case.get("file"), case.get("classname"), case.find("failure")) == (nb, "nbs.good", None)


@pytest.mark.parametrize(
    "args, message",
    [
        (["empty"], "No notebook found in: empty"),
        (["nbs/*.txt", "empty", "nothere/**/*.ipynb"], "No notebook found in: nbs/*.txt empty nothere/**/*.ipynb"),
        (["nbs", "missing.ipynb"], "Notebook not found: missing.ipynb"),
        (["nbs", "--shard", "0/2"], "--shard must be I/N with 1 <= I <= N"),
        (["nbs", "--shard", "3/2"], "got '3/2'"),
        (["nbs", "--shard", "abc"], "got 'abc'"),
        (["nbs", "--jobs", "0"], "--jobs must be at least 1, got 0"),
        (["nbs", "--junit", "no/such/folder/r.xml"], "the folder no/such/folder does not exist"),
        (["nbs", "--junit", "nbs"], "--junit nbs is a folder"),
    ],
)
def test_usage_errors_exit_2_one_line_nothing_written(repo, deploy_home, args, message):
    before = digests(repo)
    proc = run_cli("check", *args, cwd=repo)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert digests(repo) == before
    assert not (repo / "no").exists()
    assert not (deploy_home / "cache" / "check").exists()  # nothing was run


def test_shards_split_the_repository_exactly(repo, tmp_path):
    seen = []
    for i in (1, 2, 3):
        report = tmp_path / f"shard{i}.xml"
        proc = run_cli("check", "nbs", "--shard", f"{i}/3", "--jobs", "2", "--junit", report, "--json", cwd=repo)
        data = json.loads(proc.stdout)
        names = [n["notebook"] for n in data["notebooks"]]
        assert proc.returncode == (0 if data["summary"]["ok"] else 1)
        assert data["summary"]["shard"] == f"{i}/3" and data["summary"]["found"] == 6
        cases = ET.parse(report).getroot().findall("testsuite/testcase")
        assert [c.get("file") for c in cases] == names
        seen += names
    assert sorted(seen) == ALL  # every notebook in exactly one shard


def test_empty_shard_is_success(tmp_path):
    from jupyter_deploy.many import shard_of

    write_nb(tmp_path / "only.ipynb", [("print(1)", "1\n")])
    other = 2 if shard_of("only.ipynb", 2) == 1 else 1
    proc = run_cli("check", ".", "--shard", f"{other}/2", "--junit", tmp_path / "r.xml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "none of the 1 notebooks found falls in this shard" in proc.stdout
    assert ET.parse(tmp_path / "r.xml").getroot().get("tests") == "0"


# ------------------------------------------------------------------- concurrency of api.check


def _entries(home: Path) -> list:
    folder = home / "cache" / "check"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_concurrent_checks_in_threads_different_and_same_notebook(tmp_path, deploy_home):
    from jupyter_deploy import api

    a = write_nb(tmp_path / "a.ipynb", [("import numpy\nprint(1)", "1\n")])
    b = write_nb(tmp_path / "b.ipynb", [("import json\nprint(2)", "2\n")])
    ra, rb = in_threads(lambda: api.check(a), lambda: api.check(b))
    assert (ra["verdict"], rb["verdict"]) == ("repeatable", "repeatable")
    assert any(r.startswith("numpy==") for r in ra["environment"]["requirements"])
    assert not any(r.startswith("numpy==") for r in rb["environment"]["requirements"])
    assert len(_entries(deploy_home)) == 2

    # the same notebook twice at once, both really running: one valid entry, nothing left over
    r1, r2 = in_threads(lambda: api.check(a, use_cache=False), lambda: api.check(a, use_cache=False))
    assert (r1["verdict"], r2["verdict"], r1["cached"], r2["cached"]) == ("repeatable",) * 2 + (False,) * 2, (
        r1["findings"], r2["findings"])
    assert len(_entries(deploy_home)) == 2, _entries(deploy_home)  # no .tmp-/.old- folders left
    assert Path(r1["executed_path"]).is_file() and r1["executed_path"] == r2["executed_path"]
    hit = api.check(a)
    assert hit["cached"] is True and hit["verdict"] == "repeatable"


def test_concurrent_cli_processes_same_notebook(tmp_path, deploy_home):
    nb = write_nb(tmp_path / "same.ipynb", [("print(5)", "5\n")])
    env = dict(os.environ)
    procs = [subprocess.Popen([PYTHON, "-m", "jupyter_deploy", "check", str(nb), "--no-cache", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert json.loads(out)["verdict"] == "repeatable"
    assert len(_entries(deploy_home)) == 1, _entries(deploy_home)
    again = run_cli("check", nb, "--json")
    assert json.loads(again.stdout)["cached"] is True


# ----------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_runs_like_pre_commit(tmp_path):
    import yaml

    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = {h["id"]: h for h in hooks}["jupyter-deploy-check"]
    assert hook["language"] == "python"
    assert hook["types"] == ["jupyter"] and hook.get("pass_filenames", True) is True
    good = write_nb(tmp_path / "x" / "good.ipynb", [("print(1)", "1\n")])
    also = write_nb(tmp_path / "y.ipynb", [("print(2)", "2\n")])
    bad = write_nb(tmp_path / "bad.ipynb", [("import random\nprint(random.random())", "0.5\n")])
    # pre-commit runs `entry args... files...` with the hook's environment's bin first on PATH
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    argv = shlex.split(hook["entry"]) + list(hook.get("args", []))
    files = [str(good.relative_to(tmp_path)), str(also.relative_to(tmp_path))]
    proc = subprocess.run(argv + files, cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 notebooks: 2 repeatable, 0 not repeatable" in proc.stdout
    proc = subprocess.run(argv + files + [bad.name], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)
    assert proc.returncode == 1
    assert "bad.ipynb" in proc.stdout and "NOT repeatable" in proc.stdout


# ----------------------------------------------------------------------------- Ctrl-C


def _processes_in(folder: Path) -> list:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and os.readlink(proc / "cwd").startswith(str(folder)):
                found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120])
        except OSError:
            continue
    return found


def test_ctrl_c_stops_every_job_caches_nothing_leaves_no_kernel(tmp_path, deploy_home):
    from jdtest import need

    need(Path("/proc").is_dir(), "/proc (this test reads kernels' folders from it)", "run on Linux")
    import signal
    import time

    for i in range(4):
        write_nb(tmp_path / "nbs" / f"slow{i}.ipynb", [("import time\ntime.sleep(60)", None)])
    proc = subprocess.Popen([PYTHON, "-m", "jupyter_deploy", "check", "nbs", "--jobs", "2"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own group, as a terminal's Ctrl-C reaches
    check = deploy_home / "cache" / "check"
    deadline = time.monotonic() + 120
    while len(list(check.glob(".tmp-*/kernel.log"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # wait until both jobs' kernels are running a cell
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 30  # the queued notebooks were not started
    assert err.strip().splitlines()[-1] == "jupyter deploy: interrupted" and "Traceback" not in err
    assert out == ""
    assert sorted(p.name for p in check.iterdir()) == []  # nothing cached, no temporary folder left
    deadline = time.monotonic() + 20
    while _processes_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_in(tmp_path) == []  # no kernel left behind


def test_pre_commit_try_repo_runs_the_hook(tmp_path):
    """pre-commit itself, on this repository's hook file (the `system` hook: the `python` one
    would build an environment from the package index)."""
    from jdtest import need_command, need_module

    need_module("pre_commit", "pip install 'jupyter-deploy[test]'")
    git = need_command("git", "apt-get install git")
    work = tmp_path / "project"
    write_nb(work / "good.ipynb", [("print(1)", "1\n")])
    write_nb(work / "bad.ipynb", [("import random\nprint(random.random())", "0.5\n")])
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    subprocess.run([git, "init", "-q", "."], cwd=work, check=True, env=env)
    subprocess.run([git, "add", "."], cwd=work, check=True, env=env)
    proc = subprocess.run([PYTHON, "-m", "pre_commit", "try-repo", str(ROOT), "jupyter-deploy-check-system",
                           "--files", "good.ipynb", "bad.ipynb"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Failed" in proc.stdout and "- exit code: 1" in proc.stdout
    assert "2 notebooks: 1 repeatable, 1 not repeatable" in proc.stdout
    assert "bad.ipynb" in proc.stdout and "NOT repeatable" in proc.stdout
