"""A Python base image made from Debian's packages, for machines that reach no container registry.

``FROM python:3.11-slim`` needs a registry. Where only Debian's archive is reachable, this builds
an equivalent image: ``debootstrap --variant=minbase bookworm`` with python3 and python3-venv
(Debian bookworm's python3 is 3.11), trimmed of docs and apt lists, then ``podman import`` /
``docker import``. The image is cached on the machine by tag; a second call returns at once.

Debian's pip is "externally managed", so the generated Dockerfile always makes its own venv
(``python3 -m venv /opt/venv``) -- which works the same on ``python:X.Y-slim``.

    python -m jupyter_deploy.container.baseimage [--tag TAG] [--engine podman|docker] [--force]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Optional

from ..errors import EngineError
from .engine import Engine, detect, tail

DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Debian's python3 per suite (the tag says which Python the image has).
SUITE_PYTHON = {"bookworm": "3.11", "trixie": "3.13", "bullseye": "3.9"}
# No python3-pip: the Dockerfile installs into its own venv, whose pip comes from python3-venv's
# bundled wheel (ensurepip). Debian's pip, setuptools, wheel and pkg_resources weighed 25 MB.
PACKAGES = ("python3", "python3-venv", "ca-certificates")
TRIM = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
        "var/cache/apt/archives", "var/lib/apt/lists", "var/cache/debconf/templates.dat-old",
        "var/log/apt", "var/log/dpkg.log", "var/log/bootstrap.log")


def default_tag(suite: str = DEFAULT_SUITE) -> str:
    return f"localhost/jupyter-deploy-python:{SUITE_PYTHON.get(suite, suite)}-{suite}"


DEFAULT_TAG = default_tag()


class BaseImageError(EngineError):
    code = "base-image"


def _mirror() -> str:
    """The Debian mirror this machine's apt uses (falls back to deb.debian.org)."""
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")) + [
            Path("/etc/apt/sources.list")]:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("URIs:") and "security" not in line:
                return line.split(":", 1)[1].strip().split()[0]
            if line.startswith("deb ") and "security" not in line:
                parts = line.split()
                uri = next((p for p in parts[1:] if "://" in p), None)
                if uri:
                    return uri
    return DEFAULT_MIRROR


RECIPE = "3"  # bump when the image's recipe changes: cached images of older recipes are rebuilt
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")


def local_cas() -> list[Path]:
    """The machine's own extra CA certificates (a TLS-intercepting proxy's, a company's)."""
    if not LOCAL_CA_DIR.is_dir():
        return []
    return sorted(p for p in LOCAL_CA_DIR.rglob("*.crt") if p.is_file())


def recipe_id() -> str:
    """The recipe and the local CAs baked in: a cached image with another id is rebuilt."""
    import hashlib

    h = hashlib.sha256(RECIPE.encode())
    for p in local_cas():
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return f"{RECIPE}-{h.hexdigest()[:12]}"


def _labels(engine: Engine, tag: str) -> dict:
    import json

    proc = subprocess.run(engine.command("image", "inspect", tag), env=engine.env or None,
                          capture_output=True, timeout=60)
    try:
        info = json.loads(proc.stdout or b"[]")[0]
    except (ValueError, IndexError):
        return {}
    config = info.get("Config") or {}
    return config.get("Labels") or info.get("Labels") or {}


def _tar_dir(root: Path, out: Path) -> None:
    with tarfile.open(out, "w") as tar:
        for entry in sorted(os.listdir(root)):
            tar.add(root / entry, arcname=entry, recursive=True)


def build_base_image(tag: str = DEFAULT_TAG, *, engine: Optional[Engine] = None,
                     suite: str = DEFAULT_SUITE, mirror: Optional[str] = None,
                     force: bool = False, workdir: Optional[os.PathLike | str] = None,
                     log=print) -> dict:
    """Build (or reuse) a Python base image from Debian packages; returns tag, id, size, seconds."""
    engine = engine or detect("auto")
    recipe = recipe_id()
    if not force and engine.image_exists(tag) and _labels(engine, tag).get(
            "io.jupyter-deploy.base-recipe") == recipe:
        info = engine.image_info(tag)
        info.update({"tag": tag, "cached": True, "seconds": 0.0, "engine": engine.name})
        return info
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    if not debootstrap:
        raise BaseImageError(
            "debootstrap is not installed, so no base image can be made from Debian packages.",
            hint="apt-get install -y debootstrap (or pass --base-image with an image your "
            "registry serves).",
        )
    if os.geteuid() != 0:
        raise BaseImageError("Building a base image with debootstrap needs root.",
                             hint="Run it as root, or pass --base-image with an existing image.")
    mirror = mirror or _mirror()
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="jd-baseimage-", dir=workdir))
    root = tmp / "rootfs"
    try:
        log(f"debootstrap {suite} from {mirror} ...")
        cmd = [debootstrap, "--variant=minbase", "--include=" + ",".join(PACKAGES), suite,
               str(root), mirror]
        proc = subprocess.run(cmd, capture_output=True, timeout=1800, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            out = tail(proc.stdout) + "\n" + tail(proc.stderr)
            log_file = root / "debootstrap" / "debootstrap.log"
            if log_file.exists():
                out += "\n" + tail(log_file.read_text(errors="replace"), 1500)
            raise BaseImageError(f"debootstrap {suite} failed (exit {proc.returncode}).",
                                 hint=f"Its output ends with: {tail(out, 1200)}")
        for rel in TRIM:
            p = root / rel
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                p.mkdir(parents=True, exist_ok=True)
            elif p.exists():
                p.unlink()
        # An empty resolv.conf/hostname: the engine provides its own at run time.
        for rel in ("etc/resolv.conf", "etc/hostname"):
            p = root / rel
            if p.exists() or p.is_symlink():
                p.unlink()
            p.write_text("")
        # Trust the machine's own CAs too, so that pip in a build works behind the same
        # TLS-intercepting proxy as the host (pip reads /etc/pip.conf).
        cas = local_cas()
        if cas:
            dest_dir = root / "usr/local/share/ca-certificates"
            dest_dir.mkdir(parents=True, exist_ok=True)
            for ca in cas:
                shutil.copyfile(ca, dest_dir / ca.name)
            upd = subprocess.run(["chroot", str(root), "update-ca-certificates"],
                                 capture_output=True, timeout=300)
            if upd.returncode != 0:
                raise BaseImageError("update-ca-certificates failed in the Debian root.",
                                     hint=tail(upd.stderr, 800))
        (root / "etc/pip.conf").write_text(
            "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
        check = subprocess.run(["chroot", str(root), "python3", "-c",
                                "import sys, venv, ensurepip; print(sys.version.split()[0])"],
                               capture_output=True, timeout=120)
        if check.returncode != 0:
            raise BaseImageError("The Debian root has no working python3 with venv.",
                                 hint=tail(check.stderr, 800))
        py_version = check.stdout.decode().strip()
        tarball = tmp / "rootfs.tar"
        log(f"packing {root} (python {py_version}) ...")
        _tar_dir(root, tarball)
        log(f"{engine.name} import -> {tag}")
        engine.import_tar(tarball, tag, changes=[
            'CMD ["python3"]',
            "ENV LANG=C.UTF-8",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            f"LABEL io.jupyter-deploy.base-recipe={recipe}",
            f"LABEL org.opencontainers.image.description=Debian {suite} python3 {py_version} "
            "made by jupyter-deploy",
        ])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info = engine.image_info(tag)
    info.update({"tag": tag, "cached": False, "seconds": round(time.monotonic() - start, 1),
                 "engine": engine.name, "python": py_version})
    return info


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_deploy.container.baseimage",
        description="Build a Python base image from Debian packages (cached by tag).")
    parser.add_argument("--tag", default=None, help=f"image tag (default {DEFAULT_TAG})")
    parser.add_argument("--suite", default=DEFAULT_SUITE, help="Debian suite (default bookworm)")
    parser.add_argument("--engine", default="auto", choices=["auto", "podman", "docker"])
    parser.add_argument("--mirror", default=None, help="Debian mirror (default: apt's own)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    args = parser.parse_args(argv)
    from ..errors import DeployError

    try:
        engine = detect(args.engine)
        info = build_base_image(args.tag or default_tag(args.suite), engine=engine,
                                suite=args.suite, mirror=args.mirror, force=args.force,
                                log=lambda m: print(m, file=sys.stderr))
    except DeployError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 1
    state = "cached" if info["cached"] else f"built in {info['seconds']} s"
    print(f"{info['tag']} ({engine.name}, {info['size'] / 1e6:.0f} MB, {state}, id "
          f"{info['id'][:12]})")
    if engine.conf_path:
        print(f"podman needs this machine's containers.conf: export "
              f"CONTAINERS_CONF={engine.conf_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
