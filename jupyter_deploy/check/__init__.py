"""The repeatability check: static findings, a clean re-run, output comparison, a verdict."""
