"""Refuse to publish a report that carries a secret.

Every cell's source and every text an output shows (stream text, tracebacks, text/plain,
text/html, markdown, LaTeX, JSON, JavaScript, SVG, Plotly figures...) is scanned with
detect-secrets, the maintained scanner library, before anything leaves the machine. A hit raises
:class:`SecretFound` naming the cell, where in it (source or which output) and the kind of
secret -- never the secret itself.

The high-entropy and public-IP detectors are off by default: notebooks print hashes, base64
images and addresses all the time, and a report refused for those teaches people to ignore the
scan. Turn them on with ``c.ReportTarget.secret_entropy = True``. A line that really is not a
secret can carry detect-secrets' own ``pragma: allowlist secret`` comment.

Exact copies of JavaScript bundles that installed packages ship (plotly.js, ~5 MB embedded in
every Plotly output) are skipped: they are the package's bytes, not the notebook's, and
scanning them would take seconds per report.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator

from ..errors import SecretFound as _SecretFoundBase

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOCK = threading.Lock()  # detect-secrets keeps its settings in a process-wide singleton

# Detectors left out unless asked for (see the module docstring).
NOISY = ("Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector")

# Output mime types whose payload is text a person (or a script) reads.
_TEXT_MIME = (
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/svg+xml",
    "application/javascript",
)


class SecretFound(_SecretFoundBase):
    """A secret was found in a notebook about to be published (message names cell and kind)."""


@dataclass
class Hit:
    cell: int  # index in the notebook as the user sees it (injected parameters not counted)
    where: str  # "source", "output 2 (text/html)", ...
    kind: str  # detect-secrets' secret type, e.g. "AWS Access Key"
    line: int  # 1-based line within that text
    cell_id: str = ""
    injected: bool = False

    def describe(self) -> str:
        if self.injected:
            cell = "the injected parameters cell"
        else:
            cell = f"cell {self.cell}" + (f" (id {self.cell_id})" if self.cell_id else "")
        return f"{self.kind} in {cell}, {self.where}, line {self.line}"


# ------------------------------------------------------------------------------- texts


@lru_cache(maxsize=1)
def _known_bundles() -> tuple[str, ...]:
    """JavaScript bundles shipped by installed packages that outputs embed verbatim."""
    import importlib.util
    import os

    out = []
    for package, rel in (("plotly", ("package_data", "plotly.min.js")),):
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        for base in spec.submodule_search_locations:
            path = os.path.join(base, *rel)
            if os.path.isfile(path):
                try:
                    with open(path, encoding="utf-8") as fh:
                        text = fh.read()
                except (OSError, UnicodeDecodeError):
                    continue
                if len(text) > 10000:
                    out.append(text)
    return tuple(out)


def _strip_bundles(text: str) -> str:
    if len(text) < 100000:
        return text
    for bundle in _known_bundles():
        if bundle in text:
            text = text.replace(bundle, "")
    return text


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return json.dumps(value, indent=1, default=str)


def _output_texts(output) -> Iterator[tuple[str, str]]:
    kind = output.get("output_type")
    if kind == "stream":
        yield output.get("name", "stream"), _as_text(output.get("text", ""))
    elif kind == "error":
        tb = "\n".join(output.get("traceback", []) or [])
        yield "error", _ANSI.sub("", f"{output.get('ename', '')}: {output.get('evalue', '')}\n{tb}")
    elif kind in ("display_data", "execute_result", "update_display_data"):
        data = output.get("data", {}) or {}
        for mime, value in data.items():
            if mime in _TEXT_MIME or mime.endswith("json") or mime.startswith("text/"):
                yield mime, _as_text(value)
        meta = output.get("metadata") or {}
        if meta:
            yield "output metadata", _as_text(meta)


def notebook_texts(nb) -> Iterator[tuple[int, str, str, str, bool]]:
    """(user cell index, cell id, where, text, injected) for everything a report could show."""
    shown = -1
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", []) or []
        injected = "injected-parameters" in tags
        if not injected:
            shown += 1
        index = shown if not injected else max(shown, 0)
        cid = str(cell.get("id") or "")
        yield index, cid, "source", _as_text(cell.get("source", "")), injected
        for n, output in enumerate(cell.get("outputs", []) or []):
            for label, text in _output_texts(output):
                yield index, cid, f"output {n + 1} ({label})", text, injected


# ------------------------------------------------------------------------------- scanning


def _plugin_names(entropy: bool) -> list[str]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    names = [cls.__name__ for cls in get_mapping_from_secret_type_to_class().values()]
    if not entropy:
        names = [n for n in names if n not in NOISY]
    return sorted(set(names))


def scan_texts(items: Iterable[tuple], entropy: bool = False) -> list[Hit]:
    """Scan (cell, cell_id, where, text, injected) items; return every hit, secrets left out."""
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    hits: list[Hit] = []
    with _LOCK, transient_settings({"plugins_used": [{"name": n} for n in _plugin_names(entropy)]}):
        for cell, cid, where, text, injected in items:
            text = _strip_bundles(text)
            if not text.strip():
                continue
            for lineno, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                kinds = sorted({s.type for s in scan_line(line)})
                for kind in kinds:
                    hits.append(Hit(cell, where, kind, lineno, cid, injected))
    return hits


def scan_notebook(nb, entropy: bool = False) -> list[Hit]:
    """Every secret-looking thing in ``nb``'s sources and outputs (nothing of the secrets kept)."""
    return scan_texts(notebook_texts(nb), entropy=entropy)


def check_notebook(nb, entropy: bool = False, extra: dict | None = None) -> None:
    """Raise :class:`SecretFound` when ``nb`` (or an ``extra`` text such as the title) has a secret."""
    items = list(notebook_texts(nb))
    for name, value in (extra or {}).items():
        items.append((-1, "", name, _as_text(value), False))
    hits = scan_texts(items, entropy=entropy)
    if not hits:
        return
    first = hits[0]
    if first.cell < 0:
        place = f"{first.kind} in the report's {first.where}"
    else:
        place = first.describe()
    more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
    raise SecretFound(
        f"Not published: the report would contain a secret: {place}{more}.",
        hint="Remove it from the notebook (read it from an environment variable or a file that "
        "is not printed), re-run, and deploy again. If it is not a secret, add the comment "
        "'pragma: allowlist secret' to that line.",
        hits=[h.describe() for h in hits[:20]],
    )
