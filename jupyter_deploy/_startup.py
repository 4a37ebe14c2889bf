"""Start-up tweaks for jupyter-deploy's own command-line processes (never for kernels).

nbformat validates with jsonschema, whose import also loads the optional ``rfc3987_syntax``
package when it is installed (as JupyterLab's dependencies install it). That package compiles
dozens of grammars at import, seconds on a busy two-core machine, for IRI formats that notebook
validation never uses. jsonschema treats it as optional, so a process that only runs our CLI or
a server job can leave it out.
"""

import sys


def skip_slow_optional_imports() -> None:
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
