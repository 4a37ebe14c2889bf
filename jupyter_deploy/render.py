"""Reports and results as text (terminal) and HTML (notebook), shared by the CLI and magics."""

from __future__ import annotations

import html

from .check.verdict import cause_text

VERDICT_MARK = {
    "repeatable": "✔ repeatable",
    "repeatable-with-warnings": "⚠ repeatable with warnings",
    "not-repeatable": "✘ not repeatable",
}
VERDICT_COLOUR = {
    "repeatable": "#1a7f37",
    "repeatable-with-warnings": "#9a6700",
    "not-repeatable": "#cf222e",
}


def _cell(f) -> str:
    """The cell as a person finds it: JupyterLab's number (from 1, every cell counted, as in
    its "Cell 11/11") and the saved execution count, "11 [7]"; "-" for the whole notebook."""
    i = f.get("cell")
    if not isinstance(i, int):
        return "-"
    number = f.get("cell_number") or i + 1
    count = f.get("execution_count")
    return f"{number} [{count}]" if isinstance(count, int) else str(number)


def _cell_title(f) -> str:
    """A tooltip that says what the cell column's numbers are."""
    if not isinstance(f.get("cell"), int):
        return ""
    text = f"Cell {f.get('cell_number') or f['cell'] + 1} in JupyterLab"
    if isinstance(f.get("execution_count"), int):
        text += f", saved as [{f['execution_count']}]"
    return f" title='{html.escape(text)}'"


def check_text(report: dict, *, diffs: bool = True) -> str:
    lines = []
    findings = report.get("findings", [])
    if findings:
        width = max(len(f["kind"]) for f in findings)
        cw = max([4] + [len(_cell(f)) for f in findings])
        lines.append(f"{'cell':>{cw}}  {'kind':<{width}}  message")
        for f in findings:
            msg = f["message"]
            cause = cause_text(f)
            if cause:
                msg += f"  [{cause}]"
            lines.append(f"{_cell(f):>{cw}}  {f['kind']:<{width}}  {msg}")
            if diffs and f.get("diff"):
                for d in f["diff"].splitlines()[:12]:
                    lines.append(f"{'':>{cw}}  {'':<{width}}  | {d}")
            if f.get("hint") and f.get("severity") == "error":
                lines.append(f"{'':>{cw}}  {'':<{width}}  -> {f['hint']}")
    name = report.get("notebook", "").rsplit("/", 1)[-1]
    took = report.get("duration")
    tail = " (from cache)" if report.get("cached") else (f" in {took:.1f} s" if took else "")
    lines.append(f"{name}: {VERDICT_MARK.get(report['verdict'], report['verdict'])}{tail}")
    return "\n".join(lines)


def check_html(report: dict) -> str:
    rows = []
    for f in report.get("findings", []):
        msg = html.escape(f["message"])
        cause = cause_text(f)
        if cause:
            msg += f"<br><small>{html.escape(cause)}</small>"
        if f.get("diff"):
            msg += f"<details><summary>diff</summary><pre>{html.escape(f['diff'][:4000])}</pre></details>"
        if f.get("hint"):
            msg += f"<br><small>&rarr; {html.escape(f['hint'])}</small>"
        colour = "#cf222e" if f.get("severity") == "error" else "#9a6700"
        rows.append(
            f"<tr><td style='text-align:right;white-space:nowrap'{_cell_title(f)}>{_cell(f)}</td>"
            f"<td style='color:{colour};white-space:nowrap'>{html.escape(f['kind'])}</td>"
            f"<td style='text-align:left'>{msg}</td></tr>"
        )
    verdict = report["verdict"]
    tail = " (from cache)" if report.get("cached") else ""
    head = (
        f"<div style='font-weight:bold;color:{VERDICT_COLOUR.get(verdict, '#000')}'>"
        f"{html.escape(VERDICT_MARK.get(verdict, verdict))}{tail}</div>"
    )
    if not rows:
        return head
    table = (
        "<table><thead><tr><th>cell</th><th>kind</th><th style='text-align:left'>message</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    return head + table


def result_text(result: dict) -> str:
    lines = [f"{result['target']}: {result.get('summary') or result.get('destination')}"]
    if result.get("url"):
        lines.append(f"  url: {result['url']}")
    for p in result.get("proofs", []):
        mark = "✔" if p["ok"] else "✘"
        lines.append(f"  {mark} {p['name']}: {p.get('detail', '')}")
    if result.get("forced"):
        lines.append("  (forced: the notebook was not repeatable)")
    return "\n".join(lines)


def result_html(result: dict) -> str:
    items = []
    for p in result.get("proofs", []):
        mark = "&#10004;" if p["ok"] else "&#10008;"
        colour = "#1a7f37" if p["ok"] else "#cf222e"
        items.append(
            f"<li><span style='color:{colour}'>{mark}</span> <b>{html.escape(p['name'])}</b>: "
            f"{html.escape(str(p.get('detail', '')))}</li>"
        )
    link = result.get("url") or result.get("destination") or ""
    dest = html.escape(str(result.get("summary") or link))
    if result.get("url"):
        dest = f"<a href='{html.escape(result['url'])}' target='_blank'>{dest}</a>"
    return (
        f"<div><b>{html.escape(result['target'])}</b>: {dest}"
        + (f"<ul>{''.join(items)}</ul>" if items else "")
        + "</div>"
    )


def history_text(records: list[dict]) -> str:
    if not records:
        return "No deployments yet."
    lines = [f"{'time':<20}  {'action':<7} {'target':<10} {'status':<7} {'verdict':<25} where"]
    for r in records:
        lines.append(
            f"{(r.get('time') or '')[:19]:<20}  {r.get('action') or '':<7} "
            f"{r.get('target') or '-':<10} {r.get('status') or '':<7} {r.get('verdict') or '':<25} "
            f"{r.get('destination') or r.get('summary') or ''}"
        )
    return "\n".join(lines)


def history_html(records: list[dict]) -> str:
    """The history as a table in a notebook (the same rows as :func:`history_text`)."""
    if not records:
        return "<div>No deployments yet.</div>"
    rows = []
    for r in records:
        status = r.get("status") or ""
        colour = "#1a7f37" if status == "ok" else "#cf222e" if status else "inherit"
        where = html.escape(str(r.get("destination") or r.get("summary") or ""))
        if r.get("url"):
            where = f"<a href='{html.escape(r['url'])}' target='_blank'>{where}</a>"
        rows.append(
            f"<tr><td style='white-space:nowrap'>{html.escape((r.get('time') or '')[:19])}</td>"
            f"<td>{html.escape(r.get('action') or '')}</td>"
            f"<td>{html.escape(r.get('target') or '-')}</td>"
            f"<td style='color:{colour}'>{html.escape(status)}</td>"
            f"<td>{html.escape(r.get('verdict') or '')}</td>"
            f"<td style='text-align:left'>{where}</td></tr>"
        )
    return ("<table><thead><tr><th>time</th><th>action</th><th>target</th><th>status</th>"
            "<th>verdict</th><th style='text-align:left'>where</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def models_text(rows: list[dict], name: str | None = None) -> str:
    """The registry's models (or one model's versions) as a plain-text table."""
    if not rows:
        return "No models yet." if not name else f"No model named {name!r}."
    keys = [k for k in ("name", "version", "status", "aliases", "created", "model_class", "verdict")
            if any(k in r for r in rows)]
    out = ["  ".join(f"{k:<18}" for k in keys)]
    for r in rows:
        vals = []
        for k in keys:
            v = r.get(k, "")
            if isinstance(v, (list, tuple)):
                v = ",".join(map(str, v))
            vals.append(f"{str(v)[:40]:<18}")
        out.append("  ".join(vals))
    return "\n".join(out)
