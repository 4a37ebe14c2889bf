"""The ``registry`` backend: publish a model artefact as the next version, then prove it.

It takes ``model`` bundles to a folder (the default, ``DeployConfig.registry_path``), a
``file://`` or any fsspec URL (``memory://``, ``s3://``, ``gs://``...) or an HTTP artefact server
(``http(s)://``, PUT/GET of files). ``publish`` writes the version as *pending* (or returns the
existing version holding identical content) and moves nothing; ``verify`` downloads what was
stored and loads it in a fresh ``python -I`` process (with ``--isolated``, in a new virtual
environment built from requirements.txt only), checks every hash and compares the predictions on
the sample with the expected ones; ``settle`` then promotes the version (verified, alias moved)
only when every proof passed, else marks it failed and leaves the alias where it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Optional

from traitlets import Bool, Unicode, validate

from ..bundle import Bundle, Handoff, ModelSpec, Proof
from ..plugin import Backend, checked_trait
from ..progress import Reporter
from ..errors import DeployError
from .. import tmp as _tmp  # the tool's own temp folder: swept if this process dies


class RegistryBackend(Backend):
    """A versioned model registry: a folder, an fsspec URL or an HTTP artefact server."""

    plugin_name: ClassVar[str] = "registry"
    description: ClassVar[str] = (
        "A versioned model registry (v1, v2... and aliases) in a folder, at an fsspec URL "
        "(s3://, gs://, memory://) or on an HTTP artefact server that accepts PUT and GET."
    )
    accepts: ClassVar[tuple[str, ...]] = ("model",)
    schemes: ClassVar[tuple[str, ...]] = (
        "http", "https", "file", "memory", "s3", "s3a", "gs", "gcs", "abfs", "az", "adl",
        "sftp", "ssh", "webdav", "hdfs", "ftp",
    )

    alias = Unicode(
        "", help="Move this alias (production, staging...) to the version written, once every "
        "proof passed.",
    ).tag(config=True, option=True)

    isolated = Bool(
        False, help="Also verify in a fresh virtual environment built from requirements.txt only "
        "(proves the pinned requirements are enough; takes longer).",
    ).tag(config=True, option=True)

    @validate("alias")
    def _check_alias(self, proposal):
        """A bad alias is refused when the options are set, before any clean re-run."""
        from ..model.registry import validate_alias

        return checked_trait(validate_alias, proposal["value"])

    @classmethod
    def claims(cls, destination: Optional[str], kind: str) -> bool:
        if kind not in cls.accepts or not destination:
            return False
        if "://" not in destination:
            # a plain folder path (not mailto:, not a database DSN-like "scheme:...")
            head = destination.split(":", 1)[0]
            return ":" not in destination or (len(head) == 1 and head.isalpha())
        return destination.split("://", 1)[0].lower() in cls.schemes

    @classmethod
    def default_destination(cls, deploy_config) -> str:
        return deploy_config.default_registry

    def publish(self, bundle: Bundle, destination: Optional[str], reporter: Reporter) -> Handoff:
        from ..model.registry import open_registry

        spec = bundle.spec_as(ModelSpec)
        registry = open_registry(destination or self.default_destination(self.deploy_config))
        art = bundle.path / spec.artefact
        name = spec.name
        alias = self.alias or None
        reporter("publish", 0, 2, f"publishing {name} to {registry.url}")
        res = registry.publish(art, name=name, reporter=reporter, pending=True)
        version = res["version"]
        details = {
            "name": name,
            "version": version,
            "registry": registry.url,
            "alias": alias,
            "reused": res["reused"],
            "uri": res["uri"],
            "model_class": res["metadata"].get("model_class"),
            "requirements": len(res["metadata"].get("requirements") or []),
            "signed": bool(res["metadata"].get("signature")),
            "status": res.get("status", "pending"),
        }
        summary = f"{name} v{version} in {registry.url}"
        if res["reused"]:
            summary += " (identical to the existing version: reused)"
        return Handoff(destination=res["uri"], summary=summary, details=details)

    def verify(self, bundle: Bundle, handoff: Handoff, reporter: Reporter) -> list[Proof]:
        from ..model.registry import open_registry
        from ..model.verify import verify_fresh, verify_isolated

        d = handoff.details
        registry = open_registry(d["registry"])
        proofs = []

        with _tmp.temporary_directory(prefix="jupyter-deploy-fetch-") as tmp:
            try:
                folder = registry.fetch(d["name"], d["version"], Path(tmp) / "v")
            except DeployError as exc:
                return [Proof("reload-fresh-process", False,
                              f"cannot read back {handoff.destination}: {exc.one_line()}")]
            reporter("verify", 0, 2, f"loading {d['name']} v{d['version']} in a fresh process")
            res = verify_fresh(folder)
            proofs.append(Proof(
                "reload-fresh-process", bool(res.get("ok")),
                f"{handoff.destination}: {res.get('detail')} (python -I, {res.get('seconds')} s)",
                res,
            ))
            if self.isolated:
                reporter("verify", 1, 2, "building a fresh virtual environment from "
                         "requirements.txt")
                res = verify_isolated(folder)
                detail = res.get("detail")
                if res.get("ok"):
                    detail = (f"{detail} in a venv with only requirements.txt "
                              f"(install {res.get('install_seconds')} s)")
                proofs.append(Proof("reload-isolated-venv", bool(res.get("ok")), detail, res))
        return proofs

    def settle(self, bundle: Bundle, handoff: Handoff, proofs: list, reporter: Reporter) -> None:
        from ..model.registry import open_registry

        d = handoff.details
        registry = open_registry(d["registry"])
        ok = all(p.ok for p in proofs)
        proofs = [p.to_json() for p in proofs]
        alias = d.get("alias")
        if ok:
            registry.promote(d["name"], d["version"], alias, proofs)
            d["status"] = "verified"
            if alias:
                handoff.summary += f"; {alias} -> v{d['version']}"
            return
        record = registry.mark_failed(d["name"], d["version"], proofs)
        d["status"] = record["status"]
        if alias:
            try:
                where = registry.aliases(d["name"]).get(alias)
            except Exception:  # noqa: BLE001 - the summary only
                where = None
            stays = f"stays at v{where}" if where else "was not set"
            handoff.summary += f"; {alias} {stays} (not moved: the proof failed)"
        else:
            handoff.summary += "; marked failed, not the latest"
