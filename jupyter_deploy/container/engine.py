"""Podman or docker, driven through their command lines, with their errors shown.

:func:`detect` finds an engine that answers ``podman info`` / ``docker info``. Every call that
fails raises an :class:`~jupyter_deploy.errors.EngineError` whose message carries the engine's own
words (the tail of its stderr), so a failed build is never reported as a bare exit status.

On machines where podman's defaults cannot run containers (cgroups v1 or hybrid, where crun fails;
a hard open-files limit below podman's default ulimits), :func:`detect` writes a
``containers.conf`` (runtime ``runc``, ulimits within the machine's limits) and points
``CONTAINERS_CONF`` at it for the engine's processes only. A ``CONTAINERS_CONF`` already set in the
environment is always respected.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from ..errors import EngineError

ENGINES = ("podman", "docker")
TAIL = 4000  # characters of an engine's output kept in an error message


class EngineNotFound(EngineError):
    code = "engine-not-found"
    status = 424


class BuildFailed(EngineError):
    code = "build-failed"


class BaseImageMissing(BuildFailed):
    code = "base-image-missing"


class PortInUse(EngineError):
    code = "port-in-use"
    status = 409


class PushFailed(EngineError):
    code = "push-failed"


class InitMissing(EngineError):
    """The engine cannot run ``--init`` (podman without catatonit, docker without docker-init)."""

    code = "engine-init-missing"
    status = 424


# What to install when an engine's --init helper is missing (Debian package names).
INIT_PACKAGES = {
    "podman": "Install podman's init helper: apt-get install catatonit "
              "(it provides /usr/libexec/podman/catatonit).",
    "docker": "Install docker's init helper: apt-get install tini (it provides docker-init).",
}


def init_helper_missing(engine: str, output: str) -> str:
    """The engine's own words when ``run --init`` failed for want of its init binary, else ""."""
    for line in (output or "").splitlines():
        low = line.lower()
        if ("container-init binary not found" in low or "catatonit" in low and "not found" in low
                or "docker-init" in low and ("not found" in low or "no such file" in low)):
            return line.strip()
    return ""


def tail(text: str | bytes | None, limit: int = TAIL) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def last_error_line(text: str) -> str:
    """The most telling line of an engine's output (the last one that says error)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        low = line.lower()
        if "error" in low or "failed" in low or "denied" in low or "not found" in low:
            return line
    return lines[-1] if lines else ""


def build_error_line(log: str) -> str:
    """The telling line of a failed build: the failing tool's own error (pip's "ERROR: ..."),
    rather than the engine's "Error: building at STEP ..." that follows it."""
    lines = [line.strip() for line in (log or "").splitlines() if line.strip()]
    engine_lines = ("error: building at step", "error: error building at step")
    for line in reversed(lines):
        low = line.lower()
        if low.startswith(engine_lines) or low.startswith("time="):
            continue
        if low.startswith("error") or " error:" in low or "no matching distribution" in low:
            return line
    return last_error_line(log)


# ------------------------------------------------------------------------------ containers.conf


def _hard_limit(which: int) -> int:
    try:
        return resource.getrlimit(which)[1]
    except (ValueError, OSError):  # pragma: no cover
        return resource.RLIM_INFINITY


def cgroups_unified() -> bool:
    """True on a pure cgroups v2 machine (where podman's default runtime crun works)."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def containers_conf_text(nofile: Optional[int] = None, nproc: Optional[int] = None,
                         runtime: Optional[str] = "runc") -> str:
    """A containers.conf that lets podman build and run where its defaults cannot.

    The ulimits stay at or below 20000 and below this process's hard limits (root on some
    machines cannot raise them: "setrlimit RLIMIT_NOFILE: Operation not permitted").
    """

    def cap(which, wanted):
        hard = _hard_limit(which)
        if hard == resource.RLIM_INFINITY or hard <= 0:
            return wanted
        return min(wanted, hard)

    nofile = nofile or cap(resource.RLIMIT_NOFILE, 16384)
    nproc = nproc or cap(resource.RLIMIT_NPROC, 16384)
    if nofile > 20000 or nproc > 20000:
        raise ValueError("ulimits in the generated containers.conf must be <= 20000")
    lines = [
        "# Written by jupyter-deploy (jupyter_deploy.container.engine.write_containers_conf).",
        "# Point podman at it with: export CONTAINERS_CONF=<this file>",
        "[containers]",
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]',
        "",
        "[engine]",
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
    ]
    if runtime:
        lines.append(f'runtime = "{runtime}"')
    return "\n".join(lines) + "\n"


def default_conf_path() -> Path:
    from ..config import deploy_config

    return deploy_config().home_path / "containers" / "containers.conf"


def write_containers_conf(path: Optional[os.PathLike | str] = None, *,
                          runtime: Optional[str] = "runc") -> Path:
    """Write (or refresh) a containers.conf for podman; returns its path."""
    target = Path(path) if path else default_conf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    text = containers_conf_text(runtime=runtime)
    if not target.exists() or target.read_text() != text:
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)
    return target


def podman_needs_conf() -> bool:
    """Whether podman's defaults are known not to work on this machine."""
    low_nofile = 0 < _hard_limit(resource.RLIMIT_NOFILE) < 1048576
    return (not cgroups_unified()) or low_nofile


# ------------------------------------------------------------------------------------ the engine


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Engine:
    """One working container engine and the environment to call it with."""

    name: str
    path: str
    env: dict = field(default_factory=dict)
    conf_path: Optional[str] = None
    version: str = ""

    # -- plumbing

    def command(self, *args: str) -> list[str]:
        return [self.path, *args]

    def shell_command(self, *args: str) -> str:
        """The same command as a person would type it (with CONTAINERS_CONF when we set it)."""
        prefix = f"CONTAINERS_CONF={shlex.quote(self.conf_path)} " if self.conf_path else ""
        return prefix + " ".join(shlex.quote(a) for a in [self.name, *args])

    def run_cmd(self, args: Sequence[str], *, timeout: float = 600, what: str = "",
                error_cls=EngineError, hint: str = "") -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(
                self.command(*args), env=self.env or None, capture_output=True, timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise error_cls(
                f"{self.name} {what or args[0]} did not finish within {int(timeout)} s: "
                f"{last_error_line(tail(exc.stderr)) or 'no output'}",
                hint=hint or "Check that the engine is healthy (podman info / docker info).",
                output=tail(exc.stderr),
            ) from exc
        except OSError as exc:
            raise EngineNotFound(f"Cannot run {self.path}: {exc}",
                                 hint="Reinstall the container engine.") from exc
        if proc.returncode != 0:
            err = tail(proc.stderr) or tail(proc.stdout)
            raise error_cls(
                f"{self.name} {what or args[0]} failed (exit {proc.returncode}): "
                f"{last_error_line(err) or 'no output'}",
                hint=hint or f"Run `{self.shell_command(*args)}` to see the engine's whole "
                "output (the end of it is in this error's details).",
                output=err,
                command=self.shell_command(*args),
            )
        return proc

    # -- images

    def image_exists(self, ref: str) -> bool:
        proc = subprocess.run(self.command("image", "inspect", ref), env=self.env or None,
                              capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        return proc.returncode == 0

    def image_info(self, ref: str) -> dict:
        proc = self.run_cmd(["image", "inspect", ref], what="image inspect", timeout=60)
        data = json.loads(proc.stdout or b"[]")
        info = data[0] if isinstance(data, list) and data else {}
        size = info.get("Size") or info.get("VirtualSize") or 0
        return {
            "id": str(info.get("Id", "")).replace("sha256:", ""),
            "size": int(size),
            "created": info.get("Created"),
            "tags": info.get("RepoTags") or [],
        }

    def build(self, context: os.PathLike | str, tag: str, *, build_args: Optional[dict] = None,
              timeout: float = 1800, network_host: bool = True) -> dict:
        """Build ``context``; returns image id, size, seconds and the build log's tail."""
        args = ["build", "-t", tag]
        if self.name == "podman":
            # Keep HEALTHCHECK and STOPSIGNAL (the OCI format drops HEALTHCHECK).
            args += ["--format", "docker"]
        if network_host:
            args += ["--network", "host"]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        args.append(str(context))
        base = (build_args or {}).get("BASE_IMAGE")
        start = time.monotonic()
        try:
            proc = subprocess.run(self.command(*args), env=self.env or None, capture_output=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise BuildFailed(
                f"{self.name} build of {tag} did not finish within {int(timeout)} s.",
                hint="Check the network to the package index, or raise the timeout.",
                output=tail(exc.stdout) + "\n" + tail(exc.stderr),
            ) from exc
        seconds = time.monotonic() - start
        log = tail((proc.stdout or b"").decode("utf-8", "replace") + "\n"
                   + (proc.stderr or b"").decode("utf-8", "replace"))
        if proc.returncode != 0:
            line = build_error_line(log)
            missing_base = base and any(
                s in log.lower() for s in ("manifest unknown", "name unknown", "not found",
                                           "pull access denied", "no such image",
                                           "initializing source", "repository does not exist",
                                           "failed to resolve", "short-name")
            ) and not self.image_exists(base)
            if missing_base:
                raise BaseImageMissing(
                    f"The base image {base!r} does not exist here and could not be pulled: {line}",
                    hint="Build one from Debian's packages with `python -m "
                    "jupyter_deploy.container.baseimage` (or `scripts/base-image`) and pass "
                    "--base-image localhost/jupyter-deploy-python:3.11-bookworm, or give an "
                    "image your registry serves.",
                    output=log,
                    command=self.shell_command(*args),
                )
            raise BuildFailed(
                f"{self.name} build of {tag} failed (exit {proc.returncode}): {line}",
                hint="The line above is the build's own error; the whole log is in this "
                f"error's details, or run `{self.shell_command(*args)}` in the context folder.",
                output=log,
                command=self.shell_command(*args),
            )
        info = self.image_info(tag)
        info.update({"seconds": round(seconds, 1), "tag": tag, "log_tail": tail(log, 1500),
                     "command": self.shell_command(*args)})
        return info

    def import_tar(self, tarball: os.PathLike | str, tag: str, changes: Sequence[str] = ()) -> str:
        args = ["import"]
        for change in changes:
            args += ["--change", change]
        args += [str(tarball), tag]
        proc = self.run_cmd(args, what="import", timeout=900)
        return proc.stdout.decode().strip().splitlines()[-1] if proc.stdout else ""

    def tag(self, src: str, dst: str) -> None:
        self.run_cmd(["tag", src, dst], what="tag", timeout=60)

    def rmi(self, ref: str) -> None:
        subprocess.run(self.command("rmi", "-f", ref), env=self.env or None,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)

    def push(self, image: str, destination: str, *, timeout: float = 900) -> str:
        """Tag ``image`` as ``destination`` and push it; returns the engine's output."""
        if destination != image:
            self.tag(image, destination)
        proc = self.run_cmd(
            ["push", destination], what=f"push to {destination}", timeout=timeout,
            error_cls=PushFailed,
            hint="Check the registry's address and that you are logged in "
            f"(`{self.name} login REGISTRY`); the image stays built locally as {image}.",
        )
        return tail(proc.stdout) + tail(proc.stderr)

    # -- containers

    def run(self, image: str, *, host_port: int, container_port: int = 8000,
            name: Optional[str] = None, env: Optional[dict] = None, init: bool = True,
            host: str = "127.0.0.1") -> str:
        if not port_free(host_port, host):
            raise PortInUse(
                f"Port {host_port} on {host} is already in use, so the container cannot "
                "publish its API there.",
                hint="Pass another --port, or 0 to pick a free one.",
            )
        args = ["run", "-d"]
        if init:
            args.append("--init")
        if name:
            args += ["--name", name]
        args += ["-p", f"{host}:{host_port}:{container_port}"]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        args.append(image)
        try:
            proc = self.run_cmd(args, what="run", timeout=180)
        except EngineError as exc:
            missing = init and init_helper_missing(self.name, exc.details.get("output", ""))
            if missing:
                raise InitMissing(
                    f"{self.name} cannot run containers with --init here: its init helper "
                    f"is missing ({missing}).",
                    hint=INIT_PACKAGES[self.name], output=exc.details.get("output", ""),
                    command=exc.details.get("command", ""),
                ) from exc
            raise
        return proc.stdout.decode().strip().splitlines()[-1]

    def logs(self, container: str) -> str:
        proc = subprocess.run(self.command("logs", container), env=self.env or None,
                              capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        return tail((proc.stdout or b"") + (proc.stderr or b""))

    def running(self, container: str) -> bool:
        proc = subprocess.run(
            self.command("inspect", "--format", "{{.State.Running}}", container),
            env=self.env or None, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        return proc.returncode == 0 and proc.stdout.decode().strip().lower() == "true"

    def stop(self, container: str, timeout: int = 10) -> float:
        """Stop a container with SIGTERM (SIGKILL after ``timeout``); returns the seconds taken."""
        start = time.monotonic()
        subprocess.run(self.command("stop", "-t", str(timeout), container), env=self.env or None,
                       capture_output=True, timeout=timeout + 60, stdin=subprocess.DEVNULL)
        return time.monotonic() - start

    def rm(self, container: str) -> None:
        subprocess.run(self.command("rm", "-f", container), env=self.env or None,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)


# ------------------------------------------------------------------------------------ detection


def _probe(name: str, conf_dir: Optional[Path]) -> tuple[Optional[Engine], str]:
    path = shutil.which(name)
    if not path:
        return None, f"{name}: not installed"
    env = dict(os.environ)
    conf_path = None
    if name == "podman" and "CONTAINERS_CONF" not in env and podman_needs_conf():
        runtime = "runc" if (not cgroups_unified() and shutil.which("runc")) else None
        target = (conf_dir / "containers.conf") if conf_dir else None
        conf_path = str(write_containers_conf(target, runtime=runtime))
        env["CONTAINERS_CONF"] = conf_path
    try:
        proc = subprocess.run([path, "info", "--format", "json"], env=env, capture_output=True,
                              timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"{name}: `{name} info` did not answer ({exc})"
    if proc.returncode != 0:
        return None, f"{name}: `{name} info` failed: {last_error_line(tail(proc.stderr))}"
    version = ""
    try:
        data = json.loads(proc.stdout or b"{}")
        version = (data.get("version") or {}).get("Version") or data.get("ServerVersion") or ""
    except ValueError:
        pass
    return Engine(name=name, path=path, env=env, conf_path=conf_path, version=str(version)), ""


def detect(preference: str = "auto", *, conf_dir: Optional[os.PathLike | str] = None) -> Engine:
    """The first working engine (``preference`` "auto", "podman" or "docker").

    Raises :class:`EngineNotFound` naming what was tried and what to install.
    """
    if preference not in ("auto", *ENGINES):
        from ..errors import UsageError

        raise UsageError(f"Unknown container engine {preference!r}.",
                         hint="Use podman, docker or auto.")
    names = ENGINES if preference == "auto" else (preference,)
    reasons = []
    for name in names:
        engine, why = _probe(name, Path(conf_dir) if conf_dir else None)
        if engine is not None:
            return engine
        reasons.append(why)
    raise EngineNotFound(
        "No container engine works here (" + "; ".join(reasons) + ").",
        hint="Install podman (apt-get install podman buildah runc) or docker and make "
        "`podman info` / `docker info` succeed; the build context is complete and can be built "
        "later with `podman build -t IMAGE .` in its folder.",
        tried=reasons,
    )


def available(preference: str = "auto", **kwargs) -> Optional[Engine]:
    try:
        return detect(preference, **kwargs)
    except EngineError:
        return None
