"""The e-mail backend against real SMTP servers on loopback (aiosmtpd, and a raw socket one)."""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
import threading
from email import policy

import pytest

from jdtest import need_module

from jupyter_deploy.backends.email import EmailBackend, EmailError, inline_images, parse_mailto
from jupyter_deploy.errors import UsageError
from jupyter_deploy.progress import Reporter

from report_helpers import need

aiosmtpd = need_module("aiosmtpd")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 2.0.0 Ok: queued as TEST123"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    openssl = need("openssl")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"),
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


def _controller(handler, cert=None, authenticator=None, **kw):
    tls = None
    if cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*map(str, cert))
    c = Controller(handler, hostname="127.0.0.1", port=_free_port(), tls_context=tls,
                   authenticator=authenticator, auth_require_tls=bool(cert), **kw)
    c.start()
    return c


def _auth(accept: bool):
    def check(server, session, envelope, mechanism, auth_data):
        ok = accept and auth_data.login == b"ana" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)
    return check


def test_starttls_login_several_recipients_inline_images_attachment(report_bundle, cert, monkeypatch):
    inbox = Inbox()
    c = _controller(inbox, cert=cert, authenticator=_auth(True), require_starttls=True)
    try:
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_PORT", str(c.port))
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_USER", "ana")
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_PASSWORD", "s3cret")
        monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_FROM", "reports@example.org")
        backend = EmailBackend(ca_file=str(cert[0]), security="starttls")
        h = backend.publish(report_bundle, "mailto:bo@example.org,cy@example.org?cc=di@example.org",
                            Reporter())
    finally:
        c.stop()
    assert h.details["tls"] is True and h.details["refused"] == {}
    assert h.details["smtp_reply"].startswith("250") and "TEST123" in h.details["smtp_reply"]
    [env] = inbox.envelopes
    assert env.mail_from == "reports@example.org"
    assert sorted(env.rcpt_tos) == ["bo@example.org", "cy@example.org", "di@example.org"]

    msg = email.message_from_bytes(env.content, policy=policy.default)
    assert msg["Subject"] == "Report: Quarterly sales"
    assert msg["To"] == "bo@example.org, cy@example.org" and msg["Cc"] == "di@example.org"
    html_part = msg.get_body(preferencelist=("html",))
    html = html_part.get_content()
    assert "Quarterly sales" in html and 'id="jd-provenance"' in html
    assert "src=\"data:" not in html and "<script" not in html.lower()
    cids = [p["Content-ID"].strip("<>") for p in msg.walk() if p["Content-ID"]]
    assert cids, "the plot must travel as an inline image"
    for cid in cids:
        assert f"cid:{cid}" in html
    img = next(p for p in msg.walk() if p["Content-ID"])
    assert img.get_content_type() == "image/png" and img.get_content()[:4] == b"\x89PNG"
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "report.html"
    assert att.get_content() == (report_bundle.path / "report.html").read_text()
    plain = msg.get_body(preferencelist=("plain",)).get_content()
    assert "verdict: repeatable" in plain

    proofs = backend.verify(report_bundle, h, Reporter())
    assert proofs[0].ok and "cannot be checked" in proofs[0].detail


def test_refused_login_is_a_clear_error(report_bundle, cert):
    inbox = Inbox()
    c = _controller(inbox, cert=cert, authenticator=_auth(False))
    try:
        backend = EmailBackend(host="127.0.0.1", port=c.port, username="ana", password="wrong",
                               sender="r@example.org", ca_file=str(cert[0]))
        with pytest.raises(EmailError) as info:
            backend.publish(report_bundle, "mailto:bo@example.org", Reporter())
    finally:
        c.stop()
    line = info.value.one_line()
    assert "refused the login for 'ana'" in line and "535" in line and "Nothing was sent" in line
    assert "wrong" not in line
    assert inbox.envelopes == []


def test_plain_relay_without_tls_or_login(report_bundle):
    inbox = Inbox()
    c = _controller(inbox)
    try:
        h = EmailBackend(host="127.0.0.1", port=c.port, sender="r@example.org").publish(
            report_bundle, "mailto:bo@example.org?subject=Weekly%20numbers", Reporter())
    finally:
        c.stop()
    assert h.details["tls"] is False and h.destination == "mailto:bo@example.org"
    msg = email.message_from_bytes(inbox.envelopes[0].content, policy=policy.default)
    assert msg["Subject"] == "Weekly numbers"


def test_starttls_required_but_not_offered(report_bundle):
    inbox = Inbox()
    c = _controller(inbox)
    try:
        with pytest.raises(EmailError, match="STARTTLS is required"):
            EmailBackend(host="127.0.0.1", port=c.port, security="starttls").publish(
                report_bundle, "mailto:bo@example.org", Reporter())
    finally:
        c.stop()
    assert inbox.envelopes == []


class DroppingServer:
    """Speaks SMTP until DATA, reads part of the message, then hangs up."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.got_data = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        conn, _ = self.sock.accept()
        f = conn.makefile("rb")

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        send("220 flaky ESMTP")
        while True:
            line = f.readline()
            if not line:
                break
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                send("250 flaky")
            elif cmd in (b"MAIL", b"RCPT"):
                send("250 OK")
            elif cmd == b"DATA":
                send("354 go ahead")
                f.read(2048)  # part of the message...
                self.got_data.set()
                conn.shutdown(socket.SHUT_RDWR)  # ...then the line drops
                break
            else:
                send("250 OK")
        conn.close()
        self.sock.close()


def test_disconnect_mid_message_is_a_clear_error(report_bundle):
    server = DroppingServer()
    backend = EmailBackend(host="127.0.0.1", port=server.port, sender="r@example.org", timeout=10)
    with pytest.raises(EmailError) as info:
        backend.publish(report_bundle, "mailto:bo@example.org", Reporter())
    assert server.got_data.is_set()
    line = info.value.one_line()
    assert "closed the connection" in line and "not delivered" in line


def test_unreachable_smtp_server(report_bundle):
    backend = EmailBackend(host="127.0.0.1", port=_free_port(), timeout=5)
    with pytest.raises(EmailError, match="Cannot connect to the SMTP server"):
        backend.publish(report_bundle, "mailto:bo@example.org", Reporter())


@pytest.mark.parametrize("dest", ["mailto:", "mailto:not-an-address", "mailto:a@x.org,,b",
                                  "mailto:a@x.org;oops"])
def test_bad_mailto_is_refused(dest):
    with pytest.raises(UsageError, match="Not a valid list of e-mail addresses"):
        parse_mailto(dest)


def test_mailto_parsing():
    to, cc, bcc, subject = parse_mailto("mailto:a@x.org,b@y.org?cc=c@z.org&bcc=d@w.org&subject=Hi%20there")
    assert (to, cc, bcc, subject) == (["a@x.org", "b@y.org"], ["c@z.org"], ["d@w.org"], "Hi there")


def test_inline_images_dedupes():
    html = '<img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/png;base64,iVBORw0KGgo=">'
    out, parts = inline_images(html)
    assert len(parts) == 1 and out.count(f"cid:{parts[0][0]}") == 2


def test_bad_port_in_environment(report_bundle, monkeypatch):
    monkeypatch.setenv("JUPYTER_DEPLOY_SMTP_PORT", "smtp")
    with pytest.raises(UsageError, match="not a port number"):
        EmailBackend().publish(report_bundle, "mailto:bo@example.org", Reporter())
