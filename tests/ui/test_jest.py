"""The TypeScript unit tests (jest, in jsdom), run through pytest so CI reads their result."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXT = Path(__file__).resolve().parents[2] / "labextension"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_jest_suite():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    from jdtest import need

    need(shutil.which("node", path=env["PATH"]) is not None
         and shutil.which("jlpm", path=env["PATH"]) is not None,
         "Node.js and jlpm (for the jest tests)", "apt-get install -y nodejs; pip install jupyterlab")
    if not (LABEXT / "node_modules" / ".bin" / "jest").exists():
        proc = subprocess.run(["jlpm", "install"], cwd=LABEXT, env=env, capture_output=True,
                              text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    env["CI"] = "true"  # jest: no watch mode, no interactive output
    proc = subprocess.run(["jlpm", "test"], cwd=LABEXT, env=env, capture_output=True, text=True,
                          timeout=800)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        pytest.fail(f"jest failed (exit {proc.returncode}):\n{output[-12000:]}")
    match = re.search(r"Tests:\s+(?:(\d+) failed, )?(\d+) passed, (\d+) total", output)
    assert match, output[-3000:]
    assert not match.group(1) and int(match.group(2)) == int(match.group(3)) >= 30, match.group(0)
    print(match.group(0))
