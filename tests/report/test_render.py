"""Rendering: provenance first, images embedded, code hidden on request, rich outputs rendered."""

from __future__ import annotations

import base64
import json
import re

import nbformat
import pytest

from jupyter_deploy.targets.report import ReportTarget

from report_helpers import execute, make_ctx, new_notebook

pytestmark = pytest.mark.kernel


def _html(bundle) -> str:
    return (bundle.path / "report.html").read_text(encoding="utf-8")


def _main_start(html: str) -> int:
    """Where the notebook's own cells start in the rendered page."""
    return html.index('class="jp-Cell')


def test_provenance_block_is_first_and_complete(executed_basic, tmp_path):
    ctx = make_ctx(executed_basic, tmp_path, parameters={"region": "EMEA"})
    bundle = ReportTarget(title="Quarterly sales", author="Ana Lytic", tags=["sales"]).build(ctx)
    html = _html(bundle)
    prov = html.index('id="jd-provenance"')
    assert prov < _main_start(html), "the provenance block must open the report"
    block = html[prov:_main_start(html)]
    for expected in ("Quarterly sales", "Ana Lytic", "repeatable", "abababababababab", "3.11.7",
                     "Linux-6.1-x86_64", "matplotlib==3.8.0", "region", "EMEA", "sales",
                     "clean re-run"):
        assert expected in block, expected
    assert bundle.manifest["created"] in block
    assert "<title>Quarterly sales</title>" in html
    # nothing forced, so no red banner
    assert 'id="jd-forced"' not in html
    # the manifest carries the metadata the knowledge repo indexes
    m = bundle.manifest
    assert (m["title"], m["author"], m["tags"], m["verdict"]) == ("Quarterly sales", "Ana Lytic", ["sales"], "repeatable")
    assert m["parameters"] == {"region": "EMEA"}
    assert m["environment_summary"]["python"] == "3.11.7"
    assert m["main"] == "report.html" and m["slug"] == "quarterly-sales"


def test_images_are_embedded_and_title_defaults_to_heading(executed_basic, tmp_path):
    bundle = ReportTarget(author="x").build(make_ctx(executed_basic, tmp_path))
    html = _html(bundle)
    assert bundle.manifest["title"] == "Quarterly sales"  # the first '# ' heading
    imgs = re.findall(r'<img[^>]+src="([^"]+)"', html)
    assert imgs and all(src.startswith("data:image/") for src in imgs)
    png = base64.b64decode(imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_image_file_is_embedded(tmp_path):
    from PIL import Image

    Image.new("RGB", (4, 4), (255, 0, 0)).save(tmp_path / "logo.png")
    nb = execute(new_notebook([("md", "# Logo\n\n![logo](logo.png)"), "1 + 1"]), tmp_path)
    nbformat.write(nb, tmp_path / "executed.ipynb")
    user_nb = tmp_path / "logo.ipynb"
    nbformat.write(nb, user_nb)
    ctx = make_ctx(tmp_path / "executed.ipynb", tmp_path, notebook=user_nb)
    html = _html(ReportTarget(author="x").build(ctx))
    assert 'src="logo.png"' not in html
    assert "data:image/png;base64," in html


def test_tags_hide_inputs_and_drop_cells(executed_basic, tmp_path):
    html = _html(ReportTarget(author="x").build(make_ctx(executed_basic, tmp_path)))
    assert "VISIBLE_CODE_MARKER" in html
    assert "HIDDEN_INPUT_MARKER" not in html and "shown output of a remove_input cell" in html
    assert "HIDE_INPUT_MARKER" not in html and "shown output of a hide-input cell" in html
    assert "REMOVED_CELL_OUTPUT" not in html


def test_no_input_hides_every_code_cell(executed_basic, tmp_path):
    bundle = ReportTarget(author="x", no_input=True).build(make_ctx(executed_basic, tmp_path))
    html = _html(bundle)
    assert "VISIBLE_CODE_MARKER" not in html and "import matplotlib" not in html
    assert "fresh result for EMEA: 6" in html  # outputs stay
    assert "Quarterly sales" in html  # markdown stays
    assert bundle.manifest["no_input"] is True


def test_forced_report_says_so_on_first_screen(executed_basic, tmp_path):
    reasons = ["cell 3 raised ZeroDivisionError", "cell 5 output differs from the saved one"]
    ctx = make_ctx(executed_basic, tmp_path, verdict="not-repeatable", force=True, reasons=reasons)
    bundle = ReportTarget(author="x").build(ctx)
    html = _html(bundle)
    banner = html.index('id="jd-forced"')
    assert banner < _main_start(html) and banner < html.index("<h1>Quarterly sales")
    section = html[banner:_main_start(html)]
    assert "NOT repeatable" in section
    for r in reasons:
        assert r in section
    assert bundle.manifest["forced"] is True and bundle.manifest["reasons"] == reasons


def test_report_comes_from_the_clean_run_not_saved_outputs(executed_basic, tmp_path):
    """The user's saved notebook shows a stale number; the report must show the clean run's."""
    user = nbformat.read(executed_basic, as_version=4)
    for cell in user.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and "fresh result" in out.get("text", ""):
                out["text"] = "STALE saved output 999\n"
    user_path = tmp_path / "sales.ipynb"
    nbformat.write(user, user_path)
    html = _html(ReportTarget(author="x").build(make_ctx(executed_basic, tmp_path, notebook=user_path)))
    assert "fresh result for EMEA: 6" in html
    assert "STALE" not in html


def test_missing_executed_copy_is_a_clear_error(executed_basic, tmp_path):
    from jupyter_deploy.errors import TargetError

    ctx = make_ctx(executed_basic, tmp_path)
    ctx.check["executed_path"] = str(tmp_path / "gone.ipynb")
    with pytest.raises(TargetError, match="no executed copy"):
        ReportTarget(author="x").build(ctx)
    assert list((tmp_path / "work").iterdir()) == []


def test_widgets_and_plotly_outputs_render(executed_rich, tmp_path):
    nb = nbformat.read(executed_rich, as_version=4)
    mimes = {m for c in nb.cells for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in mimes
    assert "application/vnd.plotly.v1+json" in mimes
    bundle = ReportTarget(author="x").build(make_ctx(executed_rich, tmp_path))
    html = _html(bundle)
    assert "PLOTLY_TITLE" in html  # the figure's data is in the page
    # the JSON-only figure (plotly_mimetype renderer) is rendered too, not dropped
    assert html.count("Plotly.newPlot") >= 2
    assert "plotly" in html.lower()
    assert "IntSlider" in html or "widget" in html.lower()
    assert html.index('id="jd-provenance"') < _main_start(html)


def test_parameters_parse_as_literals():
    t = ReportTarget(param={"region": "APAC", "months": "6", "rate": "0.5", "ids": "[1, 2]",
                            "label": "hello world"})
    assert t.check_parameters() == {"region": "APAC", "months": 6, "rate": 0.5, "ids": [1, 2],
                                    "label": "hello world"}


def test_bad_parameter_name_is_refused():
    from jupyter_deploy.errors import UsageError

    with pytest.raises(UsageError, match="identifier"):
        ReportTarget(param={"not a name": "1"}).check_parameters()


def test_option_schema_lists_the_report_options():
    schema = ReportTarget.options_schema()
    props = schema["properties"]
    assert props["format"]["enum"] == ["html", "pdf"]
    for name in ("no_input", "title", "author", "tags", "param"):
        assert name in props and props[name]["description"]
    # Paths and secrets settings are config, not command-line options.
    assert "chromium_path" not in props and "secret_entropy" not in props
    json.dumps(schema)


def test_second_build_reuses_scan_and_page_but_fresh_provenance(executed_basic, tmp_path, monkeypatch):
    from jupyter_deploy.report import render, secrets

    dirs = [tmp_path / n for n in "abc"]
    for d in dirs:
        d.mkdir()
    html1 = _html(ReportTarget(author="Ana").build(make_ctx(executed_basic, dirs[0])))

    def boom(*a, **k):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(render, "render_html", boom)
    monkeypatch.setattr(secrets, "check_notebook", boom)
    ctx = make_ctx(executed_basic, dirs[1], verdict="repeatable-with-warnings")
    html2 = _html(ReportTarget(author="Ana").build(ctx))
    assert "jd-verdict-repeatable-with-warnings" in html2  # provenance is rebuilt each time
    assert html1[_main_start(html1):] == html2[_main_start(html2):]
    # a different title is a different page (and different scanned texts): done again
    monkeypatch.undo()
    third = ReportTarget(author="Ana", title="Other title").build(make_ctx(executed_basic, dirs[2]))
    assert "<title>Other title</title>" in _html(third)


def test_a_secret_is_never_cached_as_clean(tmp_path):
    from jupyter_deploy.report.secrets import SecretFound

    nb = new_notebook(["x = 1"])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                                  text="AKIA" + "IOSFODNN7EXAMPLE\n")]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    for n in range(2):
        d = tmp_path / str(n)
        d.mkdir()
        with pytest.raises(SecretFound):
            ReportTarget(author="x").build(make_ctx(path, d))
