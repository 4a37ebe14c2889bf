"""The ``container`` target: model + environment + HTTP API as a container build context.

What is deployed is the model the notebook's clean re-run produced. The bundle is a complete
build context (Dockerfile, requirements.txt, the model artefact, a FastAPI app, a batch entry
point, a Kubernetes manifest, a README), every generated file with a provenance header. The
``container-engine`` backend copies it to ``--out``, proves it in a fresh venv (always) and,
with ``--build``, builds and runs the image and proves it again.

A ``%%deploy handler`` cell in the saved notebook (see :mod:`jupyter_deploy.handler`) is shipped
as ``serving_handler.py``; the sample's expected answers are then
``postprocess(model.predict(preprocess(sample)), sample)`` with the clean run's model and
sample, and the packages the handler imports are pinned too.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import ClassVar

from traitlets import Bool, Int, Unicode

from ..errors import UsageError
from ..bundle import Bundle, ContainerSpec
from ..plugin import DeployContext, Target


_SUMMARY = (
    "The model, its exact environment and an HTTP API (FastAPI) as a container build context "
    "(Dockerfile, requirements, artefact, batch entry point, Kubernetes manifest, README); "
    "proven in a fresh venv, and with --build as a running image, to answer as the notebook."
)


class ContainerTarget(Target):
    """A container build context for the model's HTTP API, built and proven."""

    plugin_name: ClassVar[str] = "container"
    default_backend: ClassVar[str] = "container-engine"
    needs_object: ClassVar[bool] = True
    destination_flags: ClassVar[tuple[str, ...]] = ("out",)
    destination_help: ClassVar[str] = (
        "Folder for the build context (--out is the same). Default: deployed/container/<name>/ "
        "next to the notebook. Existing different files there are an error unless --overwrite.")

    var = Unicode(
        "", help="The notebook variable holding the fitted model (e.g. clf).",
    ).tag(config=True, option=True, cli_positional=True, required=True, object_kind="estimator")

    name = Unicode(
        "", help="Name of the service and image (letters, digits, '.', '_', '-'), e.g. churn.",
    ).tag(config=True, option=True, required=True)

    sample = Unicode(
        "", help="A notebook variable with sample inputs (e.g. X_test): the API's input schema "
        "and the predictions it must reproduce are taken from it.",
    ).tag(config=True, option=True, object_kind="sample", features_of="var")

    base_image = Unicode(
        "", help="Base image of the Dockerfile. Default: python:<the notebook's Python "
        "major.minor>-slim; any Debian-like image with python3 and venv works.",
    ).tag(config=True, option=True)

    image = Unicode(
        "", help="Tag of the built image. Default: localhost/<name>:<model version or content "
        "hash>.",
    ).tag(config=True, option=True, advanced=True)

    parquet = Bool(
        False, help="Add pyarrow so that the batch entry point reads and writes Parquet (a "
        "bigger image); CSV works without it.",
    ).tag(config=True, option=True, advanced=True)

    max_body_mb = Int(
        10, help="Request size limit of the API in MiB; larger requests get HTTP 413.",
    ).tag(config=True, option=True, advanced=True)

    @classmethod
    def describe(cls) -> dict:
        out = super().describe()
        out["description"] = _SUMMARY
        return out

    # ------------------------------------------------------------------------------ checks

    def out_dir(self, ctx: DeployContext) -> Path:
        dest = ctx.destination
        if dest:  # relative to the current folder, like any command-line path
            dest = dest[len("file://"):] if dest.startswith("file://") else dest
            return Path(dest).expanduser().resolve()
        base = ctx.notebook.parent if ctx.notebook else Path.cwd()
        return (base / "deployed" / "container" / self.name).resolve()

    def validate(self, ctx: DeployContext) -> None:
        from ..container.context import check_name

        if not self.var:
            raise UsageError("container needs the variable holding the model.",
                             hint="e.g. %deploy container clf --name churn --sample X_test")
        if not self.name:
            raise UsageError("container needs --name.",
                             hint="e.g. %deploy container clf --name churn")
        check_name(self.name)
        if self.max_body_mb < 1:
            raise UsageError("--max-body-mb must be at least 1.", hint="e.g. --max-body-mb 10")
        out = self.out_dir(ctx)
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out} is a file, not a folder.", hint="Give a folder path.")

    def regenerate_command(self, ctx: DeployContext, out: Path) -> str:
        nb = ctx.notebook
        try:
            nb_text = os.path.relpath(nb, out) if nb else "NOTEBOOK"
        except ValueError:
            nb_text = str(nb)
        parts = ["jupyter", "deploy", "container", nb_text, "--var", self.var,
                 "--name", self.name]
        if self.sample:
            parts += ["--sample", self.sample]
        if self.base_image:
            parts += ["--base-image", self.base_image]
        if self.parquet:
            parts.append("--parquet")
        if self.max_body_mb != 10:
            parts += ["--max-body-mb", str(self.max_body_mb)]
        parts += ["--out", ".", "--overwrite"]
        return "(in this folder) " + " ".join(shlex.quote(p) for p in parts)

    # ------------------------------------------------------------------------------ build

    def build(self, ctx: DeployContext) -> Bundle:
        from ..container.context import ContextOptions, default_image, write_context
        from ..handler import metadata as handler_metadata
        from ..model.artefact import write_artefact
        from ..model.live import clean_model_and_sample, compare_live

        self.validate(ctx)
        reporter = ctx.reporter
        handler = _handler_of(ctx)
        model, pickled, sample = clean_model_and_sample(ctx, self.var, self.sample)
        predict = handler_pins = None
        live_sample = sample
        if handler is not None:
            from ..handler import apply_or_explain
            from ..model.schema import as_2d, head

            if sample is not None:
                apply_or_explain(handler, model, head(as_2d(sample), 1000))  # one-line errors
                if "preprocess" in handler.functions:
                    live_sample = handler.namespace["preprocess"](sample)
            predict = lambda m, X: apply_or_explain(handler, m, X)  # noqa: E731
            handler_pins = _handler_requirements(handler, ctx)
        proofs, live_differs = compare_live(ctx, self.var, self.sample, model, live_sample)

        bundle = ctx.new_bundle("container", "context")
        art = bundle.path / "model"
        art.mkdir()
        reporter("build", 1, 3, f"writing the {self.name} model artefact")
        forced = bool(ctx.force and (ctx.verdict == "not-repeatable" or live_differs))
        meta = write_artefact(
            model, art, name=self.name, sample=sample,
            notebook=str(ctx.notebook) if ctx.notebook else None,
            notebook_hash=ctx.notebook_hash, verdict=ctx.verdict, forced=forced,
            pickled=pickled, predict=predict,
            extra={**ctx.kernel_facts(), **(
                {"serving_handler": handler_metadata(handler)} if handler else {})},
        )
        out = self.out_dir(ctx)
        engine = ctx.backend_options.get("engine") or "auto"
        engine_name = engine if engine != "auto" else "podman"
        image = self.image or default_image(self.name, meta)
        opts = ContextOptions(
            name=self.name,
            base_image=self.base_image,
            image=image,
            engine=engine_name,
            regenerate=self.regenerate_command(ctx, out),
            notebook=os.path.relpath(ctx.notebook, out) if ctx.notebook else None,
            notebook_hash=ctx.notebook_hash,
            max_body_bytes=self.max_body_mb * 1024 * 1024,
            parquet=self.parquet,
            extra_requirements=handler_pins or [],
            handler=handler.body if handler else None,
            handler_cell=handler.cell if handler else None,
            handler_functions=handler.functions if handler else (),
        )
        reporter("build", 2, 3, "writing the Dockerfile, API, batch entry point and manifests")
        written = write_context(bundle.path, art, opts)
        from ..report.secrets import check_bundle

        bundle.manifest["secrets_allowed"] = check_bundle(
            bundle.path, ["README.md", "model/README.md", "model/sample.json",
                          "model/metadata.json"] + (["serving_handler.py"] if handler else []),
            f"the container context of {self.name}", ctx=ctx)
        bundle.set_spec(ContainerSpec(
            name=self.name,
            var=self.var,
            sample=self.sample or None,
            out=str(out),
            base_image=written["base_image"],
            base_image_given=bool(self.base_image),
            image=image,
            content_sha256=meta.get("content_sha256") or "",
            model_class=meta.get("model_class") or "",
            requirements=meta.get("requirements") or [],
            files=written["files"],
        ))
        reporter("build", 3, 3, f"{self.name}: build context with {len(written['files'])} files")
        bundle.proofs.extend(proofs)
        return bundle


def _handler_of(ctx: DeployContext):
    """The saved notebook's %%deploy handler, checked and run on its own (None without one)."""
    from ..errors import NotebookInvalid, NotebookNotFound
    from ..handler import find, load
    from ..notebook import read_json

    if not ctx.notebook:
        return None
    try:  # plain JSON: the check has validated the file already
        data = read_json(ctx.notebook)
    except (NotebookInvalid, NotebookNotFound):
        return None  # no cells (a context made in code): no handler cell
    handler = find(data)
    return load(handler) if handler is not None else None


def _handler_requirements(handler, ctx: DeployContext) -> list:
    """Exact pins for the third-party packages the handler imports, resolved in the clean
    kernel's environment; a package that cannot be pinned is a one-line error."""
    from ..handler import HandlerError, third_party_imports
    from ..model.requirements import requirements_for_modules, unpinned_modules

    mods = [m for m in third_party_imports(handler) if m != "jupyter_deploy"]
    if not mods:
        return []
    python = ctx.kernel_facts().get("kernel_python")
    unpinned = unpinned_modules(mods, python)
    if unpinned:
        mod, why = sorted(unpinned.items())[0]
        raise HandlerError(
            f"{handler.where} imports {mod!r}, which cannot be pinned ({why}).",
            hint="Install it from a package index in the notebook's environment, or drop the "
            "import: the container installs only pinned packages.")
    return requirements_for_modules(mods, python)
