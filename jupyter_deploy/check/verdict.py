"""From findings to a verdict, with each failure tied to the static finding that explains it.

- ``not-repeatable``: any finding of severity ``error`` (the clean run failed, timed out, lost
  its kernel, or its outputs differ from the saved ones; an import that cannot resolve).
- ``repeatable-with-warnings``: only static warnings (the run reproduced the notebook, but
  something in it is fragile: unseeded randomness, absolute paths, out-of-order counts...).
- ``repeatable``: nothing to say.
"""

from __future__ import annotations

import re

from ..notebook import cell_name

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


# Messages libraries give when an API changed under the notebook (removed, renamed, deprecated).
_LIBRARY_MESSAGES = re.compile(
    r"is no longer supported|are no longer supported|no longer support|has been removed|"
    r"was removed in|were removed in|is deprecated|deprecated and will be removed|"
    r"has been deprecated|renamed to|Please use '[^']+' instead|use \S+ instead",
    re.IGNORECASE,
)
_MODULE_ATTR = re.compile(r"^module '([\w.]+)' has no attribute")
_RANDOM_KINDS = ("unseeded-random", "wall-clock")
_DRIFT_KINDS = ("format-drift", "version-drift")


def library_drift(finding: dict) -> str | None:
    """For an execution error whose message is a library's own API-change message: a line naming
    the library (from the traceback, else the message), or None."""
    evalue = finding.get("evalue") or ""
    m = _MODULE_ATTR.match(evalue)
    if m and finding.get("ename") == "AttributeError":
        lib = m.group(1).split(".")[0]
        return f"{lib} no longer has what the notebook uses (an API removed or renamed)"
    if not _LIBRARY_MESSAGES.search(evalue):
        return None
    lib = finding.get("raised_in")
    who = lib or "a library"
    return f"{who} changed this API since the notebook was saved (its own message says so)"


def _explain(
    finding: dict, static: list[dict], flow=None, versions=None
) -> tuple[list[dict], list[str]]:
    """The static findings that evidence links to ``finding`` (most specific first), and what was
    ruled out (a candidate with nothing flowing from it to the cell, or contradicted by the
    clean runs)."""
    cell = finding.get("cell")
    if finding["kind"] == "execution-error":
        drift = library_drift(finding)
        if drift:
            lib = finding.get("raised_in")
            if lib in (versions or {}):
                a, b, where = versions[lib]
                drift += f"; {lib} {a} -> {b} (printed in cell {where})"
            return [{"kind": "library-drift", "cell": cell, "message": drift}], []
    timed = flow is not None and flow.timing(cell)
    if finding["kind"] in ("output-diff", "nondeterministic") and timed:
        return [{"kind": "timing", "cell": cell,
                 "message": f"{cell_name(cell)} measures time, which differs on every run"}], []
    kinds = _CAUSES.get(finding["kind"], ())
    if finding["kind"] == "execution-error":
        kinds = _EXCEPTION_CAUSES.get(finding.get("ename", ""), kinds)
    agreed = finding.get("cause") == "hidden-state-or-drift"  # every clean run agrees
    if agreed:
        kinds = ("hidden-state", "out-of-order", "never-executed") + tuple(kinds)
    causes, ruled_out = [], []
    for kind in dict.fromkeys(kinds):
        for s in static:
            if s["kind"] != kind:
                continue
            where = s.get("cell")
            if agreed and kind in _RANDOM_KINDS:
                ruled_out.append(f"{kind} in {cell_name(where)} (every clean run agrees)")
                continue
            if cell is not None and where is not None and where > cell:
                # hidden-state names later cells; others must come before the failure
                if kind not in ("out-of-order", "never-executed"):
                    continue
            own_cell_only = ("hidden-state", "missing-package", "absolute-path", "local-package")
            if kind in own_cell_only and cell is not None and where != cell:
                continue  # these explain a failure only in their own cell
            if (
                flow is not None and cell is not None and where is not None
                and kind in (*_RANDOM_KINDS, "out-of-order") and not flow.flows(where, cell)
            ):
                ruled_out.append(f"{kind} in {cell_name(where)} (nothing flows from it to {cell_name(cell)})")
                continue
            causes.append({"kind": s["kind"], "cell": where, "message": s["message"]})
    if finding["kind"] in ("output-diff", "execution-error") and versions and flow is not None:
        # a library the notebook printed another version of, used by this cell: evidence
        for lib, (a, b, where) in versions.items():
            if cell is not None and flow.uses(cell, lib):
                causes.append({
                    "kind": "library-drift", "cell": where,
                    "message": f"{lib} {a} -> {b} (the version printed in cell {where}), "
                               f"and cell {cell} uses {lib}",
                })
    return causes[:3], ruled_out[:3]


def decide(
    findings: list[dict], ignore: tuple[str, ...] = (), flow=None
) -> tuple[str, list[str], list[dict]]:
    """The verdict, its reasons (one line each), and the findings with their causes attached.

    ``flow`` (a :class:`~jupyter_deploy.check.flow.CellFlow`) is the evidence a cause needs: a
    static finding is named as a likely cause only when something flows from its cell to the
    failing one; without a cause the finding says ``cause_unknown`` and what was ruled out."""
    from .drift import version_evidence

    kept = [f for f in findings if f["kind"] not in ignore]
    static = [f for f in kept if f.get("severity") == "warning" and f["kind"] not in _DRIFT_KINDS]
    versions = version_evidence(kept)
    for f in kept:
        if f.get("severity") == "error" and f["kind"] in _CAUSES or f.get("cause"):
            causes, ruled_out = _explain(f, static, flow, versions)
            if causes:
                f["causes"] = causes
                if causes[0]["kind"] == "timing":
                    f["hint"] = (
                        "The cell prints how long something took, which no two runs share: keep "
                        "timings out of the saved outputs (%%capture, or print them to a log)."
                    )
                elif causes[0]["kind"] == "library-drift" and f["kind"] == "output-diff":
                    f["hint"] = (
                        "The notebook was saved with another version of a library this cell "
                        "uses (it printed it): the new version likely computes or prints this "
                        "differently. Re-run and save to accept it, or pin the old version; "
                        "jupyter deploy check --explain-drift re-runs it with the old versions "
                        "to tell which upgrade changed it."
                    )
                elif causes[0]["kind"] == "library-drift":
                    f["hint"] = (
                        "A library the notebook uses changed its API since it was saved: follow "
                        "the message's advice, or pin the version the notebook was written for."
                    )
            elif f["kind"] in ("output-diff", "nondeterministic", "execution-error"):
                f["cause_unknown"] = True
                f["ruled_out"] = ruled_out
    # the first failing cell is the headline (notebook-wide findings, with no cell, before it)
    errors = sorted(
        (f for f in kept if f.get("severity") == "error"),
        key=lambda f: -1 if f.get("cell") is None else f["cell"],
    )
    reasons = []
    for f in errors:
        cause = cause_text(f)
        reasons.append(f"{f['message']} ({cause})" if cause else f["message"])
    if errors:
        return NOT_REPEATABLE, reasons, kept
    warnings = [f for f in kept if f.get("severity") == "warning"]
    if warnings:
        static = warnings
        by_kind: dict[str, int] = {}
        for f in static:
            if f["kind"] in _DRIFT_KINDS:
                continue  # one line per drift rule or library (already grouped per notebook)
            by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
        reasons = [f"{n} x {k}" for k, n in by_kind.items()]
        reasons += [f["message"] for f in static if f["kind"] in _DRIFT_KINDS]
        return WITH_WARNINGS, reasons, kept
    return REPEATABLE, [], kept


def cause_text(f: dict) -> str:
    """What a finding says of its cause, the same in every front end: ``likely cause:
    unseeded-random in Cell 3``, ``likely cause: library drift: ...``, ``cause unknown; ruled
    out: ...``, or "" when it names none."""
    if f.get("causes"):
        c = f["causes"][0]
        if c["kind"] == "library-drift":
            return f"likely cause: library drift: {c['message']}"
        where = f" in {cell_name(c['cell'])}" if isinstance(c.get("cell"), int) else ""
        return f"likely cause: {c['kind']}{where}"
    if f.get("cause_unknown") and f.get("cause") != "unordered-iteration":
        ruled = "; ".join(f.get("ruled_out") or [])
        return f"cause unknown; ruled out: {ruled}" if ruled else "cause unknown"
    return ""
