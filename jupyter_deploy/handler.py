"""The serving handler: a ``%%deploy handler`` cell around the model's predict.

    %%deploy handler
    import numpy as np

    def preprocess(frame):              # the request's rows (a DataFrame) -> the model's input
        return frame.assign(ratio=frame.a / (1 + frame.b))

    def postprocess(prediction, frame):  # the model's predictions -> the API's answers
        return np.where(prediction == 1, "churn", "stay")

Either function may be left out. The body is plain Python, run in the notebook (so later cells
may use the functions) and again in the check's clean re-run; the ``container`` target ships it,
taken from the saved notebook, as ``serving_handler.py`` next to the API, which answers
``postprocess(model.predict(preprocess(rows)), rows)`` (probabilities, when the model has them,
are ``model.predict_proba(preprocess(rows))``). The handler is shipped alone: it may use what it
imports and defines, not the notebook's other variables.

This module is the core side (no IPython): reading the cell, checking it, running it in a fresh
namespace and computing the answers it gives.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from typing import Optional

from .errors import UsageError
from .notebook import is_handler

MAGIC = "%%deploy handler"
MODULE_FILE = "serving_handler.py"
SIGNATURES = {"preprocess": ("frame",), "postprocess": ("prediction", "frame")}
EXAMPLE = ("e.g. %%deploy handler, then def preprocess(frame): ... and/or "
           "def postprocess(prediction, frame): ...")


class HandlerError(UsageError):
    """A ``%%deploy handler`` cell that cannot serve: nothing is registered or written."""

    code = "handler-invalid"


@dataclass
class Handler:
    body: str  # the cell's Python (without the %%deploy line)
    functions: tuple  # ("preprocess", "postprocess") or one of them
    imports: tuple = ()  # top-level names of the modules the body imports
    cell: Optional[int] = None  # the cell's number in the notebook (1-based, code and markdown)
    namespace: dict = field(default_factory=dict, repr=False)

    @property
    def where(self) -> str:
        return f"the %%deploy handler cell (cell {self.cell})" if self.cell else \
            "the %%deploy handler cell"

    def signature_text(self) -> str:
        return ", ".join(f"{n}({', '.join(SIGNATURES[n])})" for n in self.functions)


def split_cell(source: str) -> tuple[str, str, int]:
    """(the magic line's arguments after ``handler``, the body, the body's first line number)."""
    lines = source.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    head = lines[i].split()[2:] if i < len(lines) else []
    return " ".join(head), "\n".join(lines[i + 1:]), i + 2


def check_body(args: str, body: str, *, first_line: int = 2, cell: Optional[int] = None) -> Handler:
    """The handler a cell's body defines, or a one-line :class:`HandlerError`."""
    where = f"the %%deploy handler cell (cell {cell})" if cell else "the %%deploy handler cell"
    if args.strip():
        raise HandlerError(f"{MAGIC} takes no options (got {args.strip()!r}).",
                           hint="Put only Python in the cell; " + EXAMPLE)
    if not body.strip():
        raise HandlerError(f"{where} is empty.", hint=EXAMPLE)
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        line = (exc.lineno or 1) + first_line - 1
        raise HandlerError(
            f"{where} has a syntax error at line {line}: {exc.msg}.",
            hint="The handler is plain Python (no %magics or !commands: it runs in the "
            "container too); fix the cell and run it again.") from None
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in SIGNATURES:
            found[node.name] = node
    if not found:
        raise HandlerError(f"{where} defines neither preprocess(frame) nor "
                           "postprocess(prediction, frame).", hint=EXAMPLE)
    for name, node in found.items():
        want = SIGNATURES[name]
        if isinstance(node, ast.AsyncFunctionDef):
            raise HandlerError(f"{where}: {name} is async; it must be a plain function.",
                               hint=f"def {name}({', '.join(want)}): ...")
        a = node.args
        positional = [p.arg for p in a.posonlyargs + a.args]
        required = len(positional) - len(a.defaults)
        required_kw = [k.arg for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
        fits = required <= len(want) and (len(positional) >= len(want) or a.vararg is not None)
        if not fits or required_kw:
            got = ", ".join(positional + ([f"*{a.vararg.arg}"] if a.vararg else [])
                            + required_kw)
            raise HandlerError(
                f"{where}: {name} must take {len(want)} argument{'s' if len(want) > 1 else ''} "
                f"({', '.join(want)}); it takes ({got}).",
                hint=f"def {name}({', '.join(want)}): ...")
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            imports.add(node.module.split(".")[0])
    return Handler(body=body, functions=tuple(n for n in SIGNATURES if n in found),
                   imports=tuple(sorted(imports)), cell=cell)


def parse_cell(source: str, cell: Optional[int] = None) -> Handler:
    args, body, first = split_cell(source)
    return check_body(args, body, first_line=first, cell=cell)


def find(nb) -> Optional[Handler]:
    """The notebook's handler (checked), None without one; two handler cells are an error."""
    cells = [(i + 1, c) for i, c in enumerate(nb.get("cells") or [])
             if c.get("cell_type") == "code" and is_handler(c.get("source"))]
    if not cells:
        return None
    if len(cells) > 1:
        raise HandlerError(
            "The notebook has several %%deploy handler cells (cells "
            + ", ".join(str(n) for n, _ in cells) + ").",
            hint="Keep one: the API has one preprocess and one postprocess.")
    number, cell = cells[0]
    source = cell.get("source")
    source = "".join(source) if isinstance(source, list) else source
    return parse_cell(source, cell=number)


def third_party_imports(handler: Handler) -> list[str]:
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    return [m for m in handler.imports if m not in stdlib and m != "__future__"]


def load(handler: Handler) -> Handler:
    """Run the body in a fresh module namespace, as the container imports it; returns the
    handler with its functions in ``namespace``."""
    import types

    module = types.ModuleType("serving_handler")
    code = compile(handler.body, MODULE_FILE, "exec")
    try:
        exec(code, module.__dict__)  # noqa: S102 - the user's own handler cell
    except ModuleNotFoundError as exc:
        raise HandlerError(
            f"{handler.where} imports {exc.name!r}, which is not installed here.",
            hint="Install it in the notebook's environment (it is then pinned in "
            "requirements.txt) or drop the import.") from None
    except NameError as exc:
        raise HandlerError(
            f"{handler.where} uses a name it does not define: {exc}.",
            hint="The handler is shipped alone: import or define in the cell everything it "
            "uses (not the notebook's other variables).") from None
    except Exception as exc:  # noqa: BLE001 - the user's code
        raise HandlerError(
            f"{handler.where} fails when run on its own: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}",
            hint="The handler is shipped alone: it may use only what it imports and defines."
        ) from None
    handler.namespace = module.__dict__
    return handler


def outputs(handler: Handler, model, frame) -> dict:
    """What the API answers for ``frame`` with this handler:
    ``postprocess(model.predict(preprocess(frame)), frame)``, and the class probabilities of
    ``model.predict_proba(preprocess(frame))``."""
    from .model.standalone import to_list

    pre = handler.namespace.get("preprocess") if "preprocess" in handler.functions else None
    post = handler.namespace.get("postprocess") if "postprocess" in handler.functions else None
    inputs = pre(frame) if pre else frame
    raw = model.predict(inputs)
    predictions = to_list(post(raw, frame) if post else raw)
    if len(predictions) != len(frame):
        raise HandlerError(
            f"postprocess returned {len(predictions)} values for {len(frame)} rows.",
            hint="Return one answer per row of frame (same order).")
    classes = getattr(model, "classes_", None)
    classes = to_list(classes) if classes is not None else None
    probabilities = None
    if classes is not None and hasattr(model, "predict_proba"):
        try:
            probabilities = to_list(model.predict_proba(inputs))
        except Exception:  # noqa: BLE001 - e.g. SVC(probability=False)
            probabilities = None
    return {"predictions": predictions, "probabilities": probabilities, "classes": classes}


def apply_or_explain(handler: Handler, model, frame) -> dict:
    """:func:`outputs`, with the user's exceptions as a one-line HandlerError."""
    try:
        return outputs(handler, model, frame)
    except HandlerError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's handler on the user's sample
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise HandlerError(
            f"The serving handler fails on the sample: {type(exc).__name__}: {first}",
            hint="Try it in the notebook: postprocess(model.predict(preprocess(X)), X) on the "
            f"sample ({handler.where}).") from None


def metadata(handler: Handler) -> dict:
    import hashlib

    return {"functions": list(handler.functions), "cell": handler.cell,
            "sha256": hashlib.sha256(handler.body.encode("utf-8")).hexdigest(),
            "file": MODULE_FILE}
