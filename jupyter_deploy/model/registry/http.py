"""A registry on an HTTP artefact server that accepts PUT and GET of files.

The generic-repository style of Artifactory, Nexus or a WebDAV share: ``PUT <url>/<path>``
stores a file, ``GET`` returns it. Listing is not assumed: versions are found by probing the
claim files ``<name>/.claims/v1, v2...`` and names through ``index.json`` at the root.
Version numbers are claimed with ``PUT`` + ``If-None-Match: *`` (answered 412 when the file
exists), read back to confirm on servers that ignore the header.

Requests go through one ``requests.Session`` with retries (``jupyter_deploy.http``: urllib3 ``Retry`` on 429, 500, 502, 503,
504 and connection errors, exponential backoff) and timeouts. Credentials: ``user:password@``
in the URL, or a bearer token in ``$JUPYTER_DEPLOY_REGISTRY_TOKEN``.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

from ...errors import RegistryError
from ...http import request_error, retrying_session
from .base import Store

TOKEN_ENV = "JUPYTER_DEPLOY_REGISTRY_TOKEN"

class HTTPStore(Store):
    can_list = False

    def __init__(
        self,
        url: str,
        *,
        retries: int = 3,
        backoff: float = 0.2,
        timeout: tuple[float, float] = (5.0, 60.0),
        token: str | None = None,
    ):
        parts = urlsplit(url.rstrip("/"))
        auth = None
        if parts.username:
            auth = (parts.username, parts.password or "")
            netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
            parts = parts._replace(netloc=netloc)
        self.base = urlunsplit(parts)
        self.url = self.base  # never shows credentials
        self.timeout = timeout
        self.retries = retries
        self.session = retrying_session(retries, backoff, {"GET", "HEAD", "PUT", "DELETE"},
                                        raise_on_status=True)
        if auth:
            self.session.auth = auth
        token = token or os.environ.get(TOKEN_ENV)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _u(self, path: str) -> str:
        return f"{self.base}/{quote(path)}" if path else self.base + "/"

    def _request(self, method: str, path: str, **kw):
        import requests

        try:
            return self.session.request(method, self._u(path), timeout=self.timeout, **kw)
        except requests.exceptions.RequestException as exc:
            raise request_error(exc, RegistryError, server="the registry", url=self.url,
                                method=f"{method} {path}", attempts=self.retries + 1) from exc

    def _fail(self, resp, method: str, path: str):
        code = resp.status_code
        if code in (401, 403, 405):
            return RegistryError(
                f"The registry {self.url} refused {method} {path} (HTTP {code}): it is read-only "
                "for these credentials.",
                hint="Give credentials with write access (user:password@ in the URL, or "
                f"${TOKEN_ENV}), or use a registry you can write to.",
            )
        return RegistryError(
            f"The registry {self.url} answered {method} {path} with HTTP {code}.",
            hint="Check the URL and the artefact server's logs.",
        )

    def read_bytes(self, path: str) -> bytes:
        resp = self._request("GET", path)
        if resp.status_code == 404:
            raise FileNotFoundError(path)
        if resp.status_code >= 400:
            raise self._fail(resp, "GET", path)
        return resp.content

    def write_bytes(self, path: str, data: bytes) -> None:
        resp = self._request("PUT", path, data=data)
        if resp.status_code >= 400:
            raise self._fail(resp, "PUT", path)

    def exists(self, path: str) -> bool:
        resp = self._request("HEAD", path)
        if resp.status_code == 404:
            return False
        if resp.status_code >= 400:
            raise self._fail(resp, "HEAD", path)
        return True

    def create_exclusive(self, path: str, data: bytes) -> bool:
        if self.exists(path):
            return False
        resp = self._request("PUT", path, data=data, headers={"If-None-Match": "*"})
        if resp.status_code == 412:
            # Taken -- or our own earlier attempt that the server stored before failing.
            try:
                return self.read_bytes(path) == data
            except FileNotFoundError:
                return False
        if resp.status_code >= 400:
            raise self._fail(resp, "PUT", path)
        try:
            return self.read_bytes(path) == data
        except FileNotFoundError:
            return False

    def listdir(self, path: str) -> list[str]:  # pragma: no cover - never called (can_list)
        raise NotImplementedError

    def delete(self, path: str) -> None:
        try:
            self._request("DELETE", path)
        except RegistryError:
            pass


