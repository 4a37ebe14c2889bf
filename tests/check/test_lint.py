"""Static findings on real nbformat v4 notebooks, with real environment probes of this venv."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_deploy.check.lint import KINDS, static_findings


def notebook(*cells, counts=True):
    """Cells are code sources, ("md", text) markdown, or (source, count) code with a count."""
    nb = new_notebook()
    n = 0
    for c in cells:
        if isinstance(c, tuple) and c[0] == "md":
            nb.cells.append(new_markdown_cell(c[1]))
        elif isinstance(c, tuple):
            nb.cells.append(new_code_cell(c[0], execution_count=c[1]))
        else:
            n += 1
            nb.cells.append(new_code_cell(c, execution_count=n if counts else None))
    return nbformat.from_dict(json.loads(nbformat.writes(nb)))  # as read from disk


def lint(tmp_path, *cells, counts=True, **kw):
    return static_findings(notebook(*cells, counts=counts), tmp_path, **kw)


def of(findings, kind):
    return [f for f in findings if f["kind"] == kind]


def one(findings, kind):
    got = of(findings, kind)
    assert len(got) == 1, (kind, findings)
    return got[0]


def test_findings_have_the_documented_shape(tmp_path):
    fs = lint(tmp_path, "import numpy as np\nx = np.random.rand(3)", "print(undefined_name)")
    assert fs
    for f in fs:
        assert set(f) == {"kind", "cell", "line", "severity", "message", "hint"}
        assert f["severity"] == KINDS[f["kind"]]
        assert "\n" not in f["message"] and f["hint"]
    json.dumps(fs)


# ------------------------------------------------------------------ saved state


def test_out_of_order(tmp_path):
    fs = lint(tmp_path, ("md", "# title"), ("a = 1", 1), ("b = 2", 9), ("c = a", 7), ("d = 3", 10))
    f = one(fs, "out-of-order")
    assert f["cell"] == 3 and f["line"] is None and f["severity"] == "warning"
    assert f["message"] == "cell 4 ran (count 7) before cell 3 (count 9) above it"


def test_in_order_with_gaps_and_unrun_cells_is_not_out_of_order(tmp_path):
    fs = lint(tmp_path, ("a = 1", 2), ("b = 2", None), ("c = 3", 5), ("", None), ("d = 4", 11))
    assert not of(fs, "out-of-order")
    f = one(fs, "never-executed")
    assert f["cell"] == 1


def test_never_executed_whole_notebook_is_one_finding(tmp_path):
    fs = lint(tmp_path, "a = 1", "b = a", ("md", "x"), counts=False)
    f = one(fs, "never-executed")
    assert f["cell"] is None and "saved without outputs" in f["message"]


def test_error_output(tmp_path):
    nb = notebook("x = 1", "1/0")
    nb.cells[1].outputs = [
        new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["..."])
    ]
    f = one(static_findings(nb, tmp_path), "error-output")
    assert f["cell"] == 1 and "ZeroDivisionError: division by zero" in f["message"]
    nb.cells[1].outputs = [new_output("stream", name="stderr", text="a warning\n")]
    assert not of(static_findings(nb, tmp_path), "error-output")


# ------------------------------------------------------------------ hidden state


def test_hidden_state_from_a_later_cell(tmp_path):
    fs = lint(tmp_path, "import pandas as pd", "total = 1\ny = df.head()", "df = pd.DataFrame()")
    f = one(fs, "hidden-state")
    assert (f["cell"], f["line"]) == (1, 2)
    assert f["message"] == "`df` is read here but first defined in cell 3"


def test_hidden_state_from_a_deleted_cell(tmp_path):
    fs = lint(tmp_path, ("md", "intro"), "x = 1", "for i in range(3):\n    print(i, model_v2)")
    f = one(fs, "hidden-state")
    assert (f["cell"], f["line"]) == (2, 2)
    assert "`model_v2`" in f["message"] and "no cell defines it" in f["message"]


def test_hidden_state_read_before_assignment_in_the_same_cell(tmp_path):
    f = one(lint(tmp_path, "print(count)\ncount = 0"), "hidden-state")
    assert (f["cell"], f["line"]) == (0, 1) and "before this cell assigns it (line 2)" in f[
        "message"
    ]


def test_function_body_reads_undefined_name(tmp_path):
    fs = lint(tmp_path, "def f(a):\n    return a + helper(a)", "f(1)")
    f = one(fs, "hidden-state")
    assert (f["cell"], f["line"]) == (0, 2) and "`helper`" in f["message"]


SCOPES = """\
import os.path
from collections import OrderedDict as OD
def f(a, *args, b=1, **kw):
    local = a + b + len(args) + len(kw)
    def g():
        nonlocal local
        local += 1
        return local + later_global
    return g()
lam = lambda q, r=2: q + r
squares = [v * v for v in range(3) if v]
pairs = {k: w for k, w in zip("ab", (1, 2))}
gen = sum(z for z in range(3))
nested = [[c for c in row] for row in [[1], [2]]]
class K:
    attr = 1
    other = attr + 1
    def m(self):
        return self.attr
with open(os.devnull) as fh, open(os.devnull) as fh2:
    pass
try:
    risky = 1
except ValueError as err:
    print(err)
if OD:
    maybe = 1
print(maybe)
for i, (j, k) in enumerate([(1, 2)]):
    acc = i + j + k
else:
    done = True
while not done:
    pass
if (n := 10) > 5:
    print(n)
[y := 5 for _ in range(2)]
print(y)
x = 1
x += 1
del x
def uses_global():
    global created
    created = 1
uses_global()
print(created)
match (1, 2):
    case (p, *rest):
        print(p, rest)
    case {"k": vv, **others}:
        print(vv, others)
print(__name__, __file__, In, Out, _, __, ___, _i1, _3, _oh, _dh, get_ipython, display, exit, quit)
"""


def test_scopes_do_not_raise_false_alarms(tmp_path):
    fs = lint(tmp_path, SCOPES, "later_global = 2\nf(1)")
    assert not of(fs, "hidden-state"), of(fs, "hidden-state")


def test_name_defined_both_earlier_and_later_is_fine(tmp_path):
    fs = lint(tmp_path, "df = 1", "print(df)", "df = 2")
    assert not of(fs, "hidden-state")


def test_loop_carried_names_and_name_error_guards(tmp_path):
    fs = lint(
        tmp_path,
        "for i in range(3):\n    if i:\n        print(prev)\n    prev = i",
        "try:\n    cache\nexcept NameError:\n    cache = {}",
    )
    assert not of(fs, "hidden-state")


def test_comprehension_variable_does_not_leak(tmp_path):
    f = one(lint(tmp_path, "xs = [v for v in range(3)]", "print(v)"), "hidden-state")
    assert (f["cell"], f["line"]) == (1, 1) and "`v`" in f["message"]


def test_class_body_names_are_not_visible_in_methods(tmp_path):
    fs = lint(tmp_path, "class K:\n    a = 1\n    def m(self):\n        return a")
    f = one(fs, "hidden-state")
    assert (f["cell"], f["line"]) == (0, 4) and "`a`" in f["message"]


@pytest.mark.parametrize(
    "dynamic",
    [
        "from os.path import *",
        "%run other.ipynb",
        "%store -r",
        "exec('zz = 1')",
        "globals()['zz'] = 1",
    ],
)
def test_hidden_state_stops_after_dynamic_definitions(tmp_path, dynamic):
    fs = lint(tmp_path, "print(before)", dynamic, "print(zz)\nprint(join)")
    hs = of(fs, "hidden-state")
    assert [(f["cell"], f["message"].split("`")[1]) for f in hs] == [(0, "before")]


# ------------------------------------------------------------------ IPython syntax


def test_magics_shell_and_help_lines_are_analysed(tmp_path):
    src = (
        "%matplotlib inline\n"  # 1
        "import numpy as np\n"  # 2
        "files = !ls\n"  # 3
        "!echo hi\n"  # 4
        "np?\n"  # 5
        "np.mean??\n"  # 6
        "%time y = np.random.rand(2)\n"  # 7
        "for i in range(2):\n"  # 8
        "    !echo {i}\n"  # 9
        "    print(undefined_a)\n"  # 10
    )
    fs = lint(
        tmp_path,
        src,
        "%%bash\necho $HOME\nls /etc/passwd",
        "%%time\nz = y + 1\nprint(zz)",
        "%%capture out\nprint(files)",
        "out.show()\nprint(z)",
    )
    hs = of(fs, "hidden-state")
    assert [(f["cell"], f["line"], f["message"].split("`")[1]) for f in hs] == [
        (0, 10, "undefined_a"),
        (2, 3, "zz"),
    ]
    f = one(fs, "unseeded-random")
    assert (f["cell"], f["line"]) == (0, 7)
    assert not of(fs, "absolute-path")  # the bash cell is not Python


def test_line_numbers_survive_magic_continuations(tmp_path):
    src = "x = 1\n%ls -la \\\n   /tmp\nimport numpy as np\nnp.random.shuffle([1, 2])"
    f = one(lint(tmp_path, src), "unseeded-random")
    assert (f["cell"], f["line"]) == (0, 5)


def test_syntax_error_cell_gets_no_code_findings_and_does_not_stop_the_lint(tmp_path):
    fs = lint(tmp_path, "def f(:\n    print(nothing)", "import random\nrandom.random()")
    assert not [f for f in fs if f["cell"] == 0]
    assert one(fs, "unseeded-random")["cell"] == 1


def test_leading_blank_lines_keep_line_numbers(tmp_path):
    f = one(lint(tmp_path, "\n\nimport random\nrandom.shuffle([1])"), "unseeded-random")
    assert f["line"] == 4


# ------------------------------------------------------------------ randomness


def test_unseeded_numpy_random_stdlib_and_sklearn(tmp_path):
    fs = lint(
        tmp_path,
        "import numpy as np\nfrom numpy.random import permutation\nimport random as rnd",
        "a = np.random.randn(3)\nb = permutation(3)\nrng = np.random.default_rng()\nc = rnd.choice([1, 2])",
        "from sklearn.ensemble import RandomForestClassifier as RF\nfrom sklearn.model_selection import KFold, train_test_split\n"
        "clf = RF(n_estimators=5)\ncv = KFold(5, shuffle=True)\nXtr, Xte = train_test_split([1, 2, 3, 4])",
        "from sklearn.linear_model import LogisticRegression\nm = LogisticRegression(solver='saga')",
    )
    got = [(f["cell"], f["line"]) for f in of(fs, "unseeded-random")]
    assert got == [(1, 1), (1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (2, 5), (3, 2)]
    msgs = " ".join(f["message"] for f in of(fs, "unseeded-random"))
    for name in (
        "np.random.randn",
        "permutation",
        "np.random.default_rng",
        "rnd.choice",
        "RF (RandomForestClassifier)(",
        "KFold(",
        "train_test_split(",
        "LogisticRegression(",
    ):
        assert name in msgs


def test_seeded_random_is_fine(tmp_path):
    fs = lint(
        tmp_path,
        "import numpy as np, random\nnp.random.seed(0)\nrandom.seed(1)",
        "a = np.random.rand(3)\nrandom.shuffle([1, 2])\nrng = np.random.default_rng(42)\nrs = np.random.RandomState(seed=3)",
        "from sklearn.ensemble import RandomForestClassifier\nfrom sklearn.model_selection import KFold, train_test_split\n"
        "clf = RandomForestClassifier(random_state=0)\nKFold(5)\ntrain_test_split([1, 2], random_state=0)",
    )
    assert not of(fs, "unseeded-random")


def test_sklearn_without_random_state_but_deterministic_is_fine(tmp_path):
    fs = lint(
        tmp_path,
        "from sklearn.linear_model import LogisticRegression, LinearRegression\n"
        "from sklearn.decomposition import PCA\nfrom sklearn.model_selection import KFold, train_test_split\n"
        "a = LogisticRegression(max_iter=200)\nb = LinearRegression()\nc = PCA(2)\nd = KFold(3, shuffle=False)\n"
        "e = train_test_split([1, 2], shuffle=False)\nf = RandomForestClassifier()\n",  # not imported from sklearn
        "from sklearn.ensemble import RandomForestClassifier as R\nR(random_state=0, n_estimators=3)\nR(**{'random_state': 0})",
    )
    assert not of(fs, "unseeded-random"), of(fs, "unseeded-random")


def test_numpy_seed_covers_sklearn_and_a_seed_helper_covers_all(tmp_path):
    fs = lint(
        tmp_path,
        "import numpy as np\nnp.random.seed(0)\nfrom sklearn.cluster import KMeans\nKMeans(3)",
    )
    assert not of(fs, "unseeded-random")
    fs = lint(tmp_path, "import random, torch\nseed_everything(1)\nrandom.random()\ntorch.randn(2)")
    assert not of(fs, "unseeded-random")
    fs = lint(tmp_path, "import torch\ntorch.randn(2)")
    assert one(fs, "unseeded-random")["line"] == 2


def test_seed_after_the_draw_does_not_count(tmp_path):
    fs = lint(tmp_path, "import random\nrandom.random()", "random.seed(0)\nrandom.random()")
    f = one(fs, "unseeded-random")
    assert (f["cell"], f["line"]) == (0, 2)


# ------------------------------------------------------------------ paths


def test_absolute_paths(tmp_path):
    fs = lint(
        tmp_path,
        "import pandas as pd\ndf = pd.read_csv('/data/train.csv')\nDATA = '~/datasets/x.parquet'\n"
        "w = open(r'C:\\\\Users\\\\me\\\\x.csv')\nup = pd.read_csv('../shared/y.csv')\nf = f'/mnt/store/{DATA}.csv'",
    )
    got = [(f["cell"], f["line"]) for f in of(fs, "absolute-path")]
    assert got == [(0, 2), (0, 3), (0, 4), (0, 5), (0, 6)]
    texts = [f["message"] for f in of(fs, "absolute-path")]
    assert "`/data/train.csv`" in texts[0] and "`~/datasets/x.parquet`" in texts[1]
    assert "`../shared/y.csv`" in texts[3]


def test_paths_inside_the_notebook_folder_urls_and_non_paths_are_fine(tmp_path):
    inside = tmp_path / "data" / "x.csv"
    fs = lint(
        tmp_path,
        f"import pandas as pd, requests\na = pd.read_csv('data/x.csv')\nb = pd.read_csv({str(inside)!r})\n"
        "c = requests.get('https://example.org/data/x.csv')\nd = open('/dev/null')\nratio = 'a/b ratio'\n"
        "e = pd.read_csv('./sub/y.csv')\nprint('/not/a/path/when/printed')\nroute = '/predict'\n"
        "s = 'x,y'.split('/')\nurl = base + '/api/v1/items'\n\"\"\"/docstring/path\"\"\"\n"
        "p = pd.read_csv('s3://bucket/key.csv')\ntmp = open('/tmp/scratch.txt', 'w')",
        "@app.get('/items/list')\ndef items():\n    return 1",
    )
    assert not of(fs, "absolute-path"), of(fs, "absolute-path")


# ------------------------------------------------------------------ wall clock


def test_wall_clock_reaching_outputs(tmp_path):
    fs = lint(
        tmp_path,
        "from datetime import datetime, date\nimport time\nimport pandas as pd",
        "stamp = datetime.now()\nlabel = f'run at {stamp:%H:%M}'",
        "print(label)",
        "t0 = time.time()\nx = sum(range(10))\nelapsed = time.time() - t0\nprint(f'took {elapsed:.2f}s')",
        "date.today()",
        "display(pd.Timestamp.now())",
    )
    got = [(f["cell"], f["line"]) for f in of(fs, "wall-clock")]
    assert got == [(2, 1), (3, 4), (4, 1), (5, 1)]
    msgs = [f["message"] for f in of(fs, "wall-clock")]
    assert "datetime.now()" in msgs[0]
    assert "time.time()" in msgs[1] and "duration" in msgs[1] and "vary" in msgs[1]
    assert "date.today()" in msgs[2] and "displayed result" in msgs[2]
    assert "pd.Timestamp.now()" in msgs[3]


def test_wall_clock_not_reaching_outputs_is_fine(tmp_path):
    fs = lint(
        tmp_path,
        "import datetime, time",
        "started = datetime.datetime.now()\nlog = {'at': started}\nprint('done')",
        "t = time.time()\nt = 5\nprint(t)",
        "now = datetime.datetime.now();",
        "def f():\n    print(time.time())",
        "time.strftime('%Y', time.localtime(0))",
    )
    assert not of(fs, "wall-clock"), of(fs, "wall-clock")


# ------------------------------------------------------------------ packages


def test_missing_package(tmp_path):
    fs = lint(
        tmp_path,
        "import numpy as np\nimport no_such_mod_xyz.sub as m",
        "from no_such_mod_abc import thing\n%load_ext no_such_ext_xyz",
    )
    got = [(f["cell"], f["line"], f["severity"]) for f in of(fs, "missing-package")]
    assert got == [(0, 2, "error"), (1, 1, "error"), (1, 2, "error")]
    assert "`no_such_mod_xyz`" in of(fs, "missing-package")[0]["message"]
    assert "%pip install" in of(fs, "missing-package")[0]["hint"]


def test_resolvable_imports_are_fine(tmp_path):
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    fs = lint(
        tmp_path,
        "import json, os.path\nimport sklearn.linear_model\nfrom . import sibling\nimport helpers\nfrom mypkg import x",
        "try:\n    import no_such_fast_xyz as fast\nexcept ImportError:\n    fast = None",
        "try:\n    import no_such_other_xyz\nexcept (ModuleNotFoundError, OSError):\n    pass",
        "%%writefile gen_mod.py\nX = 1",
        "import gen_mod\n%pip install something\n%load_ext autoreload",
    )
    assert not of(fs, "missing-package"), of(fs, "missing-package")


def test_missing_package_after_a_notebook_pip_install_is_a_warning(tmp_path):
    fs = lint(tmp_path, "%pip install no-such-mod-xyz", "import no_such_mod_xyz")
    f = one(fs, "missing-package")
    assert f["severity"] == "warning" and "installs packages itself" in f["message"]


def test_local_package(tmp_path, monkeypatch):
    site = tmp_path / "site"
    info = site / "locpkg-0.2.dist-info"
    (site / "locpkg").mkdir(parents=True)
    (site / "locpkg" / "__init__.py").write_text("")
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: locpkg\nVersion: 0.2\n\n")
    (info / "RECORD").write_text("locpkg/__init__.py,,\n")
    (info / "direct_url.json").write_text(
        json.dumps({"url": "file:///home/me/locpkg", "dir_info": {"editable": True}})
    )
    monkeypatch.syspath_prepend(str(site))
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    fs = lint(nbdir, "import numpy\nimport locpkg.sub\nimport jupyter_deploy")
    f = one(fs, "local-package")
    assert (f["cell"], f["line"]) == (0, 2)
    assert (
        "`locpkg`" in f["message"]
        and "editable" in f["message"]
        and "file:///home/me/locpkg" in f["message"]
    )


def test_one_probe_through_the_kernels_python(tmp_path):
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    fs = lint(tmp_path, "import numpy\nimport json", python=str(venv / "bin" / "python"))
    f = one(fs, "missing-package")
    assert "`numpy`" in f["message"]


def test_ignore_kinds(tmp_path):
    fs = lint(
        tmp_path, "import no_such_mod_xyz\nprint(q)", ignore=["missing-package", "hidden-state"]
    )
    assert fs == []


# ------------------------------------------------------------------ performance


def test_five_hundred_cells_lint_in_under_a_second(tmp_path):
    cells = ["import numpy as np\nimport json\nfrom datetime import datetime"]
    for i in range(499):
        if i % 5 == 0:
            cells.append(("md", f"## part {i}"))
        elif i % 7 == 0:
            cells.append(f"%time v{i} = np.arange({i})\n!echo {i}\nv{i}.sum()")
        else:
            cells.append(
                f"v{i} = np.arange({i})\ndef f{i}(a, b=2):\n    return [x * a for x in range(b)]\n"
                f"d{i} = {{k: f{i}(k) for k in range(3)}}\nprint(d{i}, json.dumps({i}))\nv{i}.sum()"
            )
    nb = notebook(*cells)
    static_findings(nb, tmp_path)  # warm: IPython's transformer and the environment index
    start = time.process_time()
    fs = static_findings(nb, tmp_path)
    spent = time.process_time() - start
    assert fs == []
    assert spent < 1.0, f"500 cells took {spent:.2f} s of CPU"


def test_deploy_cells_left_unrun_are_not_never_executed(tmp_path):
    fs = lint(
        tmp_path,
        ("%load_ext jupyter_deploy", 1),
        ("x = 1", 2),
        ("%deploy check", None),
        ("# hand-run\n%deploy model clf --name churn", None),
        ("y = 2", None),
    )
    assert [f["cell"] for f in of(fs, "never-executed")] == [4]


def test_explicit_random_state_none_is_unseeded(tmp_path):
    fs = lint(tmp_path, "from sklearn.cluster import KMeans\nkm = KMeans(3, random_state=None)")
    f = one(fs, "unseeded-random")
    assert (f["cell"], f["line"]) == (0, 2) and "KMeans" in f["message"]


def test_type_checking_imports_are_not_required(tmp_path):
    fs = lint(
        tmp_path,
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import no_such_mod_xyz\nelse:\n    import no_such_other_xyz",
    )
    f = one(fs, "missing-package")
    assert (f["cell"], f["line"]) == (0, 5) and "no_such_other_xyz" in f["message"]


def test_route_like_strings_versus_folders(tmp_path):
    fs = lint(
        tmp_path,
        "import os\nENDPOINT = '/api/v1/predict'\nos.chdir('/opt/app')\nfiles = os.listdir('/srv/in')\n"
        "ROOT = '/home/alice/data'\nhealth = '/healthz'",
    )
    got = [(f["line"], f["message"].split("`")[1]) for f in of(fs, "absolute-path")]
    assert got == [(3, "/opt/app"), (4, "/srv/in"), (5, "/home/alice/data")]


def test_other_languages_get_only_saved_state_findings(tmp_path):
    nb = notebook(("library(dplyr)\nx <- read.csv('/data/x.csv')", 2), ("print(x)", 1))
    nb.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    fs = static_findings(nb, tmp_path)
    assert [f["kind"] for f in fs] == ["out-of-order"]


def test_realistic_notebook_has_no_false_alarms(tmp_path):
    cells = [
        "import json, os, sys\nimport numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n%matplotlib inline",
        "SEED = 42\nrng = np.random.default_rng(SEED)\nDATA_DIR = os.path.join(os.getcwd(), 'data')",
        "df = pd.DataFrame({'x': rng.normal(size=200), 'g': rng.integers(0, 3, 200)})\ndf['y'] = (df.x > 0).astype(int)\ndf.head()",
        "fig, ax = plt.subplots(figsize=(8, 4))\nax.hist(df['x'], bins=30)\nax.set_title('x')\nplt.savefig('figures/hist.png')",
        ("from sklearn.model_selection import train_test_split, GridSearchCV, StratifiedKFold, cross_val_score\n"
        "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n"
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.ensemble import RandomForestClassifier"),
        "X, y = df[['x', 'g']], df['y']\nX_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=SEED)",
        ("pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))\n"
        "grid = GridSearchCV(pipe, {'logisticregression__C': [0.1, 1]}, cv=StratifiedKFold(5, shuffle=True, random_state=SEED))\n"
        "grid.fit(X_train, y_train)\nprint(f'best CV: {grid.best_score_:.3f}')"),
        "rf = RandomForestClassifier(n_estimators=10, random_state=SEED)\nscores = cross_val_score(rf, X, y, cv=5)\nscores.mean(), scores.std()",
        ("from dataclasses import dataclass, field\n@dataclass\nclass Result:\n    name: str\n    score: float = 0.0\n"
        "    tags: list = field(default_factory=list)\n    def describe(self) -> str:\n        return f'{self.name}: {self.score:.2f}'\n"
        "results: dict[str, Result] = {}\nfor name, model in [('lr', grid), ('rf', rf)]:\n    model.fit(X_train, y_train)\n"
        "    results[name] = Result(name, model.score(X_test, y_test))\n[r.describe() for r in results.values()]"),
        ("def plot_scores(res=results, ax=None, *, title='Scores'):\n    ax = ax or plt.gca()\n"
        "    names, vals = zip(*((k, v.score) for k, v in res.items()))\n    ax.bar(names, vals)\n    return ax\nplot_scores();"),
        ("summary = {k: v.score for k, v in results.items()}\nwith open('summary.json', 'w') as fh:\n    json.dump(summary, fh)\n"
        "assert all(0 <= s <= 1 for s in summary.values()), summary"),
        "import asyncio\nawait asyncio.sleep(0)\nasync def fetch(i):\n    return i * 2\nvals = await asyncio.gather(*(fetch(i) for i in range(3)))\nvals",
        "try:\n    import seaborn_not_here as sns\nexcept ImportError:\n    sns = None",
        "*head, tail = [1, 2, 3]\na, (b, c) = 1, (2, 3)\nlookup = lambda k, d=summary: d.get(k)\nprint(head, tail, a, b, c, lookup('lr'))",
        "%%time\nbig = np.arange(1000)\nbig.sum()",
        "big.mean()\n_ + 1\nOut.get(3)",
    ]
    assert lint(tmp_path, *cells) == []


def test_top_level_await_is_analysed(tmp_path):
    f = one(
        lint(tmp_path, "import asyncio\nawait asyncio.sleep(0)\nprint(missing_name)"),
        "hidden-state",
    )
    assert (f["cell"], f["line"]) == (0, 3)


def test_deeply_nested_code_does_not_crash_the_lint(tmp_path):
    deep = "x = " + " + ".join(["1"] * 3000) + "\nprint(undefined_z)"
    fs = lint(tmp_path, deep, "import random\nrandom.random()")
    assert one(fs, "unseeded-random")["cell"] == 1


def test_comment_only_cells_need_not_run_and_network_shares_are_paths(tmp_path):
    fs = lint(
        tmp_path,
        ("x = 1", 1),
        ("# notes only\n\n# more", None),
        ("import pandas as pd\nd = pd.read_csv(r'\\\\fileserver\\team\\x.csv')", 2),
    )
    assert not of(fs, "never-executed")
    f = one(fs, "absolute-path")
    assert (f["cell"], f["line"]) == (2, 2) and "network share" in f["message"]


def test_wall_clock_through_a_notebook_function(tmp_path):
    fs = lint(
        tmp_path,
        "import datetime\ndef stamp():\n    return datetime.datetime.now().isoformat()",
        "def pure():\n    return 1",
        "print(stamp(), pure())",
    )
    f = one(fs, "wall-clock")
    assert (f["cell"], f["line"]) == (2, 1) and "stamp() via datetime.datetime.now()" in f[
        "message"
    ]


def test_cell_magics_that_bind_names(tmp_path):
    fs = lint(
        tmp_path,
        "%%bash --out listing --err errors\nls",
        "%%sql result << SELECT 1",
        "%%capture cap\nprint(1)",
        "print(listing, errors, result, cap, nothere)",
    )
    f = one(fs, "hidden-state")
    assert (f["cell"], f["line"]) == (3, 1) and "`nothere`" in f["message"]


def test_datetime_difference_is_a_duration(tmp_path):
    fs = lint(
        tmp_path,
        "from datetime import datetime\nstart = datetime.now()",
        "print(f'took {datetime.now() - start}')",
    )
    f = one(fs, "wall-clock")
    assert (
        (f["cell"], f["line"]) == (1, 1)
        and "duration" in f["message"]
        and "datetime.now()" in f["message"]
    )


def test_re_running_the_first_cell_last_flags_only_that_cell(tmp_path):
    fs = lint(tmp_path, ("import os", 5), ("a = 1", 1), ("b = 2", 2), ("c = 3", 3), ("d = 4", 4))
    f = one(fs, "out-of-order")
    assert f["cell"] == 0 and f["message"] == "cell 1 ran (count 5) after cell 5 (count 4) below it"


def test_out_of_order_several_offenders(tmp_path):
    fs = lint(
        tmp_path,
        ("a = 1", 1),
        ("b = 2", 6),
        ("c = 3", 2),
        ("d = 4", 3),
        ("e = 5", 9),
        ("f = 6", 4),
        ("g = 7", 10),
    )
    got = of(fs, "out-of-order")
    assert [f["cell"] for f in got] == [1, 5]
    assert got[0]["message"] == "cell 2 ran (count 6) after cell 6 (count 4) below it"
    assert got[1]["message"] == "cell 6 ran (count 4) before cell 5 (count 9) above it"


def test_sklearn_utils_shuffle_and_resample(tmp_path):
    fs = lint(
        tmp_path,
        "from sklearn.utils import shuffle, resample\nX = shuffle([1, 2, 3])\nY = resample([1, 2], random_state=1)",
    )
    f = one(fs, "unseeded-random")
    assert f["line"] == 2 and "shuffle" in f["message"]


_SNIPPETS = [
    "import numpy as np",
    "x = np.random.rand(2)",
    "%time y = x",
    "!ls /data",
    "files = !ls",
    "np?",
    "print(x, y)",
    "def f(a):",
    "    return a + zz",
    "for i in range(2):",
    "    print(i)",
    "%%bash",
    "%%time",
    "df = pd.read_csv('/data/x.csv')",
    "import datetime",
    "print(datetime.datetime.now())",
    "from os.path import *",
    "class K:",
    "    a = 1",
    "try:",
    "    import no_such_xyz",
    "except ImportError:",
    "    pass",
    "x = (",
    ")",
    "'''",
    "lambda q: q + w",
    "[v for v in range(3)]",
    "%pip install foo",
    "",
    "   ",
    "# comment",
    "await something()",
    "x += 1",
    "del x",
    "if x:",
    "else:",
    "\\",
    "%run other.py",
    "%%capture out",
]


def test_any_cell_text_lints_without_crashing_and_lines_stay_in_the_cell(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    cell = st.lists(st.sampled_from(_SNIPPETS), min_size=0, max_size=8).map("\n".join)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(cell, min_size=1, max_size=5))
    def check(sources):
        nb = notebook(*sources)
        for f in static_findings(nb, tmp_path):
            assert f["kind"] in KINDS
            if f["line"] is not None:
                src = nb.cells[f["cell"]].source
                src = "".join(src) if isinstance(src, list) else src
                assert 1 <= f["line"] <= len(src.splitlines()), (f, src)

    check()


def test_a_kernel_python_that_is_gone_leaves_package_findings_to_the_run(tmp_path):
    fs = lint(
        tmp_path, "import no_such_mod_xyz\nprint(q)", python=str(tmp_path / "gone" / "python")
    )
    assert [f["kind"] for f in fs] == ["hidden-state"]


def test_injected_parameters_cell_is_not_never_executed(tmp_path):
    nb = notebook(("alpha = 1", 1), ("print(alpha, beta)", 2))
    injected = new_code_cell("# Parameters injected by jupyter-deploy\nalpha = 2\nbeta = 3")
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(1, injected)
    assert static_findings(nb, tmp_path) == []
