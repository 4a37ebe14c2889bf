"""Findings name cells as JupyterLab does (issue 16: "cell 10" was JupyterLab's "Cell 11/11").

The report keeps the 0-based ``cell`` index (links use it) and adds ``cell_number`` (from 1,
markdown cells counted) and the saved ``execution_count``; messages, the text and HTML renderers
and the CLI's table show the number a person sees.
"""

from __future__ import annotations

import json

from jdtest import run_cli

from jupyter_deploy import render


def _drawing_notebook(make_notebook):
    # index: 0 markdown, 1 code [1], 2 markdown, 3 code [2] (JupyterLab: "Cell 4/4")
    return make_notebook([("markdown", "# Draws"), "import random", ("markdown", "One draw:"),
                          "print(random.random())"])


def test_findings_carry_jupyterlabs_cell_number_and_the_execution_count(make_notebook):
    nb = _drawing_notebook(make_notebook)
    proc = run_cli("check", nb, "--json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    diff = next(f for f in report["findings"] if f["kind"] == "output-diff")
    assert diff["cell"] == 3  # the index stays 0-based, for links
    assert diff["cell_number"] == 4 and diff["execution_count"] == 2
    assert diff["message"].startswith("cell 4: ")
    assert diff["causes"][0]["kind"] == "unseeded-random" and diff["causes"][0]["cell"] == 3
    assert report["reasons"][0].startswith("cell 4: ")
    random_ = next(f for f in report["findings"] if f["kind"] == "unseeded-random")
    assert random_["cell_number"] == 4 and random_["execution_count"] == 2

    text = render.check_text(report, diffs=False)
    row = next(ln for ln in text.splitlines() if "output-diff" in ln)
    assert row.split()[:3] == ["4", "[2]", "output-diff"]
    assert "[likely cause: unseeded-random in cell 4]" in row
    html = render.check_html(report)
    assert "title='Cell 4 in JupyterLab, saved as [2]'>4 [2]</td>" in html
    assert "likely cause: unseeded-random in cell 4</small>" in html

    # the CLI's table (answered from the cache of the run above) shows the same numbers
    human = run_cli("check", nb)
    assert human.returncode == 1
    table = [ln for ln in human.stdout.splitlines() if "output-diff" in ln]
    assert table and table[0].split()[:3] == ["4", "[2]", "output-diff"], human.stdout
    assert "cell 3" not in human.stdout  # no 0-based number left in what a person reads


def test_a_cell_never_run_has_a_number_but_no_count_and_old_reports_still_render():
    report = {"notebook": "n.ipynb", "verdict": "not-repeatable", "findings": [
        # a report cached before cell numbers: the number is worked out from the index
        {"kind": "execution-error", "cell": 10, "severity": "error", "message": "boom"},
        {"kind": "never-executed", "cell": 2, "cell_number": 3, "severity": "warning",
         "message": "cell 3 was never run in the saved session"},
        {"kind": "missing-package", "cell": None, "severity": "error", "message": "no pkg"},
    ]}
    rows = render.check_text(report).splitlines()
    assert [r.split()[0] for r in rows[1:4]] == ["11", "3", "-"]
    assert "<td style='text-align:right;white-space:nowrap'>-</td>" in render.check_html(report)
