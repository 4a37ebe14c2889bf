"""Remember what a report build already established about an executed notebook.

When the check is answered from its cache, the executed notebook is byte for byte the one a
previous report was built from. Two results can then be reused, each keyed by a sha256 of
everything it depends on:

- **the secret scan**: the executed notebook's bytes, the texts added to the report (title,
  author, tags, parameters), the detectors in use and detect-secrets' version. Only a *clean*
  result is stored; a hit is always recomputed and refused.
- **the rendered page**: the executed notebook's bytes, the title, ``no_input``, nbconvert's
  version and this package's rendering code. The provenance block (which carries the date)
  is left as a marker and filled in at every build.

Entries live under ``<cache>/report/`` and are written atomically; only the newest few hundred
are kept. This turns a cached re-publish into reading and writing a few files, without
importing nbformat, nbconvert or detect-secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Optional

KEEP = 256
MARKER = "<!--jupyter-deploy:provenance-block-->"


@lru_cache(maxsize=None)
def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "none"


@lru_cache(maxsize=1)
def _code_version() -> str:
    h = hashlib.sha256()
    here = Path(__file__).parent
    for name in ("render.py", "secrets.py"):
        try:
            h.update((here / name).read_bytes())
        except OSError:
            h.update(name.encode())
    return h.hexdigest()[:16]


def _key(*parts) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()


def scan_key(digest: str, extra: dict, entropy: bool) -> str:
    return _key("scan", digest, extra, bool(entropy), _dist_version("detect-secrets"), _code_version())


def render_key(digest: str, title: str, no_input: bool) -> str:
    return _key("render", digest, title, bool(no_input), _dist_version("nbconvert"), _code_version())


class ReportCache:
    def __init__(self, root: Optional[os.PathLike | str]):
        self.root = Path(root) / "report" if root else None

    def _path(self, kind: str, key: str) -> Optional[Path]:
        return self.root / kind / key[:2] / key if self.root is not None else None

    def get(self, kind: str, key: str) -> Optional[str]:
        p = self._path(kind, key)
        if p is None:
            return None
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        try:
            os.utime(p)  # most recently used
        except OSError:
            pass
        return text

    def put(self, kind: str, key: str, text: str) -> None:
        p = self._path(kind, key)
        if p is None:
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.parent / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, p)
            self._prune(kind)
        except OSError:
            pass  # a cache that cannot be written only costs time

    def _prune(self, kind: str) -> None:
        base = self.root / kind
        entries = [p for p in base.glob("*/*") if p.is_file() and not p.name.startswith(".")]
        if len(entries) <= KEEP:
            return
        entries.sort(key=lambda p: p.stat().st_mtime)
        for p in entries[: len(entries) - KEEP]:
            try:
                p.unlink()
            except OSError:
                pass
