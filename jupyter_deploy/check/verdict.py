"""From findings to a verdict, with each failure tied to the static finding that explains it.

- ``not-repeatable``: any finding of severity ``error`` (the clean run failed, timed out, lost
  its kernel, or its outputs differ from the saved ones; an import that cannot resolve).
- ``repeatable-with-warnings``: only static warnings (the run reproduced the notebook, but
  something in it is fragile: unseeded randomness, absolute paths, out-of-order counts...).
- ``repeatable``: nothing to say.
"""

from __future__ import annotations

REPEATABLE = "repeatable"
WITH_WARNINGS = "repeatable-with-warnings"
NOT_REPEATABLE = "not-repeatable"

# Which static findings can explain which failure, most specific first.
_CAUSES = {
    "output-diff": ("unseeded-random", "wall-clock", "hidden-state", "out-of-order", "never-executed"),
    "nondeterministic": ("unseeded-random", "wall-clock"),
    "execution-error": ("missing-package", "hidden-state", "absolute-path", "out-of-order", "local-package"),
    "kernel-died": (),
    "timeout": (),
}

_EXCEPTION_CAUSES = {
    "NameError": ("hidden-state", "out-of-order"),
    "ModuleNotFoundError": ("missing-package", "local-package"),
    "ImportError": ("missing-package", "local-package"),
    "FileNotFoundError": ("absolute-path",),
    "PermissionError": ("absolute-path",),
}


def _explain(finding: dict, static: list[dict]) -> list[dict]:
    kinds = _CAUSES.get(finding["kind"], ())
    if finding["kind"] == "execution-error":
        kinds = _EXCEPTION_CAUSES.get(finding.get("ename", ""), kinds)
    if finding.get("cause") == "hidden-state-or-drift":
        kinds = ("hidden-state", "out-of-order", "never-executed") + tuple(kinds)
    cell = finding.get("cell")
    causes = []
    for kind in kinds:
        for s in static:
            if s["kind"] != kind:
                continue
            if cell is not None and s.get("cell") is not None and s["cell"] > cell:
                # hidden-state names later cells; others must come before the failure
                if kind not in ("out-of-order", "never-executed"):
                    continue
            if kind in ("hidden-state", "missing-package", "absolute-path", "local-package") and cell is not None and s.get("cell") != cell:
                continue  # these explain a failure only in their own cell
            causes.append({"kind": s["kind"], "cell": s.get("cell"), "message": s["message"]})
    return causes[:3]


def decide(findings: list[dict], ignore: tuple[str, ...] = ()) -> tuple[str, list[str], list[dict]]:
    """The verdict, its reasons (one line each), and the findings with their causes attached."""
    kept = [f for f in findings if f["kind"] not in ignore]
    static = [f for f in kept if f.get("severity") == "warning"]
    for f in kept:
        if f.get("severity") == "error" and f["kind"] in _CAUSES or f.get("cause"):
            causes = _explain(f, static)
            if causes:
                f["causes"] = causes
    # the first failing cell is the headline (notebook-wide findings, with no cell, before it)
    errors = sorted(
        (f for f in kept if f.get("severity") == "error"),
        key=lambda f: -1 if f.get("cell") is None else f["cell"],
    )
    reasons = []
    for f in errors:
        line = f["message"]
        if f.get("causes"):
            c = f["causes"][0]
            where = f" in cell {c['cell']}" if c.get("cell") is not None else ""
            line += f" (likely cause: {c['kind']}{where})"
        reasons.append(line)
    if errors:
        return NOT_REPEATABLE, reasons, kept
    if static:
        by_kind: dict[str, int] = {}
        for f in static:
            if f["kind"] == "format-drift":
                continue  # one line per drift rule (already grouped per notebook)
            by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
        reasons = [f"{n} x {k}" for k, n in by_kind.items()]
        reasons += [f["message"] for f in static if f["kind"] == "format-drift"]
        return WITH_WARNINGS, reasons, kept
    return REPEATABLE, [], kept
