"""Issue 14: what leaked in practice is refused, and no file the tool writes keeps the secret.

Every case is a real notebook deployed through ``api.deploy`` (real clean run in a real kernel,
the real report path); afterwards every file under the deploy home (check cache, history,
report caches), the destination and the temporary folder is read and must not contain the
secret.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import tempfile
from pathlib import Path

import nbformat
import pytest

from jupyter_deploy import api
from jupyter_deploy.errors import SecretFound

from report_helpers import new_notebook

pytestmark = [pytest.mark.kernel]

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example  # pragma: allowlist secret
AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # pragma: allowlist secret


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's folder moved under tmp_path, so that the deploy's work folder is inspected."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _png_with_text(text: str) -> bytes:
    """A real PNG whose tEXt chunk carries ``text`` (as an image's metadata can)."""
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", text)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


def _files(*roots: Path):
    for root in roots:
        if root.exists():
            for dirpath, _, names in os.walk(root):
                for n in names:
                    yield Path(dirpath, n)


def _assert_nowhere(secret_forms, *roots: Path) -> int:
    n = 0
    for f in _files(*roots):
        data = f.read_bytes()
        n += 1
        for s in secret_forms:
            assert s.encode() not in data, f"{f} keeps the secret"
    return n


def _refused(tmp_path, private_tmp, cells, secret_forms, *, force=False, attachments=None,
             deploy_home=None):
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir(exist_ok=True)
    nb = new_notebook(cells)
    if attachments:
        nb.cells[0].attachments = attachments
    path = nb_dir / "leaky.ipynb"
    nbformat.write(nb, path)
    dest = tmp_path / "kr"
    with pytest.raises(SecretFound) as info:
        api.deploy("report", path, to=str(dest), force=force)
    err = info.value
    line = err.one_line()
    for s in secret_forms:
        assert s not in line and s not in json.dumps(err.to_json())
    home = Path(os.environ["JUPYTER_DEPLOY_HOME"])
    # the check ran (its cache folder exists) but its executed copy is gone with the refusal
    check_dir = home / "cache" / "check"
    assert check_dir.is_dir()
    assert not any(check_dir.glob("*/executed.ipynb"))
    assert not dest.exists() or not any(dest.rglob("report.html"))
    assert list(private_tmp.iterdir()) == []  # the work folder is removed
    _assert_nowhere(secret_forms, home, dest, private_tmp)
    return line


def test_name_equals_value_line_in_stdout(tmp_path, private_tmp):
    line = _refused(tmp_path, private_tmp,
                    ['print("DB_PASSWORD=" + "Tr0ub4dorXyz93")'], ["Tr0ub4dorXyz93"])
    assert "Secret Keyword in cell 0" in line and "output 1 (stdout)" in line


def test_password_on_stderr(tmp_path, private_tmp):
    line = _refused(tmp_path, private_tmp,
                    ['import sys\nprint("password=" + "hunter2hunter2", file=sys.stderr)'],
                    ["hunter2hunter2"])
    assert "Secret Keyword" in line and "output 1 (stderr)" in line


def test_bare_aws_secret_access_key(tmp_path, private_tmp):
    half = len(AWS_SECRET) // 2
    line = _refused(tmp_path, private_tmp,
                    [f"print({AWS_SECRET[:half]!r} + {AWS_SECRET[half:]!r})"], [AWS_SECRET])
    assert "High Entropy String in cell 0" in line and "output 1 (stdout)" in line


def test_markdown_attachment_carrying_an_aws_key(tmp_path, private_tmp):
    png = _png_with_text(f"uploaded with {AWS_KEY_ID}")
    payload = base64.b64encode(png).decode()
    line = _refused(tmp_path, private_tmp, [("md", "# Costs\n\n![chart](attachment:chart.png)"),
                                            "x = 1"],
                    [AWS_KEY_ID, payload[:200]],
                    attachments={"chart.png": {"image/png": payload}})
    assert "AWS Access Key in cell 0" in line and "attachment chart.png (image/png)" in line


def test_force_never_publishes_a_secret(tmp_path, private_tmp):
    line = _refused(tmp_path, private_tmp, ['print("DB_PASSWORD=" + "Tr0ub4dorXyz93")'],
                    ["Tr0ub4dorXyz93"], force=True)
    assert "--force does not publish a secret" in line


def test_check_cache_is_private(tmp_path):
    path = tmp_path / "ok.ipynb"
    nbformat.write(new_notebook(["print('hello')"]), path)
    report = api.check(path)
    executed = Path(report["executed_path"])
    assert stat.S_IMODE(executed.stat().st_mode) == 0o600
    assert stat.S_IMODE(executed.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(executed.parent.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((executed.parent / "report.json").stat().st_mode) == 0o600


def test_allowed_finding_is_published_and_recorded(tmp_path, private_tmp):
    """An explicit allowance publishes, and the manifest names what was allowed (no value)."""
    path = tmp_path / "allowed.ipynb"
    nbformat.write(new_notebook([
        "# a documented example, not a credential  # pragma: allowlist secret\n"
        "print('password=' + 'hunter2hunter2')",
        "print('ok')",
    ]), path)
    result = api.deploy("report", path, to=str(tmp_path / "kr"))
    manifest = json.loads(Path(result["destination"], "metadata.json").read_text())
    allowed = manifest["secrets_allowed"]
    assert [(a["cell"], a["kind"], a["allowed_by"]) for a in allowed] == [
        (0, "Secret Keyword", "pragma")]
    assert "hunter2hunter2" not in json.dumps(allowed)


def test_local_image_shown_by_markdown_is_scanned(tmp_path, private_tmp):
    """An image file next to the notebook is embedded in the page, not in the notebook."""
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    (nb_dir / "chart.png").write_bytes(_png_with_text(f"by {AWS_KEY_ID}"))
    path = nb_dir / "local.ipynb"
    nbformat.write(new_notebook([("md", "# Costs\n\n![chart](chart.png)"), "x = 1"]), path)
    with pytest.raises(SecretFound, match=r"AWS Access Key in the report's embedded file 1"):
        api.deploy("report", path, to=str(tmp_path / "kr"))
    home = Path(os.environ["JUPYTER_DEPLOY_HOME"])
    assert list(private_tmp.iterdir()) == []
    _assert_nowhere([AWS_KEY_ID], home, tmp_path / "kr", private_tmp)
