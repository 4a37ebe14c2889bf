"""Recording a verdict in the notebook's own metadata, only when the user asks (--record)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import DeployError
from ..files import write_atomic


def write_verdict_metadata(report: dict) -> None:
    """Add ``metadata.jupyter_deploy.check`` to the notebook, atomically; nothing else changes."""
    path = Path(report["notebook"])
    raw = json.loads(path.read_bytes().decode("utf-8"))
    raw.setdefault("metadata", {}).setdefault("jupyter_deploy", {})["check"] = {
        "verdict": report["verdict"],
        "notebook_hash": report["notebook_hash"],
        "checked_at": report.get("checked_at"),
        "reasons": report.get("reasons", [])[:10],
        "jupyter_deploy": report.get("jupyter_deploy"),
    }
    text = json.dumps(raw, indent=1, ensure_ascii=False) + "\n"
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise DeployError(
            f"Cannot record the verdict in {path.name}: its folder is not writable ({exc.strerror}).",
            hint="Run the check without --record, or make the folder writable.",
        ) from exc
