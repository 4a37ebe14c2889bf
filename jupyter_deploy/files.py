"""Writing a file so that a reader never sees half of it (the one way the package does it).

The text goes to a temporary file in the same folder, is flushed to disk, gets the mode the file
had (or, for a new file, what ``open()`` would give under the umask), and replaces the file in
one ``os.replace``. On any failure the temporary file is removed and the old file is untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional, Union


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Union[str, os.PathLike], data: Union[str, bytes], *,
                 mode: Optional[int] = None) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step. ``mode``: the
    file's permissions (default: the existing file's, else the umask's)."""
    path = Path(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = _default_mode()
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=str(path.parent or "."), prefix=f".{path.name}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
