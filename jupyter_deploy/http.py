"""One way to talk HTTP: a requests session that retries server errors with backoff.

Used by the web backend (reports) and the HTTP model registry, so that retries, back-off,
``Retry-After`` and the User-Agent behave the same everywhere.
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
