"""Model target vs MLflow (log_model + load_model) and vetiver + pins, side by side.

    .venv/bin/python benchmarks/bench_model.py [--runs 5] [--no-isolated]

The peers live in their own virtual environment, ``.bench/model-venv`` (made by this script with
uv, with the same scikit-learn / pandas / numpy versions as ours), so one script runs both sides
on the same fitted pipeline and the same sample. Measured, median of ``--runs``:

- save: ours = write the artefact + publish a version in a folder registry + the fresh
  ``python -I`` verification (hashes, reload, predictions on the sample); MLflow =
  ``mlflow.sklearn.log_model`` with a signature and an input example (its requirement inference
  and input-example check included); vetiver = ``VetiverModel`` + ``vetiver_pin_write``;
- load: warm (imports done) ``jupyter_deploy.load`` vs ``mlflow.sklearn.load_model`` vs
  ``VetiverModel.from_pin``, and cold (a new process: imports + load);
- artefact size, and lines of the requirements each writes, next to ``pip freeze``'s.

Writes ``benchmarks/results/model.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".bench" / "model-venv"
RESULTS = ROOT / "benchmarks" / "results" / "model.md"


def uv() -> str:
    here = Path(sys.executable).with_name("uv")
    return str(here) if here.exists() else (shutil.which("uv") or "")


def ensure_peer_venv() -> Path:
    py = VENV / "bin" / "python"
    import numpy
    import pandas
    import sklearn

    pins = [f"scikit-learn=={sklearn.__version__}", f"pandas=={pandas.__version__}",
            f"numpy=={numpy.__version__}"]
    if py.exists():
        ok = subprocess.run([str(py), "-c", "import mlflow, sklearn; print(sklearn.__version__)"],
                            capture_output=True, text=True)
        if ok.returncode == 0 and ok.stdout.strip() == sklearn.__version__:
            return py
    VENV.parent.mkdir(parents=True, exist_ok=True)
    tool = uv()
    print(f"creating {VENV} (mlflow 3.x, vetiver, pins) ...", file=sys.stderr)
    if tool:
        subprocess.run([tool, "venv", "-q", "--python", sys.executable, str(VENV)], check=True)
        install = [tool, "pip", "install", "-q", "--python", str(py)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        install = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run(install + ["mlflow>=3,<4"] + pins, check=True)
    # vetiver + pins are optional: the table says so when they do not install
    subprocess.run(install + ["vetiver", "pins"] + pins, check=False)
    return py


def make_model():
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(0)
    n = 5000
    df = pd.DataFrame({
        "age": rng.normal(45, 12, n),
        "tenure": rng.integers(0, 72, n),
        "monthly": rng.gamma(2.0, 30.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "region": rng.choice(["north", "south", "east", "west"], n),
    })
    df.loc[rng.choice(n, 50), "age"] = np.nan
    y = ((df["tenure"] < 12) ^ (df["plan"] == "basic") | (df["monthly"] > 120)).astype(int)
    pre = ColumnTransformer([
        ("num", Pipeline([("imp", SimpleImputer()), ("sc", StandardScaler())]),
         ["age", "tenure", "monthly"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"]),
    ])
    model = Pipeline([("pre", pre), ("clf", HistGradientBoostingClassifier(max_iter=50))])
    model.fit(df, y)
    return model, df.iloc[:100].copy()


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def req_lines(path: Path) -> int:
    if not Path(path).exists():
        return 0
    return sum(1 for ln in Path(path).read_text().splitlines()
               if ln.strip() and not ln.strip().startswith("#"))


# ------------------------------------------------------------------------------ ours


def bench_ours(model, sample, runs: int, work: Path, isolated: bool) -> dict:
    import jupyter_deploy
    from jupyter_deploy.model.artefact import write_artefact
    from jupyter_deploy.model.registry import open_registry
    from jupyter_deploy.model.verify import verify_fresh, verify_isolated

    saves, verifies, loads, colds = [], [], [], []
    last = None
    for i in range(runs):
        reg_dir = work / f"ours-{i}"
        art = work / f"ours-art-{i}"
        art.mkdir(parents=True)
        t0 = time.perf_counter()
        write_artefact(model, art, name="churn", sample=sample)
        res = open_registry(reg_dir).publish(art, name="churn")
        t1 = time.perf_counter()
        proof = verify_fresh(reg_dir / "churn" / f"v{res['version']}")
        t2 = time.perf_counter()
        assert proof["ok"], proof
        saves.append(t2 - t0)
        verifies.append(t2 - t1)
        t0 = time.perf_counter()
        loaded = jupyter_deploy.load("churn", registry=str(reg_dir))
        loads.append(time.perf_counter() - t0)
        assert loaded.predict(sample).tolist() == model.predict(sample).tolist()
        code = (f"import jupyter_deploy; m = jupyter_deploy.load('churn', registry={str(reg_dir)!r});"
                " print(type(m).__name__)")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        colds.append(time.perf_counter() - t0)
        last = reg_dir / "churn" / "v1"
    out = {
        "save": statistics.median(saves),
        "verify_part": statistics.median(verifies),
        "load": statistics.median(loads),
        "cold_load": statistics.median(colds),
        "size": dir_size(last),
        "requirements": req_lines(last / "requirements.txt"),
        "isolated": None,
    }
    if isolated:
        t0 = time.perf_counter()
        res = verify_isolated(last)
        out["isolated"] = {"ok": res.get("ok"), "detail": res.get("detail"),
                           "seconds": round(time.perf_counter() - t0, 1)}
    return out


# ------------------------------------------------------------------------------ peers

PEER = r'''
import json, os, pickle, statistics, subprocess, sys, tempfile, time, warnings
from pathlib import Path
warnings.filterwarnings("ignore")
work, runs = Path(sys.argv[1]), int(sys.argv[2])
model = pickle.loads((work / "model.pickle").read_bytes())
sample = pickle.loads((work / "sample.pickle").read_bytes())

def size(p):
    return sum(f.stat().st_size for f in Path(p).rglob("*") if f.is_file())

def reqs(p):
    p = Path(p)
    if not p.exists():
        return 0
    return sum(1 for l in p.read_text().splitlines() if l.strip() and not l.startswith("#"))

out = {}
import mlflow, mlflow.sklearn
from mlflow.models import infer_signature
import logging; logging.getLogger("mlflow").setLevel(logging.ERROR)
saves, loads, colds = [], [], []
for i in range(runs):
    store = work / f"mlflow-{i}"
    mlflow.set_tracking_uri("sqlite:///" + str(store) + ".db")
    exp = mlflow.create_experiment(f"bench{i}", artifact_location=(store / "artifacts").as_uri())
    t0 = time.perf_counter()
    with mlflow.start_run(experiment_id=exp):
        sig = infer_signature(sample, model.predict(sample))
        # cloudpickle, like ours (MLflow 3's default, skops, refuses this pipeline's types)
        info = mlflow.sklearn.log_model(model, name="model", signature=sig, input_example=sample,
                                        serialization_format="cloudpickle")
    saves.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    loaded = mlflow.sklearn.load_model(info.model_uri)
    loads.append(time.perf_counter() - t0)
    assert loaded.predict(sample).tolist() == model.predict(sample).tolist()
    code = ("import mlflow, mlflow.sklearn, logging; logging.getLogger('mlflow').setLevel(logging.ERROR);"
            f"mlflow.set_tracking_uri({('sqlite:///' + str(store) + '.db')!r});"
            f"m = mlflow.sklearn.load_model({info.model_uri!r}); print(type(m).__name__)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    colds.append(time.perf_counter() - t0)
    local = mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri,
                                                dst_path=str(work / f"mlflow-dl-{i}"))
out["mlflow"] = {"version": mlflow.__version__, "save": statistics.median(saves),
                 "load": statistics.median(loads), "cold_load": statistics.median(colds),
                 "size": size(local), "requirements": reqs(Path(local) / "requirements.txt")}
try:
    import pins, vetiver
    saves, loads, colds = [], [], []
    for i in range(runs):
        bdir = work / f"pins-{i}"
        t0 = time.perf_counter()
        board = pins.board_folder(str(bdir), versioned=True, allow_pickle_read=True)
        v = vetiver.VetiverModel(model, model_name="churn", prototype_data=sample)
        vetiver.vetiver_pin_write(board, v)
        saves.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v2 = vetiver.VetiverModel.from_pin(board, "churn")
        loads.append(time.perf_counter() - t0)
        assert v2.model.predict(sample).tolist() == model.predict(sample).tolist()
        code = ("import pins, vetiver;"
                f"b = pins.board_folder({str(bdir)!r}, allow_pickle_read=True);"
                "v = vetiver.VetiverModel.from_pin(b, 'churn'); print(type(v.model).__name__)")
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        colds.append(time.perf_counter() - t0)
    out["vetiver"] = {"version": f"vetiver {vetiver.__version__} + pins {pins.__version__}",
                      "save": statistics.median(saves), "load": statistics.median(loads),
                      "cold_load": statistics.median(colds), "size": size(bdir / "churn"),
                      "requirements": 0}
except ImportError as exc:
    out["vetiver"] = {"error": f"not installed: {exc}"}
print("RESULT " + json.dumps(out))
'''


def bench_peers(py: Path, model, sample, runs: int, work: Path) -> dict:
    import pickle

    (work / "model.pickle").write_bytes(pickle.dumps(model))
    (work / "sample.pickle").write_bytes(pickle.dumps(sample))
    script = work / "peer.py"
    script.write_text(PEER)
    env = dict(os.environ, MLFLOW_ENABLE_TELEMETRY="false", DO_NOT_TRACK="1",
               MLFLOW_DISABLE_TELEMETRY="true")
    proc = subprocess.run([str(py), str(script), str(work), str(runs)], capture_output=True,
                          text=True, env=env, cwd=work)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"peer benchmark failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def freeze_lines() -> int:
    tool = uv()
    if tool:
        out = subprocess.run([tool, "pip", "freeze", "--python", sys.executable],
                             capture_output=True, text=True).stdout
    else:
        out = subprocess.run([sys.executable, "-m", "pip", "freeze"], capture_output=True,
                             text=True).stdout
    return sum(1 for ln in out.splitlines() if ln.strip() and not ln.startswith("#"))


def fmt_s(x):
    return f"{x:.2f} s" if x is not None else "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-isolated", action="store_true",
                    help="skip the isolated-venv sufficiency check of our requirements")
    args = ap.parse_args(argv)
    py = ensure_peer_venv()
    model, sample = make_model()
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        work = Path(tmp)
        (work / "peers").mkdir()
        print("jupyter-deploy ...", file=sys.stderr)
        ours = bench_ours(model, sample, args.runs, work / "ours", not args.no_isolated)
        print("MLflow / vetiver ...", file=sys.stderr)
        peers = bench_peers(py, model, sample, args.runs, work / "peers")
    freeze = freeze_lines()
    ml = peers["mlflow"]
    vt = peers.get("vetiver", {})
    has_vt = "save" in vt

    def ratio(a, b):
        return f"{a / b:.2f}x" if b else "-"

    rows = [
        ("save (ours: incl. fresh-process verification)", fmt_s(ours["save"]), fmt_s(ml["save"]),
         ratio(ours["save"], ml["save"]), fmt_s(vt.get("save")) if has_vt else "-"),
        ("  of which fresh `python -I` verification", fmt_s(ours["verify_part"]), "-", "-", "-"),
        ("load, warm (in-process)", fmt_s(ours["load"]), fmt_s(ml["load"]),
         ratio(ours["load"], ml["load"]), fmt_s(vt.get("load")) if has_vt else "-"),
        ("load, cold (new process: imports + load)", fmt_s(ours["cold_load"]),
         fmt_s(ml["cold_load"]), ratio(ours["cold_load"], ml["cold_load"]),
         fmt_s(vt.get("cold_load")) if has_vt else "-"),
        ("artefact size", f"{ours['size'] / 1024:.0f} KiB", f"{ml['size'] / 1024:.0f} KiB",
         ratio(ours["size"], ml["size"]),
         f"{vt['size'] / 1024:.0f} KiB" if has_vt else "-"),
        ("requirements lines", str(ours["requirements"]), str(ml["requirements"]),
         ratio(ours["requirements"], ml["requirements"]),
         "none written" if has_vt else "-"),
        ("`pip freeze` of the notebook env", str(freeze), str(freeze), "-", "-"),
    ]
    lines = [
        "# Model target vs MLflow and vetiver + pins",
        "",
        f"Same fitted scikit-learn pipeline (ColumnTransformer + HistGradientBoostingClassifier, "
        f"5000 training rows) and the same 100-row sample; median of {args.runs} runs; "
        f"MLflow {ml['version']} (cloudpickle format, signature + input example)" + (f", {vt['version']}" if has_vt else
                                      f"; vetiver: {vt.get('error', 'n/a')}") + ".",
        f"Command: `.venv/bin/python benchmarks/bench_model.py --runs {args.runs}`",
        "",
        "| measure | jupyter-deploy | MLflow | ours / MLflow | vetiver + pins |",
        "|---|---|---|---|---|",
    ] + [f"| {' | '.join(r)} |" for r in rows]
    lines.append("")
    goal_save = ours["save"] <= ml["save"]
    goal_load = ours["load"] <= ml["load"] * 1.05
    goal_req = ours["requirements"] <= freeze / 3
    iso = ours.get("isolated")
    lines += [
        "Goals:",
        f"- save + verify no slower than MLflow's save: {'met' if goal_save else 'NOT met'} "
        f"({ours['save']:.2f} s vs {ml['save']:.2f} s)",
        f"- load no slower than MLflow's: {'met' if goal_load else 'NOT met'} "
        f"({ours['load'] * 1000:.0f} ms vs {ml['load'] * 1000:.0f} ms)",
        f"- requirements at most a third of pip freeze: {'met' if goal_req else 'NOT met'} "
        f"({ours['requirements']} vs {freeze} / 3 = {freeze / 3:.0f})",
    ]
    if iso is not None:
        lines.append(
            f"- requirements sufficient (isolated venv from requirements.txt only loads and "
            f"agrees): {'met' if iso['ok'] else 'NOT met'} ({iso['detail']}; {iso['seconds']} s "
            "incl. venv build)")
    lines += ["", f"Machine: {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f} at the end (shared machine: absolute times are noisy, "
              "ratios less so).", ""]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
