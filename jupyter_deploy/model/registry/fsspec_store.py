"""A registry at any fsspec URL: ``memory://``, ``s3://``, ``gs://``, ``abfs://``...

The fsspec implementation for the protocol must be installed (s3fs, gcsfs, adlfs...). Object
stores have no atomic rename, so a version's files are written first and ``metadata.json``
last: a version exists only once its metadata does. Claims use exclusive creation (``xb``) where
the filesystem supports it, else create-then-read-back.
"""

from __future__ import annotations

import uuid

from ...errors import RegistryError, UsageError
from .base import Store, registry_error


class FsspecStore(Store):
    def __init__(self, url: str, **storage_options):
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - fsspec is in the test env
            raise UsageError(
                f"The registry {url} needs fsspec.", hint="pip install fsspec"
            ) from exc
        try:
            self.fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as exc:
            proto = url.split("://", 1)[0]
            raise UsageError(
                f"Cannot open the registry {url}: {exc}",
                hint=f"Install the fsspec implementation for {proto}:// (for example s3fs for "
                "s3://, gcsfs for gs://).",
            ) from exc
        self.root = root.rstrip("/")
        self.url = url.rstrip("/")

    def _p(self, path: str) -> str:
        return f"{self.root}/{path}" if path else self.root

    def _wrap(self, exc: BaseException, action: str):
        return registry_error(self.url, exc, action)

    def read_bytes(self, path: str) -> bytes:
        try:
            return self.fs.cat_file(self._p(path))
        except (FileNotFoundError, IsADirectoryError):
            raise FileNotFoundError(path) from None
        except OSError as exc:
            raise self._wrap(exc, f"read {path}") from exc

    def write_bytes(self, path: str, data: bytes) -> None:
        try:
            self.fs.pipe_file(self._p(path), data)
        except OSError as exc:
            raise self._wrap(exc, f"write {path}") from exc

    def exists(self, path: str) -> bool:
        try:
            return bool(self.fs.exists(self._p(path)))
        except OSError as exc:
            raise self._wrap(exc, f"read {path}") from exc

    def create_exclusive(self, path: str, data: bytes) -> bool:
        p = self._p(path)
        try:
            with self.fs.open(p, "xb") as fh:
                fh.write(data)
            return True
        except FileExistsError:
            return False
        except (ValueError, NotImplementedError, TypeError):
            pass  # no exclusive mode here: create, then read back who won
        except OSError as exc:
            raise self._wrap(exc, f"create {path}") from exc
        if self.exists(path):
            return False
        token = data + b"\n#" + uuid.uuid4().hex.encode()
        self.write_bytes(path, token)
        try:
            return self.read_bytes(path) == token
        except FileNotFoundError:
            return False

    def listdir(self, path: str) -> list[str]:
        try:
            entries = self.fs.ls(self._p(path), detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise self._wrap(exc, f"list {path or '/'}") from exc
        base = self._p(path).rstrip("/")
        out = set()
        for e in entries:
            e = str(e).rstrip("/")
            if e.startswith(base + "/"):
                out.add(e[len(base) + 1 :].split("/")[0])
            else:
                out.add(e.rsplit("/", 1)[-1])
        return sorted(out)

    def delete(self, path: str) -> None:
        try:
            self.fs.rm_file(self._p(path))
        except (OSError, RegistryError):
            pass
