"""The knowledge repo's index: one page listing every report, rebuilt from the folders.

The folders are the truth (``reports/<slug>/<UTC timestamp>/metadata.json``); ``index.html``
and ``index.json`` are derived from them and always rewritten whole, through a temporary file
and ``os.replace``, so a reader never sees half an index. Folders whose name starts with a dot
(a report still being written) are never listed.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

from ..files import write_atomic

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

REPORTS = "reports"
METADATA = "metadata.json"
INDEX_HTML = "index.html"
INDEX_JSON = "index.json"


def read_reports(root: os.PathLike | str) -> list[dict]:
    """Every complete report under ``root``, newest first (each metadata plus its ``path``)."""
    base = Path(root) / REPORTS
    out = []
    if not base.is_dir():
        return out
    for slug_dir in base.iterdir():
        if slug_dir.name.startswith(".") or not slug_dir.is_dir():
            continue
        for version in slug_dir.iterdir():
            if version.name.startswith(".") or not version.is_dir():
                continue
            meta_file = version / METADATA
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # not a finished report
            if not isinstance(meta, dict):
                continue
            meta["path"] = version.relative_to(root).as_posix()
            meta["version"] = version.name
            out.append(meta)
    out.sort(key=lambda m: (str(m.get("created", "")), m["path"]), reverse=True)
    return out


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
  max-width: 1100px; color: #1f2328; padding: 0 1em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; }
.v { padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 0.85em; white-space: nowrap; }
.v-repeatable { background: #1a7f37; } .v-repeatable-with-warnings { background: #9a6700; }
.v-not-repeatable { background: #cf222e; } .v-unchecked { background: #6e7781; }
.tag { background: #ddf4ff; color: #0969da; border-radius: 10px; padding: 0 8px; margin-right: 4px;
  font-size: 0.85em; }
.muted { color: #57606a; }
"""


def render_index(reports: list[dict], title: str = "Reports") -> str:
    rows = []
    for m in reports:
        main = m.get("main") or "report.html"
        link = f"{m['path']}/{main}"
        verdict = m.get("verdict") or "unchecked"
        forced = " (forced)" if m.get("forced") and verdict == "not-repeatable" else ""
        others = [f for f in (m.get("files") or {}) if f != main]
        extra = " ".join(f'<a href="{_e(m["path"])}/{_e(f)}">{_e(f)}</a>' for f in others)
        rows.append(
            "<tr>"
            f'<td><a href="{_e(link)}">{_e(m.get("title") or m["path"])}</a>'
            + (f'<br><span class="muted">{extra}</span>' if extra else "")
            + "</td>"
            f"<td>{_e(m.get('author'))}</td>"
            f"<td>{_e(m.get('created'))}</td>"
            f'<td><span class="v v-{_e(verdict)}">{_e(verdict)}{forced}</span></td>'
            f"<td>{''.join(f'<span class=tag>{_e(t)}</span>' for t in m.get('tags') or [])}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="5" class="muted">No reports yet.</td></tr>'
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class=\"muted\">{len(reports)} report(s), newest first. "
        "Each was rendered from a clean re-run of its notebook.</p>"
        "<table><thead><tr><th>Title</th><th>Author</th><th>Date (UTC)</th><th>Verdict</th>"
        f"<th>Tags</th></tr></thead><tbody>\n{body}\n</tbody></table></body></html>\n"
    )


def write_index(root: os.PathLike | str, title: str = "Reports") -> list[dict]:
    """Rebuild ``index.html`` and ``index.json`` under ``root``; return the reports listed.

    Scanning and writing happen under an exclusive lock on ``ROOT/.index.lock``, so two
    publishers finishing at once cannot leave an index that misses one of them.
    """
    root = Path(root)
    fd = os.open(root / ".index.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        return _write_index_locked(root, title)
    finally:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _write_index_locked(root: Path, title: str) -> list[dict]:
    reports = read_reports(root)
    listing = [
        {k: m.get(k) for k in ("title", "author", "created", "verdict", "forced", "tags", "path",
                               "main", "slug", "notebook_hash", "parameters")}
        for m in reports
    ]
    write_atomic(root / INDEX_JSON, json.dumps(listing, indent=1, default=str))
    write_atomic(root / INDEX_HTML, render_index(reports, title))
    return reports
