"""Every command in README.md is run here, so the docs cannot rot.

The README's code blocks are read from the file itself: each ``jupyter deploy`` line runs as a
subprocess, each ``%deploy`` line of the quickstart runs in a real kernel, the config example is
loaded as a real config file, and the plugin example is installed as a real entry point and
deployed. ``make demo`` is the main job (tests/docs/test_main_job.py) and ``make test`` is CI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap

import pytest

from jdtest import PYTHON, ROOT, run_cli

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

README = (ROOT / "README.md").read_text()

ANALYSIS = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame({'tenure': rng.integers(1, 60, 200).astype(float), 'calls': rng.poisson(2, 200).astype(float)})\n"
    "y = (X.calls * 0.8 - X.tenure * 0.05 + rng.normal(0, 1, 200) > 0).astype(int)",
    "clf = LogisticRegression().fit(X, y)\nX_test = X.head(20)\nprint(round(clf.score(X, y), 4))",
]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def command_lines(prefix: str) -> list[str]:
    out = []
    for block in blocks("bash") + blocks("python"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(prefix):
                out.append(line)
    return out


def test_readme_names_the_two_commands_and_they_exist():
    assert "make demo" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


@pytest.fixture
def analysis(make_notebook):
    return make_notebook(ANALYSIS, name="analysis.ipynb")


def test_every_cli_line_of_the_readme_runs(analysis, tmp_path):
    lines = command_lines("jupyter deploy ")
    assert len(lines) >= 3, lines
    for line in lines:
        args = line.split()[2:]
        proc = run_cli(*args, cwd=analysis.parent)
        assert proc.returncode == 0, f"{line}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        if "--json" in args:
            json.loads(proc.stdout)


def test_quickstart_magics_run_in_a_real_kernel(make_notebook, tmp_path, monkeypatch):
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(message)

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Keep(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_PORT", str(port))
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_FROM", "notebooks@example.org")
        magic_lines = [ln for ln in command_lines("%") if ln != "%deploy"]
        assert any(ln.startswith("%deploy model") for ln in magic_lines)
        target = make_notebook(ANALYSIS, name="analysis.ipynb")
        # the driver runs the quickstart against the analysis notebook, whose objects it also holds
        cells = ANALYSIS + [
            ln if ln.startswith("%load_ext") else f"{ln} --notebook {target}" for ln in magic_lines
        ]
        from nbclient import NotebookClient
        from nbformat.v4 import new_code_cell, new_notebook

        nb = new_notebook(cells=[new_code_cell(c) for c in cells])
        NotebookClient(nb, kernel_name="python3", timeout=900, allow_errors=True,
                       resources={"metadata": {"path": str(target.parent)}}).execute()
        for cell in nb.cells[len(ANALYSIS):]:
            text = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                           for o in cell.outputs)
            assert "UsageError" not in text and "Error" not in text, f"{cell.source}\n{text}"
            assert "✘" not in text, f"{cell.source}\n{text}"
        assert received, "the report was not e-mailed"
        assert received[0]["To"] == "team@example.org"
    finally:
        smtp.stop()


def test_config_example_is_a_valid_config_file(tmp_path, monkeypatch):
    block = next(b for b in blocks("python") if "c.DeployConfig" in b)
    (tmp_path / "jupyter_deploy_config.py").write_text(block)
    code = textwrap.dedent("""
        from jupyter_deploy.config import deploy_config, get_config
        from jupyter_deploy import plugins
        conf = deploy_config()
        registry = plugins.backend_class("registry").default_destination(conf)
        print(conf.cell_timeout, conf.float_tolerance, conf.ignore_kinds, registry)
    """)
    proc = subprocess.run([PYTHON, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["300", "0.0001", "['wall-clock']", "s3://ml-models/registry"]


def test_plugin_example_works_through_a_real_entry_point(make_notebook, tmp_path):
    source = next(b for b in blocks("python") if "class SummaryTarget" in b)
    toml = next(b for b in blocks("toml") if "jupyter_deploy.targets" in b)
    site = tmp_path / "site"
    (site / "my_package").mkdir(parents=True)
    (site / "my_package" / "__init__.py").write_text("")
    (site / "my_package" / "targets.py").write_text(source)
    dist = site / "my_package-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my_package\nVersion: 1.0\n")
    group = re.search(r'\[project\.entry-points\."([^"]+)"\]\n(.*)', toml).groups()
    name, value = (part.strip().strip('"') for part in group[1].split("=", 1))
    (dist / "entry_points.txt").write_text(f"[{group[0]}]\n{name} = {value}\n")
    nb = make_notebook(["print('hello')"])
    env = {"PYTHONPATH": str(site) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = run_cli("summary", nb, "--title", "Hello", "--to", str(tmp_path / "repo"), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["target"] == "summary" and result["status"] == "ok"
    published = list((tmp_path / "repo").rglob("report.html"))
    assert published and "Hello" in published[0].read_text()
    proc = run_cli("targets", "--json", env=env)
    assert "summary" in [t["name"] for t in json.loads(proc.stdout)["targets"]]


def test_every_image_and_file_the_readme_links_exists():
    import re

    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)#\s]+)\)", text)
    local = [link for link in links if "://" not in link and not link.startswith("mailto:")]
    assert any(link.endswith(".png") for link in local)
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing, missing
