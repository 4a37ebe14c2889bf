"""The plugin contract: what a target and a backend are, what they get, and their options.

A **target** (report, model, sql, container, or a plugin's) turns a checked notebook into a
:class:`~jupyter_deploy.bundle.Bundle`. A **backend** accepts bundles of some kinds, hands them
off somewhere, verifies the result where it can, and settles it (makes it current only when
every proof held). Both are ``Configurable``s whose options are traitlets tagged
``option=True``: one definition gives the ``%deploy`` and CLI flags, the sidebar's form (JSON
schema), ``%config`` and config files, and the docs.

This module sits at the bottom of the package with :mod:`jupyter_deploy.bundle`: it imports only
the errors, the progress protocol and the history's clock, never a target, a backend or a front
end. :mod:`jupyter_deploy.testing` holds contract tests that a plugin runs against itself.

A target plugin needs only::

    class MyTarget(Target):
        plugin_name = "my-target"
        description = "What it makes."
        default_backend = "knowledge-repo"
        title = Unicode("", help="...").tag(config=True, option=True)

        def build(self, ctx):
            bundle = ctx.new_bundle("report")
            (bundle.path / "out.txt").write_text("...")
            return bundle
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Optional

from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, TraitType
from traitlets.config import Configurable

from . import plugins
from ._version import __version__
from .bundle import Bundle, Handoff, Proof
from .config import DeployConfig
from .errors import DeployError, VariableNotFound
from .history import now_utc
from .progress import Reporter

# --------------------------------------------------------------------------------- objects


class ObjectSource:
    """The notebook's objects, as a clean run produced them (and, in a session, the live ones).

    ``get(name)`` returns the clean run's object; ``live(name)`` the live session's, or None.
    Targets must deploy ``get(name)`` and may compare it with ``live(name)``.
    """

    def __init__(self, clean: "Any" = None, live: Optional[dict] = None):
        self._clean = clean  # a check.objects.ObjectStore, or None
        self._live = live

    def names(self) -> list[str]:
        return self._clean.names() if self._clean is not None else []

    def describe(self) -> list[dict]:
        return self._clean.describe() if self._clean is not None else []

    def get(self, name: str):
        if self._clean is not None and name in self._clean.names():
            return self._clean.load(name)
        if self._clean is None and self._live is not None and name in self._live:
            # No clean run objects (keep_objects off): fall back to the live object.
            return self._live[name]
        known = ", ".join(self.names()) or "none"
        raise VariableNotFound(
            f"The notebook's clean run has no variable {name!r}.",
            hint=f"Variables it kept: {known}. Check the spelling, and that the notebook "
            "defines it at top level.",
        )

    def pickled(self, name: str) -> bytes | None:
        """The cloudpickle bytes the clean kernel wrote for ``name``, when available."""
        if self._clean is not None and name in self._clean.names():
            return self._clean.pickled(name)
        return None

    def live(self, name: str):
        if self._live is None:
            return None
        return self._live.get(name)

    @property
    def has_live(self) -> bool:
        return self._live is not None


@dataclass
class DeployContext:
    """Everything a target's ``build`` may use."""

    notebook: Path
    notebook_hash: str
    check: dict  # the check report (verdict, findings, environment, executed_path...)
    objects: ObjectSource
    reporter: Reporter
    workdir: Path  # a fresh folder owned by this deploy; bundles go under it
    config: Any  # the DeployConfig
    force: bool = False
    live_session: bool = False
    # Where the bundle goes (--to), None for the backend's default; and the chosen backend's
    # option values (a build context names the engine its README's commands use).
    destination: Optional[str] = None
    backend_options: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return self.check.get("verdict", "unchecked")

    @property
    def environment(self) -> dict:
        return self.check.get("environment", {})

    def kernel_facts(self) -> dict:
        """The clean kernel's Python and platform (models are pickled there), and its
        interpreter as ``kernel_python`` (artefacts resolve their pins there and do not record
        the path), for :func:`jupyter_deploy.model.artefact.write_artefact`'s ``extra``."""
        env = self.environment or {}
        if not isinstance(env, dict) or env.get("error"):
            return {}
        out = {k: env[k] for k in ("python", "platform") if isinstance(env.get(k), str)}
        if isinstance(env.get("executable"), str):
            out["kernel_python"] = env["executable"]
        return out

    @property
    def executed_notebook(self) -> Optional[Path]:
        p = self.check.get("executed_path")
        return Path(p) if p else None

    def new_bundle(self, kind: str, name: str = "bundle") -> Bundle:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=False)
        manifest = {
            "created": now_utc(),
            "jupyter_deploy": __version__,
            "notebook": str(self.notebook),
            "notebook_hash": self.notebook_hash,
            "verdict": self.verdict,
            "forced": self.force,
            "environment": self.environment,
        }
        return Bundle(kind=kind, path=path, manifest=manifest)


# --------------------------------------------------------------------------------- options


def _option_traits(cls, tag: str = "option") -> dict[str, TraitType]:
    return {
        name: trait
        for name, trait in sorted(cls.class_traits(**{tag: True}).items(), key=lambda kv: kv[0])
    }


def trait_schema(trait: TraitType) -> dict:
    """JSON schema of one traitlet (the sidebar builds its form from this)."""
    help_text = " ".join((trait.help or "").split())
    schema: dict[str, Any] = {"description": help_text}
    if isinstance(trait, Enum):
        schema["type"] = "string"
        schema["enum"] = list(trait.values)
    elif trait.metadata.get("choices"):  # a string offered from a list, other spellings accepted
        schema["type"] = "string"
        schema["enum"] = list(trait.metadata["choices"])
    elif isinstance(trait, Bool):
        schema["type"] = "boolean"
    elif isinstance(trait, Int):
        schema["type"] = "integer"
    elif isinstance(trait, Float):
        schema["type"] = "number"
    elif isinstance(trait, List):
        schema["type"] = "array"
        schema["items"] = {"type": "string"}
    elif isinstance(trait, Dict):
        schema["type"] = "object"
        schema["additionalProperties"] = {"type": "string"}
    else:
        schema["type"] = "string"
    try:
        default = trait.default()  # List/Dict traits keep theirs behind default()
    except Exception:  # noqa: BLE001 - a dynamic default that needs an instance
        default = trait.default_value
    if default is not None and default != "" and not callable(default):
        try:
            json.dumps(default)
            schema["default"] = default
        except TypeError:
            pass
    meta = trait.metadata
    for key in ("widget", "object_kind", "placeholder", "required", "cli_positional", "advanced", "flag",
                "features_of"):
        if key in meta:
            schema["x-" + key.replace("_", "-")] = meta[key]
    return schema


def options_schema(cls, tag: str = "option", title: str | None = None) -> dict:
    """The JSON schema of ``cls``'s traits tagged ``tag`` (``option`` for a plugin's options,
    ``check_option`` for the check's, on :class:`~jupyter_deploy.config.DeployConfig`)."""
    props = {}
    required = []
    for name, trait in _option_traits(cls, tag).items():
        props[name] = trait_schema(trait)
        if trait.metadata.get("required"):
            required.append(name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title or getattr(cls, "plugin_name", cls.__name__),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


class Plugin(Configurable):
    """What targets and backends share: a name, a description, options with a schema, and the
    :class:`~jupyter_deploy.config.DeployConfig` of the deploy that made them (where state
    lives: the registry folder, the knowledge repo...), never a global one."""

    plugin_name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, *, deploy_config: Optional[DeployConfig] = None, **kwargs):
        super().__init__(**kwargs)
        self.deploy_config = (deploy_config if deploy_config is not None
                              else DeployConfig(config=self.config))

    @classmethod
    def option_names(cls) -> list[str]:
        return list(_option_traits(cls))

    @classmethod
    def options_schema(cls) -> dict:
        return options_schema(cls)

    @classmethod
    def describe(cls) -> dict:
        return {
            "name": cls.plugin_name,
            "description": " ".join((cls.description or cls.__doc__ or "").split()),
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "schema": cls.options_schema(),
        }

    def option_values(self) -> dict:
        return {name: getattr(self, name) for name in self.option_names()}


def checked_trait(check, value):
    """For a traitlets ``@validate``: run ``check(value)`` (which raises a DeployError), and turn
    its refusal into the TraitError the api reports as a one-line usage error."""
    if not value:
        return value
    try:
        check(value)
    except DeployError as exc:
        raise TraitError(exc.one_line()) from None
    return value


def magic_line(target: str, options: dict, schema: dict, to: str | None = None) -> str:
    """The ``%deploy`` line that does the same as ``options`` (for the sidebar and widget)."""
    parts = ["%deploy", target]
    props = schema.get("properties", {})
    for key, value in options.items():
        spec = props.get(key, {})
        if spec.get("x-cli-positional"):
            if value not in (None, ""):
                parts.append(shlex.quote(str(value)))
    for key, value in options.items():
        spec = props.get(key, {})
        if spec.get("x-cli-positional") or value is None or value == "" or value == []:
            continue
        if "default" in spec and spec["default"] == value:
            continue
        flag = "--" + spec.get("x-flag", key.replace("_", "-"))
        kind = spec.get("type")
        if kind == "boolean":
            if value:
                parts.append(flag)
            elif spec.get("default") is True:  # BooleanOptionalAction's --no-FLAG
                parts.append("--no-" + flag[2:])
        elif kind == "array":
            for item in value:
                parts += [flag, shlex.quote(str(item))]
        elif kind == "object":
            for k, v in value.items():
                parts += [flag, shlex.quote(f"{k}={v}")]
        else:
            parts += [flag, shlex.quote(str(value))]
    if to:
        parts += ["--to", shlex.quote(to)]
    return " ".join(parts)


# --------------------------------------------------------------------------------- targets


class Target(Plugin):
    """Base class of every target plugin.

    A target's options are its own traits plus the options of the backends that accept its
    bundles (``ModelTarget`` shows the registry backend's ``--alias``): one flat set for the
    user, split by :mod:`jupyter_deploy.api` between the target and the chosen backend. Where the
    bundle goes is one concept, ``--to``; ``destination_flags`` names older spellings of it
    (``--registry``, ``--out``) that the flags accept.
    """

    # The backend used when the user gives no ``--to``.
    default_backend: ClassVar[str] = ""
    # True when the target deploys a notebook variable (model, sql, container).
    needs_object: ClassVar[bool] = False
    # The kind of bundle it builds (default: its own name).
    bundle_kind: ClassVar[str] = ""
    # Other flag names for --to ("registry" -> --registry), and what --to means for it.
    destination_flags: ClassVar[tuple[str, ...]] = ()
    destination_help: ClassVar[str] = ""

    @classmethod
    def kind(cls) -> str:
        return cls.bundle_kind or cls.plugin_name

    @classmethod
    def backend_classes(cls) -> list[type]:
        """The installed backends that accept this target's bundles (the default first)."""
        found = [k for k in plugins.loadable(plugins.BACKENDS) if cls.kind() in k.accepts]
        found.sort(key=lambda k: k.plugin_name != cls.default_backend)
        return found

    @classmethod
    def all_option_traits(cls) -> dict[str, tuple[Optional[type], TraitType]]:
        """name -> (backend class or None for the target's own, trait), target's first."""
        out: dict[str, tuple[Optional[type], TraitType]] = {
            n: (None, t) for n, t in _option_traits(cls).items()}
        for klass in cls.backend_classes():
            for n, t in _option_traits(klass).items():
                out.setdefault(n, (klass, t))
        return out

    @classmethod
    def options_schema(cls) -> dict:
        """The target's options and its backends' (each marked ``x-backend``): what the forms,
        the flags, the equivalent line and the docs are built from."""
        schema = options_schema(cls)
        for name, (klass, trait) in cls.all_option_traits().items():
            if klass is not None:
                spec = trait_schema(trait)
                spec["x-backend"] = klass.plugin_name
                schema["properties"][name] = spec
        return schema

    @classmethod
    def describe(cls) -> dict:
        out = super().describe()
        out.update({"default_backend": cls.default_backend, "needs_object": cls.needs_object,
                    "destination_flags": list(cls.destination_flags),
                    "destination_help": cls.destination_help})
        return out

    def check_parameters(self) -> dict:
        """Papermill-style parameters the clean run must inject (the report target's --param).

        The check then runs (and caches) the notebook with these values in a cell after the one
        tagged ``parameters``; ``ctx.executed_notebook`` is that run's executed copy.
        """
        return {}

    def validate(self, ctx: DeployContext) -> None:
        """Fail early, before anything is built, on options that cannot work."""

    def build(self, ctx: DeployContext) -> Bundle:  # pragma: no cover - abstract
        raise NotImplementedError


# --------------------------------------------------------------------------------- backends


class Backend(Plugin):
    """Base class of every backend plugin."""

    # Bundle kinds this backend can hand off.
    accepts: ClassVar[tuple[str, ...]] = ()
    # URL schemes of ``--to`` that this backend claims ("http", "https", "mailto", "file"...).
    schemes: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def describe(cls) -> dict:
        out = super().describe()
        out.update({"accepts": list(cls.accepts), "schemes": list(cls.schemes)})
        return out

    @classmethod
    def claims(cls, destination: str | None, kind: str) -> bool:
        """Whether this backend handles ``--to destination`` for a bundle of ``kind``."""
        if kind not in cls.accepts or not destination:
            return False
        scheme = destination.split(":", 1)[0].lower() if "://" in destination or destination.startswith("mailto:") else ""
        return bool(scheme) and scheme in cls.schemes

    @classmethod
    def default_destination(cls, deploy_config: DeployConfig) -> str | None:
        """Where a bundle goes when the user names no destination (the configured registry
        folder, knowledge repo...), or None when the target decides (or there is none)."""
        return None

    def validate(self, destination: str | None) -> None:
        """Refuse option values that cannot work, before any check runs (cheap, writes
        nothing); raise a DeployError. Default: nothing to check."""

    @classmethod
    def preflight(cls, destination: str | None) -> None:
        """Refuse a destination that cannot work before any check runs (cheap, writes
        nothing); raise a DeployError. Default: nothing to check."""

    def publish(self, bundle: Bundle, destination: str | None, reporter: Reporter) -> Handoff:  # pragma: no cover
        raise NotImplementedError

    def verify(self, bundle: Bundle, handoff: Handoff, reporter: Reporter) -> list[Proof]:
        """Check what was handed off (reload it, query it, call it). Default: nothing to check."""
        return []

    def settle(self, bundle: Bundle, handoff: Handoff, proofs: list, reporter: Reporter) -> None:
        """After every proof: make the hand-off current only when all ``proofs`` passed (move an
        alias, mark a version verified), else record it as failed. May update ``handoff.summary`` and
        ``handoff.details``; a DeployError raised here fails the deploy. Default: nothing."""
