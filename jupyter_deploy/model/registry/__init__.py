"""Versioned model registries: a folder, any fsspec URL, or an HTTP artefact server.

Layout (the same in every store)::

    <registry>/<name>/v<N>/{model.pkl, metadata.json, requirements.txt, sample.json, README.md}
    <registry>/<name>/aliases.json          {"production": 3, ...}
    <registry>/<name>/.claims/v<N>          who claimed version N (written once, never reused)
    <registry>/index.json                   model names (only for stores that cannot list)

    <registry>/<name>/v<N>/status.json      "verified" or "failed", written after the proofs

Writing a version: if a version with the same content (model, requirements, sample hashes)
exists, that version is returned. Otherwise the next number is *claimed* by creating
``.claims/v<N>`` exclusively (a lost race moves on to N+1), the artefact is stamped with N, and
its files are written with ``metadata.json`` last (a folder writes a hidden ``.tmp-<uuid>``
folder and renames it into place). A version exists only once its ``metadata.json`` does, so a
writer that crashes half-way leaves no version behind (its number stays unused). On a folder the
check for identical content and the claim happen under one lock (``<name>/.publish.lock``), so
racing writers of the same content create one version.

Proof before promotion: ``publish(..., pending=True)`` (what a deploy does) stamps the version's
signed metadata with ``"proof": "required"`` and moves no alias. Such a version is *pending*
until :meth:`Registry.promote` (after every proof passed: writes ``status.json`` "verified",
then moves the alias and the index) or :meth:`Registry.mark_failed` (a proof failed: "failed").
A pending or failed version is listed with its status but is never the latest, never an alias's
target, and ``load`` of its number refuses unless ``allow_unverified=True``. Versions without
the field (published directly with ``publish()``, or by older releases) count as usable, with
status "unproven".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional

from ...errors import IntegrityError, RegistryError, UsageError
from ..standalone import METADATA
from .base import Store, VersionTaken
from ...config import deploy_config
from ... import tmp as _tmp  # the tool's own temp folder: swept if this process dies

__all__ = ["Registry", "open_registry", "validate_name", "Store"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_VERSION_RE = re.compile(r"^v(\d+)$")
ALIASES = "aliases.json"
INDEX = "index.json"
STATUS = "status.json"
#: statuses a version can have; only USABLE ones are returned as latest or for an alias
USABLE = ("verified", "unproven")


def validate_name(name: Any, what: str = "model name") -> str:
    if not isinstance(name, str) or not name:
        raise UsageError(f"A {what} is required.", hint="Give --name NAME (letters, digits, . _ -).")
    if not _NAME_RE.match(name) or ".." in name:
        raise UsageError(
            f"Invalid {what} {name!r}: use letters, digits, '.', '_' and '-' only "
            "(no '/', '..' or spaces), starting with a letter or digit.",
            hint=f"For example {re.sub(r'[^A-Za-z0-9._-]+', '-', name).strip('.-') or 'churn'}.",
        )
    return name


def validate_alias(alias: str) -> str:
    validate_name(alias, "alias")
    if _VERSION_RE.match(alias) or alias.isdigit() or alias == "latest":
        raise UsageError(
            f"Invalid alias {alias!r}: it would read as a version.",
            hint="Use a word such as production or staging.",
        )
    return alias


def open_registry(url_or_path: Any = None) -> "Registry":
    """The registry at a folder path, ``file://``, ``http(s)://`` or any fsspec URL.

    ``None`` means the configured default (``DeployConfig.registry``, else the registry folder
    under ``DeployConfig.home``).
    """
    if isinstance(url_or_path, Registry):
        return url_or_path
    if url_or_path is None or url_or_path == "":
        conf = deploy_config()
        url_or_path = conf.registry or conf.registry_path
    if isinstance(url_or_path, os.PathLike):
        from .folder import FolderStore

        return Registry(FolderStore(url_or_path))
    text = str(url_or_path)
    low = text.lower()
    if low.startswith("file://"):
        from urllib.parse import unquote, urlsplit

        from .folder import FolderStore

        return Registry(FolderStore(unquote(urlsplit(text).path)))
    if low.startswith(("http://", "https://")):
        from .http import HTTPStore

        return Registry(HTTPStore(text))
    if "://" in text:
        from .fsspec_store import FsspecStore

        return Registry(FsspecStore(text))
    from .folder import FolderStore

    return Registry(FolderStore(text))


class Registry:
    def __init__(self, store: Store):
        self.store = store

    @property
    def url(self) -> str:
        return self.store.url

    def __repr__(self) -> str:
        return f"Registry({self.url!r})"

    def uri(self, name: str, version: int) -> str:
        return f"{self.url.rstrip('/')}/{name}/v{version}"

    # ------------------------------------------------------------------------- reading

    def names(self) -> list[str]:
        if self.store.can_list:
            out = []
            for entry in self.store.listdir(""):
                if _NAME_RE.match(entry) and entry != INDEX and self.versions(entry):
                    out.append(entry)
            return sorted(out)
        try:
            index = json.loads(self.store.read_bytes(INDEX))
        except FileNotFoundError:
            return []
        except ValueError:
            index = None
        if not isinstance(index, dict):
            raise RegistryError(
                f"{self.url}/{INDEX} is damaged (not a JSON object with a list of names).",
                hint='Fix it by hand ({"names": ["churn", ...]}) or delete it; it is rebuilt as '
                "models are promoted.",
            )
        return sorted(n for n in index.get("names", []) if isinstance(n, str) and _NAME_RE.match(n))

    def _claimed(self, name: str) -> list[int]:
        if self.store.can_list:
            nums = set()
            for entry in self.store.listdir(f"{name}/.claims") + self.store.listdir(name):
                m = _VERSION_RE.match(entry)
                if m:
                    nums.add(int(m.group(1)))
            return sorted(nums)
        nums, n, misses = [], 1, 0
        # Claims are made in order, so the first missing number ends the list (allow a few gaps
        # for claims deleted by hand).
        while misses < 3:
            if self.store.exists(f"{name}/.claims/v{n}"):
                nums.append(n)
                misses = 0
            else:
                misses += 1
            n += 1
        return nums

    def versions(self, name: str) -> list[int]:
        """Version numbers that exist (their metadata.json was written), oldest first."""
        validate_name(name)
        return [n for n in self._claimed(name) if self.store.exists(f"{name}/v{n}/{METADATA}")]

    def metadata(self, name: str, version: int) -> dict:
        try:
            raw = self.store.read_bytes(f"{name}/v{version}/{METADATA}")
        except FileNotFoundError:
            raise self._no_version(name, version) from None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise RegistryError(
                f"{self.uri(name, version)}/{METADATA} is not valid JSON.",
                hint="The version is damaged; publish the model again.",
            ) from exc

    def aliases(self, name: str) -> dict[str, int]:
        """The model's aliases; a damaged ``aliases.json`` is an error naming it, never {}."""
        try:
            raw = self.store.read_bytes(f"{name}/{ALIASES}")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in data.values()
        ):
            raise RegistryError(
                f"{self.url}/{name}/{ALIASES} is damaged (not a JSON object of alias -> version "
                "number), so no alias of this model can be trusted.",
                hint='Fix it by hand (for example {"production": 3}) or delete it to drop every '
                "alias; jupyter deploy models NAME lists the versions.",
            )
        return {k: int(v) for k, v in data.items()}

    def status(self, name: str, version: int, meta: Optional[dict] = None) -> dict:
        """``{"status": "verified"|"failed"|"pending"|"unproven", ...}`` of a version.

        "pending": published for a deploy whose proofs have not (yet) passed; "unproven": a
        version published without asking for a proof (``publish()`` directly, or an older
        release), usable as before.
        """
        try:
            raw = self.store.read_bytes(f"{name}/v{version}/{STATUS}")
        except FileNotFoundError:
            raw = None
        if raw is not None:
            try:
                data = json.loads(raw.decode("utf-8"))
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get("status") in ("verified", "failed"):
                return data
            # a damaged status file proves nothing: the version is treated as failed
            return {"status": "failed", "detail": f"{STATUS} is damaged"}
        if meta is None:
            meta = self.metadata(name, version)
        return {"status": "pending" if meta.get("proof") == "required" else "unproven"}

    def usable(self, name: str, version: int) -> bool:
        return self.status(name, version)["status"] in USABLE

    def _no_version(self, name, version) -> RegistryError:
        versions = self.versions(name)
        if not versions:
            return RegistryError(
                f"There is no model {name!r} in the registry {self.url}.",
                hint=f"Models there: {', '.join(self.names()) or 'none'}. "
                "jupyter deploy models lists them.",
            )
        aliases = self.aliases(name)
        return RegistryError(
            f"Model {name!r} has no version {version!r} in {self.url}.",
            hint=f"Versions: {', '.join(f'v{v}' for v in versions)}"
            + (f"; aliases: {', '.join(f'{k}->v{v}' for k, v in sorted(aliases.items()))}" if aliases else "")
            + ".",
        )

    def latest(self, name: str) -> Optional[int]:
        """The newest usable version (verified or unproven), None when there is none."""
        for v in reversed(self.versions(name)):
            if self.usable(name, v):
                return v
        return None

    def _unusable(self, name: str, n: int, asked: Any) -> RegistryError:
        st = self.status(name, n)
        what = {"failed": "failed its proof", "pending": "has not passed its proof (yet)"}.get(
            st["status"], f"is {st['status']}")
        detail = f": {st['detail']}" if st.get("detail") else ""
        return RegistryError(
            f"{self.uri(name, n)} {what}{detail}, so it is not loaded.",
            hint="Load a verified version (jupyter deploy models NAME shows each status), or "
            "pass allow_unverified=True to inspect this one anyway.",
        )

    def resolve(self, name: str, version: Any = None, *, allow_unverified: bool = False) -> int:
        """A version number from None (latest), an int, "3", "v3", "latest" or an alias.

        "latest" is the newest *usable* version; an alias only ever names one. An explicit
        number of a pending or failed version is refused unless ``allow_unverified``.
        """
        validate_name(name)
        if version is None or version == "latest":
            versions = self.versions(name)
            if not versions:
                raise self._no_version(name, version)
            n = self.latest(name)
            if n is None:
                if allow_unverified:
                    return versions[-1]
                raise RegistryError(
                    f"Model {name!r} in {self.url} has no verified version "
                    f"({', '.join(f'v{v}' for v in versions)}: none passed its proof).",
                    hint="Deploy it again once the proof passes; jupyter deploy models "
                    f"{name} shows why each failed.",
                )
            return n
        if isinstance(version, bool):
            raise UsageError(f"Invalid version {version!r}.", hint="Give a number or an alias.")
        if isinstance(version, int):
            n = version
        elif isinstance(version, str) and (version.isdigit() or _VERSION_RE.match(version)):
            n = int(version.lstrip("v"))
        elif isinstance(version, str):
            aliases = self.aliases(name)
            if version not in aliases:
                raise self._no_version(name, version)
            n = aliases[version]
        else:
            raise UsageError(f"Invalid version {version!r}.", hint="Give a number or an alias.")
        if not self.store.exists(f"{name}/v{n}/{METADATA}"):
            raise self._no_version(name, version)
        if not allow_unverified and not self.usable(name, n):
            raise self._unusable(name, n, version)
        return n

    def fetch(self, name: str, version: int, dest: Path) -> Path:
        """The version's folder on local disk: in place for a folder store, else downloaded."""
        local = self.store.local_path(f"{name}/v{version}")
        if local is not None:
            if not (local / METADATA).exists():
                raise self._no_version(name, version)
            return local
        meta_raw = self.store.read_bytes(f"{name}/v{version}/{METADATA}")
        meta = json.loads(meta_raw.decode("utf-8"))
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        for rel in (meta.get("files") or {}):
            parts = rel.split("/")
            if rel.startswith("/") or ".." in parts:
                raise IntegrityError(
                    f"{self.uri(name, version)}/{METADATA} lists an unsafe path {rel!r}.",
                    hint="Do not load it.",
                    file=METADATA,
                )
            try:
                data = self.store.read_bytes(f"{name}/v{version}/{rel}")
            except FileNotFoundError:
                continue  # reported as missing by the integrity check
            out = dest.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        (dest / METADATA).write_bytes(meta_raw)
        return dest

    def load(self, name: str, version: Any = None, *, verify: bool = True, signing_key=None,
             allow_unverified: bool = False):
        """``(model, metadata)`` of a version, after checking its hashes (and signature).

        A version that failed (or has not passed) its proof is refused unless
        ``allow_unverified``; "latest" and aliases never name one.
        """
        from ..artefact import read_artefact

        n = self.resolve(name, version, allow_unverified=allow_unverified)
        local = self.store.local_path(f"{name}/v{n}")
        if local is not None:  # a folder: check and read in place, no copy
            return read_artefact(local, verify=verify, signing_key=signing_key)
        with tempfile.TemporaryDirectory(prefix="jupyter-deploy-load-") as tmp:
            folder = self.fetch(name, n, Path(tmp))
            return read_artefact(folder, verify=verify, signing_key=signing_key)

    def list(self, name: Optional[str] = None) -> list[dict]:
        names = [validate_name(name)] if name else self.names()
        out = []
        for model in names:
            aliases = self.aliases(model)
            by_version: dict[int, list[str]] = {}
            for alias, v in aliases.items():
                by_version.setdefault(v, []).append(alias)
            for v in self.versions(model):
                try:
                    meta = self.metadata(model, v)
                except RegistryError as exc:
                    out.append({"name": model, "version": v, "error": exc.one_line()})
                    continue
                st = self.status(model, v, meta)
                out.append(
                    {
                        "name": model,
                        "version": v,
                        "status": st["status"],
                        "aliases": sorted(by_version.get(v, [])),
                        "created": meta.get("created"),
                        "model_class": meta.get("model_class"),
                        "task": meta.get("task"),
                        "description": meta.get("description", ""),
                        "metrics": meta.get("metrics", {}),
                        "verdict": meta.get("verdict"),
                        "forced": meta.get("forced", False),
                        "python": meta.get("python"),
                        "signed": bool(meta.get("signature")),
                        "notebook": meta.get("notebook"),
                        "requirements": len(meta.get("requirements") or []),
                        "uri": self.uri(model, v),
                        "registry": self.url,
                        **({"status_detail": st["detail"]} if st.get("detail") else {}),
                    }
                )
        return out

    # ------------------------------------------------------------------------- writing

    def find_content(self, name: str, content_sha256: str, signing_key: Optional[bytes] = None,
                     *, usable_only: bool = False) -> Optional[int]:
        """The newest version holding this content that the current signing key can load.

        With a key, a version signed with another key (or unsigned) is not a match: reusing it
        would hand back a version that fails to load with this key.
        """
        import hmac

        from ..signing import sign

        for v in reversed(self.versions(name)):
            try:
                meta = self.metadata(name, v)
            except RegistryError:
                continue
            if meta.get("content_sha256") != content_sha256:
                continue
            if signing_key:
                sig = meta.get("signature") or ""
                if not hmac.compare_digest(sig, sign(meta.get("metadata_sha256", ""), signing_key)):
                    continue
            if usable_only and not self.usable(name, v):
                continue
            return v
        return None

    def set_alias(self, name: str, alias: str, version: int, *,
                  allow_unverified: bool = False) -> None:
        validate_name(name)
        validate_alias(alias)
        if not self.store.exists(f"{name}/v{version}/{METADATA}"):
            raise self._no_version(name, version)
        if not allow_unverified and not self.usable(name, version):
            raise self._unusable(name, version, version)
        with self.store.lock(f"{name}/.aliases.lock"):
            current = self.aliases(name)
            current[alias] = int(version)
            data = json.dumps(current, indent=2, sort_keys=True).encode("utf-8") + b"\n"
            self.store.write_bytes(f"{name}/{ALIASES}", data)

    def _next_number(self, name: str) -> int:
        claimed = self._claimed(name)
        return (claimed[-1] + 1) if claimed else 1

    def _remember_name(self, name: str) -> None:
        if self.store.can_list:
            return
        with self.store.lock(".index.lock"):
            names = set(self.names())
            if name in names:
                return
            names.add(name)
            self.store.write_bytes(
                INDEX, json.dumps({"names": sorted(names)}, indent=2).encode("utf-8") + b"\n"
            )

    def publish(
        self,
        local: Path,
        *,
        name: str,
        alias: Optional[str] = None,
        signing_key: Optional[bytes] = None,
        reporter=None,
        pending: bool = False,
    ) -> dict:
        """Publish the artefact folder ``local`` as the next version of ``name``.

        Returns ``{"version", "reused", "metadata", "uri", "status"}``; ``reused`` is True when
        a version with identical content (loadable with the current signing key) already
        existed: its number is returned, nothing is written.

        ``pending=True`` (a deploy) writes a version that must pass its proofs before anything
        points at it: no alias moves here, :meth:`promote` or :meth:`mark_failed` settles it.
        Without it the version is usable at once and ``alias`` moves now (library use).
        """
        from ..artefact import stamp_version
        from ..signing import signing_key as _key

        validate_name(name)
        if alias:
            validate_alias(alias)
        local = Path(local)
        meta = json.loads((local / METADATA).read_text())
        say = reporter or (lambda *a, **k: None)
        key = _key(signing_key)
        self.sweep(name)

        # One writer at a time per model decides "identical content exists" and claims a
        # number, so racing writers of the same content make one version (a folder's lock is
        # an flock across processes; stores without locks keep the claim-based numbering).
        with self.store.lock(f"{name}/.publish.lock"):
            existing = self.find_content(name, meta.get("content_sha256", ""), key,
                                         usable_only=not pending)
            if existing is not None:
                say("publish", 1, 2, f"{name} v{existing} already holds this model; reusing it")
                if alias and not pending:
                    self.set_alias(name, alias, existing)
                return {
                    "version": existing,
                    "reused": True,
                    "metadata": self.metadata(name, existing),
                    "uri": self.uri(name, existing),
                    "status": self.status(name, existing)["status"],
                }
            n, stamped = self._write_new(local, name, meta, key, pending, stamp_version, say)
        if not pending:
            self._remember_name(name)
            if alias:
                self.set_alias(name, alias, n)
        say("publish", 2, 2, f"wrote {name} v{n}" + (" (pending its proof)" if pending else ""))
        return {"version": n, "reused": False, "metadata": stamped, "uri": self.uri(name, n),
                "status": "pending" if pending else "unproven"}

    def _write_new(self, local, name, meta, key, pending, stamp_version, say):
        token = json.dumps({"token": uuid.uuid4().hex, "pid": os.getpid()}).encode("utf-8")
        files = sorted(meta.get("files", {})) + [METADATA]

        with _tmp.temporary_directory(prefix="jupyter-deploy-publish-") as tmp:
            art = Path(tmp) / "artefact"
            art.mkdir()
            for rel in files:
                out = art.joinpath(*rel.split("/"))
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(local.joinpath(*rel.split("/")), out)
            if pending:
                copy = json.loads((art / METADATA).read_text())
                copy["proof"] = "required"  # signed with the rest: cannot be dropped unseen
                (art / METADATA).write_text(json.dumps(copy, indent=2, sort_keys=True) + "\n")
            n = self._next_number(name)
            for _attempt in range(1000):
                if not self.store.create_exclusive(f"{name}/.claims/v{n}", token):
                    n += 1
                    continue
                stamped = stamp_version(art, n, signing_key=key)
                files = sorted(stamped["files"]) + [METADATA]
                say("publish", 0, 2, f"writing {name} v{n}")
                try:
                    self.store.put_dir(art, f"{name}/v{n}", files, METADATA)
                except VersionTaken:
                    n += 1
                    continue
                return n, stamped
        raise RegistryError(  # pragma: no cover - a thousand lost races
            f"Could not claim a version number for {name} in {self.url}.",
            hint="Too many concurrent writers; try again.",
        )

    def _write_status(self, name: str, version: int, status: str, proofs=None) -> dict:
        record = {
            "status": status,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "proofs": [
                {"name": p.get("name"), "ok": bool(p.get("ok")), "detail": p.get("detail")}
                for p in (proofs or [])
            ],
        }
        if status == "failed":
            failed = [p for p in record["proofs"] if not p["ok"]]
            if failed:
                record["detail"] = "; ".join(f"{p['name']}: {p['detail']}" for p in failed)[:500]
        data = json.dumps(record, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        self.store.write_bytes(f"{name}/v{version}/{STATUS}", data)
        return record

    def promote(self, name: str, version: int, alias: Optional[str] = None, proofs=None) -> dict:
        """After every proof of ``version`` passed: mark it verified, then move ``alias``.

        Only now does the version become the latest, the alias's target, and (on stores that
        cannot list) an entry of the index.
        """
        validate_name(name)
        if alias:
            validate_alias(alias)
        if not self.store.exists(f"{name}/v{version}/{METADATA}"):
            raise self._no_version(name, version)
        record = self._write_status(name, version, "verified", proofs)
        self._remember_name(name)
        if alias:
            self.set_alias(name, alias, version)
        return record

    def mark_failed(self, name: str, version: int, proofs=None) -> dict:
        """A proof of ``version`` failed: keep it, marked failed (a verified version stays so:
        its earlier proof stands, and what points at it is not pulled from under its users)."""
        validate_name(name)
        current = self.status(name, version)
        if current["status"] == "verified":
            return current
        return self._write_status(name, version, "failed", proofs)

    def sweep(self, name: Optional[str] = None) -> None:
        """Remove abandoned ``.tmp-*`` leftovers of crashed writers (stores that can)."""
        sweep = getattr(self.store, "sweep", None)
        if sweep is None:
            return
        with contextlib.suppress(OSError, RegistryError):
            sweep("")
            if name:
                sweep(name)
