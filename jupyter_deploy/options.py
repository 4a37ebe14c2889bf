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


def add_plugin_arguments(parser, cls, *, positional: bool) -> list[str]:
    """Add one flag per option of ``cls``; return the option names, in order."""
    names = []
    for name, trait in cls.class_traits(option=True).items():
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
    p.add_argument("--to")
    p.add_argument("--force", action="store_true")
    p.add_argument("--notebook")
    return p


def options_from(ns: argparse.Namespace, cls) -> dict:
    """The options the user actually gave (None means: keep the plugin's default)."""
    out = {}
    for name, trait in cls.class_traits(option=True).items():
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
    missing = [
        n for n, t in cls.class_traits(option=True).items()
        if t.metadata.get("required") and n not in out
    ]
    if missing:
        traits = cls.class_traits(option=True)
        flags = ", ".join(("--" + traits[n].metadata.get("flag", n.replace("_", "-"))) for n in missing)
        raise UsageError(f"{cls.plugin_name} needs {flags}.", hint=f"See the {cls.plugin_name} options with --help.")
    return out


def split_line(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"Cannot parse the options: {exc}.", hint="Check the quotes.") from exc
