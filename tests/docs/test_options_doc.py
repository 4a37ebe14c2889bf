"""docs/options.md is what the option schemas say (regenerate: scripts/make_docs.py)."""

import importlib.util

from jdtest import ROOT


def test_options_page_is_current():
    spec = importlib.util.spec_from_file_location("make_docs", ROOT / "scripts" / "make_docs.py")
    make_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_docs)
    assert (ROOT / "docs" / "options.md").read_text() == make_docs.render(), (
        "docs/options.md is stale: run .venv/bin/python scripts/make_docs.py"
    )
