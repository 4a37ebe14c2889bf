"""Publish reports into a knowledge repo: a folder with an index page, shareable as is.

Layout::

    ROOT/index.html                         every report: title, author, date, verdict, tags, link
    ROOT/index.json                         the same, for machines
    ROOT/reports/<slug>/<UTC timestamp>/    report.html (report.pdf), metadata.json

ROOT is ``--to`` (a folder path or a ``file://`` URL), else ``<jupyter-deploy home>/knowledge-repo``.
It must be a knowledge repo this tool made: a new or empty folder becomes one (the marker file
``ROOT/.jupyter-deploy-knowledge-repo`` is written first); a folder with the marker is one; a
folder written by an older release (nothing but ``index.html``, ``index.json`` listing
``reports/...`` entries, ``reports/`` and ``.index.lock``) is adopted and gets the marker. Any other
folder is refused before anything is written, so a report never replaces someone's
``index.html``.
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
from ..bundle import MANIFEST, Bundle, Handoff, Proof, ReportSpec, sha256_file
from ..plugin import Backend


class KnowledgeRepoError(BackendError):
    code = "knowledge-repo"


class NotAKnowledgeRepo(KnowledgeRepoError):
    code = "not-a-knowledge-repo"
    status = 409


MARKER = ".jupyter-deploy-knowledge-repo"
# what an older release left in a repo's root (besides the marker it did not write yet)
_OURS = {"index.html", "index.json", "reports", ".index.lock"}


def _older_repo(root: Path, entries: list[str]) -> bool:
    """A repo written by a release without the marker: only our files, our index.json."""
    others = [e for e in entries if e not in _OURS
              and not (e.startswith((".index.html.", ".index.json.")) and e.endswith(".tmp"))]
    if others or "index.json" not in entries or not (root / "reports").is_dir():
        return False
    try:
        listing = json.loads((root / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(listing, list) and all(
        isinstance(item, dict) and str(item.get("path", "")).startswith("reports/")
        for item in listing
    )


def claim_root(root: Path, *, write: bool = True) -> str:
    """Make sure ``root`` is ours to write: "new", "empty", "marked" or "adopted".

    Raises NotAKnowledgeRepo for any other folder, naming it. With ``write`` the marker is
    written (and a new folder created); without, only the decision is made (a preflight).
    """
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(root))
    if not root.exists():
        state = "new"
        entries: list[str] = []
    else:
        entries = sorted(os.listdir(root))
        if MARKER in entries:
            return "marked"
        if not entries:
            state = "empty"
        elif _older_repo(root, entries):
            state = "adopted"
        else:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise NotAKnowledgeRepo(
                f"{root} is not a knowledge repo made by jupyter-deploy (it already holds "
                f"{shown}), so nothing was written there.",
                hint="Give --to a new or empty folder; to make this folder a knowledge repo on "
                f"purpose, create the empty file {root / MARKER} first.",
                folder=str(root),
            )
    if write:
        root.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(root / MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return state  # another publisher marked it first
        with os.fdopen(fd, "w") as fh:
            fh.write("A knowledge repo written by jupyter-deploy (jupyter deploy report). "
                     "Reports are added under reports/; index.html lists them.\n")
    return state


def _root_from(destination: str | None) -> Path:
    if not destination:
        raise UsageError("No knowledge repo to publish to.",
                         hint="Give --to FOLDER (the configured one is used by default).")
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

    @classmethod
    def default_destination(cls, deploy_config) -> str:
        return str(deploy_config.reports_path)

    @classmethod
    def preflight(cls, destination: str | None) -> None:
        """Refuse a folder that is not ours before the check runs (nothing written)."""
        if not destination:
            return
        try:
            claim_root(_root_from(destination), write=False)
        except OSError:
            pass  # publish reports it, with the reason

    def publish(self, bundle: Bundle, destination: str | None, reporter) -> Handoff:
        from ..report.index import METADATA, REPORTS, write_index
        from ..report.slug import slugify, timestamp

        root = _root_from(destination or self.default_destination(self.deploy_config))
        man = bundle.manifest
        spec = bundle.spec_as(ReportSpec)
        slug = slugify(spec.slug or spec.title or "report")
        stamp = timestamp()
        try:
            claim_root(root)
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
        main = spec.main or "report.html"
        report_file = final / main
        return Handoff(
            destination=str(final),
            summary=f"report {spec.title or slug!r} in {root} ({slug}/{version})",
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
