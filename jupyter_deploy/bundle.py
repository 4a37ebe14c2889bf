"""The contract's data: what a target hands to a backend, and what a backend reports back.

This module is the bottom of the plugin contract (with :mod:`jupyter_deploy.plugin`): it imports
nothing from the rest of the package, and targets, backends, the check and the front ends all
import it.

- :class:`Bundle`: a folder of files plus a JSON manifest (``manifest.json``), with the typed
  :class:`BundleSpec` the target wrote for its kind (what the backend needs to hand it off).
- :class:`Proof`: one thing checked, and whether it held.
- :class:`Handoff`: where a backend put a bundle, and what it found there.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import ClassVar, Optional, TypeVar

MANIFEST = "manifest.json"


def sha256_file(path: os.PathLike | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


# ------------------------------------------------------------------------------ bundle specs


@dataclass
class BundleSpec:
    """What a target tells the backend about a bundle of its kind: typed, written by the target
    (``bundle.spec = ModelSpec(...)``), read by the backend (``bundle.spec_as(ModelSpec)``).

    In the manifest it is the object under ``key`` (the report's sits at the top level, where
    knowledge repos and e-mails have always read it). A field a backend needs and the target did
    not write is a TypeError when the spec is read, not a silent ``None`` deep in a hand-off.
    """

    kind: ClassVar[str] = ""
    key: ClassVar[Optional[str]] = ""  # manifest key; None: merged at the top level

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self), default=str))

    @classmethod
    def from_manifest(cls: type["S"], manifest: dict) -> "S":
        data = manifest if cls.key is None else (manifest.get(cls.key) or {})
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


S = TypeVar("S", bound=BundleSpec)


@dataclass
class ReportSpec(BundleSpec):
    """A rendered report: its main file (report.html or report.pdf) and what lists it."""

    kind: ClassVar[str] = "report"
    key: ClassVar[Optional[str]] = None
    title: str = ""
    main: str = "report.html"
    slug: str = ""
    author: str = ""
    created: str = ""
    format: str = "html"
    no_input: bool = False
    tags: list = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    reasons: list = field(default_factory=list)
    environment_summary: dict = field(default_factory=dict)


@dataclass
class ModelSpec(BundleSpec):
    """A model artefact (folder ``artefact``) to publish as the next version of ``name``."""

    kind: ClassVar[str] = "model"
    key: ClassVar[Optional[str]] = "model"
    name: str
    content_sha256: str
    model_class: str
    var: str = ""
    sample: Optional[str] = None
    artefact: str = "artefact"
    requirements: list = field(default_factory=list)


@dataclass
class SqlSpec(BundleSpec):
    """A query (``file``) over ``table``, with the sample and expected outputs to prove it."""

    kind: ClassVar[str] = "sql"
    key: ClassVar[Optional[str]] = "sql"
    file: str
    dialect: str
    table: str
    view: str
    columns: dict = field(default_factory=dict)
    keep: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    classes: Optional[list] = None
    kind_of_model: str = ""  # "classifier" / "regressor" (manifest: "kind")
    model: str = ""
    variable: str = ""
    sql_chars: int = 0
    max_abs_error: Optional[float] = None
    label_agreement: Optional[float] = None
    rows_checked: int = 0
    tolerance: Optional[float] = None

    def to_json(self) -> dict:
        out = super().to_json()
        out["kind"] = out.pop("kind_of_model")
        return out

    @classmethod
    def from_manifest(cls, manifest: dict) -> "SqlSpec":
        data = dict(manifest.get(cls.key) or {})
        if "kind" in data:
            data["kind_of_model"] = data.pop("kind")
        return super().from_manifest({cls.key: data})


@dataclass
class ContainerSpec(BundleSpec):
    """A container build context (the bundle's folder) for the image ``image``."""

    kind: ClassVar[str] = "container"
    key: ClassVar[Optional[str]] = "container"
    name: str
    image: str
    base_image: str
    out: str = ""  # the target's default folder (next to the notebook), when no --to
    var: str = ""
    sample: Optional[str] = None
    base_image_given: bool = False
    content_sha256: str = ""
    model_class: str = ""
    requirements: list = field(default_factory=list)
    files: list = field(default_factory=list)


# ----------------------------------------------------------------------------------- bundle


@dataclass
class Bundle:
    """A folder of files plus a manifest: what a target hands to a backend."""

    kind: str
    path: Path
    manifest: dict = field(default_factory=dict)
    # Proofs the target made while building (SQL agreement, live-vs-clean comparison...).
    proofs: list["Proof"] = field(default_factory=list)
    # What the backend needs to know, typed (see BundleSpec); written into the manifest.
    spec: Optional[BundleSpec] = None

    def set_spec(self, spec: BundleSpec) -> None:
        """Record what the backend needs (and mirror it into the manifest at once)."""
        self.spec = spec
        self._write_spec()

    def _write_spec(self) -> None:
        if self.spec is None:
            return
        if self.spec.key is None:
            self.manifest.update(self.spec.to_json())
        else:
            self.manifest[self.spec.key] = self.spec.to_json()

    def spec_as(self, cls: type[S]) -> S:
        """This bundle's spec as ``cls``: the one the target set, else read from the manifest
        (a bundle written by another version, or by a plugin that only wrote the manifest)."""
        if isinstance(self.spec, cls):
            return self.spec
        return cls.from_manifest(self.manifest)

    def file_hashes(self) -> dict[str, str]:
        out = {}
        for p in sorted(self.path.rglob("*")):
            if p.is_file() and p.name != MANIFEST:
                out[p.relative_to(self.path).as_posix()] = sha256_file(p)
        return out

    def write_manifest(self) -> Path:
        self._write_spec()
        self.manifest["kind"] = self.kind
        self.manifest["files"] = self.file_hashes()
        self.manifest["proofs"] = [p.to_json() for p in self.proofs]
        target = self.path / MANIFEST
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.manifest, indent=2, sort_keys=True, default=str))
        os.replace(tmp, target)
        return target


@dataclass
class Proof:
    """One thing that was checked after (or before) handing off, and whether it held."""

    name: str
    ok: bool
    detail: str = ""
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "data": self.data}


@dataclass
class Handoff:
    """What a backend reports after publishing a bundle."""

    destination: str  # a path, URL, "registry://name/v3", "duckdb:///x.db#view", image tag...
    summary: str = ""  # one line for people: "churn v3 in /srv/registry"
    url: Optional[str] = None  # something a person can open, when there is one
    details: dict = field(default_factory=dict)
    proofs: list[Proof] = field(default_factory=list)


