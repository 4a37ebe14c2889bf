"""The web backend against a real HTTP server on loopback that stores what it receives."""

from __future__ import annotations

import base64
import hashlib
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyter_deploy.backends.web import WebBackend, WebPublishError
from jupyter_deploy.errors import UsageError
from jupyter_deploy.progress import Reporter


class Site:
    """A tiny internal web site: PUT/POST store the body, GET serves it back."""

    def __init__(self):
        self.stored: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.plan: list[int] = []  # status codes to answer writes with, first ones first
        self.always: int | None = None
        self.location: str | None = None
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _write(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                site.requests.append((self.command, self.path, dict(self.headers)))
                status = site.always or (site.plan.pop(0) if site.plan else 201)
                if status >= 400:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.command == "POST":
                    ctype = self.headers["Content-Type"]
                    msg = BytesParser(policy=HTTP).parsebytes(
                        f"Content-Type: {ctype}\r\n\r\n".encode() + body)
                    part = next(msg.iter_parts())
                    body = part.get_payload(decode=True)
                    path = self.path.rstrip("/") + "/" + part.get_filename()
                else:
                    path = self.path
                site.stored[path] = body
                self.send_response(status)
                if site.location is not None or self.command == "POST":
                    self.send_header("Location", site.location or path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = _write
            do_POST = _write

            def do_GET(self):
                site.requests.append(("GET", self.path, dict(self.headers)))
                body = site.stored.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def writes(self):
        return [r for r in self.requests if r[0] in ("PUT", "POST")]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()


def _fast(**kw) -> WebBackend:
    return WebBackend(backoff=0.01, retries=kw.pop("retries", 3), timeout=10, **kw)


def test_put_with_token_from_env_and_read_back(report_bundle, site, monkeypatch):
    monkeypatch.setenv("JUPYTER_DEPLOY_WEB_TOKEN", "tok-123")
    backend = _fast()
    h = backend.publish(report_bundle, site.url + "/reports/q3.html", Reporter())
    data = (report_bundle.path / "report.html").read_bytes()
    assert site.stored["/reports/q3.html"] == data
    method, path, headers = site.writes()[0]
    assert method == "PUT" and headers["Authorization"] == "Bearer tok-123"
    assert headers["Content-Type"].startswith("text/html")
    assert h.url == site.url + "/reports/q3.html" == h.destination
    assert h.details["sha256"] == hashlib.sha256(data).hexdigest()
    proofs = backend.verify(report_bundle, h, Reporter())
    assert [p.ok for p in proofs] == [True] and "identical" in proofs[0].detail


def test_folder_url_gets_a_name_and_location_header_wins(report_bundle, site):
    site.location = "/published/final.html"
    h = _fast().publish(report_bundle, site.url + "/reports/", Reporter())
    [(_, path, _)] = site.writes()
    assert path.startswith("/reports/quarterly-sales-") and path.endswith("Z.html")
    assert h.url == site.url + "/published/final.html"


def test_basic_auth_from_config(report_bundle, site):
    _fast(username="ana", password="pw").publish(report_bundle, site.url + "/r.html", Reporter())
    auth = site.writes()[0][2]["Authorization"]
    assert auth == "Basic " + base64.b64encode(b"ana:pw").decode()


def test_500_then_200_is_retried(report_bundle, site):
    site.plan = [500, 503]
    backend = _fast()
    h = backend.publish(report_bundle, site.url + "/r.html", Reporter())
    assert len(site.writes()) == 3  # two failures, then success
    assert site.stored["/r.html"] == (report_bundle.path / "report.html").read_bytes()
    assert backend.verify(report_bundle, h, Reporter())[0].ok


def test_always_500_is_a_clear_error_and_nothing_published(report_bundle, site):
    site.always = 500
    with pytest.raises(WebPublishError) as info:
        _fast(retries=2).publish(report_bundle, site.url + "/r.html", Reporter())
    line = info.value.one_line()
    assert "500" in line and "after 2 retries" in line and "nothing was published" in line
    assert len(site.writes()) == 3
    assert site.stored == {}


def test_unreachable_server(report_bundle):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(WebPublishError, match="Cannot reach the web server"):
        _fast(retries=1).publish(report_bundle, f"http://127.0.0.1:{port}/r.html", Reporter())


def test_403_names_the_credentials_to_set(report_bundle, site):
    site.always = 403
    with pytest.raises(WebPublishError, match="JUPYTER_DEPLOY_WEB_TOKEN"):
        _fast().publish(report_bundle, site.url + "/r.html", Reporter())
    assert len(site.writes()) == 1  # not retried


def test_post_multipart(report_bundle, site):
    backend = _fast(method="POST")
    h = backend.publish(report_bundle, site.url + "/upload", Reporter())
    assert site.writes()[0][0] == "POST"
    assert site.stored["/upload/quarterly-sales.html"] == (report_bundle.path / "report.html").read_bytes()
    assert h.url == site.url + "/upload/quarterly-sales.html"
    assert backend.verify(report_bundle, h, Reporter())[0].ok


def test_credentials_in_the_url_are_refused(report_bundle, site):
    with pytest.raises(UsageError, match="Credentials in the --to URL"):
        _fast().publish(report_bundle, site.url.replace("http://", "http://ana:pw@") + "/r.html",
                        Reporter())
    assert site.requests == []


def test_read_back_mismatch_is_a_failed_proof(report_bundle, site):
    backend = _fast()
    h = backend.publish(report_bundle, site.url + "/r.html", Reporter())
    site.stored["/r.html"] = b"something else"
    proof = backend.verify(report_bundle, h, Reporter())[0]
    assert not proof.ok and "differs" in proof.detail


def test_web_options_are_config_not_command_line():
    # Credentials must never be settable as %deploy/CLI options.
    assert WebBackend.option_names() == []
    assert WebBackend.claims("https://x/r.html", "report") and not WebBackend.claims("https://x", "model")
