"""Contract tests a target or backend plugin runs against itself (as fsspec and papermill ship).

Subclass in your own test suite and name your plugin; pytest collects the inherited tests::

    from jupyter_deploy.testing import BackendContract, TargetContract

    class TestMyTarget(TargetContract):
        target = "my-target"                       # its entry-point name
        example_options = {"title": "Q3 churn"}    # values the option tests may use

    class TestMyBackend(BackendContract):
        backend = "my-backend"

They check what every front end relies on: the plugin is found through its entry point; it
describes itself as JSON; every option has a help text, a JSON schema and a flag, and the
``%deploy`` line built from any values parses back to the same values (the sidebar shows that
line and the magic runs it); unknown options and values of the wrong type are one-line usage
errors; the default backend accepts the target's bundles; a backend's preflight and default
destination write nothing. The built-in plugins run the same tests
(``tests/core/test_contract.py``).

Only pytest is needed (imported when the tests run, not by this module).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Optional

from traitlets import Bool, Dict, Enum, Float, Int, List

from . import api, plugins
from .config import DeployConfig
from .errors import DeployError, UsageError
from .options import magic_parser, options_from, split_line
from .plugin import Backend, Target, magic_line

__all__ = ["TargetContract", "BackendContract", "example_value"]


def example_value(name: str, trait) -> Any:
    """A value of the right type for an option, unlike its default (so the line shows it)."""
    choices = trait.metadata.get("choices")
    if isinstance(trait, Enum):
        values = list(trait.values)
        return next((v for v in values if v != trait.default_value), values[0])
    if choices:
        return next((v for v in choices if v != trait.default_value), choices[0])
    if isinstance(trait, Bool):
        return not trait.default_value
    if isinstance(trait, Int):
        return int(trait.default_value or 0) + 3
    if isinstance(trait, Float):
        return float(trait.default_value or 0) + 0.5
    if isinstance(trait, List):
        return ["a b", "c"]
    if isinstance(trait, Dict):
        return {"k": "v w"}
    return f"{name}-value with 'quotes' and spaces"


def _one_line(exc: BaseException) -> str:
    text = exc.one_line() if isinstance(exc, DeployError) else str(exc)
    assert "\n" not in text and "Traceback" not in text, text
    return text


class TargetContract:
    """What every target plugin must do. Set ``target``; ``example_options`` overrides values."""

    target: ClassVar[str] = ""
    example_options: ClassVar[dict] = {}

    # -------------------------------------------------------------------------- helpers
    @classmethod
    def cls(cls) -> type:
        assert cls.target, "set `target` to the plugin's entry-point name"
        return plugins.target_class(cls.target)

    @classmethod
    def values(cls) -> dict:
        traits = cls.cls().class_traits(option=True)
        out = {n: example_value(n, t) for n, t in traits.items()}
        out.update(cls.example_options)
        return out

    # ---------------------------------------------------------------------------- tests
    def test_found_through_its_entry_point(self):
        klass = self.cls()
        assert issubclass(klass, Target)
        assert klass.plugin_name == self.target
        assert self.target in plugins.names(plugins.TARGETS)

    def test_describes_itself_as_json(self):
        desc = self.cls().describe()
        json.dumps(desc)
        assert desc["name"] == self.target
        assert desc["description"], "give the target a description (one line)"
        schema = desc["schema"]
        assert set(schema["required"]) <= set(schema["properties"])

    def test_every_option_has_help_and_a_type(self):
        for name, spec in self.cls().options_schema()["properties"].items():
            assert spec.get("description"), f"option {name!r} has no help="
            assert spec.get("type") in ("string", "boolean", "integer", "number", "array",
                                        "object"), (name, spec)

    def test_the_shown_line_parses_back_to_the_same_options(self):
        klass = self.cls()
        values = self.values()
        line = magic_line(self.target, values, klass.options_schema(), to="/some/where")
        argv = split_line(line)[2:]  # drop "%deploy <target>"
        ns = magic_parser(klass).parse_args(argv)
        got = options_from(ns, klass)
        assert ns.to == "/some/where"
        for name, value in values.items():
            assert got.get(name) == value, f"{name}: {line!r} parses to {got.get(name)!r}"

    def test_default_values_leave_the_line_short(self):
        klass = self.cls()
        line = magic_line(self.target, klass().option_values(), klass.options_schema())
        assert line == f"%deploy {self.target}", f"defaults should not be written: {line}"

    def test_unknown_option_is_a_one_line_usage_error(self):
        try:
            api.validate_options(self.target, {"no_such_option_xyz": 1})
        except UsageError as exc:
            text = _one_line(exc)
            assert "no_such_option_xyz" in text
        else:
            raise AssertionError("an unknown option was accepted")

    def test_wrong_type_is_a_one_line_usage_error(self):
        traits = self.cls().class_traits(option=True)
        typed = [(n, t) for n, t in traits.items() if isinstance(t, (Int, Float, Bool, List, Dict))]
        for name, _ in typed:
            try:
                api.validate_options(self.target, {name: object()})
            except UsageError as exc:
                assert name in _one_line(exc) or "option" in _one_line(exc)
            else:
                raise AssertionError(f"{name} accepted a value of the wrong type")

    def test_default_backend_accepts_its_bundles(self):
        klass = self.cls()
        assert klass.default_backend, "name a default_backend"
        backend = plugins.backend_class(klass.default_backend)
        kind = getattr(klass, "bundle_kind", None) or self.target
        assert kind in backend.accepts, f"{backend.plugin_name} does not accept {kind} bundles"


class BackendContract:
    """What every backend plugin must do. Set ``backend``."""

    backend: ClassVar[str] = ""
    # a destination the backend claims, when it claims URL schemes (else None)
    example_destination: ClassVar[Optional[str]] = None

    @classmethod
    def cls(cls) -> type:
        assert cls.backend, "set `backend` to the plugin's entry-point name"
        return plugins.backend_class(cls.backend)

    def test_found_through_its_entry_point(self):
        klass = self.cls()
        assert issubclass(klass, Backend)
        assert klass.plugin_name == self.backend
        assert self.backend in plugins.names(plugins.BACKENDS)

    def test_describes_itself_as_json(self):
        desc = self.cls().describe()
        json.dumps(desc)
        assert desc["accepts"], "a backend accepts at least one bundle kind"
        assert all(s == s.lower() and "://" not in s for s in desc["schemes"]), desc["schemes"]
        for name, spec in desc["schema"]["properties"].items():
            assert spec.get("description"), f"option {name!r} has no help="

    def test_claims_no_other_kind_and_its_own_destinations(self):
        klass = self.cls()
        assert not klass.claims(self.example_destination or "x://y", "no-such-kind")
        if self.example_destination:
            assert any(klass.claims(self.example_destination, k) for k in klass.accepts)

    def test_default_destination_and_preflight_write_nothing(self, tmp_path):
        home = tmp_path / "home"
        conf = DeployConfig(home=str(home))
        dest = self.cls().default_destination(conf)
        assert dest is None or isinstance(dest, str)
        try:
            self.cls().preflight(dest)
        except DeployError as exc:
            _one_line(exc)
        assert not home.exists() or not any(home.rglob("*")), "preflight wrote files"

    def test_is_created_with_the_calls_config(self, tmp_path):
        conf = DeployConfig(home=str(tmp_path / "home"))
        made = self.cls()(config=conf.config, deploy_config=conf)
        assert made.deploy_config is conf
