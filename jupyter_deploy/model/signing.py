"""HMAC-SHA256 signing of artefacts.

The key comes from the caller, else ``$JUPYTER_DEPLOY_SIGNING_KEY`` (the key itself), else the
file named by ``$JUPYTER_DEPLOY_SIGNING_KEY_FILE``. The signature covers ``metadata_sha256``,
which covers every file's sha256, so it covers the whole artefact. With a key configured,
writing signs, and loading refuses an artefact that is unsigned or signed with another key.
"""

from __future__ import annotations

import os
from pathlib import Path

from .standalone import SIGNING_ENV, sign
from ..errors import UsageError

SIGNING_FILE_ENV = "JUPYTER_DEPLOY_SIGNING_KEY_FILE"

__all__ = ["signing_key", "sign", "SIGNING_ENV", "SIGNING_FILE_ENV"]


def signing_key(explicit: bytes | str | None = None) -> bytes | None:
    if explicit:
        return explicit.encode("utf-8") if isinstance(explicit, str) else bytes(explicit)
    value = os.environ.get(SIGNING_ENV)
    if value:
        return value.encode("utf-8")
    path = os.environ.get(SIGNING_FILE_ENV)
    if path:
        try:
            data = Path(path).expanduser().read_bytes().strip()
        except OSError as exc:
            raise UsageError(
                f"Cannot read the signing key file {path}: {exc.strerror}.",
                hint=f"Fix ${SIGNING_FILE_ENV}, or unset it.",
            ) from exc
        return data or None
    return None
