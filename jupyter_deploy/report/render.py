"""A notebook, as its clean run executed it, rendered to one self-contained HTML file.

nbconvert's ``HTMLExporter`` (JupyterLab template) does the rendering, with images embedded as
data URIs so that the file opens anywhere. Two things are added on the report's first screen:

- a **provenance block**: title, author, date, notebook and its content hash, the check's
  verdict, Python, platform and key package versions, the parameters and tags;
- a red **banner** when the report was forced out of a notebook that is not repeatable, listing
  the check's reasons.

Code is hidden for the whole report on request (``no_input``) and per cell with the tags
``remove_input`` / ``hide-input`` / ``hide_input``; ``remove_cell`` drops a cell,
``remove_output`` its outputs (nbconvert's ``TagRemovePreprocessor``). Widgets and Plotly
outputs go through the template's own handling of their mime bundles (their text/html or
text/plain fallbacks), so they render rather than fail.
"""

from __future__ import annotations

import copy
import html
from typing import Any, Optional

REMOVE_CELL_TAGS = {"remove_cell", "remove-cell"}
REMOVE_INPUT_TAGS = {"remove_input", "remove-input", "hide-input", "hide_input"}
REMOVE_OUTPUT_TAGS = {"remove_output", "remove-output"}

# Packages worth naming on the first screen when the notebook uses them.
KEY_PACKAGES = (
    "numpy", "pandas", "polars", "scipy", "scikit-learn", "statsmodels", "xgboost", "lightgbm",
    "torch", "tensorflow", "matplotlib", "seaborn", "plotly", "altair", "bokeh", "pyarrow",
    "duckdb", "sqlalchemy", "ipywidgets",
)

_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{% block extra_css %}
{{ super() }}
<style type="text/css">
{{ resources.jd_css }}
</style>
{% endblock extra_css %}
{%- block body_header -%}
{{ super() }}
{{ resources.jd_provenance }}
{%- endblock body_header -%}
"""

_CSS = """
.jd-provenance { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 16px auto 24px; padding: 16px 20px; border: 1px solid #d0d7de; border-radius: 8px;
  background: #f6f8fa; color: #1f2328; max-width: 1100px; }
.jd-provenance h1 { font-size: 1.8em; margin: 0 0 4px; }
.jd-provenance .jd-byline { color: #57606a; margin: 0 0 12px; }
.jd-provenance table { border-collapse: collapse; font-size: 0.92em; }
.jd-provenance th { text-align: left; padding: 2px 16px 2px 0; color: #57606a;
  font-weight: 600; vertical-align: top; white-space: nowrap; }
.jd-provenance td { padding: 2px 0; vertical-align: top; }
.jd-provenance code { font-size: 0.95em; }
.jd-verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
  color: #fff; }
.jd-verdict-repeatable { background: #1a7f37; }
.jd-verdict-repeatable-with-warnings { background: #9a6700; }
.jd-verdict-not-repeatable { background: #cf222e; }
.jd-verdict-unchecked { background: #6e7781; }
.jd-banner { background: #cf222e; color: #fff; padding: 12px 16px; border-radius: 6px;
  margin: 0 0 12px; }
.jd-banner strong { font-size: 1.1em; }
.jd-banner ul { margin: 6px 0 0 18px; padding: 0; }
.jd-tag { display: inline-block; background: #ddf4ff; color: #0969da; border-radius: 10px;
  padding: 0 8px; margin-right: 4px; }
@media print { .jd-provenance { break-inside: avoid; } }
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def key_packages(environment: dict) -> tuple[list[str], list[str]]:
    """(pins to show on the first screen, every pin) from a check report's environment."""
    reqs = environment.get("requirements") or []
    if isinstance(reqs, dict):
        reqs = [f"{k}=={v}" for k, v in sorted(reqs.items())]
    reqs = [str(r) for r in reqs]
    direct = [str(r) for r in (environment.get("direct") or [])]

    def name(pin: str) -> str:
        import re

        return re.split(r"[=<>~!@ ;\[]", pin, maxsplit=1)[0].strip().lower().replace("_", "-")

    shown = [p for p in reqs if name(p) in KEY_PACKAGES]
    for pin in direct:
        if pin not in shown:
            shown.append(pin)
    if not shown:
        shown = reqs[:8]
    return shown, reqs


def provenance_html(info: dict) -> str:
    """The block every report opens with. ``info`` keys: title, author, created, notebook,
    notebook_hash, verdict, forced, reasons, environment, parameters, tags, jupyter_deploy."""
    verdict = info.get("verdict") or "unchecked"
    env = info.get("environment") or {}
    parts = ['<section class="jd-provenance" id="jd-provenance">']
    if info.get("forced") and verdict == "not-repeatable":
        reasons = info.get("reasons") or ["the check found it not repeatable"]
        parts.append(
            '<div class="jd-banner" id="jd-forced"><strong>Forced: this notebook is NOT '
            "repeatable.</strong> A clean re-run did not reproduce it; this report was published "
            "anyway with --force. Reasons:<ul>"
            + "".join(f"<li>{_e(r)}</li>" for r in reasons)
            + "</ul></div>"
        )
    parts.append(f"<h1>{_e(info.get('title'))}</h1>")
    byline = []
    if info.get("author"):
        byline.append(f"by {_e(info['author'])}")
    if info.get("created"):
        byline.append(_e(info["created"]))
    parts.append(f'<p class="jd-byline">{" &middot; ".join(byline)}</p>')
    rows = []
    rows.append(
        ("Verdict", f'<span class="jd-verdict jd-verdict-{_e(verdict)}">{_e(verdict)}</span>'
         + (" (forced)" if info.get("forced") and verdict == "not-repeatable" else "")
         + " &mdash; rendered from a clean re-run in a fresh kernel, not from saved outputs")
    )
    nb_hash = info.get("notebook_hash") or ""
    rows.append(
        ("Notebook", f"<code>{_e(info.get('notebook'))}</code> &middot; content hash "
         f'<code title="{_e(nb_hash)}">{_e(nb_hash[:16])}</code>')
    )
    if info.get("created"):
        rows.append(("Created (UTC)", _e(info["created"])))
    py = env.get("python")
    if py or env.get("platform"):
        impl = env.get("implementation") or "Python"
        rows.append(("Environment", f"{_e(impl)} {_e(py or '?')} on {_e(env.get('platform') or '?')}"))
    shown, every = key_packages(env)
    if shown:
        text = ", ".join(f"<code>{_e(p)}</code>" for p in shown)
        if len(every) > len(shown):
            text += (
                f' <details><summary>all {len(every)} pinned requirements</summary>'
                + "<br>".join(f"<code>{_e(p)}</code>" for p in every)
                + "</details>"
            )
        rows.append(("Packages", text))
    params = info.get("parameters") or {}
    if params:
        rows.append(
            ("Parameters", ", ".join(f"<code>{_e(k)} = {_e(repr(v))}</code>" for k, v in params.items()))
        )
    tags = info.get("tags") or []
    if tags:
        rows.append(("Tags", "".join(f'<span class="jd-tag">{_e(t)}</span>' for t in tags)))
    if info.get("jupyter_deploy"):
        rows.append(("Made with", f"jupyter-deploy {_e(info['jupyter_deploy'])}"))
    parts.append("<table>")
    for head, cell in rows:
        parts.append(f"<tr><th>{head}</th><td>{cell}</td></tr>")
    parts.append("</table></section>")
    return "\n".join(parts)


def uses_local_files(nb) -> bool:
    """Whether markdown cells pull in files next to the notebook (their content is not in the
    notebook's hash, so such a page is never served from the render cache)."""
    import re

    pattern = re.compile(r"!\[[^\]]*\]\((?!data:|https?:|attachment:)|<img\s[^>]*src=[\"'](?!data:|https?:)", re.I)
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else src
            if pattern.search(src):
                return True
    return False


def prepare(nb, no_input: bool = False):
    """A copy of ``nb`` with tagged cells/inputs/outputs removed (the rendered notebook)."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    nb = copy.deepcopy(nb)
    trp = TagRemovePreprocessor(
        remove_cell_tags=REMOVE_CELL_TAGS,
        remove_input_tags=REMOVE_INPUT_TAGS,
        remove_all_outputs_tags=REMOVE_OUTPUT_TAGS,
        enabled=True,
    )
    nb, _ = trp.preprocess(nb, {})
    _plotly_to_html(nb)
    return nb


PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _plotly_to_html(nb) -> None:
    """Give Plotly figures that carry only their JSON (the plotly_mimetype renderer) an HTML
    rendering, with plotly.js embedded once, so the report shows them offline."""
    first = True
    for cell in nb.cells:
        for out in cell.get("outputs", []) or []:
            data = out.get("data") or {}
            if PLOTLY_MIME not in data or "text/html" in data:
                continue
            fig = data[PLOTLY_MIME]
            try:
                import plotly.io as pio

                html_text = pio.to_html(fig, full_html=False, include_plotlyjs=first,
                                        validate=False)
                first = False
            except Exception:  # noqa: BLE001 - plotly missing or an odd figure: say so, don't fail
                title = ""
                try:
                    title = fig.get("layout", {}).get("title", {})
                    title = title.get("text", "") if isinstance(title, dict) else str(title)
                except AttributeError:
                    pass
                html_text = (
                    '<div class="jd-plotly-missing"><em>Plotly figure'
                    + (f" &ldquo;{_e(title)}&rdquo;" if title else "")
                    + " (install plotly where reports are built to render it here)</em></div>"
                )
            data["text/html"] = html_text


def render_html(
    nb,
    info: dict,
    *,
    no_input: bool = False,
    base_dir: Optional[str] = None,
    provenance: Optional[str] = None,
) -> str:
    """The report as one HTML string (images embedded, provenance first).

    ``provenance`` replaces the block built from ``info`` (the cache renders with a marker).
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = prepare(nb, no_input=no_input)
    nb.metadata["title"] = info.get("title") or "Report"
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"jupyter_deploy_report.html.j2": _TEMPLATE})],
        template_file="jupyter_deploy_report.html.j2",
        embed_images=True,
        exclude_input=no_input,
        exclude_input_prompt=no_input,
        exclude_output_prompt=no_input,
    )
    resources = {
        "metadata": {"name": nb.metadata["title"], "path": base_dir or ""},
        "jd_provenance": provenance if provenance is not None else provenance_html(info),
        "jd_css": _CSS,
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body
