"""jupyter_deploy.env_probe runs inside the kernel's interpreter, which may have none of
jupyter-deploy's dependencies: it imports the standard library only (optional imports aside,
each guarded and with a fallback), and it works in a fresh interpreter with no site-packages."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from jupyter_deploy import env_probe

PROBE = Path(env_probe.__file__)
# Imports the probe may try inside ``try: ... except ...:`` and do without (a plain parser of
# Requires-Dist lines is used when neither is there).
OPTIONAL = {"packaging", "pip"}


def _imports(tree):
    """(top-level module name, guarded by a try with a handler, line) of every import."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and node.handlers:
            for inner in node.body:
                for sub in ast.walk(inner):
                    guarded.add(id(sub))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], id(node) in guarded, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield "." * node.level + (node.module or ""), False, node.lineno
            else:
                yield node.module.split(".")[0], id(node) in guarded, node.lineno


def test_the_probe_imports_only_the_standard_library():
    tree = ast.parse(PROBE.read_text(), str(PROBE))
    found = list(_imports(tree))
    assert {"json", "os", "re", "sys"} <= {name for name, _, _ in found}  # the scan sees them
    stdlib = set(sys.stdlib_module_names)
    bad = [f"line {line}: {name}" for name, guarded, line in found
           if name not in stdlib and not (guarded and name in OPTIONAL)]
    assert not bad, f"env_probe.py must import the standard library only: {bad}"


def test_an_unguarded_third_party_import_would_be_caught():
    """The scan itself: a plain or relative import is reported, a guarded optional one is not."""
    code = ("import numpy\nfrom . import errors\ntry:\n    import packaging\nexcept ImportError:"
            "\n    packaging = None\n")
    found = list(_imports(ast.parse(code)))
    assert found == [("numpy", False, 1), (".", False, 2), ("packaging", True, 4)]


def _run_isolated(args, request):
    proc = subprocess.run([sys.executable, "-I", "-S", *args], input=json.dumps(request),
                          capture_output=True, text=True, timeout=60, cwd=str(PROBE.parent))
    assert proc.returncode == 0, proc.stderr
    marker = proc.stdout.rfind("\n@@JD@@")
    assert marker >= 0, proc.stdout
    return json.loads(proc.stdout[marker + len("\n@@JD@@"):])


def test_the_probe_runs_in_a_fresh_interpreter_without_site_packages():
    """-I (no PYTHONPATH, no user site) and -S (no site-packages at all): numpy, pandas and
    jupyter_deploy are out of reach, yet the probe answers, both as a file and as the ``-c``
    source the host side sends to a kernel's interpreter."""
    request = {"op": "collect", "modules": ["json", "email.mime", "numpy", "no_such_mod"],
               "requirements": True, "closure": True, "exclude": []}
    check = ("import importlib.util as u; assert u.find_spec('numpy') is None; "
             "assert u.find_spec('jupyter_deploy') is None; print('bare')")
    bare = subprocess.run([sys.executable, "-I", "-S", "-c", check], capture_output=True,
                          text=True, timeout=60, cwd=str(PROBE.parent))
    assert bare.stdout.strip() == "bare", bare.stderr
    for args in ([str(PROBE)], ["-c", PROBE.read_text()]):
        answer = _run_isolated(args, request)
        probe = answer["probe"]
        assert probe["json"] == {"found": True, "distribution": None, "version": None,
                                 "local": None, "origin": None}
        assert probe["email"]["found"] is True and probe["email"]["distribution"] is None
        assert probe["numpy"]["found"] is False  # no site-packages
        assert probe["no_such_mod"]["found"] is False
        assert answer["requirements"] == [] and answer["direct"] == []
        assert answer["python"] == ".".join(map(str, sys.version_info[:3]))
    info = _run_isolated([str(PROBE)], {"op": "sys"})
    assert not any("site-packages" in p for p in info["path"]), info["path"]
