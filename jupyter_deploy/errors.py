"""Every error jupyter-deploy raises on purpose.

All of them derive from :class:`DeployError`, which carries a one-line ``message`` (what went
wrong), an optional ``hint`` (what to do about it), a stable machine-readable ``code`` and the
HTTP ``status`` the REST boundary answers with. Each front end turns a ``DeployError`` into its
own idiom: a one-line ``UsageError`` in a notebook, JSON in the server, a message and a non-zero
exit on the command line. Anything that is *not* a ``DeployError`` is a bug in jupyter-deploy or a
plugin, and is reported as such.
"""

from __future__ import annotations


class DeployError(Exception):
    """Base class of every error that jupyter-deploy raises for the user to act on."""

    code = "deploy-error"
    status = 400

    def __init__(self, message: str, hint: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def __str__(self) -> str:
        return self.one_line()

    def one_line(self) -> str:
        """The error as a single line: what went wrong, then what to do."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} -- {' '.join(self.hint.split())}"
        return text

    def to_json(self) -> dict:
        out = {"code": self.code, "message": self.message, "hint": self.hint or ""}
        if self.details:
            out["details"] = _jsonable(self.details)
        return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# --- input the user gave -------------------------------------------------------------------


class UsageError(DeployError):
    """An option or argument that cannot be used as given."""

    code = "usage"


class NotebookNotFound(DeployError):
    code = "notebook-not-found"
    status = 404


class NotebookInvalid(DeployError):
    """The file exists but is not a notebook we can read (corrupt JSON, nbformat 3...)."""

    code = "notebook-invalid"
    status = 422


class PathNotAllowed(DeployError):
    code = "path-not-allowed"
    status = 403


class VariableNotFound(DeployError):
    code = "variable-not-found"
    status = 422


# --- kernels and the clean run -------------------------------------------------------------


class KernelError(DeployError):
    """No kernelspec, a kernel that is not installed, or a kernel that failed to start."""

    code = "kernel"
    status = 422


class CheckTimeout(DeployError):
    code = "timeout"
    status = 422


class EnvironmentBuildError(DeployError):
    """--explain-drift could not build the older environment (no wheel for this Python as of
    that date, an index that cannot be reached, uv missing)."""

    code = "environment-build"
    status = 422


class NotRepeatable(DeployError):
    """A deploy was refused because the notebook's clean re-run failed its check."""

    code = "not-repeatable"
    status = 409


class Cancelled(DeployError):
    code = "cancelled"
    status = 409


# --- plugins -------------------------------------------------------------------------------


class PluginError(DeployError):
    code = "plugin"
    status = 404


class UnknownPlugin(PluginError):
    code = "unknown-plugin"


class BrokenPlugin(PluginError):
    code = "broken-plugin"
    status = 500


# --- targets and backends ------------------------------------------------------------------


class TargetError(DeployError):
    """A target could not build its bundle from what it was given."""

    code = "target"
    status = 422


class UnsupportedModel(TargetError):
    code = "unsupported-model"


class SerializationError(TargetError):
    code = "serialization"


class BackendError(DeployError):
    """A backend could not hand a bundle off (unreachable, refused, read-only...)."""

    code = "backend"
    status = 502


class RegistryError(BackendError):
    code = "registry"


class IntegrityError(DeployError):
    """An artefact's hashes or signature do not match: it was changed after it was written."""

    code = "integrity"
    status = 409


class VerificationFailed(DeployError):
    """What was deployed does not give the same results as the notebook."""

    code = "verification-failed"
    status = 409


class SecretFound(DeployError):
    code = "secret-found"
    status = 409


class EngineError(DeployError):
    """A container engine is missing or failed."""

    code = "engine"
    status = 502
