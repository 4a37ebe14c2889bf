"""What a registry stores files in: a :class:`Store` of paths (``churn/v3/model.pkl``) to bytes.

A store knows nothing about models; :class:`jupyter_deploy.model.registry.Registry` builds
versions, claims and aliases on top of these few operations. A store for a new kind of place
implements them, and ``create_exclusive`` as atomically as the place allows (``O_EXCL`` on a
folder, ``If-None-Match: *`` over HTTP, ``xb`` mode with fsspec).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Optional

from ...errors import RegistryError

# Test seam: called with a stage name ("before_metadata") while a version is being written,
# so a test can crash the writer between the files and the metadata.
FAULT_HOOK: Optional[Callable[[str], None]] = None


def fault(stage: str) -> None:
    if FAULT_HOOK is not None:
        FAULT_HOOK(stage)


class VersionTaken(Exception):
    """The version folder was created by someone else between our claim and our write."""


class Store:
    """Files under one root. Paths are relative, '/'-separated, already validated."""

    url: str = ""
    #: False when the store cannot list a folder (plain HTTP): versions are then probed.
    can_list: bool = True

    def read_bytes(self, path: str) -> bytes:  # raises FileNotFoundError
        raise NotImplementedError

    def write_bytes(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def create_exclusive(self, path: str, data: bytes) -> bool:
        """Create ``path`` with ``data`` unless it exists; True when this call created it."""
        raise NotImplementedError

    def listdir(self, path: str) -> list[str]:
        """Names directly under ``path`` ([] when it does not exist)."""
        raise NotImplementedError

    def delete(self, path: str) -> None:
        """Remove one file, if it exists (best effort)."""

    def local_path(self, path: str) -> Optional[Path]:
        """A local filesystem path for ``path`` when the store is a folder, else None."""
        return None

    def lock(self, path: str):
        """A context manager serialising read-modify-write of small files (aliases)."""
        return contextlib.nullcontext()

    def put_dir(self, local: Path, path: str, files: list[str], last: str) -> None:
        """Write ``files`` of ``local`` under ``path``, ``last`` after all the others.

        Until ``last`` exists the version is invisible, so a crash in between leaves no version.
        """
        for rel in files:
            if rel != last:
                self.write_bytes(f"{path}/{rel}", (local / rel).read_bytes())
        fault("before_metadata")
        if self.exists(f"{path}/{last}"):
            raise VersionTaken(path)
        self.write_bytes(f"{path}/{last}", (local / last).read_bytes())

    def describe(self) -> str:
        return self.url


def registry_error(store_url: str, exc: BaseException, action: str) -> RegistryError:
    """A one-line RegistryError for an OSError while ``action`` (read-only, missing, ...)."""
    import errno

    code = getattr(exc, "errno", None)
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RegistryError(
            f"The registry {store_url} is read-only here: cannot {action}.",
            hint="Use a registry you can write to (--registry PATH_OR_URL), or ask for write "
            "access.",
        )
    if code == errno.ENOSPC:
        return RegistryError(
            f"The registry {store_url} is full: cannot {action}.", hint="Free some space."
        )
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return RegistryError(
        f"Cannot {action} in the registry {store_url}: {text}.",
        hint="Check that the registry path or URL is right and reachable.",
    )
