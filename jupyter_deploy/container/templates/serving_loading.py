"""Loading the model artefact: its files checked (hashes, optional signature), then unpickled.

Part of the generated API (see serving.py).
"""

from __future__ import annotations

import standalone


class StartupError(Exception):
    """The artefact cannot be served (missing, changed, or does not load)."""


def load_artefact(root, verify=True):
    """(metadata, the unpickled model) of the artefact folder ``root``; StartupError if the
    artefact is missing, changed, unsigned when a key is set, or does not load."""
    try:
        if verify:
            meta, model_bytes = standalone.check_artefact(
                str(root), standalone.env_signing_key())
        else:
            meta = standalone.read_metadata(str(root))
            model_bytes = (root / standalone.MODEL).read_bytes()
    except standalone.ArtefactProblem as exc:
        raise StartupError(f"refusing to serve {root}: {exc}") from None
    except OSError as exc:
        raise StartupError(f"cannot read the model artefact in {root}: {exc}") from None
    try:
        model = standalone.unpickle(model_bytes)
    except Exception as exc:  # noqa: BLE001
        raise StartupError(
            f"model.pkl does not load: {type(exc).__name__}: {exc} (install the pinned "
            "requirements.txt with the Python the model was saved with)") from None
    return meta, model
