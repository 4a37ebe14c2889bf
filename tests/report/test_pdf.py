"""PDF through real headless Chromium; a missing Chromium is one clear line saying what to do."""

from __future__ import annotations

import subprocess

import pytest

from jupyter_deploy.report.pdf import ChromiumNotFound, find_chromium, html_to_pdf
from jupyter_deploy.targets.report import ReportTarget

from report_helpers import make_ctx, need

CHROMIUM_HINT = "apt-get install -y chromium"


@pytest.mark.browser
@pytest.mark.kernel
def test_pdf_report_with_real_chromium(executed_basic, tmp_path):
    need("chromium", CHROMIUM_HINT)
    pdftotext = need("pdftotext", "apt-get install -y poppler-utils")
    target = ReportTarget(title="Quarterly sales PDF", author="Ana", format="pdf")
    ctx = make_ctx(executed_basic, tmp_path)
    target.validate(ctx)
    bundle = target.build(ctx)
    pdf = bundle.path / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert (bundle.path / "report.html").is_file()  # the HTML is kept next to it
    assert bundle.manifest["main"] == "report.pdf" and bundle.manifest["format"] == "pdf"
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "Quarterly sales PDF" in text
    assert "fresh result for EMEA: 6" in text
    assert "repeatable" in text


def test_missing_chromium_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find
    with pytest.raises(ChromiumNotFound) as info:
        find_chromium()
    line = info.value.one_line()
    assert "\n" not in line
    assert "apt-get install chromium" in line and "c.ReportTarget.chromium_path" in line


def test_configured_chromium_that_is_not_there(tmp_path, executed_basic):
    target = ReportTarget(format="pdf", chromium_path=str(tmp_path / "no-such-chromium"))
    ctx = make_ctx(executed_basic, tmp_path)
    with pytest.raises(ChromiumNotFound, match="c.ReportTarget.chromium_path names"):
        target.validate(ctx)  # refused before anything is built
    assert list(ctx.workdir.iterdir()) == []


def test_env_var_names_chromium(tmp_path, monkeypatch):
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("JUPYTER_DEPLOY_CHROMIUM", str(fake))
    assert find_chromium() == str(fake)
    html = tmp_path / "a.html"
    html.write_text("<h1>x</h1>")
    from jupyter_deploy.report.pdf import PDFError

    with pytest.raises(PDFError, match="failed to print the PDF"):
        html_to_pdf(html, tmp_path / "a.pdf")
    assert not (tmp_path / "a.pdf").exists()
