"""Model artefacts and registries: publish a fitted model as a verified version, load it back.

    import jupyter_deploy
    model = jupyter_deploy.load("churn")                       # latest version
    model = jupyter_deploy.load("churn", version=3)            # a version
    model = jupyter_deploy.load("churn", "production", registry="https://repo.example/models")

``registry`` is a folder path, ``file://``, ``http(s)://`` (a PUT/GET artefact server) or any
fsspec URL (``s3://``, ``gs://``, ``memory://``...); by default the configured registry
(``$JUPYTER_DEPLOY_HOME/registry``). Loading checks every file's sha256 and the metadata hash
(and the HMAC signature when ``$JUPYTER_DEPLOY_SIGNING_KEY`` is set) *before* unpickling.

Unpickling runs code chosen by the artefact's author: load only models whose author you trust.
"""

from __future__ import annotations

from typing import Any, Optional
from ..errors import UsageError

__all__ = ["load", "list_models", "open_registry"]


def open_registry(url_or_path: Any = None):
    from .registry import open_registry as _open

    return _open(url_or_path)


def load(name: str, version: Any = None, registry: Any = None, **kw):
    """The model ``name`` at ``version`` (None = latest, an int, "v3", or an alias).

    Keyword options: ``verify`` (default True: check hashes/signature first), ``signing_key``
    (bytes; default from the environment), ``with_metadata`` (return ``(model, metadata)``),
    ``allow_unverified`` (default False: a version whose proof failed or is pending is refused;
    "latest" and aliases never name one either way).
    """
    verify = kw.pop("verify", True)
    signing_key = kw.pop("signing_key", None)
    with_metadata = kw.pop("with_metadata", False)
    allow_unverified = bool(kw.pop("allow_unverified", False))
    if kw:
        raise UsageError(
            f"Unknown option(s) for load: {', '.join(sorted(kw))}.",
            hint="load(name, version=None, registry=None, verify=True, signing_key=None, "
            "with_metadata=False, allow_unverified=False)",
        )
    model, meta = open_registry(registry).load(
        name, version, verify=verify, signing_key=signing_key, allow_unverified=allow_unverified
    )
    return (model, meta) if with_metadata else model


def list_models(name: Optional[str] = None, registry: Any = None) -> list[dict]:
    """One dict per version (name, version, aliases, created, model_class, metrics, uri...)."""
    return open_registry(registry).list(name)
