"""The repeatability-truth test set: small real-world-like notebooks, one per case seen
on public notebooks, checked for real; prints the README's table (verdict given vs expected, cause
right / unknown / wrong, seconds per check).

    .venv/bin/python scripts/truth_set.py [FOLDER]

Each notebook is executed with nbclient as its author would have, then edited the way the real
one had drifted (a deleted cell, outputs saved by older libraries, another kernel name...).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook, new_output

_TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path[:0] = [str(_TESTS / "check"), str(_TESTS)]


def build(folder: Path, name: str, cells, edit=None) -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, kernel_name="python3", timeout=120, startup_timeout=300, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    if edit:
        edit(nb)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def stale(cell, text):
    def edit(nb):
        nb.cells[cell].outputs[0]["text"] = text
    return edit


def cases():
    from test_truth import (
        DATED_CELLS, OLD_LIBRARY_CELLS, PLOT, VERSION_CELLS, _as_saved_by_old_libraries,
        _saved_with_older_versions,
    )

    def deleted_defs(nb):
        del nb.cells[2]
        del nb.cells[0]

    def python2(nb):
        nb.metadata["kernelspec"] = {"name": "python2", "display_name": "Python 2", "language": "python"}

    def to_1970(nb):
        nb.cells[0].source = nb.cells[0].source.replace("2013", "1970")

    def old_pandas(nb):
        nb.cells[1].source = nb.cells[1].source.replace("'ME'", "'M'")
        nb.cells[1].outputs = [new_output("execute_result", execution_count=2, data={
            "text/plain": "DatetimeIndex(['2013-01-31', '2013-02-28'], dtype='datetime64[ns]', freq='M')"})]
        nb.cells[0].execution_count, nb.cells[1].execution_count = 2, 1

    def dpi(nb):
        nb.cells[0].source = PLOT.format(dpi="", fn="sin")

    # (name, cells, edit, runs, expected verdict, expected headline cause or None for "unknown")
    return [
        ("deleted-cells", ["prices = [1, 2]", "print(sum(prices))", "rate = 2", "print(rate)", "print(9)"],
         deleted_defs, 1, "not-repeatable", "hidden-state"),
        ("teaching-error", ["raise ValueError('negative age')", "print('next')"], None, 1,
         "repeatable-with-warnings", None),
        ("python2-kernel", ["import random", "print(random.random() < 2)"], python2, 1,
         "not-repeatable", "kernel-missing"),
        ("dates-1970", DATED_CELLS, to_1970, 1, "not-repeatable", None),
        ("dates-untouched", DATED_CELLS, None, 1, "repeatable-with-warnings", None),
        ("old-libraries", OLD_LIBRARY_CELLS, _as_saved_by_old_libraries, 1, "repeatable-with-warnings", None),
        ("old-libraries-value", OLD_LIBRARY_CELLS, lambda nb: _as_saved_by_old_libraries(nb, True), 2,
         "not-repeatable", None),
        ("pandas-M-alias", ["import pandas as pd", "pd.date_range('2013-01-01', periods=2, freq='ME')"],
         old_pandas, 1, "not-repeatable", "library-drift"),
        ("random-flows", ["import random", "r = random.random()", "print(2 + 2)", "print(r)"],
         stale(2, "5\n"), 1, "not-repeatable", None),
        ("random-agrees", ["import random", "v = [random.random()]", "print(len(v) + 7)"],
         stale(2, "11\n"), 2, "not-repeatable", None),
        ("random-real", ["import random", "print(random.random())"], None, 2, "not-repeatable",
         "unseeded-random"),
        ("timing", ["import time\nt = time.perf_counter()\nsum(range(10**5))\nprint(time.perf_counter() - t)",
                    "%timeit -n 2 -r 3 sum(range(1000))"], None, 2, "not-repeatable", "timing"),
        ("printed-versions", VERSION_CELLS, _saved_with_older_versions(value_change=True), 2,
         "not-repeatable", "library-drift"),
        ("plot-dpi", [PLOT.format(dpi="plt.rcParams['figure.dpi'] = 50\n", fn="sin")], dpi, 1,
         "repeatable-with-warnings", None),
    ]


def headline_cause(report):
    errors = [f for f in report["findings"] if f.get("severity") == "error"]
    if not errors:
        return None, None
    errors.sort(key=lambda f: -1 if f.get("cell") is None else f["cell"])
    f = errors[0]
    if f["kind"] == "kernel-missing":
        return f, "kernel-missing"
    return f, (f.get("causes") or [{}])[0].get("kind")


def main(folder: Path) -> None:
    from jupyter_deploy import api
    from jupyter_deploy.config import DeployConfig

    conf = DeployConfig(startup_timeout=300)  # the machine may be busy: time the checks, not the waits
    rows = []
    for name, cells, edit, runs, want_verdict, want_cause in cases():
        path = build(folder, name, cells, edit)
        t0 = time.monotonic()
        try:
            report = api.check(path, runs=runs, use_cache=False, config=conf)
        except Exception as exc:  # noqa: BLE001 - an older version without a verdict for it
            rows.append((name, runs, want_verdict, f"no verdict: {type(exc).__name__}", "-", "-",
                         time.monotonic() - t0))
            continue
        took = time.monotonic() - t0
        f, cause = headline_cause(report)
        if f is None:
            judged = "-"
        elif cause == want_cause:
            judged = "right" if cause else "unknown"
        elif cause is None:
            judged = "unknown"
        else:
            judged = "wrong"
        rows.append((name, runs, want_verdict, report["verdict"], cause or ("-" if f is None else "unknown"), judged, took))
    print("| notebook | runs | expected | verdict | headline cause | cause | s |")
    print("|---|---|---|---|---|---|---|")
    for name, runs, want, got, cause, judged, took in rows:
        mark = "" if want == got else " (!)"
        print(f"| {name} | {runs} | {want} | {got}{mark} | {cause} | {judged} | {took:.1f} |")
    times = sorted(r[-1] for r in rows)
    print(f"\nmedian {times[len(times) // 2]:.1f} s, max {times[-1]:.1f} s a check; "
          f"verdicts as expected: {sum(r[2] == r[3] for r in rows)}/{len(rows)}; causes: "
          + ", ".join(f"{k} {sum(r[5] == k for r in rows)}" for k in ("right", "unknown", "wrong")))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="truth-set-")))
