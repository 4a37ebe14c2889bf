"""Command-line flags made from a plugin's traitlets, shared by ``%deploy`` and ``jupyter deploy``.

One trait, one flag: ``Unicode`` -> ``--name VALUE``, ``Bool`` -> ``--isolated`` (and
``--no-isolated``), ``Int``/``Float`` typed, ``Enum`` with choices, ``List`` repeatable
(``--keep a --keep b`` or ``--keep a,b``), ``Dict`` repeatable ``k=v`` (``--metric auc=0.91``).
A trait tagged ``cli_positional`` is the positional argument of the magic (``%deploy model clf``)
and ``--var``-style on the command line, where the notebook path is the positional.
"""

from __future__ import annotations

import argparse
import shlex

from traitlets import Bool, Dict, Enum, Float, Int, List

from .errors import UsageError


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises a one-line UsageError instead of printing and exiting."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message}", hint=f"See {self.prog} --help.")

    def print_help(self, file=None):
        # argparse's -h prints, then exits: raise once with the text, so it is shown once
        raise _HelpShown(self.format_help())

    def exit(self, status=0, message=None):
        if status:
            raise UsageError(message or f"{self.prog} failed")
        raise _HelpShown(message or "")  # --version has printed itself already


class _HelpShown(Exception):
    """--help was asked for: the help text is in args[0]."""


def _kv(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    k, v = text.split("=", 1)
    return k.strip(), v.strip()


def _traits(cls, tag: str) -> dict:
    """The option traits of ``cls``: a target's include its backends' (see Target)."""
    if tag == "option" and hasattr(cls, "all_option_traits"):
        return {name: trait for name, (_, trait) in cls.all_option_traits().items()}
    return dict(cls.class_traits(**{tag: True}))


def add_plugin_arguments(parser, cls, *, positional: bool, tag: str = "option") -> list[str]:
    """Add one flag per trait of ``cls`` tagged ``tag``; return the option names, in order."""
    names = []
    for name, trait in _traits(cls, tag).items():
        names.append(name)
        meta = trait.metadata
        # A trait may name its flag (ContainerTarget.build_image is --build: Target.build is
        # the method, so the trait cannot be called build).
        flag = "--" + meta.get("flag", name.replace("_", "-"))
        help_text = " ".join((trait.help or "").split())
        if meta.get("cli_positional") and positional:
            parser.add_argument(name, metavar=name.upper(), help=help_text)
            continue
        if isinstance(trait, Bool) and trait.default_value is True:
            # --flag / --no-flag (the line builders write --no-flag for False)
            parser.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        elif isinstance(trait, Bool):
            # A switch: BooleanOptionalAction would read a flag named --no-input as False and
            # offer --no-no-input.
            parser.add_argument(flag, dest=name, action="store_const", const=True,
                                default=None, help=help_text)
        elif isinstance(trait, Enum):
            parser.add_argument(flag, dest=name, choices=list(trait.values), default=None, help=help_text)
        elif isinstance(trait, Int):
            parser.add_argument(flag, dest=name, type=int, default=None, help=help_text)
        elif isinstance(trait, Float):
            parser.add_argument(flag, dest=name, type=float, default=None, help=help_text)
        elif isinstance(trait, List):
            parser.add_argument(flag, dest=name, action="append", default=None, help=help_text)
        elif isinstance(trait, Dict):
            parser.add_argument(flag, dest=name, action="append", type=_kv, default=None,
                                metavar="KEY=VALUE", help=help_text)
        else:
            parser.add_argument(flag, dest=name, default=None, help=help_text)
    return names


def magic_parser(cls) -> ArgumentParser:
    """The parser of ``%deploy <target> ...`` (the magic and the line-parity test share it)."""
    p = ArgumentParser(prog=f"%deploy {cls.plugin_name}", description=cls.describe()["description"])
    add_plugin_arguments(p, cls, positional=True)
    add_destination_argument(p, cls)
    p.add_argument("--force", action="store_true")
    p.add_argument("--notebook")
    return p


def add_destination_argument(parser, cls) -> None:
    """``--to`` (and the target's other names for it: ``--registry``, ``--out``)."""
    flags = ["--to"] + ["--" + f for f in getattr(cls, "destination_flags", ())]
    parser.add_argument(*flags, dest="to", default=None,
                        help=getattr(cls, "destination_help", "") or "Where to hand it off (a "
                        "folder, a URL...); default: the target's default backend.")


def options_from(ns: argparse.Namespace, cls, tag: str = "option") -> dict:
    """The options the user actually gave (None means: keep the plugin's default)."""
    out = {}
    traits = _traits(cls, tag)
    for name, trait in traits.items():
        value = getattr(ns, name, None)
        if value is None:
            continue
        if isinstance(trait, List):
            items = []
            for v in value:
                items += [p.strip() for p in str(v).split(",") if p.strip()]
            value = items
        elif isinstance(trait, Dict):
            value = dict(value)
        out[name] = value
    missing = [n for n, t in traits.items() if t.metadata.get("required") and n not in out]
    if missing:
        flags = ", ".join(("--" + traits[n].metadata.get("flag", n.replace("_", "-"))) for n in missing)
        raise UsageError(f"{cls.plugin_name} needs {flags}.", hint=f"See the {cls.plugin_name} options with --help.")
    return out


# ------------------------------------------------------------------------ the check's options
# They are DeployConfig's traits tagged check_option: one definition for the CLI, the magic, the
# REST job, the sidebar's form and the equivalent line.

CHECK_TAG = "check_option"


def add_check_arguments(parser) -> list[str]:
    """``--runs``, ``--timeout``, ``--cell-timeout``, ``--kernel``, ``--no-cache``..."""
    from .config import DeployConfig

    return add_plugin_arguments(parser, DeployConfig, positional=False, tag=CHECK_TAG)


def check_options_from(ns: argparse.Namespace) -> dict:
    """The check options given on a command line, by trait name (``total_timeout``...)."""
    from .config import DeployConfig

    return options_from(ns, DeployConfig, tag=CHECK_TAG)


def check_schema() -> dict:
    """The JSON schema of the check's options (the sidebar's check form is built from it)."""
    from .config import DeployConfig
    from .plugin import options_schema

    return options_schema(DeployConfig, tag=CHECK_TAG, title="check")


def validate_check_options(values: dict) -> dict:
    """``values`` checked against the check's options: unknown names and wrong types raise a
    one-line UsageError; returns them as the traits hold them."""
    from traitlets import TraitError

    from .config import DeployConfig

    traits = DeployConfig.class_traits(**{CHECK_TAG: True})
    unknown = sorted(set(values) - set(traits))
    if unknown:
        raise UsageError(f"Unknown check option(s): {', '.join(unknown)}.",
                         hint=f"The check's options are: {', '.join(sorted(traits))}.")
    try:
        probe = DeployConfig(**values)
    except TraitError as exc:
        raise UsageError(f"Invalid check option: {str(exc).splitlines()[0]}",
                         hint="Give each option the type jupyter deploy check --help says.") from exc
    if probe.runs < 1:
        raise UsageError("runs must be at least 1.", hint="Use --runs 1 or --runs 2.")
    return {name: getattr(probe, name) for name in values}


def check_line(values: dict | None = None) -> str:
    """The ``%deploy check`` line that runs the check with ``values``."""
    from .plugin import magic_line

    schema = check_schema()
    values = dict(values or {})
    ordered = {k: values[k] for k in schema["properties"] if k in values}
    return magic_line("check", ordered, schema)


def split_line(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"Cannot parse the options: {exc}.", hint="Check the quotes.") from exc
