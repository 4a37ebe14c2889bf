"""Folder names of the knowledge repo: a readable slug per report, a UTC timestamp per version."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone

_STAMP = "%Y%m%dT%H%M%SZ"


def slugify(text: str, max_length: int = 60) -> str:
    """``"Q3 revenue: EMEA (draft)"`` -> ``"q3-revenue-emea-draft"``; never empty, never hidden."""
    norm = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", norm.lower()).strip("-")
    slug = slug[:max_length].rstrip("-")
    return slug or "report"


def timestamp(moment: datetime | None = None) -> str:
    """A sortable UTC timestamp usable as a folder name: ``20261127T105440Z``."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(_STAMP)


def parse_timestamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text[:16], _STAMP).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
