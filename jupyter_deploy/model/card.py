"""The model card: a README.md a reviewer can read without opening the pickle."""

from __future__ import annotations

import json


def _table(rows, header):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return out


def model_card(meta: dict) -> str:
    name = meta.get("name", "model")
    version = meta.get("version")
    title = f"# {name}" + (f" v{version}" if version is not None else "")
    lines = [title, ""]
    if meta.get("description"):
        lines += [meta["description"], ""]
    lines += [
        f"- **Model**: `{meta.get('model_class')}` ({meta.get('task')})",
        f"- **Created**: {meta.get('created')} with jupyter-deploy {meta.get('jupyter_deploy')}",
        f"- **Python**: {meta.get('python')} on {meta.get('platform')}",
        f"- **Notebook**: `{meta.get('notebook') or '-'}` (content hash "
        f"`{(meta.get('notebook_hash') or '-')[:16]}`)",
        f"- **Repeatability check**: {meta.get('verdict') or 'unchecked'}"
        + (" -- **deployed with --force**" if meta.get("forced") else ""),
    ]
    git = meta.get("git")
    if git:
        dirty = " (uncommitted changes)" if git.get("dirty") else ""
        lines.append(f"- **Git**: {git.get('commit')}{dirty}")
    if meta.get("classes") is not None:
        lines.append(f"- **Classes**: {', '.join(map(str, meta['classes']))}")
    lines.append("")
    if meta.get("metrics"):
        lines += ["## Metrics", ""]
        lines += _table(sorted(meta["metrics"].items()), ["metric", "value"]) + [""]
    schema = meta.get("input_schema")
    if schema:
        lines += ["## Inputs", "", f"A {schema.get('type')} with these columns:", ""]
        rows = []
        for c in schema.get("columns", []):
            cats = c.get("categories")
            cats_s = ""
            if cats:
                cats_s = ", ".join(map(str, cats[:10])) + (" ..." if len(cats) > 10 else "")
            nullable = "yes" if c.get("nullable") else "no"
            rows.append([f"`{c.get('name')}`", c.get("dtype"), nullable, cats_s])
        lines += _table(rows, ["column", "dtype", "nullable", "values seen"]) + [""]
    out = meta.get("output_schema") or {}
    pred_dtype = (out.get("prediction") or {}).get("dtype")
    lines += ["## Outputs", "", f"- prediction dtype: {pred_dtype}"]
    if out.get("probabilities"):
        lines.append(f"- class probabilities, in this order: {json.dumps(out['probabilities'])}")
    lines.append("")
    lines += ["## Requirements", "", "```"] + list(meta.get("requirements") or []) + ["```", ""]
    lines += [
        "## Load it",
        "",
        "```python",
        "import jupyter_deploy",
        f"model = jupyter_deploy.load({name!r}"
        + (f", version={version}" if version is not None else "")
        + ", registry=...)",
        "```",
        "",
        "Loading checks the sha256 of every file (and the signature when a signing key is",
        "configured) before unpickling. Unpickling runs code: load only models whose author you",
        "trust.",
        "",
        f"Sample rows with expected outputs: {meta.get('sample_rows', 0)} (in `sample.json`).",
        "",
    ]
    return "\n".join(lines)
