"""The main job: every target, end to end, on the demo notebooks, on embedded defaults.

    make demo            (or: .venv/bin/python scripts/demo.py)

Checks the three notebooks in binder/, then publishes the report to a knowledge-repo folder,
the model to a local registry, the SQL to an embedded DuckDB database (a view over a table of
customers), and the container to a build context whose API is started and compared with the
notebook's model (and, when podman or docker works here, built and run as an image). Then it
prints what went where, what was proven, and how long each step took. Everything it writes
goes under .demo/ (JUPYTER_DEPLOY_HOME included), so it never touches your own history.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = Path(os.environ.get("JUPYTER_DEPLOY_DEMO_DIR", ROOT / ".demo")).resolve()
BINDER = ROOT / "binder"

os.environ.setdefault("JUPYTER_DEPLOY_HOME", str(DEMO / "home"))

from jupyter_deploy import api  # noqa: E402
from jupyter_deploy.errors import DeployError  # noqa: E402

rows: list[tuple[str, str, str, str, str]] = []
failures = 0


def progress(event):
    if event.total and event.done < event.total and event.stage in ("run",) and event.done % 5:
        return
    sys.stderr.write(f"    {event.stage}: {event.message}\n")


def step(label: str, fn):
    global failures
    print(f"\n==> {label}", flush=True)
    t0 = time.monotonic()
    try:
        where, proven, status = fn()
    except DeployError as exc:
        where, proven, status = "-", exc.one_line()[:110], "FAILED"
        failures += 1
    except Exception as exc:  # a bug: show it, and still print the summary of the other steps
        import traceback

        traceback.print_exc()
        where, proven, status = "-", f"{type(exc).__name__}: {exc}"[:110], "FAILED"
        failures += 1
    took = f"{time.monotonic() - t0:6.1f} s"
    print(f"    {status}: {where}  {proven}")
    rows.append((label, status, where, proven, took))


def proofs_text(result) -> str:
    return "; ".join(("✔ " if p["ok"] else "✘ ") + p["name"] for p in result["proofs"]) or "-"


def check(name, expect):
    def run():
        report = api.check(BINDER / name, progress=progress, record=True)
        status = "ok" if report["verdict"] in expect else "UNEXPECTED"
        if status != "ok":
            global failures
            failures += 1
        kinds = sorted({f["kind"] for f in report["findings"]})
        return report["verdict"], ", ".join(kinds) or "no findings", status
    return run


def deploy(target, notebook, options, to=None):
    def run():
        result = api.deploy(target, BINDER / notebook, options=options, to=to, progress=progress)
        return result["destination"], proofs_text(result), "ok"
    return run


def engine_and_base_image():
    """The container engine that works here, and the locally built base image when it exists
    (no registry is reachable on machines of this kind, so python:X.Y-slim cannot be pulled)."""
    from jupyter_deploy.container.baseimage import DEFAULT_TAG
    from jupyter_deploy.container.engine import available

    engine = available()
    if engine is None:
        return None, None
    return engine.name, (DEFAULT_TAG if engine.image_exists(DEFAULT_TAG) else None)


def main() -> int:
    if DEMO.exists():
        shutil.rmtree(DEMO)
    DEMO.mkdir()

    step("check model-demo", check("model-demo.ipynb", {"repeatable"}))
    step("check report-demo", check("report-demo.ipynb", {"repeatable", "repeatable-with-warnings"}))
    step("check defects-demo", check("defects-demo.ipynb", {"not-repeatable"}))

    step("report -> knowledge repo", deploy(
        "report", "report-demo.ipynb",
        {"title": "Monthly sales (north)", "no_input": True, "param": {"region": "north"}},
        to=str(DEMO / "knowledge-repo"),
    ))
    step("model -> local registry", deploy(
        "model", "model-demo.ipynb",
        {"var": "clf", "name": "churn", "sample": "X_sample", "alias": "production",
         "metric": {"accuracy": "0.74"}},
        to=str(DEMO / "registry"),
    ))

    # A warehouse table to score in place: the customers the notebook's clean run made.
    def sql_to_duckdb():
        import duckdb

        from jupyter_deploy.check.objects import ObjectStore

        report = api.check(BINDER / "model-demo.ipynb")
        customers = ObjectStore.open(report["objects_dir"]).load("customers")
        con = duckdb.connect(str(DEMO / "warehouse.duckdb"))
        con.register("frame", customers)
        con.execute("CREATE OR REPLACE TABLE customers AS SELECT * FROM frame")
        con.close()
        result = api.deploy(
            "sql", BINDER / "model-demo.ipynb",
            options={"var": "clf", "table": "customers", "sample": "X_sample", "dialect": "duckdb",
                     "view": "customer_churn_scores"},
            to=f"duckdb:///{DEMO / 'warehouse.duckdb'}", progress=progress,
        )
        return result["destination"], proofs_text(result), "ok"

    step("sql -> DuckDB view", sql_to_duckdb)

    engine, base = engine_and_base_image()
    options = {"var": "clf", "name": "churn", "sample": "X_sample", "out": str(DEMO / "container" / "churn")}
    if engine and base:
        options.update({"build_image": True, "engine": engine, "base_image": base})
        label = f"container -> context + API + {engine} image"
    elif engine:
        # python:X.Y-slim cannot be pulled here; scripts/setup makes the base image when it can
        label = "container -> context + API (no base image: run scripts/base-image)"
    else:
        label = "container -> context + API (no container engine here)"
    step(label, deploy("container", "model-demo.ipynb", options))

    print("\n" + "=" * 100)
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'status':<10} {'time':>8}  where it went / what was proven")
    for label, status, where, proven, took in rows:
        print(f"{label:<{width}}  {status:<10} {took:>8}  {where}")
        print(f"{'':<{width}}  {'':<10} {'':>8}  {proven}")
    print("=" * 100)
    print(f"Everything is under {DEMO}. History: JUPYTER_DEPLOY_HOME={DEMO / 'home'} "
          ".venv/bin/jupyter deploy history")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
