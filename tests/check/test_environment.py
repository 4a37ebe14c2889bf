"""jupyter_deploy.environment against this venv, a throwaway venv and real dist-info folders."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from jupyter_deploy import environment
from jupyter_deploy.errors import KernelError


@pytest.fixture(scope="session")
def other_venv(tmp_path_factory):
    """A bare venv (no numpy, no pip): its python is probed through a subprocess."""
    folder = tmp_path_factory.mktemp("other-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "v")], check=True)
    python = folder / "v" / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return python, Path(site)


def make_dist(
    site: Path,
    name: str,
    version: str,
    *,
    module: str | None = None,
    direct_url: dict | None = None,
    requires=(),
    pth_only_from: Path | None = None,
):
    """Write a real installed distribution: a module folder plus its .dist-info."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n\nlong description\n")
    record = [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    if module and pth_only_from is None:
        pkg = site / module
        pkg.mkdir()
        (pkg / "__init__.py").write_text("VALUE = 1\n")
        record.append(f"{module}/__init__.py,,")
    if pth_only_from is not None:
        pth = site / f"_{name}.pth"
        pth.write_text(str(pth_only_from) + "\n")
        record.append(f"{pth.name},,")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
        record.append(f"{info.name}/direct_url.json,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return info


# --------------------------------------------------------------------------- probe, in-process


def test_probe_finds_installed_stdlib_and_missing_modules():
    got = environment.probe(["numpy", "json", "no_such_mod_xyz", "sklearn.linear_model"])
    assert got["numpy"]["found"] is True
    assert got["numpy"]["distribution"] == "numpy"
    assert got["numpy"]["version"] == metadata.version("numpy")
    assert got["numpy"]["local"] is None
    assert got["json"] == {
        "found": True,
        "distribution": None,
        "version": None,
        "local": None,
        "origin": None,
    }
    assert got["no_such_mod_xyz"]["found"] is False
    assert got["no_such_mod_xyz"]["distribution"] is None
    # a dotted name is probed as its top-level module, mapped to its distribution
    assert got["sklearn"]["distribution"] == "scikit-learn"
    assert "sklearn.linear_model" not in got


def test_probe_does_not_import_the_module(tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_dist(site, "noisy-pkg", "1.0", module="noisy_pkg")
    (site / "noisy_pkg" / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    monkeypatch.syspath_prepend(str(site))
    got = environment.probe(["noisy_pkg"])
    assert got["noisy_pkg"]["found"] and got["noisy_pkg"]["version"] == "1.0"
    assert "noisy_pkg" not in sys.modules


def test_probe_reports_the_tool_itself_as_editable():
    got = environment.probe(["jupyter_deploy"])["jupyter_deploy"]
    assert got["distribution"] == "jupyter-deploy"
    assert got["local"] == "editable"
    assert got["origin"].startswith("file://")


def test_editable_and_vcs_installs_are_local(tmp_path, monkeypatch):
    site = tmp_path / "site"
    src = tmp_path / "src"
    (src / "myedit").mkdir(parents=True)
    (src / "myedit" / "__init__.py").write_text("")
    make_dist(
        site,
        "myedit",
        "0.3",
        direct_url={"url": src.as_uri(), "dir_info": {"editable": True}},
        pth_only_from=src,
    )
    make_dist(
        site,
        "myfolder",
        "0.1",
        module="myfolder",
        direct_url={"url": (tmp_path / "proj").as_uri(), "dir_info": {}},
    )
    make_dist(
        site,
        "myvcs",
        "2.0",
        module="myvcs",
        requires=["numpy>=1"],
        direct_url={
            "url": "https://example.org/myvcs.git",
            "vcs_info": {"vcs": "git", "commit_id": "abc123"},
        },
    )
    monkeypatch.syspath_prepend(str(src))  # what the .pth does at start-up
    monkeypatch.syspath_prepend(str(site))
    got = environment.probe(["myedit", "myfolder", "myvcs"])
    assert got["myedit"]["local"] == "editable"
    assert got["myedit"]["distribution"] == "myedit"
    assert got["myedit"]["origin"] == src.as_uri()
    assert got["myfolder"]["local"] == "path"
    assert got["myvcs"]["local"] == "vcs"
    assert got["myvcs"]["origin"] == "https://example.org/myvcs.git"

    reqs = environment.requirements_for_modules(["myedit", "myfolder", "myvcs"])
    assert "myvcs @ git+https://example.org/myvcs.git@abc123" in reqs
    assert f"numpy=={metadata.version('numpy')}" in reqs  # the vcs dist's own requirement
    assert not any(r.startswith(("myedit", "myfolder")) for r in reqs)  # not installable elsewhere
    cap = environment.capture(["myedit", "myvcs"])
    assert set(cap["local"]) == {"myedit"}
    assert cap["direct"] == ["myvcs @ git+https://example.org/myvcs.git@abc123"]


# --------------------------------------------------------------------------- requirements


def test_requirements_of_sklearn_are_its_closure_not_a_freeze():
    reqs = environment.requirements_for_modules(["sklearn"])
    names = {r.split("==")[0] for r in reqs}
    for dist in ("scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl"):
        assert f"{dist}=={metadata.version(dist)}" in reqs
    assert "pandas" not in names
    assert "jupyter-deploy" not in names and "ipykernel" not in names
    assert reqs == sorted(reqs, key=str.lower)
    assert all("==" in r for r in reqs)
    direct = environment.requirements_for_modules(["sklearn"], closure=False)
    assert direct == [f"scikit-learn=={metadata.version('scikit-learn')}"]


def test_requirements_skip_stdlib_missing_and_the_tool():
    reqs = environment.requirements_for_modules(
        ["json", "os", "no_such_mod_xyz", "jupyter_deploy", "IPython"]
    )
    assert reqs == []
    kept = environment.requirements_for_modules(["IPython"], closure=False, exclude=())
    assert kept == [f"ipython=={metadata.version('ipython')}"]


def test_requirements_follow_markers_not_extras(tmp_path, monkeypatch):
    site = tmp_path / "site"
    make_dist(
        site,
        "markpkg",
        "1.0",
        module="markpkg",
        requires=[
            "numpy",
            'scipy ; extra == "fast"',
            'joblib ; python_version < "3.0"',
            'threadpoolctl ; python_version >= "3.0"',
        ],
    )
    monkeypatch.syspath_prepend(str(site))
    names = {r.split("==")[0] for r in environment.requirements_for_modules(["markpkg"])}
    assert {"markpkg", "numpy", "threadpoolctl"} <= names
    assert "scipy" not in names and "joblib" not in names


def test_capture_describes_the_interpreter():
    cap = environment.capture(["numpy", "json"])
    import platform

    assert cap["python"] == platform.python_version()
    assert cap["implementation"] == platform.python_implementation()
    assert cap["machine"] == platform.machine()
    assert cap["platform"] == platform.platform()
    assert cap["direct"] == [f"numpy=={metadata.version('numpy')}"]
    assert cap["requirements"] == [f"numpy=={metadata.version('numpy')}"]
    json.dumps(cap)


# --------------------------------------------------------------------------- another interpreter


def test_probe_through_another_interpreter(other_venv):
    python, _site = other_venv
    got = environment.probe(["numpy", "json", "no_such_mod_xyz"], python=str(python))
    assert got["numpy"]["found"] is False  # installed here, not there
    assert got["json"]["found"] is True and got["json"]["distribution"] is None
    assert got["no_such_mod_xyz"]["found"] is False
    assert environment.requirements_for_modules(["numpy"], python=str(python)) == []


def test_local_install_seen_through_another_interpreter(other_venv, tmp_path):
    python, site = other_venv
    before = environment.fingerprint(str(python))
    assert environment.fingerprint(str(python)) == before
    make_dist(
        site,
        "venvlocal",
        "0.9",
        module="venvlocal",
        direct_url={"url": (tmp_path / "x").as_uri(), "dir_info": {}},
    )
    try:
        got = environment.probe(["venvlocal"], python=str(python))["venvlocal"]
        assert got == {
            "found": True,
            "distribution": "venvlocal",
            "version": "0.9",
            "local": "path",
            "origin": (tmp_path / "x").as_uri(),
        }
        assert environment.fingerprint(str(python)) != before
        cap = environment.capture(["venvlocal"], python=str(python))
        assert cap["python"].startswith("3.") and cap["requirements"] == []
        assert set(cap["local"]) == {"venvlocal"}
    finally:
        import shutil

        shutil.rmtree(site / "venvlocal")
        shutil.rmtree(site / "venvlocal-0.9.dist-info")
    assert environment.fingerprint(str(python)) == before


def test_same_interpreter_is_answered_in_process():
    assert environment._resolve_python(sys.executable) is None
    assert environment._resolve_python("python3") is None  # what jupyter_client does
    sibling = Path(sys.executable).with_name("python3")
    if sibling.exists():
        assert environment._resolve_python(str(sibling)) is None


def test_missing_interpreter_is_a_kernel_error(tmp_path):
    with pytest.raises(KernelError) as info:
        environment.probe(["numpy"], python=str(tmp_path / "nope" / "python"))
    assert "not found" in str(info.value) and "nope" in str(info.value)
    assert info.value.hint
    broken = tmp_path / "broken-python"
    broken.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(KernelError) as info:
        environment.probe(["numpy"], python=str(broken))
    assert "boom" in str(info.value)


# --------------------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_fast_and_sees_new_distributions(tmp_path, monkeypatch):
    first = environment.fingerprint()
    assert first == environment.fingerprint()
    assert len(first) == 16
    start = time.perf_counter()
    for _ in range(10):
        environment.fingerprint()
    assert (time.perf_counter() - start) / 10 < 0.05

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    with_site = environment.fingerprint()
    make_dist(site, "newdist", "1.0", module="newdist")
    changed = environment.fingerprint()
    assert changed != with_site
    assert changed == environment.fingerprint()
    # an upgrade renames the dist-info folder
    (site / "newdist-1.0.dist-info").rename(site / "newdist-1.1.dist-info")
    assert environment.fingerprint() not in (changed, with_site)


def test_module_is_light_to_import():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            ("import sys, jupyter_deploy.environment; "
            "print(sorted(m for m in ('IPython', 'packaging', 'nbformat', 'numpy') if m in sys.modules))"),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert out == "[]"


def test_namespace_packages_resolve_one_level_below(tmp_path, monkeypatch):
    site = tmp_path / "site"
    for dist, sub in (("nsx-one", "one"), ("nsx-two", "two")):
        info = site / f"{dist.replace('-', '_')}-1.{len(sub)}.dist-info"
        (site / "nsx" / sub).mkdir(parents=True)
        (site / "nsx" / sub / "__init__.py").write_text("")
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.{len(sub)}\n\n"
        )
        (info / "RECORD").write_text(f"nsx/{sub}/__init__.py,,\n{info.name}/RECORD,,\n")
    monkeypatch.syspath_prepend(str(site))
    got = environment.probe(["nsx.two"])
    assert got["nsx"]["found"] and got["nsx"]["distribution"] == "nsx-two"
    assert got["nsx.two"]["distribution"] == "nsx-two" and got["nsx.two"]["local"] is None
    assert environment.probe(["nsx"])["nsx"] == {
        "found": True,
        "distribution": None,
        "version": None,
        "local": None,
        "origin": None,
    }
    assert environment.requirements_for_modules(["nsx.one", "nsx.two"]) == [
        "nsx-one==1.3",
        "nsx-two==1.3",
    ]
    assert "nsx.one" not in sys.modules


def test_real_editable_install_in_a_throwaway_venv(tmp_path):
    """uv pip install -e of a tiny hatchling project; seen as editable through that venv's python."""
    import shutil

    from jdtest import need

    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    need(Path(uv).exists(), "uv", "pip install uv")
    pkg = tmp_path / "tinyedit"
    (pkg / "src" / "tinyedit").mkdir(parents=True)
    (pkg / "src" / "tinyedit" / "__init__.py").write_text("X = 1\n")
    (pkg / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
        '[project]\nname = "tinyedit"\nversion = "0.0.1"\n'
    )
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    cmd = [uv, "pip", "install", "--python", str(python), "-e", str(pkg)]
    done = subprocess.run(cmd + ["--offline"], capture_output=True, text=True, check=False)
    if done.returncode != 0:  # hatchling not in uv's cache yet: fetch it
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    need(
        done.returncode == 0,
        "an editable install with uv (hatchling from PyPI or uv's cache)",
        f"uv pip install hatchling ({done.stderr.strip()[-200:]})",
    )
    got = environment.probe(["tinyedit"], python=str(python))["tinyedit"]
    assert got == {
        "found": True,
        "distribution": "tinyedit",
        "version": "0.0.1",
        "local": "editable",
        "origin": pkg.as_uri(),
    }
    assert environment.requirements_for_modules(["tinyedit"], python=str(python)) == []

    from nbformat.v4 import new_code_cell, new_notebook

    from jupyter_deploy.check.lint import static_findings

    nb = new_notebook(cells=[new_code_cell("import tinyedit", execution_count=1)])
    (f,) = static_findings(nb, tmp_path / "nbdir", python=str(python))
    assert (
        f["kind"] == "local-package" and "editable" in f["message"] and "tinyedit" in f["message"]
    )


def test_other_interpreter_path_is_remembered_on_disk_and_invalidated(other_venv, tmp_path):
    python, site = other_venv
    home = tmp_path / "home"
    env = {**__import__("os").environ, "JUPYTER_DEPLOY_HOME": str(home)}
    code = f"from jupyter_deploy import environment as e; print(e.fingerprint({str(python)!r}))"

    def fresh():
        return subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()

    first = fresh()
    cache = json.loads((home / "cache" / "interpreters.json").read_text())
    assert str(python) in cache and str(site) in cache[str(python)]["path"]
    assert fresh() == first
    extra = tmp_path / "extra"
    (extra / "extra_dist-1.0.dist-info").mkdir(parents=True)
    (site / "added.pth").write_text(str(extra) + "\n")  # a new folder on its sys.path
    try:
        second = fresh()
        assert second != first  # the path was asked again, and its distribution counted
        assert (
            str(extra)
            in json.loads((home / "cache" / "interpreters.json").read_text())[str(python)]["path"]
        )
    finally:
        (site / "added.pth").unlink()
    assert fresh() == first


def test_read_only_home_does_not_break_the_fingerprint(other_venv, tmp_path, monkeypatch):
    python, _ = other_venv
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    monkeypatch.setenv("JUPYTER_DEPLOY_HOME", str(home))
    environment._SYS_CACHE.clear()
    try:
        assert len(environment.fingerprint(str(python))) == 16
    finally:
        home.chmod(0o700)
    assert not list(home.iterdir()) or __import__("os").geteuid() == 0


def test_legacy_develop_install_is_editable(tmp_path, monkeypatch):
    project = tmp_path / "oldproj"
    (project / "oldpkg").mkdir(parents=True)
    (project / "oldpkg" / "__init__.py").write_text("")
    info = project / "oldpkg.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: oldpkg\nVersion: 0.5\n")
    (info / "top_level.txt").write_text("oldpkg\n")
    monkeypatch.syspath_prepend(str(project))  # what easy-install.pth does
    got = environment.probe(["oldpkg"])["oldpkg"]
    assert got["distribution"] == "oldpkg" and got["version"] == "0.5"
    assert got["local"] == "editable" and got["origin"] == project.as_uri()
    assert environment.requirements_for_modules(["oldpkg"]) == []
