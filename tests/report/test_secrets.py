"""Secrets in sources or outputs refuse the report, naming the cell and kind, never the secret."""

from __future__ import annotations

import time

import nbformat
import pytest

from jupyter_deploy.errors import SecretFound as BaseSecretFound
from jupyter_deploy.report.secrets import SecretFound, check_notebook, scan_notebook
from jupyter_deploy.targets.report import ReportTarget

from report_helpers import execute, make_ctx, new_notebook

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id  # pragma: allowlist secret
PEM = "-----BEGIN RSA PRIVATE KEY-----"  # pragma: allowlist secret


def _build(nb, tmp_path):
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    ctx = make_ctx(path, tmp_path)
    return ctx, lambda: ReportTarget(author="x").build(ctx)


@pytest.mark.kernel
def test_aws_key_printed_in_an_output_is_refused(tmp_path):
    # The source builds the key at run time, so only the OUTPUT carries it.
    nb = execute(new_notebook([
        ("md", "# Costs"),
        "x = 1",
        "key = 'AKIA' + 'IOSFODNN7EXAMPLE'\nprint('using', key)",
    ]), tmp_path)
    ctx, build = _build(nb, tmp_path)
    with pytest.raises(SecretFound) as info:
        build()
    err = info.value
    assert isinstance(err, BaseSecretFound)
    text = err.one_line()
    assert "AWS Access Key" in text and "cell 2" in text and "output 1" in text
    assert AWS_KEY not in text and AWS_KEY not in repr(err.to_json())
    assert "IOSFODNN7EXAMPLE" not in text
    # refused before anything was written: no bundle folder
    assert list(ctx.workdir.iterdir()) == []


@pytest.mark.kernel
def test_private_key_in_an_html_output_is_refused(tmp_path):
    nb = execute(new_notebook([
        "from IPython.display import HTML\n"
        "HTML('<pre>' + '-----BEGIN RSA ' + 'PRIVATE KEY-----' + '\\nMIIEow...</pre>')",
    ]), tmp_path)
    _, build = _build(nb, tmp_path)
    with pytest.raises(SecretFound, match=r"Private Key in cell 0 \(id [^)]+\), output 1 \(text/html\)"):
        build()


def test_secret_in_a_source_is_refused_even_in_a_removed_cell(tmp_path):
    nb = new_notebook([("code", "password = 'hunter2-correct-horse'", ["remove_cell"]), "1"])
    with pytest.raises(SecretFound) as info:
        check_notebook(nb)
    assert "Secret Keyword in cell 0" in info.value.one_line()
    assert "hunter2" not in info.value.one_line()


def test_github_token_in_a_traceback_is_found():
    nb = new_notebook(["raise ValueError(token)"])
    nb.cells[0].outputs = [nbformat.v4.new_output(
        "error", ename="ValueError", evalue="bad token",
        traceback=["\x1b[31mValueError\x1b[0m: ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"],
    )]
    hits = scan_notebook(nb)
    assert [(h.cell, h.kind) for h in hits] == [(0, "GitHub Token")]
    assert hits[0].where.startswith("output 1 (error)")


def test_injected_parameters_cell_is_named_as_such():
    nb = new_notebook([("code", "token = ''", ["parameters"]),
                       ("code", f"token = '{AWS_KEY}'", ["injected-parameters"]), "2"])
    with pytest.raises(SecretFound, match="the injected parameters cell"):
        check_notebook(nb)


def test_allowlist_pragma_and_ordinary_notebooks_pass():
    nb = new_notebook([
        "example = 'AKIAIOSFODNN7EXAMPLE'  # pragma: allowlist secret",
        "sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
        "print('password reset count:', 3)",
        "host = '8.8.8.8'",
    ])
    assert scan_notebook(nb) == []


def test_noisy_detectors_are_opt_in():
    nb = new_notebook(["blob = 'c2VjcmV0LXRva2VuLWZvci10ZXN0aW5nLXB1cnBvc2VzLW9ubHktMTIzNDU2Nzg5'"])
    assert scan_notebook(nb) == []
    assert any("Base64" in h.kind for h in scan_notebook(nb, entropy=True))


def test_title_with_a_secret_is_refused(tmp_path):
    with pytest.raises(SecretFound, match="report's title"):
        check_notebook(new_notebook(["1"]), extra={"title": f"keys {AWS_KEY}"})


@pytest.mark.kernel
def test_plotly_bundle_is_scanned_quickly(executed_rich):
    nb = nbformat.read(executed_rich, as_version=4)
    size = sum(len(str(o)) for c in nb.cells for o in c.get("outputs", []))
    assert size > 3_000_000  # plotly.js is embedded in the outputs
    started = time.monotonic()
    assert scan_notebook(nb) == []
    assert time.monotonic() - started < 15  # scanning plotly.js itself takes ~20 s here
