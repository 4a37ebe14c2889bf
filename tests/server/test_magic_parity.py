"""The sidebar builds `%deploy` lines in TypeScript; both sides are pinned to one case file.

The jest suite (labextension/src/__tests__/magic.spec.ts) asserts the TypeScript builder gives
the ``expected`` lines of the same file; this test asserts the Python one still does.
"""

import json
from pathlib import Path

from jupyter_deploy.plugin import magic_line

CASES = Path(__file__).parents[2] / "labextension" / "src" / "__tests__" / "magic_cases.json"


def test_python_magic_line_matches_the_cases_the_sidebar_is_tested_with():
    data = json.loads(CASES.read_text())
    assert len(data["cases"]) >= 5
    for case in data["cases"]:
        got = magic_line(case["target"], case["options"], data["schema"], case["to"])
        assert got == case["expected"], case


# ------------------------------------------------------------------ every option of every target

TARGET_CASES = CASES.with_name("magic_cases_targets.json")


def _make_cases():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_magic_cases", Path(__file__).parents[2] / "scripts" / "make_magic_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_cases_are_current():
    """The jest suite checks the TypeScript builder against this file: it must be what the
    targets' schemas give today (a new option or flag shows up here first)."""
    assert TARGET_CASES.read_text() == _make_cases().render(), (
        "labextension/src/__tests__/magic_cases_targets.json is stale: run "
        ".venv/bin/python scripts/make_magic_cases.py")


def test_every_shown_line_parses_in_the_magic_to_the_same_options():
    """The line the sidebar shows (the same as Python's, by the jest suite) is a line the magic
    runs, and it means the options it was built from: every option of every built-in target."""
    from jupyter_deploy import plugins
    from jupyter_deploy.options import magic_parser, options_from, split_line

    data = json.loads(TARGET_CASES.read_text())
    seen = set()
    for case in data["cases"]:
        cls = plugins.target_class(case["target"])
        argv = split_line(case["expected"])
        assert argv[:2] == ["%deploy", case["target"]]
        ns = magic_parser(cls).parse_args(argv[2:])
        assert options_from(ns, cls) == case["options"], case["expected"]
        assert ns.to == case["to"]
        seen.add((case["target"], case["option"]))
    for target in ("report", "model", "sql", "container"):
        for name, spec in plugins.target_class(target).options_schema()["properties"].items():
            assert spec.get("x-cli-positional") or (target, name) in seen, (target, name)


def test_every_check_line_parses_in_the_magic_and_the_cli_to_the_same_options():
    """The check's options come from one definition (DeployConfig's check_option traits): the
    line the sidebar shows for them parses back in ``%deploy check`` and ``jupyter deploy
    check`` to the same options, and every option has a case."""
    from jupyter_deploy.options import (ArgumentParser, add_check_arguments, check_options_from,
                                        check_schema, split_line)

    data = json.loads(TARGET_CASES.read_text())
    seen = set()
    for case in data["check_cases"]:
        argv = split_line(case["expected"])
        assert argv[:2] == ["%deploy", "check"]
        p = ArgumentParser(prog="%deploy check")
        add_check_arguments(p)
        assert check_options_from(p.parse_args(argv[2:])) == case["options"], case["expected"]
        seen.add(case["option"])
    assert set(check_schema()["properties"]) <= seen


def test_a_false_boolean_whose_default_is_true_is_written_as_no_flag():
    from jupyter_deploy.options import ArgumentParser, add_plugin_arguments, options_from, split_line
    from traitlets import Bool

    from jupyter_deploy.plugin import Target

    class Probe(Target):
        plugin_name = "probe"
        verify_all = Bool(True, help="Verify.").tag(config=True, option=True)

    line = magic_line("probe", {"verify_all": False}, Probe.options_schema())
    assert line == "%deploy probe --no-verify-all"
    p = ArgumentParser(prog="%deploy probe")
    add_plugin_arguments(p, Probe, positional=True)
    assert options_from(p.parse_args(split_line(line)[2:]), Probe) == {"verify_all": False}
