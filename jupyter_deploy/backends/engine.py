"""The ``container-engine`` backend: the build context to a folder, proven; the image built.

``publish`` copies the context to ``--out`` (never silently overwriting), then proves it:
step 1 always (a fresh venv from its requirements.txt serves the API on 127.0.0.1 and answers
the sample as the notebook's model did), step 2 with ``--build`` / ``--push`` (podman or docker
builds the image, runs it with ``--init`` on 127.0.0.1 and it answers the same). Without an
engine, step 1 still runs and the hand-off says exactly how to build later.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import ClassVar, Optional

from traitlets import Bool, Enum, Int, Unicode

from ..errors import UsageError
from ..progress import Reporter
from ..bundle import Bundle, ContainerSpec, Handoff, Proof
from ..plugin import Backend


def _out_path(destination: Optional[str], spec: ContainerSpec) -> Path:
    if destination:
        dest = destination[len("file://"):] if destination.startswith("file://") else destination
        if "://" in dest:
            raise UsageError(f"The container target writes to a folder, not {destination}.",
                             hint="Give --out DIR (a local folder); push images with --push.")
        return Path(dest).expanduser().resolve()
    if spec.out:
        return Path(spec.out)
    raise UsageError("No folder to write the build context to.", hint="Pass --out DIR.")


def build_command(engine: str, out: Path, image: str, base_image: str, base_given: bool) -> str:
    parts = [engine, "build", "-t", image]
    if base_given:
        parts += ["--build-arg", f"BASE_IMAGE={base_image}"]
    parts.append(str(out))
    return " ".join(shlex.quote(p) for p in parts)


class ContainerEngineBackend(Backend):
    """Writes the container build context to a folder, proves it, builds and runs the image."""

    plugin_name: ClassVar[str] = "container-engine"
    description: ClassVar[str] = (
        "Copies the container build context to a folder, proves its API in a fresh venv, and "
        "with --build builds, runs and proves the image with podman or docker (--push pushes it)."
    )
    accepts: ClassVar[tuple[str, ...]] = ("container",)
    schemes: ClassVar[tuple[str, ...]] = ()

    # Named build_image because the flag --build reads better; the trait names the act.
    build_image = Bool(
        False, help="Also build the image with podman or docker, run it and prove it answers "
        "as the notebook.",
    ).tag(config=True, option=True, flag="build")

    engine = Enum(
        ["auto", "podman", "docker"], default_value="auto",
        help="Container engine for --build: podman, docker, or auto (the first that works).",
    ).tag(config=True, option=True)

    push = Unicode(
        "", help="After building, push the image to this REGISTRY/IMAGE:TAG (implies --build).",
    ).tag(config=True, option=True)

    port = Int(
        0, help="Host port (on 127.0.0.1) the proof publishes the running image on; 0 picks "
        "a free one.",
    ).tag(config=True, option=True, advanced=True)

    overwrite = Bool(
        False, help="Replace files in the destination folder that differ from the generated "
        "ones.",
    ).tag(config=True, option=True)

    def validate(self, destination: Optional[str]) -> None:
        from ..container.engine import PortInUse, port_free

        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port {self.port} is not a port number.",
                             hint="Use 1-65535, or 0 to pick a free port.")
        if (self.build_image or self.push) and self.port and not port_free(self.port):
            raise PortInUse(
                f"Port {self.port} on 127.0.0.1 is already in use, so the built image cannot be "
                "proven there.",
                hint="Pass another --port, or leave it out to pick a free one.",
            )

    def publish(self, bundle: Bundle, destination: Optional[str], reporter: Reporter) -> Handoff:
        from ..container.context import sync
        from ..container.engine import EngineError, detect
        from ..container.proof import prove_image, prove_local

        if bundle.kind != "container" or not (bundle.spec or bundle.manifest.get("container")):
            raise UsageError("The container-engine backend takes container bundles only.",
                             hint="Deploy with the container target.")
        spec = bundle.spec_as(ContainerSpec)
        out = _out_path(destination, spec)
        name = spec.name or "model"
        image = spec.image or f"localhost/{name}:latest"
        base_image = spec.base_image or ""
        base_given = spec.base_image_given
        reporter("publish", 0, 1, f"writing the build context to {out}")
        plan = sync(bundle.path, out, overwrite=self.overwrite)
        details: dict = {
            "out": str(out),
            "image": image,
            "base_image": base_image,
            "written": len(plan["new"]) + len(plan["changed"]) + len(plan["replace"]),
            "unchanged": len(plan["same"]),
            "replaced": plan["changed"],
        }
        proofs: list[Proof] = []

        local, local_details = prove_local(out, reporter=reporter)
        proofs += local
        details["local"] = local_details
        local_ok = all(p.ok for p in local)

        want_image = bool(self.build_image or self.push)
        engine = None
        engine_problem = None
        if want_image:
            try:
                engine = detect(self.engine or "auto")
            except EngineError as exc:
                engine_problem = exc.message
        engine_name = engine.name if engine else (
            self.engine if self.engine not in (None, "", "auto") else "podman")
        build_cmd = build_command(engine_name, out, image, base_image, base_given)
        if engine is not None and engine.conf_path:
            build_cmd = f"CONTAINERS_CONF={shlex.quote(engine.conf_path)} {build_cmd}"
        details["build_command"] = build_cmd
        details["run_command"] = (f"{engine_name} run --rm --init -p 127.0.0.1:8000:8000 "
                                  f"{shlex.quote(image)}")

        image_summary = ""
        if want_image and engine is None:
            proofs.append(Proof(
                "image: build", False,
                f"{engine_problem} The build context in {out} is complete and proven locally; "
                f"build the image later with: {build_cmd}",
                {"build_command": build_cmd}))
            image_summary = f"; image NOT built (no container engine): build later with " \
                            f"`{build_cmd}`"
        elif want_image:
            img_proofs, img_details = prove_image(
                out, engine, tag=image, base_image=base_image if base_given else "",
                port=int(self.port or 0), push=self.push or "",
                reporter=reporter)
            proofs += img_proofs
            details["container"] = img_details
            if img_details.get("image_id"):
                details["image_id"] = img_details["image_id"]
                details["image_size"] = img_details["image_size"]
                image_summary = (f"; image {image} built with {engine.name} "
                                 f"({img_details['image_size'] / 1e6:.0f} MB)")
                if all(p.ok for p in img_proofs):
                    image_summary += " and proven"
                if img_details.get("pushed"):
                    image_summary += f", pushed to {img_details['pushed']}"
            else:
                image_summary = f"; image build FAILED (see the proofs); retry with `{build_cmd}`"
        else:
            image_summary = f"; build the image with `{build_cmd}`"

        rows = next((p.data.get("rows") for p in local if p.name.startswith(
            "api-local: predictions") and p.ok), None)
        local_summary = (f"API proven in a fresh venv ({rows} sample rows agree)" if rows
                         else "API proven in a fresh venv" if local_ok
                         else "API proof FAILED in a fresh venv")
        summary = f"{name}: build context in {out}; {local_summary}{image_summary}"
        return Handoff(destination=str(out), summary=summary, url=None, details=details,
                       proofs=proofs)
