"""Every executable the product or the suite starts by name is installed by scripts/setup.

A green CI on a machine set up by hand once hid a missing install step (podman's catatonit).
This test reads the code (not a list kept by hand): every ``shutil.which("x")``,
``need_command("x")``, ``subprocess.run(["x", ...])`` / ``Popen(["x", ...])`` and every absolute
path to an executable in jupyter_deploy/, tests/, scripts/ and benchmarks/ must be provided by a
package in scripts/system-packages, or be part of the base system, Python's venv or Node.js.
It then asks dpkg that each listed package really provides what it is listed for.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from jdtest import ROOT, need

LIST = ROOT / "scripts" / "system-packages"
SCANNED = ("jupyter_deploy", "tests", "scripts", "benchmarks")
# On every machine of this kind before set-up (Debian base, git), or installed by set-up's own
# Python and Node steps (the venv's python, pip, uv, jupyter, jlpm; Node.js is on the machine).
BASE = {
    "bash", "sh", "env", "git", "mount", "umount", "chroot", "runuser", "sudo", "apt-get", "dpkg",
    "dpkg-query",
    "id", "kill", "sleep", "true", "tar", "cat", "ls", "python", "python3", "pip", "uv", "jupyter",
    "jlpm", "node", "npm", "npx",
}
SUBPROCESS_CALLS = {"run", "Popen", "check_output", "check_call", "call"}
EXE_PATH = re.compile(r"^/usr/(?:s?bin|libexec|lib/postgresql/\d+/bin)/[\w.+-]+(?:/[\w.+-]+)?$")


def listed() -> dict[str, list[str]]:
    """package -> executables, from scripts/system-packages."""
    out = {}
    for line in LIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            package, _group, *exes = line.split()
            out[package] = exes
    return out


def _first_list_item(node: ast.AST):
    if isinstance(node, ast.List) and node.elts:
        first = node.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _pip_hint(call: ast.Call) -> bool:
    hint = call.args[1] if len(call.args) > 1 else None
    return isinstance(hint, ast.Constant) and str(hint.value).startswith("pip ")


def started_by_name() -> dict[str, set[str]]:
    """executable -> files that start it by name."""
    found: dict[str, set[str]] = {}

    def add(name: str, path: Path):
        found.setdefault(name, set()).add(str(path.relative_to(ROOT)))

    for top in SCANNED:
        for path in (ROOT / top).rglob("*.py"):
            if "node_modules" in path.parts or ".venv" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and EXE_PATH.match(node.value):
                    add(node.value, path)
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                arg = node.args[0]
                if name in ("which", "need_command") and isinstance(arg, ast.Constant) \
                        and isinstance(arg.value, str):
                    add(arg.value, path)
                elif name == "need" and isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and re.fullmatch(r"[a-z][a-z0-9_.-]*", arg.value) and not _pip_hint(node):
                    add(arg.value, path)  # tests/report's need("pdftotext"), not need("psycopg", "pip ...")
                elif name in SUBPROCESS_CALLS and _first_list_item(arg):
                    add(_first_list_item(arg), path)
    return found


def test_the_scan_sees_the_executables_we_know_the_code_starts():
    """The scan itself must work: these are started by name today (if one goes away from the
    code, drop it here too)."""
    seen = started_by_name()
    for exe in ("debootstrap", "chattr", "docker-registry", "pdftotext", "chroot", "/usr/bin/chromium",
                "runc", "uv"):
        assert exe in seen, (exe, sorted(seen))


def test_every_executable_started_by_name_is_installed_by_setup():
    provided = {Path(exe).name for exes in listed().values() for exe in exes}
    provided |= {exe for exes in listed().values() for exe in exes}
    missing = {exe: sorted(files) for exe, files in started_by_name().items()
               if exe not in BASE and exe not in provided and Path(exe).name not in provided}
    assert not missing, (
        "started by name but installed by no step of scripts/setup (add the Debian package "
        f"to scripts/system-packages): {missing}")


def test_setup_installs_exactly_the_listed_packages():
    """scripts/setup reads scripts/system-packages (no second list to drift)."""
    text = (ROOT / "scripts" / "setup").read_text()
    assert "scripts/system-packages" in text
    installs = [line for line in text.splitlines() if "apt-get install" in line]
    for package in listed():
        for line in installs:
            assert not re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", line), \
                f"{package} is installed by name in scripts/setup as well: {line.strip()}"
    groups = {line.split()[1] for line in LIST.read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert groups <= {"demo", "test"}, groups


def _dpkg_files(package: str) -> list[str] | None:
    proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    return proc.stdout.splitlines() if proc.returncode == 0 else None


def _owner(path: str) -> str:
    proc = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    return proc.stdout.split(":")[0].strip() if proc.returncode == 0 else ""


def _depends(package: str) -> set[str]:
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", package], capture_output=True,
                          text=True)
    return {part.strip().split()[0] for part in re.split(r"[,|]", proc.stdout) if part.strip()}


@pytest.mark.parametrize("package", sorted(listed()))
def test_each_listed_package_provides_its_executables(package):
    files = _dpkg_files(package)
    need(files is not None, f"Debian package {package} (scripts/setup --test installs it)",
         f"apt-get install -y {package}")
    for exe in listed()[package]:
        if exe.startswith("/"):
            ok = exe in files or _owner(exe) in _depends(package)  # postgresql -> postgresql-15
        else:
            ok = any(re.search(rf"/s?bin/{re.escape(exe)}$", f) for f in files)
        assert ok, f"{package} does not provide {exe} (dpkg -L {package})"
