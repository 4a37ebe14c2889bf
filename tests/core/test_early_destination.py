"""An unsupported --to scheme is refused before the check: no kernel, nothing written, at once.

The same api.deploy serves the CLI, the magic and the REST worker (the REST handler also refuses
it with a 400 before starting a job: tests/server/test_rest_limits.py)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from jdtest import PYTHON, run_cli

NB = ["x = 1\nprint(x)"]

# the clock starts at the deploy call (imports of IPython and the CLI module are not the check)
PROBE = """
import json, sys, time
{call}
print(json.dumps({{"error": err, "seconds": time.perf_counter() - t,
                  "kernel_modules": [m for m in ("nbclient", "jupyter_client")
                                     if m in sys.modules]}}))
"""

CALLS = {
    "api": (
        "import jupyter_deploy.api as api\nfrom jupyter_deploy.errors import DeployError\n"
        "t = time.perf_counter()\ntry:\n    api.deploy('report', {nb!r}, to='gopher://example.org/site')\n    err = None\n"
        "except DeployError as exc:\n    err = exc.one_line()\n"
    ),
    "magic": (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from IPython.core.error import UsageError\n"
        "sh = InteractiveShell.instance()\nsh.run_line_magic('load_ext', 'jupyter_deploy')\n"
        "t = time.perf_counter()\ntry:\n    sh.run_line_magic('deploy', 'report --notebook {nb} --to gopher://example.org/s')"
        "\n    err = None\nexcept UsageError as exc:\n    err = str(exc)\n"
    ),
    "cli-main": (
        "from jupyter_deploy.cli import main\nimport io, contextlib\nbuf = io.StringIO()\n"
        "t = time.perf_counter()\nwith contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):\n"
        "    code = main(['report', {nb!r}, '--to', 'gopher://example.org/site'])\n"
        "err = buf.getvalue() if code else None\n"
    ),
}


def _home_files(home):
    return sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) if home.exists() else []


@pytest.mark.parametrize("front", sorted(CALLS))
def test_unsupported_scheme_fails_before_the_check(front, make_notebook, deploy_home):
    nb = make_notebook(NB, execute=False)
    before = nb.read_bytes()
    code = PROBE.format(call=CALLS[front].format(nb=str(nb)))
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["error"] and "gopher://" in out["error"] and "No backend" in out["error"], out
    assert out["kernel_modules"] == [], out  # no clean re-run was started
    assert out["seconds"] < 1.0, out
    assert _home_files(deploy_home) == []  # no history, no check cache, no bundle
    assert nb.read_bytes() == before
    assert sorted(p.name for p in nb.parent.iterdir()) == [nb.name]


def test_cli_exits_2_at_once(make_notebook, deploy_home):
    nb = make_notebook(NB, execute=False)
    start = time.monotonic()
    proc = run_cli("report", nb, "--to", "gopher://example.org/site")
    seconds = time.monotonic() - start
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = (proc.stdout + proc.stderr).strip()
    assert "No backend takes report bundles to gopher:// URLs" in text
    assert "Traceback" not in text
    assert seconds < 10  # interpreter start included; the check alone takes longer
    assert _home_files(deploy_home) == []
