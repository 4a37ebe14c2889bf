"""The two-step proof that a build context serves the notebook's model.

Step 1 (always, no engine needed): a fresh virtual environment from the context's
``requirements.txt`` (``uv`` when available, else ``venv`` + pip), the API started on 127.0.0.1,
the sample POSTed (split form and records), the answers compared with the notebook model's
predictions, a bad request answered 422, the server stopped with SIGTERM.

Step 2 (with an engine): the image built, run with ``--init`` on a 127.0.0.1 port, the same
comparisons against the container, its id and size recorded, then stopped and removed.

Each check is a :class:`~jupyter_deploy.bundle.Proof`; nothing here raises for a failed
check (a failed check is a proof with ``ok=False`` and the reason), only for misuse.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Optional

from ..bundle import Proof
from .engine import Engine, EngineError, free_port, last_error_line, tail

HEALTH_TIMEOUT = 90.0


def find_uv() -> Optional[str]:
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else None


def _noop(*_a, **_k):
    return None


# ------------------------------------------------------------------------------ HTTP helpers


def http(method: str, url: str, body=None, timeout: float = 30.0, raw: Optional[bytes] = None):
    """(status, parsed JSON or text) with the standard library only."""
    import urllib.error
    import urllib.request

    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, payload = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    text = payload.decode("utf-8", "replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_healthy(base_url: str, *, timeout: float = HEALTH_TIMEOUT,
                 alive: Callable[[], bool] = lambda: True) -> Optional[str]:
    """None once GET /health answers 200, else why not."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            return "the server exited"
        try:
            status, body = http("GET", base_url + "/health", timeout=3)
            if status == 200:
                return None
            last = f"/health answered {status}: {str(body)[:200]}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.25)
    return f"no healthy answer within {int(timeout)} s ({last})"


# ------------------------------------------------------------------------------ the comparisons


def bad_request(sample: dict) -> Optional[tuple[list, str]]:
    """A request that must be refused: the sample's first row without its first column."""
    inputs = (sample or {}).get("inputs") or {}
    cols, data = inputs.get("columns"), inputs.get("data")
    if cols and data:
        record = dict(zip(cols, data[0]))
        dropped = cols[0]
        record.pop(dropped)
        return [record], dropped
    if data:
        return [data[0][:-1] if isinstance(data[0], list) and len(data[0]) > 1 else ["x"]], ""
    return None


def exercise_api(base_url: str, context: Path, where: str) -> list[Proof]:
    """POST the sample (split form and records), compare, send a bad request, read /metadata."""
    from ..model.standalone import compare_outputs

    proofs = []
    sample = json.loads((context / "model" / "sample.json").read_text())
    inputs = sample.get("inputs")
    status, meta = http("GET", base_url + "/metadata")
    proofs.append(Proof(f"{where}: /metadata", status == 200 and isinstance(meta, dict),
                        f"GET /metadata answered {status}",
                        {"name": meta.get("name") if isinstance(meta, dict) else None}))
    if not inputs:
        proofs.append(Proof(f"{where}: predictions", True,
                            "no sample to compare (deploy with --sample X_test to compare the "
                            "API's answers with the notebook's)", {"rows": 0}))
        return proofs
    expected = {k: sample.get(k) for k in ("predictions", "probabilities", "classes")}
    as_what = "as the notebook's model did"
    try:
        handler = json.loads((context / "model" / "metadata.json").read_text()).get(
            "serving_handler")
    except (OSError, ValueError, AttributeError):
        handler = None
    if handler:
        call = "model.predict(preprocess(sample))" if "preprocess" in handler.get(
            "functions", ()) else "model.predict(sample)"
        if "postprocess" in handler.get("functions", ()):
            call = f"postprocess({call}, sample)"
        as_what = f"as {call} did with the notebook's clean run (the %%deploy handler)"
    bodies = [("split", inputs)]
    if inputs.get("columns"):
        bodies.append(("records", [dict(zip(inputs["columns"], row)) for row in inputs["data"]]))
    for form, body in bodies:
        start = time.perf_counter()
        status, got = http("POST", base_url + "/predict", body)
        ms = (time.perf_counter() - start) * 1000
        if status != 200 or not isinstance(got, dict):
            proofs.append(Proof(f"{where}: predictions ({form})", False,
                                f"POST /predict answered {status}: {str(got)[:300]}"))
            continue
        diff = compare_outputs(expected, got)
        rows = len(got.get("predictions") or [])
        proofs.append(Proof(
            f"{where}: predictions ({form})", diff is None,
            diff or f"{rows} sample rows: the API answers {as_what}",
            {"rows": rows, "ms": round(ms, 1)}))
    bad = bad_request(sample)
    if bad is not None:
        body, dropped = bad
        status, got = http("POST", base_url + "/predict", body)
        msgs = [d.get("msg", "") for d in (got.get("detail") or [])] if isinstance(got, dict) \
            and isinstance(got.get("detail"), list) else []
        names_it = (not dropped) or any(dropped in m for m in msgs)
        ok = status == 422 and names_it
        proofs.append(Proof(
            f"{where}: rejects bad input", ok,
            f"a record without column {dropped!r} answered {status}"
            + (f": {msgs[0]}" if msgs else f": {str(got)[:200]}"),
            {"status": status}))
    return proofs


# ------------------------------------------------------------------------------ step 1


class RequirementsFailed(Exception):
    pass


def make_venv(requirements: Path, dest: Path, *, python: Optional[str] = None,
              timeout: float = 1200) -> tuple[Path, str]:
    """A fresh venv with ``requirements``; returns (its python, the tool used)."""
    python = python or sys.executable
    uv = find_uv()
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    if uv:
        steps = [[uv, "venv", "--quiet", "--python", python, str(dest)],
                 [uv, "pip", "install", "--quiet", "--python", str(dest / "bin" / "python"),
                  "-r", str(requirements)]]
        tool = "uv"
    else:
        steps = [[python, "-m", "venv", str(dest)],
                 [str(dest / "bin" / "python"), "-m", "pip", "install", "--quiet",
                  "--disable-pip-version-check", "-r", str(requirements)]]
        tool = "pip"
    for cmd in steps:
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise RequirementsFailed(f"{' '.join(cmd[:3])} did not finish within "
                                     f"{int(timeout)} s") from exc
        if proc.returncode != 0:
            out = tail(proc.stderr, 1500) or tail(proc.stdout, 1500)
            raise RequirementsFailed(out or f"exit {proc.returncode}")
    return dest / "bin" / "python", tool


class LocalServer:
    """The generated API run by a given Python on 127.0.0.1 (a context manager)."""

    def __init__(self, context: Path, python: os.PathLike | str, port: Optional[int] = None,
                 env: Optional[dict] = None):
        self.context = Path(context)
        self.python = str(python)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.proc: Optional[subprocess.Popen] = None
        from .. import tmp as _tmp

        fd, log = _tmp.mkstemp(prefix="jd-api-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log)

    def start(self) -> "LocalServer":
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update({"HOST": "127.0.0.1", "PORT": str(self.port),
                    "MODEL_DIR": str(self.context / "model"), "ACCESS_LOG": "0",
                    "PYTHONDONTWRITEBYTECODE": "1"})
        env.update(self.env)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([self.python, str(self.context / "app.py")],
                                     cwd=str(self.context), env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return tail(self.log_path.read_text(errors="replace"), 2000)
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> tuple[float, Optional[int]]:
        """SIGTERM, wait; returns (seconds to exit, exit code); SIGKILL after ``timeout``."""
        if self.proc is None:
            return 0.0, None
        start = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        seconds = time.monotonic() - start
        try:
            self._log.close()
        except Exception:  # noqa: BLE001
            pass
        return seconds, self.proc.returncode

    def close(self):
        self.stop()
        try:
            self.log_path.unlink()
        except OSError:
            pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


def prove_local(context: os.PathLike | str, *, reporter=_noop, python: Optional[str] = None,
                workdir: Optional[os.PathLike | str] = None) -> tuple[list[Proof], dict]:
    """Step 1. Returns (proofs, details)."""
    context = Path(context)
    details: dict = {}
    tmp = Path(tempfile.mkdtemp(prefix="jd-venv-", dir=workdir))
    try:
        reporter("verify", 0, 4, "step 1: a fresh venv from requirements.txt")
        start = time.monotonic()
        try:
            py, tool = make_venv(context / "requirements.txt", tmp / "venv", python=python)
        except RequirementsFailed as exc:
            line = last_error_line(str(exc))
            return [Proof("api-local: requirements install", False,
                          f"requirements.txt does not install in a fresh venv: {line}",
                          {"output": str(exc)})], details
        details["venv_seconds"] = round(time.monotonic() - start, 1)
        details["venv_tool"] = tool
        proofs = [Proof("api-local: requirements install", True,
                        f"a fresh venv installed requirements.txt with {tool} in "
                        f"{details['venv_seconds']} s", {"tool": tool})]
        reporter("verify", 1, 4, "step 1: starting the API on 127.0.0.1")
        server = LocalServer(context, py)
        server.start()
        try:
            start = time.monotonic()
            why = wait_healthy(server.base_url, alive=server.alive)
            if why:
                proofs.append(Proof("api-local: starts", False,
                                    f"the API did not start: {why}; its log ends with: "
                                    f"{last_error_line(server.log())}",
                                    {"log": server.log()}))
                return proofs, details
            details["startup_seconds"] = round(time.monotonic() - start, 2)
            proofs.append(Proof("api-local: starts", True,
                                f"GET /health answered 200 after {details['startup_seconds']} s",
                                {"url": server.base_url}))
            reporter("verify", 2, 4, "step 1: POSTing the sample")
            proofs += exercise_api(server.base_url, context, "api-local")
        finally:
            reporter("verify", 3, 4, "step 1: stopping the API (SIGTERM)")
            seconds, code = server.stop()
            log = server.log()
            server.close()
        stopped = seconds < 8 and code is not None and code != -signal.SIGKILL
        proofs.append(Proof("api-local: stops on SIGTERM", stopped,
                            f"exited {code} {seconds:.2f} s after SIGTERM",
                            {"seconds": round(seconds, 2), "exit": code}))
        details["local_log_tail"] = tail(log, 600)
        reporter("verify", 4, 4, "step 1 done")
        return proofs, details
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------------------ step 2


def prove_image(context: os.PathLike | str, engine: Engine, *, tag: str, base_image: str = "",
                port: int = 0, push: str = "", reporter=_noop,
                keep_image: bool = True) -> tuple[list[Proof], dict]:
    """Step 2: build, run with --init on 127.0.0.1, compare, record id and size, stop."""
    context = Path(context)
    details: dict = {"engine": engine.name, "image": tag}
    build_args = {"BASE_IMAGE": base_image} if base_image else {}
    reporter("verify", 0, 4, f"step 2: {engine.name} build -t {tag}")
    try:
        info = engine.build(context, tag, build_args=build_args)
    except EngineError as exc:
        details["build_output"] = exc.details.get("output", "")
        details["build_command"] = exc.details.get("command", "")
        return [Proof("image: build", False, exc.one_line()[:2000],
                      {"output": exc.details.get("output", "")})], details
    details.update({"image_id": info["id"], "image_size": info["size"],
                    "build_seconds": info["seconds"], "build_command": info["command"]})
    proofs = [Proof("image: build", True,
                    f"built {tag} ({info['size'] / 1e6:.0f} MB, id {info['id'][:12]}) in "
                    f"{info['seconds']} s",
                    {"id": info["id"], "size": info["size"], "seconds": info["seconds"]})]
    host_port = port or free_port()
    name = f"jd-proof-{uuid.uuid4().hex[:10]}"
    reporter("verify", 1, 4, f"step 2: running {tag} on 127.0.0.1:{host_port}")
    try:
        cid = engine.run(tag, host_port=host_port, name=name, init=True)
    except EngineError as exc:
        proofs.append(Proof("image: runs", False, exc.one_line()[:2000]))
        engine.rm(name)
        return proofs, details
    details["container"] = name
    base_url = f"http://127.0.0.1:{host_port}"
    try:
        start = time.monotonic()
        why = wait_healthy(base_url, alive=lambda: engine.running(cid))
        if why:
            logs = engine.logs(cid)
            proofs.append(Proof("image: runs", False,
                                f"the container did not become healthy: {why}; its log ends "
                                f"with: {last_error_line(logs)}", {"log": logs}))
            return proofs, details
        details["startup_seconds"] = round(time.monotonic() - start, 2)
        proofs.append(Proof("image: runs", True,
                            f"{base_url}/health answered 200 after {details['startup_seconds']} s "
                            "(run with --init, published on 127.0.0.1 only)",
                            {"url": base_url}))
        reporter("verify", 2, 4, "step 2: POSTing the sample to the container")
        proofs += exercise_api(base_url, context, "image")
    finally:
        reporter("verify", 3, 4, "step 2: stopping the container (SIGTERM)")
        seconds = engine.stop(cid, timeout=10)
        engine.rm(cid)
    proofs.append(Proof("image: stops on SIGTERM", seconds < 8,
                        f"stopped {seconds:.2f} s after SIGTERM", {"seconds": round(seconds, 2)}))
    if push:
        reporter("verify", 3, 4, f"step 2: pushing to {push}")
        try:
            engine.push(tag, push)
            proofs.append(Proof("image: push", True, f"pushed {tag} to {push}", {"to": push}))
            details["pushed"] = push
        except EngineError as exc:
            proofs.append(Proof("image: push", False, exc.one_line()[:2000], {"to": push}))
    if not keep_image:
        engine.rmi(tag)
    reporter("verify", 4, 4, "step 2 done")
    return proofs, details
