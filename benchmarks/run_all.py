"""Run every benchmark (each side by side with its peer) and put the figures in the README.

    make bench                       # all of them (about an hour on 2 cores)
    .venv/bin/python benchmarks/run_all.py --only check,sql
    .venv/bin/python benchmarks/run_all.py --collect   # README from benchmarks/results/ only

Each ``bench_<area>.py`` writes ``benchmarks/results/<area>.md``; this script copies those
tables into README.md between the ``performance-table`` markers.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AREAS = {
    "check": ("Repeatability check vs nbconvert and nbval", []),
    "many": ("Repository check vs nbmake + pytest-xdist", []),
    "model": ("Model artefact vs MLflow (and vetiver + pins)", ["--runs", "5"]),
    "sql": ("SQL vs orbital and scikit-learn", []),
    "spark": ("Scoring on Spark: SQL vs spark_udf vs MLflow's spark_udf", ["--rows", "10000000"]),
    "report": ("Report vs nbconvert and papermill", ["--runs", "3"]),
    "container": ("Served model vs vetiver", []),
}
MARK = "<!-- performance-table -->"


def collect() -> str:
    parts = []
    for area, (title, _) in AREAS.items():
        result = HERE / "results" / f"{area}.md"
        if not result.exists():
            parts.append(f"### {title}\n\nNot measured yet: `.venv/bin/python benchmarks/bench_{area}.py`.\n")
            continue
        body = result.read_text().strip()
        body = re.sub(r"^# .*\n+", "", body)  # the README gives its own heading
        parts.append(f"### {title}\n\n{body}\n")
    return "\n".join(parts)


def write_readme(text: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text()
    start = content.index(MARK)
    end = content.index(MARK, start + len(MARK)) if content.count(MARK) > 1 else start + len(MARK)
    content = content[:start] + MARK + "\n\n" + text + "\n" + MARK + content[end + len(MARK):]
    readme.write_text(content)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated areas")
    ap.add_argument("--collect", action="store_true", help="only copy results into the README")
    args = ap.parse_args()
    failed = []
    if not args.collect:
        areas = [a for a in AREAS if not args.only or a in args.only.split(",")]
        for area in areas:
            print(f"==> bench_{area}", flush=True)
            code = subprocess.call([sys.executable, str(HERE / f"bench_{area}.py"), *AREAS[area][1]])
            if code:
                failed.append(area)
    write_readme(collect())
    print("README.md performance section updated" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
