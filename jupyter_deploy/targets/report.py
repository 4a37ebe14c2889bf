"""The ``report`` target: the notebook as its clean re-run executed it, rendered to HTML or PDF.

The source is always the check's executed copy (``ctx.executed_notebook``), never the outputs
saved in the user's notebook: a report cannot be built from stale outputs. Parameters
(``--param region=EMEA``) follow papermill's convention and are injected by the check itself,
so a parameterised report is a clean run with those values. Before anything is written, every
cell's source and outputs are scanned for secrets; a hit refuses the report.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from typing import ClassVar

from traitlets import Bool, Dict, Enum, Float, List, Unicode

from ..errors import TargetError, UsageError
from ..bundle import Bundle, ReportSpec
from ..plugin import DeployContext, Target
from ..history import now_utc
from .._version import __version__


def _git_user() -> str:
    try:
        out = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=5
        )
        name = out.stdout.strip()
        if out.returncode == 0 and name:
            return name
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database entry
        return ""


def _files_of_the_run(ctx: DeployContext, data) -> str:
    """The folder markdown images are read from: the notebook's, with the files its clean run
    wrote on top (the run works in a sandbox copy, so they are not in the user's folder)."""
    from ..report import render

    folder = ctx.notebook.parent
    produced = (ctx.check or {}).get("produced_dir")
    if not produced or not os.path.isdir(produced) or not render.uses_local_files(data):
        return str(folder)
    from ..check.sandbox import overlay

    return str(overlay(folder, produced, ctx.workdir / "notebook-folder"))


def _forget_check_entry(ctx: DeployContext) -> None:
    """A refused report leaves no copy of its secret: drop the check's cache entry."""
    from ..report.secrets import forget_check_entry

    forget_check_entry(ctx)


class ReportTarget(Target):
    """A report of the notebook re-executed from a clean kernel, rendered to HTML or PDF."""

    plugin_name: ClassVar[str] = "report"
    description: ClassVar[str] = (
        "The notebook re-executed from a clean kernel and rendered to self-contained HTML (or "
        "PDF), with its provenance on the first screen; published to a knowledge repo folder, "
        "a web server or by e-mail."
    )
    default_backend: ClassVar[str] = "knowledge-repo"
    needs_object: ClassVar[bool] = False

    format = Enum(
        ["html", "pdf"], default_value="html",
        help="Output format: html (one self-contained file) or pdf (printed by headless "
        "Chromium; the HTML is kept too).",
    ).tag(config=True, option=True)

    no_input = Bool(
        False, help="Hide all code: show only outputs and text (cells tagged remove_input or "
        "hide-input are hidden anyway, remove_cell cells are dropped).",
    ).tag(config=True, option=True)

    title = Unicode(
        "", help="The report's title. Default: the notebook's first heading, else its file name.",
    ).tag(config=True, option=True)

    author = Unicode(
        "", help="Who the report is by. Default: git config user.name, else $USER.",
    ).tag(config=True, option=True)

    @property
    def author_name(self) -> str:
        return self.author or _git_user()

    tags = List(
        Unicode(), default_value=[], help="Tags listed with the report in the knowledge repo index.",
    ).tag(config=True, option=True)

    param = Dict(
        default_value={},
        help="Notebook parameters, papermill-style: --param region=EMEA --param month=3. Values "
        "are Python literals when they parse, else text. The notebook must declare each one in "
        "its cell tagged 'parameters'.",
    ).tag(config=True, option=True)

    slug = Unicode(
        "", help="Folder name of the report in the knowledge repo. Default: from the title.",
    ).tag(config=True, option=True, advanced=True)

    chromium_path = Unicode(
        "", help="Path of the Chromium executable used for --format pdf (default: chromium, "
        "chromium-browser or google-chrome on the PATH, or $JUPYTER_DEPLOY_CHROMIUM).",
    ).tag(config=True)

    pdf_timeout = Float(180.0, help="Seconds Chromium may take to print the PDF.").tag(config=True)

    secret_entropy = Bool(
        False, help="Also run detect-secrets' noisy detectors (its own high-entropy and public "
        "IP address ones); the calibrated high-entropy detector always runs.",
    ).tag(config=True)

    # ----------------------------------------------------------------------------- params

    def check_parameters(self) -> dict:
        from ..check.parameters import parse_value

        out = {}
        for key, value in (self.param or {}).items():
            key = str(key).strip()
            if not key.isidentifier():
                raise UsageError(
                    f"--param {key!r}: a parameter name must be a Python identifier.",
                    hint="Write --param name=value, e.g. --param region=EMEA.",
                )
            out[key] = parse_value(value) if isinstance(value, str) else value
        return out

    # ----------------------------------------------------------------------------- build

    def validate(self, ctx: DeployContext) -> None:
        if self.format == "pdf":
            from ..report.pdf import find_chromium

            find_chromium(self.chromium_path)  # fail before building anything

    def _title(self, nb: dict, ctx: DeployContext) -> str:
        if self.title:
            return self.title
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                src = cell.get("source", "")
                src = "".join(src) if isinstance(src, list) else src
                for line in src.splitlines():
                    if line.startswith("# "):
                        return line[2:].strip()
        return ctx.notebook.stem.replace("_", " ").replace("-", " ").strip() or "Report"

    def build(self, ctx: DeployContext) -> Bundle:
        import hashlib
        import json

        from ..report import render
        from ..report.cache import MARKER, ReportCache, render_key, scan_key
        from ..report.slug import slugify

        executed = ctx.executed_notebook
        if executed is None or not executed.is_file():
            raise TargetError(
                "The check kept no executed copy of the notebook, so there is nothing clean to "
                "render.",
                hint="Run jupyter deploy check on it again (the cache entry may have been pruned).",
            )
        reporter = ctx.reporter
        reporter("build", 0, 3, "reading the clean run's executed notebook")
        raw = executed.read_bytes()
        digest = hashlib.sha256(raw).hexdigest()
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise TargetError(f"The clean run's executed copy {executed} is not valid JSON: {exc}",
                              hint="Run the check again with --no-cache.") from exc
        nb = None

        def notebook():
            nonlocal nb
            if nb is None:
                import nbformat

                nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
            return nb

        title = self._title(data, ctx)
        author = self.author_name
        params = dict(ctx.check.get("parameters") or self.check_parameters())
        cache = ReportCache(getattr(ctx.config, "cache_path", None))

        # 1. Secrets: nothing is written before this passes.
        reporter("build", 1, 3, "scanning sources and outputs for secrets")
        extra = {"title": title, "author": author, "tags": " ".join(self.tags),
                 "parameters": repr(params)}
        from ..report import secrets

        allow_list = [str(a) for a in (getattr(ctx.config, "allow_secrets", None) or [])]
        env_secrets = secrets.env_secrets()
        skey = scan_key(digest, {**extra, "allow": allow_list,
                                 "env": hashlib.sha256(repr(env_secrets).encode()).hexdigest()},
                        self.secret_entropy)
        cached = cache.get("scan", skey)
        if cached is not None and cached.startswith("clean"):
            allowed = json.loads(cached[5:] or "[]")
        else:
            try:
                allowed = secrets.check_notebook(notebook(), entropy=self.secret_entropy,
                                                 extra=extra, allow_list=allow_list)
            except secrets.SecretFound:
                _forget_check_entry(ctx)
                raise
            cache.put("scan", skey, "clean" + json.dumps(allowed))

        created = now_utc()
        forced = bool(ctx.force and ctx.verdict == "not-repeatable")
        env = ctx.environment or {}
        info = {
            "title": title,
            "author": author,
            "created": created,
            "notebook": ctx.notebook.name,
            "notebook_hash": ctx.notebook_hash,
            "verdict": ctx.verdict,
            "forced": forced,
            "reasons": list(ctx.check.get("reasons") or []),
            "environment": env,
            "parameters": params,
            "tags": list(self.tags),
            "jupyter_deploy": __version__,
        }

        # 2. The page: rendered once per executed notebook, title and no_input; the provenance
        #    block (which carries this build's date) is filled in every time.
        reporter("build", 2, 3, "rendering HTML")
        rkey = render_key(digest, title, self.no_input)
        page = cache.get("render", rkey)
        if page is None or MARKER not in page:
            page = render.render_html(notebook(), info, no_input=self.no_input,
                                      base_dir=_files_of_the_run(ctx, data), provenance=MARKER)
            if not render.uses_local_files(data):
                cache.put("render", rkey, page)
        if render.uses_local_files(data):
            # files next to the notebook that markdown cells show are embedded in the page,
            # not in the notebook: their decoded bytes are scanned here
            try:
                secrets.check_embedded(page, "the report", allowed, allow_list=allow_list)
            except secrets.SecretFound:
                _forget_check_entry(ctx)
                raise
        body = page.replace(MARKER, render.provenance_html(info), 1)

        bundle = ctx.new_bundle("report")
        html_path = bundle.path / "report.html"
        html_path.write_text(body, encoding="utf-8")
        main = "report.html"
        if self.format == "pdf":
            from ..report.pdf import html_to_pdf

            reporter("build", 2, 3, "printing the PDF with headless Chromium")
            html_to_pdf(html_path, bundle.path / "report.pdf", chromium=self.chromium_path,
                        timeout=self.pdf_timeout)
            main = "report.pdf"
        shown, _ = render.key_packages(env)
        bundle.manifest["forced"] = forced
        # every secret-scan finding let through, and what allowed it (never a value)
        bundle.manifest["secrets_allowed"] = allowed
        bundle.set_spec(ReportSpec(
            title=title,
            author=author,
            created=created,
            tags=list(self.tags),
            parameters=params,
            format=self.format,
            no_input=self.no_input,
            main=main,
            slug=self.slug or slugify(title),
            reasons=info["reasons"],
            environment_summary={
                "python": env.get("python"),
                "platform": env.get("platform"),
                "packages": shown,
            },
        ))
        reporter("build", 3, 3, f"report rendered ({main})")
        return bundle
