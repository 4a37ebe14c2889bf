"""The clean run's sandbox: a copy of the notebook's folder, so the user's folder never changes.

:func:`make` copies the folder into the tool's temp folder (see :mod:`jupyter_deploy.tmp`); the
kernel runs there (its working directory, so relative paths work as before). Afterwards
:func:`changes` compares the copy with what was copied and names what the notebook wrote,
overwrote or deleted; the sandbox is removed with the temp folder.

What is copied and what is shared:

- files up to ``SHARE_ABOVE`` (64 MiB) are copied, while the copied total stays under
  ``COPY_BUDGET`` (1 GiB);
- larger files (or files past the budget) are shared: a reflink (copy-on-write, where the file
  system supports it: btrfs, XFS) when possible, which is as safe as a copy; else a hard link
  (same file system) or a symbolic link. A notebook that writes *into* a shared file in place
  changes the user's file: that is detected (size, modification time, inode) and reported as a
  ``changes-inputs`` error naming the file, but it cannot be undone;
- ``.git``, ``.venv``, ``venv``, ``node_modules`` are not copied: a symbolic link to the real
  folder stands in for them (reachable, not watched); ``.ipynb_checkpoints`` is left out;
- the two folders above the notebook's folder are mirrored with symbolic links to their entries,
  so ``../data/x.csv`` still resolves (writes there reach the real folder: outside the sandbox).
"""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

SHARE_ABOVE = 64 * 1024 * 1024
COPY_BUDGET = 1024 * 1024 * 1024
LINKED_DIRS = frozenset({".git", ".venv", "venv", "node_modules"})
LEFT_OUT = frozenset({".ipynb_checkpoints"})
IGNORED = frozenset({"__pycache__", ".ipynb_checkpoints"})  # never reported
PARENT_LEVELS = 2
_FICLONE = 0x40049409  # ioctl: share the blocks of a file, copy-on-write (Linux)


@dataclass
class Sandbox:
    source: Path  # the user's folder
    folder: Path  # its copy, the kernel's working directory
    files: dict = field(default_factory=dict)  # relative path -> (size, mtime_ns, shared)
    shared: dict = field(default_factory=dict)  # relative path -> (size, mtime_ns, inode) of the real file

    def path_of(self, notebook: Path) -> Path:
        """The sandbox copy of a file of the user's folder."""
        return self.folder / Path(notebook).resolve().relative_to(self.source)


def _reflink(src: str, dst: str) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not Linux
        return False
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
    except OSError:
        try:
            os.unlink(dst)
        except OSError:
            pass
        return False
    shutil.copystat(src, dst)
    return True


def _share(src: str, dst: str) -> None:
    if _reflink(src, dst):
        return
    try:
        os.link(src, dst)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EACCES):
            raise
        try:
            os.symlink(src, dst)
        except OSError:  # no links at all here (Windows without the privilege): copy
            shutil.copy2(src, dst)


def _symlink(target: str, dst) -> None:
    """A link standing in for something not copied; where links are refused, it is left out."""
    try:
        os.symlink(target, dst)
    except OSError:
        pass


def _record_link(box: "Sandbox", dst, rel: str) -> None:
    try:
        st = os.lstat(dst)
    except OSError:
        return
    box.files[rel] = (st.st_size, st.st_mtime_ns, False)


def _mirror_parents(source: Path, root: Path) -> Path:
    """``root/<grandparent>/<parent>/<folder>`` with links to the parents' other entries."""
    chain = [source]
    for _ in range(PARENT_LEVELS):
        up = chain[-1].parent
        if up == chain[-1]:
            break
        chain.append(up)
    top = root
    names = [p.name or "root" for p in reversed(chain)]
    here = top
    for depth, (real, name) in enumerate(zip(reversed(chain), names)):
        here = here / name
        here.mkdir(parents=True, exist_ok=True)
        if real == source:
            break
        child = list(reversed(chain))[depth + 1].name
        try:
            entries = list(os.scandir(real))
        except OSError:
            continue
        for entry in entries:
            if entry.name == child:
                continue
            try:
                os.symlink(entry.path, here / entry.name)
            except OSError:
                pass
    return here


def make(source: os.PathLike, root: os.PathLike, skip: tuple = ()) -> Sandbox:
    """Copy ``source`` (the notebook's folder) under ``root`` and return the sandbox.
    Folders in ``skip`` (the tool's own home, when it lies inside the notebook's folder) are
    left out."""
    source = Path(source).resolve()
    skip_real = {os.path.realpath(p) for p in skip} | {os.path.realpath(root)}
    folder = _mirror_parents(source, Path(root))
    box = Sandbox(source=source, folder=folder)
    budget = COPY_BUDGET
    for dirpath, dirnames, filenames in os.walk(source):
        rel_dir = os.path.relpath(dirpath, source)
        target_dir = folder if rel_dir == "." else folder / rel_dir
        keep = []
        for d in dirnames:
            src = os.path.join(dirpath, d)
            if d in LEFT_OUT or os.path.realpath(src) in skip_real:
                continue
            if d in LINKED_DIRS or os.path.islink(src):
                _symlink(os.path.realpath(src) if d in LINKED_DIRS else os.readlink(src),
                         target_dir / d)
                _record_link(box, target_dir / d, d if rel_dir == "." else os.path.join(rel_dir, d))
                continue
            (target_dir / d).mkdir()
            keep.append(d)
        dirnames[:] = keep
        for name in filenames:
            src = os.path.join(dirpath, name)
            dst = target_dir / name
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            try:
                st = os.lstat(src)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                _symlink(os.readlink(src), dst)
                _record_link(box, dst, rel)
                continue
            if not stat.S_ISREG(st.st_mode):
                continue  # sockets, fifos: nothing a notebook reads as data
            shared = st.st_size > SHARE_ABOVE or st.st_size > budget
            if shared:
                _share(src, str(dst))
                box.shared[rel] = (st.st_size, st.st_mtime_ns, st.st_ino)
            else:
                try:
                    shutil.copy2(src, dst)
                except OSError:
                    continue  # unreadable: the notebook could not read it either
                budget -= st.st_size
            dst_st = os.lstat(dst)
            box.files[rel] = (dst_st.st_size, dst_st.st_mtime_ns, shared)
    return box


def _walk(folder: Path) -> dict:
    found = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in IGNORED]
        rel_dir = os.path.relpath(dirpath, folder)
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            found[rel] = (st.st_size, st.st_mtime_ns)
    return found


def changes(box: Sandbox) -> dict:
    """What the run did to its folder: ``written`` (new files), ``changed`` (existing files whose
    content differs), ``deleted``, and ``changed_outside`` (shared files changed in the user's
    own folder, which the sandbox could not prevent)."""
    now = _walk(box.folder)
    written, changed, deleted, outside = [], [], [], []
    for rel in sorted(set(now) - set(box.files)):
        if os.path.isdir(box.folder / rel) and not os.path.islink(box.folder / rel):
            continue
        if rel.split(os.sep)[0] in LINKED_DIRS:
            continue
        written.append(rel)
    for rel, (size, mtime, shared) in sorted(box.files.items()):
        if rel not in now:
            deleted.append(rel)
            continue
        if (size, mtime) == now[rel] or rel in box.shared and _real_changed(box, rel):
            continue
        if shared:
            changed.append(rel)  # replaced in the copy (too large to compare by content)
        else:
            real = box.source / rel
            try:
                same = filecmp.cmp(real, box.folder / rel, shallow=False)
            except OSError:
                same = False
            if not same:
                changed.append(rel)
    outside = [rel for rel in sorted(box.shared) if _real_changed(box, rel)]
    return {"written": written, "changed": changed, "deleted": deleted,
            "changed_outside": outside}


KEEP_BUDGET = 64 * 1024 * 1024


def unsandbox_outputs(nb, box: Sandbox) -> None:
    """Write the user's paths back into the run's outputs, where the sandbox's paths appear
    (``os.getcwd()``, an absolute path printed, a traceback through a module next to the
    notebook), so that they compare equal to the saved outputs."""
    pairs = []
    for k in range(PARENT_LEVELS + 1):
        try:
            mirror = box.folder if k == 0 else box.folder.parents[k - 1]
            real = box.source if k == 0 else box.source.parents[k - 1]
        except IndexError:
            break
        if mirror == real or real == Path(real.anchor):
            break
        for m in {str(mirror), os.path.realpath(mirror)}:
            pairs.append((m, str(real)))
    pairs.sort(key=lambda p: -len(p[0]))

    def fix(value):
        if isinstance(value, str):
            for mirror, real in pairs:
                if mirror in value:
                    value = value.replace(mirror, real)
            return value
        if isinstance(value, list):
            return [fix(v) for v in value]
        if isinstance(value, dict):
            for key in list(value):
                value[key] = fix(value[key])
            return value
        return value

    for cell in nb.cells:
        for output in cell.get("outputs", []) or []:
            fix(output)


def keep(box: Sandbox, found: dict, dest: os.PathLike, budget: int = KEEP_BUDGET) -> list:
    """Copy what the run wrote or overwrote in its folder to ``dest`` (the check's cache entry,
    for a deploy that needs it: a report's images), up to ``budget`` bytes; return what was kept."""
    kept = []
    dest = Path(dest)
    for rel in found["written"] + found["changed"]:
        src = box.folder / rel
        try:
            size = os.lstat(src).st_size
        except OSError:
            continue
        if os.path.islink(src) or not os.path.isfile(src) or size > budget:
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
        budget -= size
        kept.append(rel)
    return kept


def overlay(source: os.PathLike, produced: os.PathLike, dest: os.PathLike) -> Path:
    """A folder that looks like ``source`` with the clean run's ``produced`` files on top:
    links to ``source``'s entries, copies of the produced files (a linked folder that holds one
    is unfolded into a real folder of links, so nothing is written through a link)."""
    source, produced, dest = Path(source), Path(produced), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)

    def link_entries(real: Path, into: Path) -> None:
        try:
            entries = list(os.scandir(real))
        except OSError:
            return
        for entry in entries:
            if not (into / entry.name).exists() and not os.path.islink(into / entry.name):
                os.symlink(entry.path, into / entry.name)

    link_entries(source, dest)
    for path in sorted(produced.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(produced)
        here, real = dest, source
        for part in rel.parts[:-1]:
            here, real = here / part, real / part
            if os.path.islink(here):
                os.unlink(here)
                here.mkdir()
                link_entries(real, here)
            here.mkdir(exist_ok=True)
        target = dest / rel
        if os.path.islink(target):
            os.unlink(target)
        shutil.copy2(path, target)
    return dest


def _real_changed(box: Sandbox, rel: str) -> bool:
    try:
        st = os.stat(box.source / rel)
        after = (st.st_size, st.st_mtime_ns, st.st_ino)
    except OSError:
        after = None
    return after != box.shared[rel]


def _names(paths: list, limit: int = 8) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def findings(found: dict, finding) -> list:
    """Findings for :func:`changes`'s answer; ``finding`` is run.py's finding constructor."""
    out = []
    if found["written"]:
        out.append(finding(
            "writes-files", None,
            f"the run wrote {len(found['written'])} new file(s) next to the notebook: "
            f"{_names(found['written'])} (the check ran in a copy of the folder; yours is "
            "unchanged)",
            "Outputs are fine; make sure no later run reads them back as inputs (write them "
            "under an outputs folder, for example).",
            severity="warning", files=found["written"],
        ))
    touched = [f"{p} (overwritten)" for p in found["changed"]]
    touched += [f"{p} (deleted)" for p in found["deleted"]]
    touched += [f"{p} (changed in your folder: a large file shared with the copy)"
                for p in found["changed_outside"]]
    if touched:
        out.append(finding(
            "changes-inputs", None,
            f"the run changed files that were in its folder before it ran: {_names(touched)}; "
            "its next run starts from different files",
            "Write results to new files instead of overwriting or deleting the notebook's "
            "inputs." + ("" if found["changed_outside"] else " The check ran in a copy of the "
                         "folder: yours is unchanged."),
            severity="error",
            files=found["changed"] + found["deleted"] + found["changed_outside"],
        ))
    return out


