"""JUnit XML for repeatability checks, the report format every CI shows.

One ``<testcase>`` per notebook: ``name`` the notebook's file name, ``classname`` its folder
(dotted, ``(root)`` for the top level), ``file`` its path, ``time`` the seconds its check took.
A notebook that is not repeatable carries a ``<failure>`` (``message`` the headline, the body
every finding with its hint); one that could not be judged an ``<error>``; warnings of a
repeatable notebook go to ``<system-out>``.
"""

from __future__ import annotations

import os
import re
import socket
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath

from .errors import UsageError
from .files import write_atomic

# XML 1.0 forbids most control characters; tracebacks carry ANSI colour codes.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text) -> str:
    return _NOT_XML.sub("?", _ANSI.sub("", str(text)))


def classname(display: str) -> str:
    folder = PurePosixPath(display).parent.as_posix()
    if folder in (".", ""):
        return "(root)"
    return folder.lstrip("/").replace("/", ".")


def _finding_block(f: dict) -> str:
    from .many import finding_line

    sev = f.get("severity", "error")
    lines = [f"[{sev}] {finding_line(f)}"]
    if f.get("diff"):
        lines += ["    | " + d for d in str(f["diff"]).splitlines()[:40]]
    if f.get("hint"):
        lines.append(f"    -> {' '.join(str(f['hint']).split())}")
    return "\n".join(lines)


def headline(row: dict) -> str:
    """The one line a CI shows for a failed notebook."""
    if row.get("error"):
        return f"could not be judged: {row['error']['message']}"
    reasons = row.get("reasons") or []
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    first = " ".join(str(reasons[0]).split()) if reasons else "see the findings"
    return f"not repeatable: {first}{more}"


def junit_xml(rows: list[dict], summary: dict, suite: str = "jupyter deploy check") -> bytes:
    failures = sum(1 for r in rows if r["verdict"] == "not-repeatable")
    errors = sum(1 for r in rows if r["verdict"] == "error")
    total_time = f"{summary['seconds']:.3f}"
    counts = {"tests": str(len(rows)), "failures": str(failures), "errors": str(errors),
              "skipped": "0", "time": total_time}
    root = ET.Element("testsuites", {"name": suite, **counts})
    name = suite if not summary.get("shard") else f"{suite} (shard {summary['shard']})"
    ts = ET.SubElement(root, "testsuite", {"name": name, **counts,
                                          "hostname": clean(socket.gethostname())})
    for r in rows:
        case = ET.SubElement(ts, "testcase", {
            "name": clean(PurePosixPath(r["notebook"]).name),
            "classname": clean(classname(r["notebook"])),
            "file": clean(r["notebook"]),
            "time": f"{r['seconds']:.3f}",
        })
        if r["verdict"] == "not-repeatable":
            el = ET.SubElement(case, "failure", {"message": clean(headline(r)), "type": "not-repeatable"})
            el.text = clean("\n".join(_finding_block(f) for f in r["findings"]))
        elif r["verdict"] == "error":
            err = r["error"] or {}
            el = ET.SubElement(case, "error", {"message": clean(headline(r)),
                                               "type": clean(err.get("code", "error"))})
            el.text = clean(" -- ".join(x for x in (err.get("message"), err.get("hint")) if x))
        if r["verdict"] != "not-repeatable" and r["findings"]:
            out = ET.SubElement(case, "system-out")
            out.text = clean("\n".join(_finding_block(f) for f in r["findings"]))
        elif r.get("cached"):
            out = ET.SubElement(case, "system-out")
            out.text = "answered from the check cache (the notebook and its inputs are unchanged)"
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def check_writable(path: os.PathLike) -> Path:
    """Refuse, before any notebook runs, a report path that cannot be written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"--junit {path} is a folder.", hint="Give a file name such as report.xml.")
    if not folder.is_dir():
        raise UsageError(f"--junit {path}: the folder {folder} does not exist.",
                         hint="Create it first, or write the report elsewhere.")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--junit {path}: the folder {folder} is not writable.",
                         hint="Write the report to a folder you can write to.")
    return path


def write_junit(path: os.PathLike, rows: list[dict], summary: dict) -> None:
    """Write the report atomically: a reader never sees half a file."""
    path = Path(path)
    data = junit_xml(rows, summary)
    write_atomic(path, data)
