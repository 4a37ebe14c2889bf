"""One way to talk HTTP: a requests session that retries server errors with backoff.

Used by the web backend (reports) and the HTTP model registry, so that retries, back-off,
``Retry-After``, the User-Agent, and the one-line errors a failed request becomes
(:func:`request_error`) behave the same everywhere.
"""

from __future__ import annotations

# 429 and 5xx that a proxy or a restarting server gives: worth a retry.
RETRY_STATUS = (429, 500, 502, 503, 504)


def retrying_session(retries: int, backoff: float, methods, *, raise_on_status: bool):
    """A ``requests.Session`` that retries ``methods`` on connection errors and RETRY_STATUS.

    With ``raise_on_status`` a request that still fails after the retries raises
    ``requests.exceptions.RetryError``; without it the last response is returned to inspect.
    """
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff,
        status_forcelist=RETRY_STATUS,
        allowed_methods=frozenset(methods),
        raise_on_status=raise_on_status,
        respect_retry_after_header=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "jupyter-deploy"
    return session


def _status_of(exc) -> str:
    """The HTTP status a RetryError gave up on ("503"), else "5xx"."""
    import re

    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    m = re.search(r"too many (\d{3}) error", str(reason or exc))
    return m.group(1) if m else "5xx"


def _reason(exc) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "No route to host", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower()
    return (text.splitlines() or [type(exc).__name__])[0][:120]


def request_error(exc, error_cls, *, server: str, url: str, method: str, attempts: int,
                  tls_hint: str = "Point REQUESTS_CA_BUNDLE at your internal CA's certificate "
                  "file.", nothing: str = "Nothing was published."):
    """The one-line :class:`~jupyter_deploy.errors.DeployError` (of ``error_cls``) that a
    requests exception becomes: ``server`` names the other end ("the registry", "the web
    server"), ``attempts`` how many times the request was tried."""
    import requests

    Server = server[:1].upper() + server[1:]
    if isinstance(exc, requests.exceptions.RetryError):
        return error_cls(
            f"{Server} {url} answered {method} with HTTP {_status_of(exc)} {attempts} times.",
            hint=f"The server is failing; try again later or check its logs. {nothing}")
    if isinstance(exc, requests.exceptions.SSLError):
        return error_cls(f"TLS failed for {url}: {_reason(exc)}.", hint=tls_hint)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return error_cls(f"Cannot reach {server} {url} ({_reason(exc)}).",
                         hint=f"Check the URL and that the server is running and reachable. {nothing}")
    if isinstance(exc, requests.exceptions.Timeout):
        return error_cls(f"{Server} {url} did not answer {method} in time.",
                         hint=f"Check the server, or try again later. {nothing}")
    return error_cls(f"HTTP error talking to {url}: {type(exc).__name__}: {_reason(exc)}",
                     hint=f"Check the URL and the server. {nothing}")
