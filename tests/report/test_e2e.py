"""End to end through jupyter_deploy.api.deploy("report", ...): real clean runs, real servers."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import nbformat
import pytest

from jupyter_deploy import api
from jupyter_deploy.errors import NotRepeatable, SecretFound, UsageError

from report_helpers import new_notebook

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CELLS = [
    ("md", "# Regional sales"),
    ("code", "region = 'EMEA'\nmonths = 3", ["parameters"]),
    ("code", "print(f'total for {region}: {months * 100}')"),
]


def _notebook(tmp_path, cells=CELLS, name="sales.ipynb") -> Path:
    path = tmp_path / name
    nbformat.write(new_notebook(cells), path)
    return path


def _deploys():
    return [r for r in api.history(action="deploy")]


def _report_html(result) -> str:
    return Path(result["destination"], "report.html").read_text()


def test_parameterised_report_to_a_folder_with_history(tmp_path):
    nb = _notebook(tmp_path)
    repo = tmp_path / "kr"
    result = api.deploy("report", nb, options={"param": {"region": "APAC", "months": "6"},
                                               "author": "Ana", "tags": ["apac"]}, to=str(repo))
    assert result["status"] == "ok" and all(p["ok"] for p in result["proofs"])
    html = _report_html(result)
    assert "total for APAC: 600" in html  # the parameters reached the clean run
    assert "total for EMEA" not in html
    assert "injected-parameters" not in html or "APAC" in html
    meta = json.loads(Path(result["destination"], "metadata.json").read_text())
    assert meta["parameters"] == {"region": "APAC", "months": 6}
    assert meta["notebook_hash"] == result["notebook_hash"]
    assert meta["verdict"] == result["verdict"] != "not-repeatable"
    index = (repo / "index.html").read_text()
    assert "Regional sales" in index and "Ana" in index and "apac" in index
    [rec] = _deploys()
    assert rec["target"] == "report" and rec["destination"] == result["destination"]
    assert rec["status"] == "ok" and "--param" in rec["magic"] and "--to" in rec["magic"]

    # The same notebook and parameters again: the check answers from its cache.
    again = api.deploy("report", nb, options={"param": {"region": "APAC", "months": "6"}},
                       to=str(repo))
    assert again["destination"] != result["destination"]
    assert len(json.loads((repo / "index.json").read_text())) == 2


def test_default_destination_is_the_home_knowledge_repo(tmp_path, _deploy_home):
    result = api.deploy("report", _notebook(tmp_path))
    assert Path(result["destination"]).is_relative_to(_deploy_home / "knowledge-repo")


def test_undeclared_parameter_is_refused(tmp_path, _deploy_home):
    with pytest.raises(UsageError) as info:
        api.deploy("report", _notebook(tmp_path), options={"param": {"regoin": "APAC"}},
                   to=str(tmp_path / "kr"))
    assert "regoin" in info.value.one_line() and "region" in info.value.one_line()
    assert not (tmp_path / "kr").exists() and _deploys() == []


def test_unknown_destination_scheme(tmp_path):
    with pytest.raises(UsageError, match="ftp://") as info:
        api.deploy("report", _notebook(tmp_path), to="ftp://files.example.org/reports")
    assert "\n" not in info.value.one_line()
    assert _deploys() == []


def test_failing_cell_is_refused_then_forced_with_a_banner(tmp_path):
    cells = CELLS + [("code", "1 / 0")]
    nb = _notebook(tmp_path, cells, name="broken.ipynb")
    repo = tmp_path / "kr"
    with pytest.raises(NotRepeatable) as info:
        api.deploy("report", nb, to=str(repo))
    assert "ZeroDivisionError" in info.value.one_line() and "cell 4" in info.value.one_line()
    assert not repo.exists() and _deploys() == []

    result = api.deploy("report", nb, to=str(repo), force=True)
    assert result["forced"] is True
    html = _report_html(result)
    banner = html.index('id="jd-forced"')
    assert banner < html.index('class="jp-Cell')
    assert "ZeroDivisionError" in html[banner:html.index('class="jp-Cell')]
    listing = json.loads((repo / "index.json").read_text())
    assert listing[0]["forced"] is True and listing[0]["verdict"] == "not-repeatable"


def test_secret_in_output_refused_and_nothing_published(tmp_path, _deploy_home):
    cells = CELLS + [("code", "print('key', 'AKIA' + 'IOSFODNN7EXAMPLE')")]
    with pytest.raises(SecretFound) as info:
        api.deploy("report", _notebook(tmp_path, cells), to=str(tmp_path / "kr"))
    line = info.value.one_line()
    assert "AWS Access Key" in line and "cell 3" in line and "IOSFODNN7EXAMPLE" not in line
    assert not (tmp_path / "kr").exists() and _deploys() == []


def test_report_by_email_end_to_end(tmp_path, monkeypatch):
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    inbox = Inbox()
    c = Controller(inbox, hostname="127.0.0.1", port=port)
    c.start()
    try:
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_PORT", str(port))
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_FROM", "reports@example.org")
        result = api.deploy("report", _notebook(tmp_path), options={"no_input": True},
                            to="mailto:a@example.org,b@example.org")
    finally:
        c.stop()
    assert result["destination"] == "mailto:a@example.org,b@example.org"
    [env] = inbox.envelopes
    msg = email.message_from_bytes(env.content, policy=policy.default)
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "total for EMEA: 300" in html and "months * 100" not in html  # --no-input
    assert _deploys()[0]["destination"] == "mailto:a@example.org,b@example.org"


def test_report_to_a_web_site_end_to_end(tmp_path, monkeypatch):
    from test_web import Site
    from traitlets.config import Config

    from jupyter_deploy import config as jd_config

    site = Site()
    site.plan = [500]  # one failure, then the retry succeeds
    cfg = Config()
    cfg.WebBackend.backoff = 0.01
    monkeypatch.setattr(jd_config, "_session_config", cfg)
    monkeypatch.setenv("JUPYTER_DEPLOY_WEB_TOKEN", "tok")
    try:
        result = api.deploy("report", _notebook(tmp_path), to=site.url + "/reports/sales.html")
    finally:
        site.close()
    assert result["url"] == site.url + "/reports/sales.html"
    assert b"total for EMEA: 300" in site.stored["/reports/sales.html"]
    assert len(site.writes()) == 2
    assert [p["name"] for p in result["proofs"]] == ["read back from the web site"]
    assert _deploys()[0]["url"] == result["url"]
