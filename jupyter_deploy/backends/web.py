"""Publish a report to an internal web site over HTTP(S).

``--to https://intranet.example/reports/q3.html`` uploads the report there with ``PUT``
(``c.WebBackend.method = "POST"`` sends a multipart form instead). A URL that ends with ``/``
gets ``<slug>-<UTC timestamp>.<ext>`` appended. The resulting URL is the server's ``Location``
header when it sends one, else the upload URL.

Credentials never come from the command line: a bearer token from ``c.WebBackend.token`` or
``$JUPYTER_DEPLOY_WEB_TOKEN``, or basic auth from ``c.WebBackend.username`` / ``password`` or
``$JUPYTER_DEPLOY_WEB_USER`` / ``$JUPYTER_DEPLOY_WEB_PASSWORD``. Connection errors and 429/5xx
answers are retried with exponential backoff (urllib3's ``Retry``). After the upload the URL is
fetched back and its sha256 compared with the report's.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import ClassVar
from urllib.parse import urljoin, urlparse

from traitlets import Bool, Enum, Float, Int, Unicode

from ..bundle import Bundle, Handoff, Proof, ReportSpec
from ..errors import BackendError, UsageError
from ..http import request_error, RETRY_STATUS, retrying_session
from ..plugin import Backend


class WebPublishError(BackendError):
    code = "web"


class WebBackend(Backend):
    """An internal web site: the report uploaded over HTTP(S) with PUT or POST."""

    plugin_name: ClassVar[str] = "web"
    description: ClassVar[str] = (
        "An internal web site over HTTP(S): the report is uploaded with PUT (or POST), with "
        "retries, auth from config or environment, and read back to compare its hash."
    )
    accepts: ClassVar[tuple[str, ...]] = ("report",)
    schemes: ClassVar[tuple[str, ...]] = ("http", "https")

    method = Enum(["PUT", "POST"], default_value="PUT",
                  help="PUT the file at the URL, or POST it as a multipart form.").tag(config=True)
    form_field = Unicode("file", help="Form field name of the file when method is POST.").tag(config=True)
    token = Unicode(
        "", help="Bearer token for the web site (else $JUPYTER_DEPLOY_WEB_TOKEN). Never taken "
        "from the command line.",
    ).tag(config=True)
    username = Unicode("", help="Basic-auth user (else $JUPYTER_DEPLOY_WEB_USER).").tag(config=True)
    password = Unicode("", help="Basic-auth password (else $JUPYTER_DEPLOY_WEB_PASSWORD).").tag(config=True)
    retries = Int(4, help="How many times a failed upload (connection error, 429, 5xx) is retried.").tag(config=True)
    backoff = Float(0.5, help="Backoff factor between retries, in seconds (doubles each time).").tag(config=True)
    timeout = Float(60.0, help="Seconds to wait for the server on each request.").tag(config=True)
    verify_tls = Bool(True, help="Check the server's TLS certificate.").tag(config=True)
    ca_bundle = Unicode("", help="A CA bundle file to check the server's certificate with.").tag(config=True)
    read_back = Bool(
        True, help="After uploading, GET the URL and compare the sha256 with the report's.",
    ).tag(config=True)

    # ------------------------------------------------------------------------ session

    def _auth(self):
        token = self.token or os.environ.get("JUPYTER_DEPLOY_WEB_TOKEN", "")
        user = self.username or os.environ.get("JUPYTER_DEPLOY_WEB_USER", "")
        password = self.password or os.environ.get("JUPYTER_DEPLOY_WEB_PASSWORD", "")
        if token:
            return {"Authorization": f"Bearer {token}"}, None
        if user:
            return {}, (user, password)
        return {}, None

    def _session(self):
        s = retrying_session(self.retries, self.backoff, {"GET", "PUT", "POST", "HEAD"},
                             raise_on_status=False)
        headers, auth = self._auth()
        s.headers.update(headers)
        s.auth = auth
        s.verify = self.ca_bundle or self.verify_tls
        return s

    # ------------------------------------------------------------------------ publish

    def _target_url(self, bundle: Bundle, destination: str, main: str) -> str:
        from ..report.slug import slugify, timestamp

        if destination.endswith("/"):
            slug = slugify(bundle.spec_as(ReportSpec).slug or bundle.spec_as(ReportSpec).title or "report")
            return destination + f"{slug}-{timestamp()}{Path(main).suffix}"
        return destination

    @staticmethod
    def _filename(bundle: Bundle, url: str, main: str) -> str:
        """The file name sent with a POST: the URL's own when it names a file, else the slug's."""
        from ..report.slug import slugify

        name = Path(urlparse(url).path).name
        if name and Path(name).suffix == Path(main).suffix:
            return name
        slug = slugify(bundle.spec_as(ReportSpec).slug or bundle.spec_as(ReportSpec).title or "report")
        return slug + Path(main).suffix

    def publish(self, bundle: Bundle, destination: str | None, reporter) -> Handoff:
        import requests

        if not destination or urlparse(destination).scheme not in self.schemes:
            raise UsageError("The web backend needs an http:// or https:// URL.", hint="--to https://...")
        p = urlparse(destination)
        if p.username or p.password:
            raise UsageError(
                "Credentials in the --to URL are refused (they would end up in the history and "
                "shell logs).",
                hint="Set $JUPYTER_DEPLOY_WEB_TOKEN (or _USER/_PASSWORD), or c.WebBackend.token "
                "in a config file.",
            )
        main = bundle.spec_as(ReportSpec).main or "report.html"
        path = bundle.path / main
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        url = self._target_url(bundle, destination, main)
        ctype = "application/pdf" if main.endswith(".pdf") else "text/html; charset=utf-8"
        reporter("publish", 0, 1, f"{self.method} {url} ({len(data)} bytes)")
        session = self._session()
        try:
            if self.method == "PUT":
                resp = session.put(url, data=data, headers={"Content-Type": ctype,
                                                             "X-Content-SHA256": digest},
                                   timeout=self.timeout)
            else:
                resp = session.post(url, files={self.form_field: (self._filename(bundle, url, main), data, ctype)},
                                    headers={"X-Content-SHA256": digest}, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise request_error(
                exc, WebPublishError, server="the web server", url=url, method=self.method,
                attempts=self.retries + 1, nothing="Nothing was published.",
                tls_hint="Set c.WebBackend.ca_bundle to your internal CA's certificate file.",
            ) from exc
        finally:
            session.close()
        if resp.status_code in (401, 403):
            raise WebPublishError(
                f"The web server refused the upload to {url}: HTTP {resp.status_code}.",
                hint="Set $JUPYTER_DEPLOY_WEB_TOKEN (or _USER/_PASSWORD), or c.WebBackend.token "
                "in a config file, to credentials allowed to write there.",
            )
        if resp.status_code >= 400:
            tries = f" after {self.retries} retries" if resp.status_code in RETRY_STATUS else ""
            raise WebPublishError(
                f"The web server answered HTTP {resp.status_code} to {self.method} {url}{tries}.",
                hint="Check the server's logs; nothing was published.",
            )
        location = resp.headers.get("Location")
        final = urljoin(url, location) if location else url
        reporter("publish", 1, 1, f"HTTP {resp.status_code}: {final}")
        return Handoff(
            destination=final,
            url=final,
            summary=f"report {bundle.spec_as(ReportSpec).title!r} uploaded to {final}",
            details={"status": resp.status_code, "method": self.method, "sha256": digest,
                     "bytes": len(data), "upload_url": url},
        )

    def verify(self, bundle: Bundle, handoff: Handoff, reporter) -> list[Proof]:
        import requests

        if not self.read_back:
            return [Proof("read back from the web site", True,
                          "not checked (c.WebBackend.read_back is off)")]
        expected = handoff.details.get("sha256")
        session = self._session()
        try:
            resp = session.get(handoff.url, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            return [Proof("read back from the web site", False,
                          f"GET {handoff.url} failed: {type(exc).__name__}")]
        finally:
            session.close()
        if resp.status_code != 200:
            return [Proof("read back from the web site", False,
                          f"GET {handoff.url} answered HTTP {resp.status_code} (set "
                          "c.WebBackend.read_back = False if the site cannot serve it back)")]
        got = hashlib.sha256(resp.content).hexdigest()
        return [Proof("read back from the web site", got == expected,
                      "sha256 identical" if got == expected else f"sha256 differs: {got[:12]} != {expected[:12]}",
                      {"sha256": got})]
