"""--explain-drift (issue 18): re-run a notebook with its packages as of its last change, with
uv and the real package index, and name the upgrade that changes each cell.

The demonstration notebook is saved as NumPy 1 and pandas 2 printed it (``9``, ``dtype: object``)
and committed to git on 2024-05-01; today's kernel has NumPy 2 and pandas 3. These tests build
real environments (uv, from its cache once the wheels are there) and start real kernels: about
a minute for the demonstration on this machine (two cores), seconds for the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from jdtest import file_digest, need

from jupyter_deploy import api, cli
from jupyter_deploy.errors import EnvironmentBuildError

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CELLS = [
    "import numpy as np\nimport pandas as pd",
    "np.int64(4) + 5",
    "pd.Series(['a', 'b'])",
    "print(np.arange(3).sum())",
    "print(2 + 2)",
]
SAVED_ON = "2024-05-01T12:00:00Z"


def _need_uv():
    from jupyter_deploy.check.explain import _uv

    try:
        _uv()
    except EnvironmentBuildError:
        need(False, "uv", "pip install uv")


def _saved_by_numpy1_pandas2(nb):
    nb.cells[1].outputs[0]["data"]["text/plain"] = "9"  # NumPy 1's scalar repr
    plain = nb.cells[2].outputs[0]["data"]
    plain["text/plain"] = plain["text/plain"].replace("dtype: str", "dtype: object")  # pandas 2
    nb.cells[3].outputs[0]["text"] = "4\n"  # a stale output: no library prints 3 as 4


def _commit(path: Path, when: str = SAVED_ON) -> None:
    git = shutil.which("git")
    need(git is not None, "git", "apt-get install git")
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    run = dict(cwd=path.parent, env=env, check=True, capture_output=True)
    subprocess.run([git, "init", "-q"], **run)
    subprocess.run([git, "add", path.name], **run)
    subprocess.run([git, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm",
                    "saved"], **run)


@pytest.fixture
def old_notebook(make_notebook, tmp_path):
    path = make_notebook(CELLS, name="old.ipynb", folder=tmp_path / "repo",
                         edit=_saved_by_numpy1_pandas2)
    _commit(path)
    return path


def test_explain_drift_names_the_upgrade_that_changes_each_cell(old_notebook, capsys):
    _need_uv()
    import numpy
    import pandas

    need(numpy.__version__.startswith("2.") and pandas.__version__ >= "3",
         "NumPy 2 and pandas 3 in the kernel", "uv pip install 'numpy>=2' 'pandas>=3'")
    before = file_digest(old_notebook)
    progress = []
    report = api.check(old_notebook)
    out = api.explain_drift(old_notebook, report=report,
                            progress=lambda *a: progress.append(a))
    assert file_digest(old_notebook) == before
    assert out["as_of"] == SAVED_ON and out["date_from"] == "its last git commit"
    assert out["cells"] == [1, 2, 3]
    # as of that date the NumPy 1 and pandas 2 outputs come back; the stale one does not
    assert out["packages"]["numpy"]["saved"].startswith("1.")
    assert out["packages"]["pandas"]["saved"].startswith("2.")
    assert out["verdict"] == "partly-library-drift"
    assert out["explained"] == {1: ["numpy"], 2: ["pandas"]}
    assert out["unexplained"] == [3]
    # pandas 3 needs NumPy 2: its upgrade was tried together with it, and still told apart
    with_numpy = next(t for t in out["trials"] if t["package"] == "pandas")
    assert {"pandas", "numpy"} <= with_numpy["upgrades"].keys() and with_numpy["changes"] == [1, 2]
    # three runs: as of the date, numpy upgraded, pandas upgraded with numpy (pandas alone does
    # not resolve, which costs a resolution, not a run)
    assert out["runs"] == 3 and len(out["trials"]) == 2
    assert "library drift" in out["summary"] and "cell 3 still differs" in out["summary"]
    assert any("building the environment with uv" in str(p) for p in progress)

    # asked again: from the cache, no environment and no kernel
    again = api.explain_drift(old_notebook, report=report)
    assert again["runs"] == 0 and again["explained"] == out["explained"]

    # the command line prints the same, and --json carries it
    code = cli.main(["check", str(old_notebook), "--explain-drift", "-q"])
    text = capsys.readouterr().out
    assert code == 1  # cell 3's stale output
    assert f"cell 1: changed by the upgrade of numpy {out['packages']['numpy']['saved']} -> " \
           f"{numpy.__version__}" in text
    assert f"cell 2: changed by the upgrade of pandas {out['packages']['pandas']['saved']} -> " \
           f"{pandas.__version__} (upgraded with numpy {numpy.__version__}" in text
    cli.main(["check", str(old_notebook), "--explain-drift", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["drift_explanation"]["explained"] == {"1": ["numpy"], "2": ["pandas"]}
    assert file_digest(old_notebook) == before


def test_no_environment_as_of_a_date_before_this_python_is_one_line(old_notebook):
    _need_uv()
    from jupyter_deploy.config import DeployConfig

    before = file_digest(old_notebook)
    report = api.check(old_notebook)
    with pytest.raises(EnvironmentBuildError) as exc:
        api.explain_drift(old_notebook, report=report, as_of="2015-01-01")
    line = exc.value.one_line()
    assert "\n" not in line
    assert line.startswith("No environment as of 2015-01-01 (the date given) can be built for "
                           "Python 3.")
    assert "Because" in line and "hint:" not in line
    assert "numpy" in line and "older Python" in exc.value.hint
    assert file_digest(old_notebook) == before
    home = DeployConfig().home_path
    assert not list((home / "tmp").rglob("drift-env-*"))  # nothing left in the temp folder
    # the resolver's answer is cached: asking again says the same without building anything
    entries = list((home / "cache" / "drift").glob("*.json"))
    assert len(entries) == 1 and "numpy" in json.loads(entries[0].read_text())["failed"]
    with pytest.raises(EnvironmentBuildError, match="No environment as of 2015-01-01"):
        api.explain_drift(old_notebook, report=report, as_of="2015-01-01")


def test_an_unreachable_index_is_one_line(old_notebook, monkeypatch):
    _need_uv()
    report = api.check(old_notebook)
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    with pytest.raises(EnvironmentBuildError) as exc:
        api.explain_drift(old_notebook, report=report)
    assert "cannot reach the package index" in exc.value.message
    assert "UV_INDEX_URL" in exc.value.hint
    # a network failure is not cached: the next try asks the index again
    from jupyter_deploy.config import DeployConfig

    assert not list((DeployConfig().cache_path / "drift").glob("*.json"))


def test_the_command_line_prints_the_check_then_the_one_line_error(old_notebook, monkeypatch,
                                                                   capsys):
    _need_uv()
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    before = file_digest(old_notebook)
    code = cli.main(["check", str(old_notebook), "--explain-drift", "-q"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "old.ipynb: ✘ not repeatable" in out and "format-drift" in out  # the check's answer
    errors = [ln for ln in err.splitlines() if "package index" in ln]
    assert len(errors) == 1 and errors[0].startswith("jupyter deploy: error: --explain-drift "
                                                     "cannot reach the package index")
    # with --json: one JSON object, the error inside it
    assert cli.main(["check", str(old_notebook), "--explain-drift", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["verdict"] == "not-repeatable"
    assert data["drift_explanation"]["error"]["code"] == "environment-build"
    assert file_digest(old_notebook) == before


def test_a_notebook_without_agreed_differences_needs_no_run(make_notebook):
    nb = make_notebook(["import numpy as np", "print(np.arange(3).sum())"])
    out = api.explain_drift(nb)
    assert out["verdict"] == "nothing-to-explain" and out["runs"] == 0
    assert "nothing to explain" in out["summary"]


def test_explain_drift_takes_one_notebook(make_notebook, tmp_path, capsys):
    make_notebook(["print(1)"], name="a.ipynb", execute=False)
    make_notebook(["print(2)"], name="b.ipynb", execute=False)
    assert cli.main(["check", str(tmp_path), "--explain-drift"]) == 2
    err = capsys.readouterr().err
    assert "--explain-drift explains one notebook at a time. -- Give one notebook path." in err
    assert "checking" not in err  # refused before any notebook was checked


def test_the_date_is_the_last_commit_else_saved_times_else_the_file(make_notebook, tmp_path):
    from jupyter_deploy.check.explain import notebook_date
    from jupyter_deploy.notebook import read

    path = make_notebook(["print(1)"], name="d.ipynb", folder=tmp_path / "repo", execute=False)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    assert notebook_date(path, read(path)) == ("2020-09-13T12:26:40Z", "the file's modification time")
    _commit(path, "2023-02-03T04:05:06Z")
    assert notebook_date(path, read(path)) == ("2023-02-03T04:05:06Z", "its last git commit")
    # changed since the commit: the commit no longer dates the outputs
    nb = json.loads(path.read_text())
    nb["cells"][0]["metadata"]["execution"] = {"iopub.status.idle": "2024-01-02T03:04:05.123Z",
                                               "shell.execute_reply": "2024-01-02T03:04:05.100Z"}
    path.write_text(json.dumps(nb))
    assert notebook_date(path, read(path)) == ("2024-01-02T03:04:05Z", "the execution times saved in it")


def test_an_error_from_a_removed_alias_is_explained_by_the_upgrade_and_its_dependencies(
    make_notebook, tmp_path
):
    # written for pandas 2.0 (freq='M', removed in pandas 3), committed 2023-06-01; the notebook
    # imports pandas only, and pandas 3 needs a NumPy the date does not have
    _need_uv()
    from nbformat.v4 import new_output

    def as_saved_by_pandas_2_0(nb):
        nb.cells[1].source = "pd.date_range('2013-01-01', periods=2, freq='M')"
        nb.cells[1].outputs = [new_output("execute_result", execution_count=2, data={
            "text/plain": "DatetimeIndex(['2013-01-31', '2013-02-28'], dtype='datetime64[ns]', "
                          "freq='M')"})]

    path = make_notebook(["import pandas as pd", "pd.Timestamp('2013-01-01')"], name="alias.ipynb",
                         folder=tmp_path / "repo", edit=as_saved_by_pandas_2_0)
    _commit(path, "2023-06-01T12:00:00Z")
    report = api.check(path)
    assert report["verdict"] == "not-repeatable"
    out = api.explain_drift(path, report=report)
    assert out["verdict"] == "library-drift" and out["packages"]["pandas"]["saved"] == "2.0.2"
    assert out["explained"] == {1: ["pandas"]}
    trial = out["trials"][0]
    assert trial["package"] == "pandas" and "numpy" in trial["upgrades"]  # not imported, needed
    from jupyter_deploy.check.explain import explanation_text

    assert "cell 1: changed by the upgrade of pandas 2.0.2 -> " in explanation_text(out)
