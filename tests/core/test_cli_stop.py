"""`jupyter deploy` stopped with SIGTERM or killed with SIGKILL: what is left (issue 13, item 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from jdtest import PYTHON

pytestmark = pytest.mark.kernel


def start(args, cwd, env):
    return subprocess.Popen([PYTHON, "-m", "jupyter_deploy", *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_kernel(proc, timeout=90):
    """Until the clean run's kernel is a child of the CLI (the check is running)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = psutil.Process(proc.pid).children()
        if any("ipykernel" in " ".join(k.cmdline()) for k in kids):
            return [k.pid for k in psutil.Process(proc.pid).children(recursive=True)]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    raise AssertionError("the kernel never started")


@pytest.fixture
def sleepy(make_notebook, tmp_path):
    return make_notebook(["import time\ntime.sleep(60)"], execute=False)


def test_sigterm_stops_a_check_in_order(sleepy, tmp_path, deploy_home):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(system_tmp))
    proc = start(["model", sleepy, "--name", "m", "--var", "m"], tmp_path, env)
    kids = wait_for_kernel(proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    lines = [ln for ln in err.splitlines() if ln.startswith("jupyter deploy:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("jupyter deploy: error: The deploy was cancelled during check; "
                               "nothing was handed off."), err
    time.sleep(0.3)
    import psutil

    assert [p for p in kids if psutil.pid_exists(p)
            and psutil.Process(p).status() != psutil.STATUS_ZOMBIE] == []
    assert list((deploy_home / "tmp").rglob("*")) == []
    assert list(system_tmp.rglob("*")) == []
    assert not (deploy_home / "history.jsonl").exists()


def test_sigkill_leaves_a_folder_that_the_next_check_sweeps(sleepy, make_notebook, tmp_path,
                                                            deploy_home):
    proc = start(["check", sleepy], tmp_path, dict(os.environ))
    wait_for_kernel(proc)
    assert list((deploy_home / "tmp").rglob("*")), "the sandbox is in the tool's temp folder"
    proc.kill()
    proc.communicate()
    quick = make_notebook(["print(1)"], name="quick.ipynb")
    done = subprocess.run([PYTHON, "-m", "jupyter_deploy", "check", quick], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list((deploy_home / "tmp").rglob("*")) == []
