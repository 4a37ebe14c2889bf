"""Write labextension/src/__tests__/magic_cases_targets.json: one `%deploy` line per option of
every built-in target (and of the check), as the Python builder writes it from the real schema.

The sidebar's jest suite (magic.spec.ts) asserts the TypeScript builder writes the same lines
from the same schemas, and tests/server/test_magic_parity.py asserts that every line parses in
the magic back to the options it came from and that this file is current.

    .venv/bin/python scripts/make_magic_cases.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = (Path(__file__).resolve().parent.parent / "labextension" / "src" / "__tests__"
       / "magic_cases_targets.json")
BUILTIN = ("report", "model", "sql", "container")


def sample_value(name: str, spec: dict):
    """A value for ``name`` that differs from its default (so the line must carry it)."""
    kind, default = spec.get("type"), spec.get("default")
    if "enum" in spec:
        return next(v for v in reversed(spec["enum"]) if v != default)
    if kind == "boolean":
        return not default
    if kind == "integer":
        return (default or 0) + 3
    if kind == "number":
        return (default or 0) + 0.25
    if kind == "array":
        return ["a b", "c"]
    if kind == "object":
        return {"k": "v w", "n": "2"}
    if spec.get("x-cli-positional"):
        return "clf"
    return f"{name} value's"


def render() -> str:
    from jupyter_deploy import plugins
    from jupyter_deploy.plugin import magic_line

    schemas, cases = {}, []
    for target in BUILTIN:
        schema = plugins.target_class(target).options_schema()
        schemas[target] = schema
        props = schema["properties"]
        positional = {n: "clf" for n, s in props.items() if s.get("x-cli-positional")}
        # every line carries the options the target requires, so the magic accepts it
        base = {**positional, **{n: sample_value(n, s) for n, s in props.items()
                                 if s.get("x-required") and n not in positional}}
        for name, spec in props.items():
            if spec.get("x-cli-positional"):
                continue
            options = {**base, name: sample_value(name, spec)}
            cases.append({"target": target, "option": name, "options": options, "to": None,
                          "expected": magic_line(target, options, schema)})
        everything = {**positional, **{n: sample_value(n, s) for n, s in props.items()
                                       if not s.get("x-cli-positional")}}
        cases.append({"target": target, "option": "*", "options": everything,
                      "to": "/tmp/some where", "expected": magic_line(target, everything, schema,
                                                                      "/tmp/some where")})
    # the check's options: one line per option and one with all of them (options.check_line)
    from jupyter_deploy.options import check_line, check_schema

    cschema = check_schema()
    check_cases = []
    cprops = cschema["properties"]
    for name, spec in cprops.items():
        options = {name: sample_value(name, spec)}
        check_cases.append({"option": name, "options": options, "expected": check_line(options)})
    everything = {n: sample_value(n, s) for n, s in cprops.items()}
    check_cases.append({"option": "*", "options": everything, "expected": check_line(everything)})
    return json.dumps({"schemas": schemas, "cases": cases, "check_schema": cschema,
                       "check_cases": check_cases}, indent=1) + "\n"


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}", file=sys.stderr)
