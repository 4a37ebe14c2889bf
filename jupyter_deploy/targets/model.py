"""The ``model`` target: the fitted model as a verified, versioned artefact in a registry.

What is deployed is the object that the notebook's clean re-run produced (``ctx.objects.get``),
pickled by the clean kernel when it could. In a live session, the live object's predictions on
the sample are compared with the clean one's first: a difference means hidden state, and the
deploy is refused (``--force`` deploys the clean model anyway and records it). The artefact
(model.pkl, metadata.json, requirements.txt, sample.json, README.md) is built here; the
``registry`` backend gives it a version number and proves it reloads in a fresh process.
"""

from __future__ import annotations

from typing import ClassVar

from traitlets import Dict, Unicode, validate

from ..errors import UsageError
from ..bundle import Bundle, ModelSpec
from ..plugin import DeployContext, Target, checked_trait

_SUMMARY = (
    "The trained model as a versioned artefact (cloudpickle + metadata with hashes + pinned "
    "requirements + a sample with expected predictions + a model card) in a registry: a "
    "folder, an fsspec URL or an HTTP artefact server; reloaded and checked in a fresh process."
)



def _number(text):
    if isinstance(text, (int, float)):
        return text
    try:
        return int(text)
    except (TypeError, ValueError):
        pass
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


class ModelTarget(Target):
    """A verified, versioned model artefact in a registry."""

    plugin_name: ClassVar[str] = "model"
    default_backend: ClassVar[str] = "registry"
    needs_object: ClassVar[bool] = True
    destination_flags: ClassVar[tuple[str, ...]] = ("registry",)
    destination_help: ClassVar[str] = (
        "Where to publish (--registry is the same): a folder, file://, http(s):// (PUT/GET "
        "artefact server) or an fsspec URL (s3://...). Default: the configured registry folder.")

    var = Unicode(
        "", help="The notebook variable holding the fitted model (e.g. clf).",
    ).tag(config=True, option=True, cli_positional=True, required=True, object_kind="estimator")

    name = Unicode(
        "", help="The model's name in the registry (letters, digits, '.', '_', '-'), e.g. churn.",
    ).tag(config=True, option=True, required=True)

    sample = Unicode(
        "", help="A notebook variable with sample inputs (e.g. X_test): the input schema and "
        "the expected predictions that every reload is checked against are taken from it.",
    ).tag(config=True, option=True, object_kind="sample", features_of="var")

    description = Unicode(
        "", help="A sentence about the model for its card and the registry listing.",
    ).tag(config=True, option=True)

    metric = Dict(
        default_value={}, help="Metrics recorded with the model: --metric auc=0.91 "
        "--metric f1=0.8 (numbers are stored as numbers).",
    ).tag(config=True, option=True)

    @classmethod
    def describe(cls) -> dict:
        return {
            "name": cls.plugin_name,
            "description": _SUMMARY,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "schema": cls.options_schema(),
            "default_backend": cls.default_backend,
            "needs_object": cls.needs_object,
            "destination_flags": list(cls.destination_flags),
            "destination_help": cls.destination_help,
        }

    @validate("name")
    def _check_name(self, proposal):
        """Refuse a bad name when the options are set, before any clean re-run."""
        from ..model.registry import validate_name

        return checked_trait(validate_name, proposal["value"])

    def validate(self, ctx: DeployContext) -> None:
        from ..model.registry import validate_name

        if not self.var:
            raise UsageError("model needs the variable holding the model.",
                             hint="e.g. %deploy model clf --name churn --sample X_test")
        validate_name(self.name)

    def build(self, ctx: DeployContext) -> Bundle:
        from ..model.artefact import write_artefact
        from ..model.live import clean_model_and_sample, compare_live

        self.validate(ctx)
        reporter = ctx.reporter
        model, pickled, sample = clean_model_and_sample(
            ctx, self.var, self.sample, need_predict=bool(self.sample))
        proofs, live_differs = compare_live(ctx, self.var, self.sample, model, sample)

        if pickled is None:  # no clean-kernel bytes (live-only session): pickle it here
            from ..model.pickling import dumps, notebook_dir

            pickled = dumps(model, notebook_dir(ctx.notebook), name=self.var)
        bundle = ctx.new_bundle("model")
        art = bundle.path / "artefact"
        art.mkdir()
        reporter("build", 1, 3, f"writing the {self.name} artefact")
        forced = bool(ctx.force and (ctx.verdict == "not-repeatable" or live_differs))
        metrics = {str(k): _number(v) for k, v in (self.metric or {}).items()}
        meta = write_artefact(
            model,
            art,
            name=self.name,
            sample=sample,
            description=self.description,
            metrics=metrics,
            notebook=str(ctx.notebook) if ctx.notebook else None,
            notebook_hash=ctx.notebook_hash,
            verdict=ctx.verdict,
            forced=forced,
            pickled=pickled,
            extra=ctx.kernel_facts(),
        )
        from ..report.secrets import check_bundle

        allowed = check_bundle(bundle.path, ["artefact/README.md", "artefact/sample.json",
                                             "artefact/metadata.json"],
                               f"the model {self.name}", ctx=ctx)
        bundle.manifest["secrets_allowed"] = allowed
        reporter("build", 3, 3, f"{self.name}: {meta['model_class']}, "
                 f"{len(meta['requirements'])} requirements, {meta['sample_rows']} sample rows")
        bundle.set_spec(ModelSpec(
            name=self.name,
            var=self.var,
            sample=self.sample or None,
            artefact="artefact",
            content_sha256=meta["content_sha256"],
            model_class=meta["model_class"],
            requirements=meta["requirements"],
        ))
        bundle.proofs.extend(proofs)
        return bundle
