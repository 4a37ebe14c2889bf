"""The %%deploy handler cell: checked with one-line errors, run in the notebook and in the
check's clean re-run, shipped by the container target as serving_handler.py, and proven: the
API answers postprocess(model.predict(preprocess(sample)), sample) as the clean run computes it."""

from __future__ import annotations

import json

import pytest

from jupyter_deploy.handler import HandlerError, parse_cell
from jupyter_deploy.notebook import is_handler, only_deploy, runs_deploy

GOOD = """%%deploy handler
import numpy as np

def preprocess(frame):
    return frame.assign(ab=frame.a * frame.b)

def postprocess(prediction, frame):
    return np.where(prediction == 1, "yes", "no")
"""

SETUP = [
    "%load_ext jupyter_deploy",
    "import numpy as np, pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame({'a': rng.normal(size=120), 'b': rng.normal(size=120)})\n"
    "y = (X.a * X.b > 0).astype(int)\n"
    "X_test = X.tail(12)",
]
AFTER = [
    "clf = LogisticRegression().fit(preprocess(X), y)\n"
    "print(list(postprocess(clf.predict(preprocess(X_test.head(3))), X_test.head(3))))",
]


# ------------------------------------------------------------------------------ the cell


@pytest.mark.parametrize("source, words", [
    ("%%deploy handler\ndef preprocess(frame)\n    return frame\n",
     "has a syntax error at line 2: expected ':'"),
    ("%%deploy handler\nx = 1\n", "defines neither preprocess(frame) nor postprocess"),
    ("%%deploy handler\ndef preprocess(frame, extra):\n    return frame\n",
     "preprocess must take 1 argument (frame); it takes (frame, extra)"),
    ("%%deploy handler\ndef postprocess(prediction):\n    return prediction\n",
     "postprocess must take 2 arguments (prediction, frame); it takes (prediction)"),
    ("%%deploy handler\nasync def preprocess(frame):\n    return frame\n", "is async"),
    ("%%deploy handler --fast\ndef preprocess(frame):\n    return frame\n",
     "takes no options (got '--fast')"),
    ("%%deploy handler\n!pip install x\ndef preprocess(frame):\n    return frame\n",
     "syntax error at line 2"),
    ("%%deploy handler\n\n", "is empty"),
])
def test_a_bad_handler_cell_is_one_line(source, words):
    with pytest.raises(HandlerError) as info:
        parse_cell(source, cell=4)
    line = info.value.one_line()
    assert words in line and "\n" not in line, line
    if "options" not in words:
        assert "the %%deploy handler cell (cell 4)" in line, line


def test_a_good_cell_and_the_one_rule_for_deploy_cells():
    handler = parse_cell(GOOD)
    assert handler.functions == ("preprocess", "postprocess") and handler.imports == ("numpy",)
    # defaults and *args fit the signatures too
    assert parse_cell("%%deploy handler\ndef postprocess(p, f=None, *rest):\n    return p\n")
    assert is_handler(GOOD) and is_handler("\n" + GOOD)
    # its outputs are the body's own (compared by the check), and it is not an empty cell
    assert not runs_deploy(GOOD) and not only_deploy(GOOD)
    assert runs_deploy("%%deploy container\n--var clf") and not is_handler("%deploy handler")
    assert not is_handler("# %%deploy handler\nx = 1")


def test_lint_reads_the_handler_body_as_python(tmp_path):
    """A later cell using preprocess is not 'used before defined'; an options cell is not
    Python and is not parsed."""
    from jupyter_deploy.check.lint_cells import parse_cell as lint_parse

    code = lint_parse(3, GOOD)
    assert code.tree is not None and code.syntax_error is None
    names = {n.name for n in code.tree.body if hasattr(n, "name")}
    assert names == {"preprocess", "postprocess"}
    assert lint_parse(4, "%%deploy container\n--var clf --name x").tree is None


# ------------------------------------------------------------------------------ the magic


@pytest.fixture
def shell(monkeypatch):
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    # the one shell of the test session (another singleton class would clash with it)
    sh = start_ipython() or get_ipython()
    sh.run_line_magic("load_ext", "jupyter_deploy")
    for name in ("preprocess", "postprocess", "np"):
        sh.user_ns.pop(name, None)
    yield sh
    for name in ("preprocess", "postprocess"):
        sh.user_ns.pop(name, None)


def _cell(shell, source):
    line, _, body = source.partition("\n")
    return shell.run_cell_magic("deploy", line[len("%%deploy "):], body)


def test_the_magic_runs_the_body_and_says_what_ships(shell, capsys, monkeypatch):
    _cell(shell, GOOD)
    out = capsys.readouterr().out
    assert ("serving handler: preprocess(frame), postprocess(prediction, frame) (%deploy "
            "container ships this cell with the model)") in out
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    assert list(shell.user_ns["preprocess"](frame).ab) == [3.0, 8.0]
    # in the clean re-run the body runs as well, and says the same (the outputs compare)
    shell.user_ns.pop("preprocess")
    monkeypatch.setenv("JUPYTER_DEPLOY_CLEAN_RUN", "1")
    _cell(shell, GOOD)
    assert callable(shell.user_ns["preprocess"])
    assert capsys.readouterr().out == out
    # while any other %deploy line is skipped there
    shell.run_line_magic("deploy", "check")
    assert "skipped during jupyter-deploy's clean re-run" in capsys.readouterr().out


def test_a_bad_cell_runs_nothing(shell):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as info:
        _cell(shell, "%%deploy handler\nboom = 1\ndef preprocess(frame, x):\n    return frame\n")
    assert "preprocess must take 1 argument (frame)" in str(info.value)
    assert "boom" not in shell.user_ns and "preprocess" not in shell.user_ns
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("deploy", "handler")
    assert "handler is a cell magic" in str(info.value)


# ------------------------------------------------------------------------------ end to end


@pytest.mark.kernel
@pytest.mark.slow
def test_container_ships_the_handler_and_proves_it(make_notebook, tmp_path):
    from jupyter_deploy import api

    handler = GOOD.replace("import numpy as np\n",
                           "import numpy as np\nimport packaging.version\n"
                           "LABELS = str(packaging.version.Version('1.0'))\n")
    nb = make_notebook(SETUP + [handler] + AFTER)
    saved = json.loads(nb.read_text())
    handler_out = "".join(saved["cells"][2]["outputs"][0]["text"])
    assert handler_out.startswith("serving handler: preprocess(frame), postprocess(")
    report = api.check(nb)
    assert report["verdict"] == "repeatable", report["findings"]
    # the check says which handler the API will run (the sidebar shows it with the verdict)
    assert report["handler"] == {"cell": 3, "functions": ["preprocess", "postprocess"],
                                 "signature": "preprocess(frame), postprocess(prediction, frame)"}

    out = tmp_path / "svc"
    result = api.deploy("container", nb, options={"var": "clf", "name": "svc",
                                                   "sample": "X_test", "out": str(out)})
    assert result["status"] == "ok", result
    proofs = {p["name"]: p for p in result["proofs"]}
    for form in ("split", "records"):
        proof = proofs[f"api-local: predictions ({form})"]
        assert proof["ok"], proof
        assert ("12 sample rows: the API answers as postprocess(model.predict(preprocess("
                "sample)), sample) did") in proof["detail"]
    # the file ships with its provenance header and the cell's code
    shipped = (out / "serving_handler.py").read_text()
    assert shipped.startswith("# Generated by jupyter-deploy")
    assert "Source notebook:" in shipped and "cell 3 of the notebook" in shipped
    assert "def postprocess(prediction, frame):" in shipped
    assert not [ln for ln in shipped.splitlines() if ln.startswith("%")]  # the magic line is not
    compile(shipped, "serving_handler.py", "exec")
    assert " serving_handler.py app.py" in (out / "Dockerfile").read_text()
    assert "!serving_handler.py" in (out / ".dockerignore").read_text()
    # the expected answers are the handler's, computed from the clean run's model and sample
    sample = json.loads((out / "model" / "sample.json").read_text())
    assert set(sample["predictions"]) <= {"yes", "no"} and len(sample["predictions"]) == 12
    meta = json.loads((out / "model" / "metadata.json").read_text())
    assert meta["serving_handler"]["functions"] == ["preprocess", "postprocess"]
    # the package the handler imports (and nothing of the model's needs) is pinned exactly
    reqs = (out / "requirements.txt").read_text().splitlines()
    from importlib.metadata import version

    assert f"packaging=={version('packaging')}" in reqs


@pytest.mark.kernel
@pytest.mark.slow
@pytest.mark.parametrize("body, words", [
    ("def preprocess(frame)\n    return frame\n", "has a syntax error at line 2"),
    ("def postprocess(prediction):\n    return prediction\n",
     "postprocess must take 2 arguments (prediction, frame)"),
    ("import jd_local_helper\n\ndef preprocess(frame):\n    return jd_local_helper.f(frame)\n",
     "imports 'jd_local_helper'"),
    ("def preprocess(frame):\n    return frame.assign(c=SCALE)\nSCALE = X.a.std()\n",
     "uses a name it does not define: name 'X' is not defined"),
])
def test_a_bad_handler_in_the_saved_notebook_writes_nothing(make_notebook, tmp_path, body,
                                                            words):
    """Saved without running it (the file is the source of truth): the deploy stops with one
    line naming the cell, and --out is never created."""
    from jupyter_deploy import api
    from jupyter_deploy.errors import DeployError

    folder = tmp_path / "nbdir"
    folder.mkdir()
    (folder / "jd_local_helper.py").write_text("def f(frame):\n    return frame\n")
    good = GOOD.split("\n", 1)[1]
    cells = SETUP + ["%%deploy handler\n" + good] + AFTER + ["%%deploy handler\n" + body]
    nb = make_notebook(cells, folder=folder)
    # keep one handler cell: the bad one replaces the good one (as a user's edit would)
    data = json.loads(nb.read_text())
    data["cells"][2]["source"] = data["cells"][4]["source"]
    del data["cells"][4]
    nb.write_text(json.dumps(data))
    out = tmp_path / "svc"
    with pytest.raises(DeployError) as info:
        api.deploy("container", nb, options={"var": "clf", "name": "svc", "sample": "X_test",
                                             "out": str(out)}, force=True)
    line = info.value.one_line()
    assert words in line and "\n" not in line, line
    assert not out.exists()


def test_the_check_report_says_why_a_handler_cannot_serve():
    """A handler cell that cannot serve is named in the report (not an exception: the verdict is
    about repeatability); a notebook without one says null."""
    from nbformat.v4 import new_code_cell, new_notebook

    from jupyter_deploy.check import handler_summary

    assert handler_summary(new_notebook(cells=[new_code_cell("x = 1")])) is None
    bad = new_notebook(cells=[new_code_cell("%%deploy handler\nx = 1")])
    summary = handler_summary(bad)
    assert set(summary) == {"error"} and "preprocess" in summary["error"]
    assert "\n" not in summary["error"]


def test_two_handler_cells_are_refused():
    import nbformat

    from jupyter_deploy.handler import find

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(GOOD), nbformat.v4.new_markdown_cell("x"),
                nbformat.v4.new_code_cell(GOOD)]
    with pytest.raises(HandlerError) as info:
        find(nb)
    assert "several %%deploy handler cells (cells 1, 3)" in info.value.one_line()


@pytest.mark.kernel
@pytest.mark.engine
@pytest.mark.slow
def test_the_built_image_runs_the_handler(make_notebook, tmp_path, engine, base_image):
    """--build: the image (podman or docker, Debian-made base image) serves the handler and
    answers as the clean run's postprocess(model.predict(preprocess(sample)), sample)."""
    from jupyter_deploy import api

    nb = make_notebook(SETUP + [GOOD] + AFTER)
    out = tmp_path / "svc"
    result = api.deploy("container", nb, options={
        "var": "clf", "name": "svc-handler", "sample": "X_test", "out": str(out),
        "build_image": True, "engine": engine.name, "base_image": base_image})
    failed = [(p["name"], p["detail"]) for p in result["proofs"] if not p["ok"]]
    assert result["status"] == "ok" and not failed, failed
    proofs = {p["name"]: p for p in result["proofs"]}
    for name in ("image: predictions (split)", "image: predictions (records)"):
        assert "postprocess(model.predict(preprocess(sample)), sample) did" in proofs[name][
            "detail"], proofs[name]
    assert proofs["image: rejects bad input"]["ok"]


def test_a_stale_handler_file_is_never_run(churn_context, tmp_path):
    """The artefact's metadata says whether the deploy had a handler: a serving_handler.py left
    in a reused --out folder by an earlier deploy is not loaded (the image would not copy it
    either), and a handler named by the metadata but missing stops the server at start-up."""
    import shutil
    import subprocess
    import sys

    ctx = tmp_path / "ctx"
    shutil.copytree(churn_context, ctx)
    (ctx / "serving_handler.py").write_text(
        "def postprocess(prediction, frame):\n    return ['stale'] * len(frame)\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import serving; "
            "m = serving.Model(); print(m.handler, m.fast_path[:2], "
            "'serving_handler' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code, str(ctx)], capture_output=True,
                          text=True, cwd=str(ctx), env={"MODEL_DIR": str(ctx / "model"),
                                                        "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["None", "on", "False"]
    # metadata naming a handler whose file is missing: refused at start-up, in one line
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import serving; "
         "serving.load_handler({'serving_handler': {'functions': ['preprocess']}})",
         str(churn_context)], capture_output=True, text=True, cwd=str(churn_context))
    assert proc.returncode == 1
    assert ("StartupError: the model was deployed with a serving handler, but "
            "serving_handler.py is not next to serving.py") in proc.stderr.splitlines()[-1]


@pytest.mark.kernel
@pytest.mark.slow
def test_the_check_compares_the_handler_cells_outputs(make_notebook):
    """A %deploy cell's outputs are the magic's and are not compared; a handler cell's are the
    body's own, so a body that prints something new on every run is a real difference."""
    from jupyter_deploy import api

    noisy = GOOD.replace("import numpy as np\n", "import numpy as np\nimport random\n"
                         "print(random.random())\n")
    nb = make_notebook(SETUP + [noisy] + AFTER)
    report = api.check(nb)
    assert report["verdict"] == "not-repeatable", report["findings"]
    # the handler cell (0-based index 2): its output differs from the saved one (and the lint,
    # which reads its body as Python, sees the unseeded random number)
    found = {(f["kind"], f.get("cell")) for f in report["findings"]}
    assert ("output-diff", 2) in found and ("unseeded-random", 2) in found, found


@pytest.mark.kernel
@pytest.mark.slow
def test_a_secret_in_the_handler_is_not_shipped(make_notebook, tmp_path):
    """serving_handler.py goes through the same secrets scan as the rest of the context."""
    from jupyter_deploy import api
    from jupyter_deploy.errors import SecretFound

    key = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key  # pragma: allowlist secret
    leaky = GOOD.replace("import numpy as np\n", f"import numpy as np\nAWS_KEY = '{key}'\n")
    nb = make_notebook(SETUP + [leaky] + AFTER)
    out = tmp_path / "svc"
    with pytest.raises(SecretFound) as info:
        api.deploy("container", nb, options={"var": "clf", "name": "svc", "sample": "X_test",
                                             "out": str(out)})
    line = info.value.one_line()
    assert "serving_handler.py, line" in line and key not in line and "\n" not in line, line
    assert not out.exists()
