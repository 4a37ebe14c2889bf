"""Rendering, scanning and indexing of notebook reports (the ``report`` target's pieces).

Kept light on purpose: nbconvert, detect-secrets and Chromium are only touched by the
submodules, which are imported when a report is actually built.

- :mod:`.render`  -- self-contained HTML with a provenance block on its first screen
- :mod:`.pdf`     -- the same HTML printed to PDF by headless Chromium
- :mod:`.secrets` -- detect-secrets over every cell's source and outputs
- :mod:`.slug`, :mod:`.index` -- the knowledge repo's folder names and its index page
"""
