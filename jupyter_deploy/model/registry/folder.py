"""A registry in a local or shared folder (the default): atomic renames and O_EXCL claims."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Optional

from .base import Store, VersionTaken, fault, registry_error

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class FolderStore(Store):
    def __init__(self, root: os.PathLike | str):
        self.root = Path(root).expanduser().absolute()
        self.url = str(self.root)

    def _p(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/")) if path else self.root

    def read_bytes(self, path: str) -> bytes:
        try:
            return self._p(path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise FileNotFoundError(path) from None
        except IsADirectoryError:
            raise FileNotFoundError(path) from None
        except OSError as exc:
            raise registry_error(self.url, exc, f"read {path}") from exc

    def write_bytes(self, path: str, data: bytes) -> None:
        target = self._p(path)
        tmp = target.with_name(f".tmp-{uuid.uuid4().hex}-{target.name}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise registry_error(self.url, exc, f"write {path}") from exc

    def exists(self, path: str) -> bool:
        return self._p(path).exists()

    def create_exclusive(self, path: str, data: bytes) -> bool:
        target = self._p(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        except OSError as exc:
            raise registry_error(self.url, exc, f"create {path}") from exc
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return True

    def listdir(self, path: str) -> list[str]:
        try:
            return sorted(os.listdir(self._p(path)))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise registry_error(self.url, exc, f"list {path or '/'}") from exc

    def delete(self, path: str) -> None:
        with contextlib.suppress(OSError):
            self._p(path).unlink()

    def local_path(self, path: str) -> Optional[Path]:
        return self._p(path)

    @contextlib.contextmanager
    def lock(self, path: str):
        target = self._p(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise registry_error(self.url, exc, f"lock {path}") from exc
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def put_dir(self, local: Path, path: str, files: list[str], last: str) -> None:
        """Copy into a hidden ``.tmp-<uuid>`` folder, then rename it into place atomically."""
        dest = self._p(path)
        tmp = dest.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            tmp.mkdir(parents=True)
            for rel in files:
                if rel != last:
                    out = tmp.joinpath(*rel.split("/"))
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(local / rel, out)
            fault("before_metadata")
            shutil.copyfile(local / last, tmp / last)
            for p in sorted(tmp.rglob("*"), reverse=True):
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
            if dest.exists():
                raise VersionTaken(path)
            try:
                os.rename(tmp, dest)
            except OSError as exc:
                if dest.exists():
                    raise VersionTaken(path) from exc
                raise
        except VersionTaken:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise registry_error(self.url, exc, f"write {path}") from exc

    #: a ``.tmp-*`` entry in which nothing changed for this long is abandoned (its writer
    #: crashed or was killed): a live writer touches its files as it copies them
    STALE_SECONDS = 600.0

    def sweep(self, path: str, older_than: Optional[float] = None) -> list[str]:
        """Remove ``.tmp-*`` leftovers of crashed writers directly under ``path``.

        An entry goes only when nothing inside it changed for ``older_than`` seconds (default
        :attr:`STALE_SECONDS`), so a writer still copying a large model keeps its folder.
        Returns the names removed.
        """
        limit = self.STALE_SECONDS if older_than is None else older_than
        folder = self._p(path)
        now = time.time()
        removed = []
        try:
            entries = list(folder.iterdir())
        except OSError:
            return removed
        for entry in entries:
            if not entry.name.startswith(".tmp-"):
                continue
            try:
                if now - _newest_mtime(entry) <= limit:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed.append(entry.name)
            except OSError:
                continue  # another sweeper got it first, or it cannot be removed: leave it
        return removed


def _newest_mtime(entry: Path) -> float:
    newest = entry.lstat().st_mtime
    if entry.is_dir() and not entry.is_symlink():
        for root, dirs, files in os.walk(entry):
            for n in dirs + files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(root, n)).st_mtime)
    return newest
