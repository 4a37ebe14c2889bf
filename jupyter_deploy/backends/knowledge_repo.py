"""Publish reports into a knowledge repo: a folder with an index page, shareable as is.

Layout::

    ROOT/index.html                         every report: title, author, date, verdict, tags, link
    ROOT/index.json                         the same, for machines
    ROOT/reports/<slug>/<UTC timestamp>/    report.html (report.pdf), metadata.json

ROOT is ``--to`` (a folder path or a ``file://`` URL), else ``<jupyter-deploy home>/knowledge-repo``.
A report is written into a hidden temporary folder inside the repo and renamed into place in one
step; the index is rebuilt from the folders only after that, atomically. Any failure (disk full,
read-only folder) removes what was written, so the index never lists a half-written report.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlparse

from traitlets import Unicode

from ..errors import BackendError, UsageError
from ..targets.base import MANIFEST, Backend, Bundle, Handoff, Proof, sha256_file


class KnowledgeRepoError(BackendError):
    code = "knowledge-repo"


def _root_from(destination: str | None) -> Path:
    if not destination:
        from ..config import deploy_config

        return deploy_config().reports_path
    if destination.lower().startswith("file://"):
        parsed = urlparse(destination)
        if parsed.netloc not in ("", "localhost"):
            raise UsageError(
                f"{destination}: file:// URLs must name a local path.",
                hint="Write file:///absolute/path or just the folder path.",
            )
        return Path(unquote(parsed.path))
    return Path(destination).expanduser()


def _why(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full"
    if exc.errno in (errno.EROFS,):
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder"
    return exc.strerror or str(exc)


class KnowledgeRepoBackend(Backend):
    """A folder of reports with an index page (the report target's default)."""

    plugin_name: ClassVar[str] = "knowledge-repo"
    description: ClassVar[str] = (
        "A knowledge repo folder: reports/<slug>/<UTC timestamp>/ with the rendered report and "
        "metadata.json, and an index.html listing every report."
    )
    accepts: ClassVar[tuple[str, ...]] = ("report",)
    schemes: ClassVar[tuple[str, ...]] = ("file",)

    index_title = Unicode("Reports", help="Title of the knowledge repo's index page.").tag(config=True)

    @classmethod
    def claims(cls, destination: str | None, kind: str) -> bool:
        if kind not in cls.accepts or not destination:
            return False
        low = destination.lower()
        if low.startswith("file://"):
            return True
        if "://" in destination or low.startswith("mailto:"):
            return False
        return True  # a plain folder path

    def publish(self, bundle: Bundle, destination: str | None, reporter) -> Handoff:
        from ..report.index import METADATA, REPORTS, write_index
        from ..report.slug import slugify, timestamp

        root = _root_from(destination)
        man = bundle.manifest
        slug = slugify(man.get("slug") or man.get("title") or "report")
        stamp = timestamp()
        try:
            if root.exists() and not root.is_dir():
                raise NotADirectoryError(20, "Not a directory", str(root))
            slug_dir = root / REPORTS / slug
            slug_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise KnowledgeRepoError(
                f"Cannot publish to the knowledge repo {root}: {_why(exc)}.",
                hint="Pick a folder you can write to (--to PATH), or free some space. Nothing "
                "was published.",
            ) from exc

        version = stamp
        n = 1
        while (slug_dir / version).exists():
            n += 1
            version = f"{stamp}-{n}"
        final = slug_dir / version
        tmp = slug_dir / f".tmp-{version}-{uuid.uuid4().hex[:8]}"
        files = {}
        reporter("publish", 0, 2, f"writing {slug}/{version}")
        try:
            tmp.mkdir()
            for src in sorted(bundle.path.iterdir()):
                if src.name == MANIFEST or not src.is_file():
                    continue
                shutil.copyfile(src, tmp / src.name)
                files[src.name] = sha256_file(tmp / src.name)
            meta = {k: v for k, v in man.items() if k not in ("files", "proofs")}
            meta.update({"slug": slug, "files": files})
            with open(tmp / METADATA, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(meta, indent=2, sort_keys=True, default=str))
                fh.flush()
                os.fsync(fh.fileno())
            while True:
                try:
                    os.rename(tmp, final)
                    break
                except OSError as exc:
                    # Another publisher took this name in the same second: take the next one.
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or n > 1000:
                        raise
                    n += 1
                    version = f"{stamp}-{n}"
                    final = slug_dir / version
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise KnowledgeRepoError(
                f"Cannot write the report into {root}: {_why(exc)}.",
                hint="Free some space or fix the folder's permissions. Nothing was published "
                "and the index is unchanged.",
            ) from exc

        reporter("publish", 1, 2, "rebuilding the index")
        try:
            write_index(root, self.index_title)
        except OSError as exc:
            # Take the report back out so the folder and its index agree.
            shutil.rmtree(final, ignore_errors=True)
            try:
                write_index(root, self.index_title)
            except OSError:
                pass
            raise KnowledgeRepoError(
                f"Cannot rewrite the index of {root}: {_why(exc)}.",
                hint="Free some space or fix the folder's permissions. The report was taken back "
                "out; nothing was published.",
            ) from exc
        reporter("publish", 2, 2, "index rebuilt")
        main = man.get("main") or "report.html"
        report_file = final / main
        return Handoff(
            destination=str(final),
            summary=f"report {man.get('title', slug)!r} in {root} ({slug}/{version})",
            url=report_file.resolve().as_uri(),
            details={
                "root": str(root),
                "index": str(root / "index.html"),
                "path": f"{REPORTS}/{slug}/{version}",
                "slug": slug,
                "version": version,
                "files": files,
            },
        )

    def verify(self, bundle: Bundle, handoff: Handoff, reporter) -> list[Proof]:
        from ..report.index import INDEX_JSON

        root = Path(handoff.details["root"])
        rel = handoff.details["path"]
        proofs = []
        try:
            listing = json.loads((root / INDEX_JSON).read_text(encoding="utf-8"))
            listed = any(item.get("path") == rel for item in listing)
            html_listed = rel in (root / "index.html").read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            listed = html_listed = False
            detail = f"cannot read the index: {exc}"
        else:
            detail = "index.html and index.json list it" if listed and html_listed else \
                "the index does not list it"
        proofs.append(Proof("listed in the index", listed and html_listed, detail, {"path": rel}))
        expected = bundle.file_hashes()
        bad = []
        for name, digest in expected.items():
            p = Path(handoff.destination) / name
            if not p.is_file() or sha256_file(p) != digest:
                bad.append(name)
        proofs.append(
            Proof(
                "files match the bundle (sha256)",
                not bad,
                f"{len(expected)} file(s) identical" if not bad else f"differ or missing: {', '.join(bad)}",
            )
        )
        return proofs
