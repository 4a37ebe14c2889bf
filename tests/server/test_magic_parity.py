"""The sidebar builds `%deploy` lines in TypeScript; both sides are pinned to one case file.

The jest suite (labextension/src/__tests__/magic.spec.ts) asserts the TypeScript builder gives
the ``expected`` lines of the same file; this test asserts the Python one still does.
"""

import json
from pathlib import Path

from jupyter_deploy.targets.base import magic_line

CASES = Path(__file__).parents[2] / "labextension" / "src" / "__tests__" / "magic_cases.json"


def test_python_magic_line_matches_the_cases_the_sidebar_is_tested_with():
    data = json.loads(CASES.read_text())
    assert len(data["cases"]) >= 5
    for case in data["cases"]:
        got = magic_line(case["target"], case["options"], data["schema"], case["to"])
        assert got == case["expected"], case
