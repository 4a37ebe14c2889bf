"""The plugin contract under its first name, kept for plugins written against it.

The contract lives at the bottom of the package: :mod:`jupyter_deploy.bundle` (Bundle, Proof,
Handoff, the bundle specs) and :mod:`jupyter_deploy.plugin` (Plugin, Target, Backend,
DeployContext, ObjectSource, option schemas). Import from there; these names stay importable.
"""

from __future__ import annotations

from ..bundle import MANIFEST, Bundle, Handoff, Proof, sha256_file
from ..plugin import (
    Backend,
    DeployContext,
    ObjectSource,
    Plugin,
    Target,
    magic_line,
    options_schema,
    trait_schema,
)

__all__ = [
    "MANIFEST", "Bundle", "Handoff", "Proof", "sha256_file", "Backend", "DeployContext",
    "ObjectSource", "Plugin", "Target", "magic_line", "options_schema", "trait_schema",
]
