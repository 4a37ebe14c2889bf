"""Plugin discovery through real entry points (a dist-info on sys.path, in a subprocess)."""

from __future__ import annotations

import json
import subprocess
import textwrap

import pytest

from jdtest import PYTHON

from jupyter_deploy import plugins
from jupyter_deploy.errors import UnknownPlugin


def test_builtin_targets_are_declared_like_plugins():
    assert {"report", "model", "sql", "container"} <= set(plugins.names(plugins.TARGETS))


def test_unknown_target_lists_the_known_ones():
    with pytest.raises(UnknownPlugin, match="Unknown target 'nope'") as exc:
        plugins.target_class("nope")
    assert "model" in exc.value.hint


def _install_fake_dist(site, name, entry_points, module_source=None):
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)
    if module_source:
        (site / f"{name}.py").write_text(textwrap.dedent(module_source))


def test_third_party_target_and_broken_plugin(tmp_path):
    site = tmp_path / "site"
    _install_fake_dist(site, "jd_demo_plugin", textwrap.dedent("""
        [jupyter_deploy.targets]
        echo = jd_demo_plugin:EchoTarget
        broken = jd_demo_plugin_missing:Nothing
        """), """
        from traitlets import Unicode
        from jupyter_deploy.plugin import Target

        class EchoTarget(Target):
            plugin_name = "echo"
            description = "Writes a file that says hello."
            default_backend = "knowledge-repo"
            greeting = Unicode("hello", help="What to say.").tag(config=True, option=True)
        """)
    code = textwrap.dedent(f"""
        import sys, json
        sys.path.insert(0, {str(site)!r})
        from jupyter_deploy import api, plugins
        from jupyter_deploy.errors import BrokenPlugin
        out = {{"names": plugins.names(plugins.TARGETS)}}
        t = api.targets()
        out["echo"] = [d for d in t["targets"] if d["name"] == "echo"][0]
        out["broken"] = t["broken"]
        try:
            plugins.target_class("broken")
        except BrokenPlugin as e:
            out["error"] = e.one_line()
        print(json.dumps(out))
    """)
    proc = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert "echo" in out["names"]
    assert out["echo"]["schema"]["properties"]["greeting"] == {
        "description": "What to say.", "type": "string", "default": "hello"}
    assert out["broken"][0]["name"] == "broken"
    assert "jd_demo_plugin_missing:Nothing" in out["error"]
    assert "ModuleNotFoundError" in out["error"]
