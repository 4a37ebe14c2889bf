"""The command line: jupyter deploy report NOTEBOOK ... (a real process, real clean run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from report_helpers import new_notebook

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "jupyter_deploy", "report", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_cli_report_with_params_and_json(tmp_path, _deploy_home):
    import os

    nb = tmp_path / "sales.ipynb"
    nbformat.write(new_notebook([("md", "# CLI sales"), ("code", "region = 'EMEA'", ["parameters"]),
                                 "print('region is', region)"]), nb)
    env = dict(os.environ, JUPYTER_DEPLOY_HOME=str(_deploy_home))
    r = _cli(str(nb), "--param", "region=APAC", "--no-input", "--tags", "cli", "--to",
             str(tmp_path / "kr"), "--json", "-q", env=env)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    html = Path(result["destination"], "report.html").read_text()
    assert "region is APAC" in html and "print(" not in html

    bad = _cli(str(nb), "--to", "ftp://example.org/x", "-q", env=env)
    assert bad.returncode != 0
    assert "ftp://" in bad.stderr and "Traceback" not in bad.stderr
