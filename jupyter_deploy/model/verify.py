"""Prove a published version: load it in a fresh process and predict on the sample.

``verify_fresh`` runs :mod:`jupyter_deploy.model.standalone` as a script in a new ``python -I``
process (no user site, no PYTHONPATH, no notebook folder on the path): it checks every hash (and
the signature), unpickles, rebuilds the sample with its dtypes, predicts and compares with the
expected outputs. ``verify_isolated`` does the same in a brand-new virtual environment that holds
only ``requirements.txt`` -- the proof that the pinned requirements are enough.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from .. import tmp as _tmp
from .standalone import REQUIREMENTS, SIGNING_ENV

_KEY_ENV = "JUPYTER_DEPLOY_VERIFY_KEY"


def _script_copy(folder: Path) -> Path:
    src = Path(__file__).with_name("standalone.py")
    dst = folder / "jd_verify_artefact.py"
    shutil.copyfile(src, dst)
    return dst


def _run(python: str, artefact: Path, signing_key: Optional[bytes], timeout: float) -> dict:
    with _tmp.temporary_directory(prefix="jupyter-deploy-verify-") as tmp:
        script = _script_copy(Path(tmp))
        env = {k: v for k, v in os.environ.items() if k != SIGNING_ENV}
        if signing_key:
            env[_KEY_ENV] = signing_key.decode("utf-8", "surrogateescape")
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                [python, "-I", str(script), str(artefact), "--signing-key-env", _KEY_ENV],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=tmp,  # not the notebook's folder: nothing local to import by accident
                env=env,
            )
        except subprocess.TimeoutExpired:
            return {"ok": False, "stage": "timeout",
                    "detail": f"the fresh process did not finish in {timeout:.0f} s"}
        except OSError as exc:
            return {"ok": False, "stage": "start", "detail": f"cannot run {python}: {exc}"}
        elapsed = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip().startswith("{")]
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        result = {"ok": False, "stage": "crash",
                  "detail": f"the fresh process exited with {proc.returncode}: {tail[0]}"}
    result["seconds"] = round(elapsed, 3)
    result["python_executable"] = python
    return result


def verify_fresh(artefact: os.PathLike | str, *, python: Optional[str] = None,
                 signing_key: Optional[bytes] = None, timeout: float = 300) -> dict:
    """Load and check the artefact folder in a fresh ``python -I`` process; a JSON-able result."""
    from .signing import signing_key as _key

    return _run(python or sys.executable, Path(artefact).resolve(), _key(signing_key), timeout)


def find_uv() -> Optional[str]:
    here = Path(sys.executable).with_name("uv")
    if here.exists():
        return str(here)
    return shutil.which("uv")


def make_venv(folder: Path, requirements: Path, *, timeout: float = 900) -> str:
    """A fresh virtual environment in ``folder`` with only ``requirements`` installed."""
    uv = find_uv()
    if uv:
        py = folder / "bin" / "python"
        steps = [
            [uv, "venv", "--quiet", "--python", sys.executable, str(folder)],
            [uv, "pip", "install", "--quiet", "--python", str(py), "-r", str(requirements)],
        ]
    else:
        py = folder / "bin" / "python"
        steps = [
            [sys.executable, "-m", "venv", str(folder)],
            [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "-r", str(requirements)],
        ]
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(f"{' '.join(cmd[:3])} did not finish in {timeout:.0f} s") from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"{' '.join(cmd[:3])} failed: {' | '.join(tail)}")
    return str(py)


def verify_isolated(artefact: os.PathLike | str, *, signing_key: Optional[bytes] = None,
                    timeout: float = 900) -> dict:
    """Like :func:`verify_fresh`, in a new virtual environment built from requirements.txt only."""
    from .signing import signing_key as _key

    artefact = Path(artefact).resolve()
    with _tmp.temporary_directory(prefix="jupyter-deploy-venv-") as tmp:
        start = time.perf_counter()
        try:
            python = make_venv(Path(tmp) / "venv", artefact / REQUIREMENTS, timeout=timeout)
        except RuntimeError as exc:
            return {"ok": False, "stage": "install",
                    "detail": f"requirements.txt does not install: {exc}"}
        install = time.perf_counter() - start
        result = _run(python, artefact, _key(signing_key), timeout)
        result["install_seconds"] = round(install, 3)
        if not result.get("ok") and "No module named" in str(result.get("detail")):
            result["detail"] = (f"requirements.txt is not enough: {result['detail']}")
        return result
