"""Our generated container API vs vetiver's VetiverAPI, same fitted pipeline, same load generator.

    .venv/bin/python benchmarks/bench_container.py [--requests 400] [--batches 80] [--repeats 3]
                                                   [--images]

Both servers run on 127.0.0.1 with the same FastAPI and uvicorn versions and the same
scikit-learn/pandas/numpy pins; they are measured in small alternating blocks (an idle server
uses no CPU), so that on a shared machine both see the same load. One load generator (this process, one keep-alive
connection, requests one after another) measures:

  * single-row latency, p50 and p99 (``--requests`` per round),
  * rows per second for 100-row batches (``--batches`` per round).

Our API also validates every value against the schema and returns class probabilities; vetiver
validates with pydantic and returns predictions only. Ours is measured twice: as generated
(its requirements.txt pins httptools, uvicorn's C HTTP parser) and from a venv without
httptools (uvicorn's pure-Python h11, which is what vetiver's own install gets), so that the
figures say how much of the difference is the parser.

With ``--images`` (and podman or docker), both images are built on the same Debian-made base
image and their sizes compared: vetiver's generated Dockerfile (prepare_docker, with its
pip-compiled vetiver_requirements.txt) gets that base and a venv in place of ``FROM
python:3.11``, which cannot be pulled here; everything else in it is vetiver's.

Vetiver is installed into its own venv (.bench/container-venv), created here; ours runs from a
fresh venv made from the generated requirements.txt, as the proof does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".bench" / "container-venv"
RESULTS = ROOT / "benchmarks" / "results" / "container.md"
sys.path.insert(0, str(ROOT))

VETIVER_RUNNER = r'''
import sys, cloudpickle, pandas as pd
from vetiver import VetiverModel, VetiverAPI
model = cloudpickle.load(open(sys.argv[1], "rb"))
proto = pd.read_json(sys.argv[2], orient="split")
v = VetiverModel(model, model_name="churn", prototype_data=proto)
api = VetiverAPI(v, check_prototype=True)
api.run(port=int(sys.argv[3]), host="127.0.0.1", log_level="warning", access_log=False)
'''


def make_pipeline(rows=2000, seed=0):
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline as mp
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "age": rng.integers(18, 80, rows).astype("int64"),
        "income": rng.normal(50.0, 12.0, rows),
        "plan": rng.choice(["basic", "plus", "pro"], rows),
    })
    y = ((X["age"] > 45) ^ (X["plan"] == "pro")).astype(int)
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
        ("num", mp(SimpleImputer(), StandardScaler()), ["age", "income"]),
    ])
    return mp(pre, LogisticRegression()).fit(X, y), X


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def ensure_vetiver_venv(pins: list[str]) -> Path:
    from jupyter_deploy.container.proof import find_uv

    py = BENCH_VENV / "bin" / "python"
    uv = find_uv()
    if not py.exists():
        if uv:
            sh([uv, "venv", "-q", "--python", sys.executable, str(BENCH_VENV)])
        else:
            sh([sys.executable, "-m", "venv", str(BENCH_VENV)])
    probe = subprocess.run([str(py), "-c", "import vetiver"], capture_output=True)
    if probe.returncode != 0:
        pkgs = ["vetiver", *pins]
        if uv:
            sh([uv, "pip", "install", "-q", "--python", str(py), *pkgs], timeout=1800)
        else:
            sh([str(py), "-m", "pip", "install", "-q", *pkgs], timeout=1800)
    return py


def wait(port, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server on {port} did not start")


def load(port, payloads, path="/predict"):
    """Send payloads one after another on one keep-alive connection; return seconds each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    headers = {"content-type": "application/json"}
    last = None
    for body in payloads:
        start = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        times.append(time.perf_counter() - start)
        if resp.status != 200:
            raise RuntimeError(f"{path} answered {resp.status}: {data[:300]!r}")
        last = data
    conn.close()
    return times, json.loads(last)


def measure(port, single, batch, n_single, n_batch):
    load(port, [single] * 30)  # warm-up
    lat, _ = load(port, [single] * n_single)
    bt, answer = load(port, [batch] * n_batch)
    lat_ms = sorted(t * 1000 for t in lat)
    p50 = statistics.median(lat_ms)
    p99 = lat_ms[min(len(lat_ms) - 1, int(round(0.99 * (len(lat_ms) - 1))))]
    rows_s = 100 * n_batch / sum(bt)
    return {"p50": p50, "p99": p99, "rows_s": rows_s}, answer


def start(cmd, env=None, cwd=None):
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def image_sizes(ctx: Path, vet_dir: Path) -> dict:
    from jupyter_deploy.container.baseimage import DEFAULT_TAG, build_base_image
    from jupyter_deploy.container.engine import available

    engine = available("auto")
    if engine is None:
        return {"note": "no container engine: image sizes not measured"}
    base = build_base_image(DEFAULT_TAG, engine=engine, log=lambda m: None)["tag"]
    out = {"engine": engine.name, "base": base, "base_size": engine.image_info(base)["size"]}
    info = engine.build(ctx, "localhost/bench-ours:1", build_args={"BASE_IMAGE": base})
    out["ours"] = info["size"]
    out["ours_build_s"] = info["seconds"]
    # pip-compile copies this machine's pip.conf options (local file indexes, find-links) into
    # the file; they point at nothing inside a build, so they go. The pins stay as written.
    req = vet_dir / "vetiver_requirements.txt"
    req.write_text("".join(line for line in req.read_text().splitlines(keepends=True)
                           if not line.startswith(("--extra-index-url file:", "--find-links",
                                                   "--index-url file:"))))
    docker = (vet_dir / "Dockerfile").read_text()
    # python:3.11 cannot be pulled here: same Debian base as ours, plus a venv (Debian's pip is
    # externally managed). Everything else is vetiver's generated Dockerfile.
    docker = docker.replace(
        f"FROM python:{sys.version_info.major}.{sys.version_info.minor}",
        f"FROM {base}\nRUN python3 -m venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH")
    (vet_dir / "Dockerfile").write_text(docker)
    info = engine.build(vet_dir, "localhost/bench-vetiver:1")
    out["vetiver"] = info["size"]
    out["vetiver_build_s"] = info["seconds"]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--batches", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", action="store_true", help="also build and compare images")
    args = parser.parse_args(argv)

    import cloudpickle

    from jupyter_deploy.container.context import ContextOptions, write_context
    from jupyter_deploy.container.engine import free_port
    from jupyter_deploy.container.proof import make_venv
    from jupyter_deploy.model.artefact import write_artefact

    model, X = make_pipeline()
    tmp = Path(tempfile.mkdtemp(prefix="bench-container-"))
    art = tmp / "art"
    art.mkdir()
    meta = write_artefact(model, art, name="churn", sample=X.head(20))
    ctx = tmp / "ctx"
    write_context(ctx, art, ContextOptions(name="churn"))
    pins = [r for r in meta["requirements"]]
    print("venvs: ours (fresh, from requirements.txt) and vetiver's ...", file=sys.stderr)
    ours_py, _ = make_venv(ctx / "requirements.txt", tmp / "ours-venv")
    reqs = (ctx / "requirements.txt").read_text()
    with_httptools = any(line.startswith("httptools==") for line in reqs.splitlines())
    if with_httptools:
        (tmp / "requirements-h11.txt").write_text("".join(
            line for line in reqs.splitlines(keepends=True)
            if not line.startswith("httptools==")))
        h11_py, _ = make_venv(tmp / "requirements-h11.txt", tmp / "ours-h11-venv")
    vet_py = ensure_vetiver_venv(pins)
    (tmp / "model.pkl").write_bytes(cloudpickle.dumps(model))
    X.head(1).astype({"plan": object}).to_json(tmp / "proto.json", orient="split", index=False)
    (tmp / "vetiver_runner.py").write_text(VETIVER_RUNNER)
    versions = sh([str(vet_py), "-c", "import vetiver, fastapi, uvicorn, sklearn; print("
                   "vetiver.__version__, fastapi.__version__, uvicorn.__version__, "
                   "sklearn.__version__)"]).stdout.split()

    recs = json.loads(X.head(100).to_json(orient="records"))
    single = json.dumps(recs[:1]).encode()
    batch = json.dumps(recs).encode()
    expected = model.predict(X.head(100)).tolist()
    # The probabilities of exactly what the request carries (to_json keeps 10 digits).
    import pandas as pd

    sent = pd.DataFrame(recs, columns=list(X.columns)).astype(X.dtypes.to_dict())
    expected_proba = model.predict_proba(sent).tolist()

    # Both servers up at once (an idle server uses no CPU), measured in small alternating
    # blocks, so that both see the same load on a shared machine.
    procs = {}
    who_all = ["ours", "vetiver"] + (["ours-h11"] if with_httptools else [])
    ports = {who: free_port() for who in who_all}
    for who, py in (("ours", ours_py), ("ours-h11", h11_py if with_httptools else None)):
        if py is None:
            continue
        env = dict(os.environ, HOST="127.0.0.1", PORT=str(ports[who]), ACCESS_LOG="0",
                   LOG_LEVEL="warning", MODEL_DIR=str(ctx / "model"))
        procs[who] = start([str(py), str(ctx / "app.py")], env=env, cwd=str(ctx))
    procs["vetiver"] = start([str(vet_py), str(tmp / "vetiver_runner.py"), str(tmp / "model.pkl"),
                              str(tmp / "proto.json"), str(ports["vetiver"])], cwd=str(tmp))
    lat = {who: [] for who in procs}
    batch_time = {who: 0.0 for who in procs}
    batches = {who: 0 for who in procs}
    block_s, block_b = 25, 5
    load_start = os.getloadavg()[0]
    fast_path = "?"
    try:
        for who in procs:
            wait(ports[who])
            load(ports[who], [single] * 30)  # warm-up
            _t, answer = load(ports[who], [batch] * 3)
            got = answer.get("predict") if who == "vetiver" else answer.get("predictions")
            if got != expected:
                raise SystemExit(f"{who} disagrees with the model on the batch: {got[:5]}...")
            if who == "ours":
                if answer.get("probabilities") != expected_proba:
                    raise SystemExit("ours: probabilities differ from the model's")
                conn = http.client.HTTPConnection("127.0.0.1", ports[who], timeout=30)
                conn.request("GET", "/metadata")
                fast_path = json.loads(conn.getresponse().read()).get("fast_path", "?")
                conn.close()
        names = list(procs)
        for r in range(args.repeats):
            for k in range(max(1, args.requests // block_s)):
                order = names[k % len(names):] + names[:k % len(names)]
                for who in order:
                    t, _ = load(ports[who], [single] * block_s)
                    lat[who] += t
            for k in range(max(1, args.batches // block_b)):
                order = names[k % len(names):] + names[:k % len(names)]
                for who in order:
                    t, _ = load(ports[who], [batch] * block_b)
                    batch_time[who] += sum(t)
                    batches[who] += block_b
            print(f"round {r + 1} done", file=sys.stderr)
    finally:
        for proc in procs.values():
            stop(proc)

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] * 1000

    med = {who: {"p50": pct(lat[who], 0.5), "p99": pct(lat[who], 0.99),
                 "rows_s": 100 * batches[who] / batch_time[who]} for who in procs}
    sizes = {}
    if args.images:
        vet_dir = tmp / "vetiver-docker"
        vet_dir.mkdir()
        code = (
            "import sys, cloudpickle, pandas as pd, pins, vetiver\n"
            "m = cloudpickle.load(open(sys.argv[1], 'rb'))\n"
            "proto = pd.read_json(sys.argv[2], orient='split')\n"
            "board = pins.board_folder(sys.argv[3], allow_pickle_read=True)\n"
            "v = vetiver.VetiverModel(m, 'churn', prototype_data=proto)\n"
            "vetiver.vetiver_pin_write(board, v)\n"
            "vetiver.prepare_docker(board, 'churn', path=sys.argv[4])\n")
        # prepare_docker -> load_pkgs runs `pip-compile` through the shell: it must find the
        # one in vetiver's venv (pip-tools is a dependency of vetiver) on PATH.
        vet_env = dict(os.environ, PATH=f"{vet_py.parent}{os.pathsep}{os.environ['PATH']}")
        vet_env.pop("PYTHONPATH", None)
        sh([str(vet_py), "-c", code, str(tmp / "model.pkl"), str(tmp / "proto.json"),
            str(tmp / "board"), str(vet_dir)], cwd=str(vet_dir), timeout=1800, env=vet_env)
        try:
            if not (vet_dir / "vetiver_requirements.txt").exists():
                raise RuntimeError("vetiver.prepare_docker wrote no vetiver_requirements.txt "
                                   "(its pip-compile step failed); vetiver's image not built")
            sizes = image_sizes(ctx, vet_dir)
        except Exception as exc:  # noqa: BLE001 - latency figures are still reported
            sizes = {"note": str(exc).splitlines()[0][:200]}

    o, v = med["ours"], med["vetiver"]
    h = med.get("ours-h11")
    mb = 1e6
    lines = [
        "# Container API: jupyter-deploy's generated app vs vetiver's VetiverAPI",
        "",
        f"Same scikit-learn pipeline (OneHotEncoder + imputer + scaler + LogisticRegression), "
        f"all on 127.0.0.1 with FastAPI {versions[1]} / uvicorn {versions[2]} / scikit-learn "
        f"{versions[3]}, vetiver {versions[0]}; one keep-alive client, requests one after "
        f"another, all servers up and measured in rotating blocks ({args.repeats} x "
        f"{args.requests} single-row requests and {args.repeats} x {args.batches} 100-row batches "
        f"each) so that all see the same load. Machine: {os.cpu_count()} cores, shared with "
        f"other work (load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at "
        f"the end): compare the ratios, not the absolute figures.",
        "",
        "| | jupyter-deploy | vetiver | ours / vetiver |"
        + (" jupyter-deploy without httptools | that / vetiver |" if h else ""),
        "|---|---|---|---|" + ("---|---|" if h else ""),
    ]
    rows = [("single-row p50 latency", "p50", "ms"), ("single-row p99 latency", "p99", "ms"),
            ("rows/s, 100-row batches", "rows_s", "")]
    for label, key, unit in rows:
        def cell(m):
            return f"{m[key]:.2f} ms" if unit else f"{m[key]:.0f}"

        def ratio(m):  # > 1 is better for ours either way
            return v[key] / m[key] if unit else m[key] / v[key]

        line = f"| {label} | {cell(o)} | {cell(v)} | {ratio(o):.2f}x |"
        if h:
            line += f" {cell(h)} | {ratio(h):.2f}x |"
        lines.append(line)
    lines += [
        "",
        "Ratios are ours' advantage: vetiver's latency / ours, ours' rows/s / vetiver's. Both "
        "answers are checked against the model first (ours: predictions and probabilities; "
        f"vetiver: predictions). Our served model's fast path: {fast_path}.",
    ]
    if sizes.get("ours"):
        added_ours = sizes["ours"] - sizes["base_size"]
        added_vet = sizes["vetiver"] - sizes["base_size"]
        lines += [
            "",
            f"Images ({sizes['engine']}, both `FROM {sizes['base']}`, "
            f"{sizes['base_size'] / mb:.0f} MB):",
            "",
            "| | jupyter-deploy | vetiver | vetiver / ours |",
            "|---|---|---|---|",
            f"| image size | {sizes['ours'] / mb:.0f} MB | {sizes['vetiver'] / mb:.0f} MB | "
            f"{sizes['vetiver'] / sizes['ours']:.2f}x |",
            f"| added to the base | {added_ours / mb:.0f} MB | {added_vet / mb:.0f} MB | "
            f"{added_vet / added_ours:.2f}x |",
            f"| build time (cold) | {sizes['ours_build_s']:.0f} s | "
            f"{sizes['vetiver_build_s']:.0f} s | |",
            "",
            "Vetiver's image is its prepare_docker output (Dockerfile, app.py, "
            "pip-compiled vetiver_requirements.txt) with `FROM python:3.11` replaced by the "
            "same base plus a venv (Debian's pip is externally managed) and this machine's "
            "local --extra-index-url/--find-links lines dropped from the requirements; it "
            "reads its model from the pins board at run time, ours carries its model (a few KB).",
        ]
    elif args.images:
        lines += ["", f"Images: not compared ({sizes.get('note')})."]
    lines += [
        "",
        "Our API does more per request: it checks every value against the model's schema "
        "(types, nulls, categories) with field-level 422s and returns class probabilities too; "
        "vetiver validates with a pydantic model per row and returns predictions only.",
        "",
        f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/bench_container.py --requests "
        f"{args.requests} --batches {args.batches} --repeats {args.repeats}"
        f"{' --images' if args.images else ''}`",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
