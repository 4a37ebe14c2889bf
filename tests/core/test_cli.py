"""`jupyter deploy` as a real subprocess: output, --json, exit codes."""

from __future__ import annotations

import json

import pytest

from jdtest import file_digest, run_cli

pytestmark = pytest.mark.kernel


def test_check_json_repeatable_exit_0(make_notebook):
    nb = make_notebook(["print(21 * 2)"])
    before = file_digest(nb)
    proc = run_cli("check", nb, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "repeatable"
    assert report["findings"] == []
    assert file_digest(nb) == before


def test_check_not_repeatable_exit_1_with_kinds_and_cells(make_notebook):
    def drop_first(nb):
        del nb.cells[0]

    nb = make_notebook(["a = 1", "print(a)"], edit=drop_first)
    proc = run_cli("check", nb, "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["verdict"] == "not-repeatable"
    assert {"kind": "execution-error", "cell": 0} in [
        {"kind": f["kind"], "cell": f["cell"]} for f in report["findings"]
    ]


def test_check_human_output_has_table_and_verdict(make_notebook):
    nb = make_notebook(["import random", "print(random.random())"])
    proc = run_cli("check", nb)
    assert proc.returncode == 1
    assert "output-diff" in proc.stdout and "not repeatable" in proc.stdout
    assert "likely cause: unseeded-random" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["check", "missing.ipynb"], "Notebook not found"),
        (["check"], "the following arguments are required: notebook"),
        (["check", "x.ipynb", "--runs", "zero"], "invalid int value"),
        (["frobnicate", "x.ipynb"], "Unknown target 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(tmp_path, args, message):
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_corrupt_notebook_exit_2_and_untouched(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    proc = run_cli("check", bad, "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["code"] == "notebook-invalid"
    assert bad.read_text() == "not json"


def test_history_lists_checks(make_notebook):
    nb = make_notebook(["print(1)"])
    assert run_cli("check", nb, "-q").returncode == 0
    proc = run_cli("history", nb, "--json")
    records = json.loads(proc.stdout)
    assert records[0]["action"] == "check" and records[0]["verdict"] == "repeatable"
    assert records[0]["notebook"] == str(nb.resolve())


def test_help_and_targets(tmp_path):
    proc = run_cli("--help")
    assert proc.returncode == 0 and "check" in proc.stdout
    proc = run_cli("check", "--help")
    assert proc.returncode == 0 and "--runs" in proc.stdout


def test_jupyter_subcommand_is_found(tmp_path):
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists() or shutil.which("jupyter")
    proc = subprocess.run([str(jupyter), "deploy", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "jupyter-deploy" in proc.stdout
