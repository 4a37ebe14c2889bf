"""Issue 18, repeatability truth: each case mimics one seen on real-world notebooks, reproduced
here with a real kernel on a small notebook of our own.

Every test that hands a notebook to the check also asserts the file is unchanged.
"""

from __future__ import annotations

import json

import pytest

from jdtest import file_digest

from jupyter_deploy import api, cli
from jupyter_deploy.errors import KernelError

pytestmark = pytest.mark.kernel


def kinds(report):
    return [f["kind"] for f in report["findings"]]


def by_kind(report, kind):
    return [f for f in report["findings"] if f["kind"] == kind]


# ------------------------------------------------------------------ 1. keep going after errors


def test_the_run_keeps_going_and_lists_every_failing_cell(make_notebook):
    # A tutorial whose author deleted two defining cells after running them; a later cell's
    # saved output is stale too. The first error used to hide everything after it.
    def delete_definitions(nb):
        del nb.cells[2]  # rate = 0.5
        del nb.cells[0]  # prices = [...]
        nb.cells[-1].outputs[0]["text"] = "total 10\n"  # stale saved output

    nb = make_notebook(
        [
            "prices = [1, 2, 3]",
            "print(sum(prices))",
            "rate = 0.5",
            "print(rate * 2)",
            "print('total', 3 * 3)",
        ],
        edit=delete_definitions,
    )
    before = file_digest(nb)
    report = api.check(nb)
    assert file_digest(nb) == before
    errors = by_kind(report, "execution-error")
    assert [e["cell"] for e in errors] == [0, 1]
    assert report["failed_cells"] == [0, 1]
    assert report["cells_run"] == 3  # every cell was run
    assert report["reasons"][0].startswith("cell 1 raised NameError")  # the headline
    # the cell after the errors was still checked, and its stale output is found
    diff = next(f for f in report["findings"] if f["kind"] == "output-diff")
    assert diff["cell"] == 2 and "10 -> 9" in diff["message"]
    # the failing cells are not reported a second time as output differences
    assert not [f for f in report["findings"] if f["kind"] == "output-diff" and f["cell"] in (0, 1)]


def test_an_error_that_reproduces_the_saved_one_is_a_warning(make_notebook):
    # A teaching notebook that shows an error on purpose.
    nb = make_notebook(
        [
            "def age(n):\n    if n < 0:\n        raise ValueError(f'no negative ages: {n}')\n    return n",
            "age(-1)",
            "print(age(3))",
        ]
    )
    report = api.check(nb)
    assert report["verdict"] == "repeatable-with-warnings", report["findings"]
    expected = by_kind(report, "expected-error")
    assert len(expected) == 1 and expected[0]["cell"] == 1
    assert expected[0]["severity"] == "warning"
    assert "as in the saved notebook" in expected[0]["message"]
    assert report["failed_cells"] == []


def test_an_error_that_differs_from_the_saved_one_is_a_failure(make_notebook):
    def other_error(nb):
        err = nb.cells[0].outputs[0]
        err["evalue"] = "no negative ages: -2"

    nb = make_notebook(["raise ValueError('no negative ages: -1')"], edit=other_error)
    report = api.check(nb)
    assert report["verdict"] == "not-repeatable"
    assert kinds(report).count("execution-error") == 1


def test_outputs_compared_is_false_when_nothing_was_saved(make_notebook):
    nb = make_notebook(["x = 1", "print(x)"], execute=False)
    report = api.check(nb)
    assert report["outputs_compared"] is False
    assert report["verdict"] == "repeatable-with-warnings"  # never-executed, statically
    nb2 = make_notebook(["print(2)"], name="saved.ipynb")
    assert api.check(nb2)["outputs_compared"] is True


def test_two_runs_list_each_error_once(make_notebook):
    nb = make_notebook(["print(undefined_name)", "print(1)"], execute=False)
    report = api.check(nb, runs=2)
    assert kinds(report).count("execution-error") == 1
    assert report["runs"] == 2


# ------------------------------------------------------------------------ 2. kernel override


def _python2_notebook(make_notebook, name="old.ipynb"):
    def python2(nb):
        nb.metadata["kernelspec"] = {"name": "python2", "display_name": "Python 2", "language": "python"}

    return make_notebook(
        ["import random", "print(sum(range(4)))", "print(random.random() < 2)"],
        edit=python2,
        name=name,
    )


def test_a_missing_kernel_gets_a_verdict_with_static_findings(make_notebook):
    nb = _python2_notebook(make_notebook)
    before = file_digest(nb)
    report = api.check(nb)
    assert file_digest(nb) == before
    assert report["verdict"] == "not-repeatable"
    missing = by_kind(report, "kernel-missing")
    assert len(missing) == 1
    assert "'python2' is not installed" in missing[0]["message"]
    assert "--kernel python3" in missing[0]["hint"]
    # never the advice to register a Python 3 kernel under the name python2
    assert "ipykernel install" not in missing[0]["hint"]
    assert "unseeded-random" in kinds(report)  # the static findings are still there
    assert report["cells_run"] == 0 and report["outputs_compared"] is False
    assert report["reasons"][0].startswith("the notebook's kernel 'python2'")


def test_kernel_override_runs_the_notebook_with_another_kernel(make_notebook):
    nb = _python2_notebook(make_notebook)
    before = file_digest(nb)
    report = api.check(nb, kernel="python3")
    assert file_digest(nb) == before
    assert report["kernel"] == "python3"
    assert "kernel-missing" not in kinds(report)
    assert report["cells_run"] == 3 and report["outputs_compared"] is True
    assert report["verdict"] == "repeatable-with-warnings", report["findings"]


def test_kernel_override_on_the_command_line(make_notebook, capsys):
    nb = _python2_notebook(make_notebook)
    code = cli.main(["check", str(nb), "--kernel", "python3", "--json", "--no-cache"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["kernel"] == "python3"
    code = cli.main(["check", str(nb), "--json", "--no-cache"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["verdict"] == "not-repeatable"


def test_an_unknown_kernel_override_is_an_error(make_notebook):
    nb = _python2_notebook(make_notebook)
    before = file_digest(nb)
    with pytest.raises(KernelError, match="'no-such-kernel' is not installed") as exc:
        api.check(nb, kernel="no-such-kernel")
    assert "--kernel python3" in exc.value.hint
    assert file_digest(nb) == before


def test_kernel_is_a_config_trait():
    from jupyter_deploy.config import DeployConfig

    trait = DeployConfig.class_traits()["kernel"]
    assert trait.metadata.get("config") and "python2" in trait.help


# ------------------------------------------------- 3. masking that cannot hide a change


DATED_CELLS = [
    "import datetime\nstart = datetime.date(2013, 1, 1)\n"
    "days = [start + datetime.timedelta(days=d) for d in range(3)]\nprint(days)",
    "print('sales on', days[1].isoformat(), 'were', 120)",
    "print('checked at', datetime.datetime.now())",
]


def test_a_date_shifted_by_decades_is_reported_with_the_part_that_differs(make_notebook):
    def to_1970(nb):
        nb.cells[0].source = nb.cells[0].source.replace("2013", "1970")

    untouched = make_notebook(DATED_CELLS, name="dates.ipynb")
    report = api.check(untouched)
    # the wall clock cell varies (it prints now): masked; the data's dates do not vary
    assert report["verdict"] == "repeatable-with-warnings", report["findings"]
    assert kinds(report) == ["wall-clock"]

    shifted = make_notebook(DATED_CELLS, name="shifted.ipynb", edit=to_1970)
    before = file_digest(shifted)
    report = api.check(shifted)
    assert file_digest(shifted) == before
    assert report["verdict"] == "not-repeatable"
    diffs = by_kind(report, "output-diff")
    assert [d["cell"] for d in diffs] == [0, 1]
    assert "2013 -> 1970" in diffs[1]["message"]
    assert "2013-01-02" in diffs[1]["diff"] and "1970-01-02" in diffs[1]["diff"]
    assert "<DATE" not in diffs[1]["message"] and "<DATE" not in diffs[0]["diff"]


def test_mask_pair_masks_a_date_only_where_it_varies():
    import datetime

    from jupyter_deploy.check.masks import mask_pair, near_now

    old, new = "dates 2013-01-05, 2013-01-06", "dates 1970-01-05, 1970-01-06"
    assert mask_pair(old, new) == (old, new)
    now = datetime.datetime.now()
    a, b = mask_pair("made 2025-03-01 09:00:00", f"made {now}")
    assert a == b == "made <DATETIME>"
    # two clean runs that disagree on a date: it varies, whatever it is
    a, b = mask_pair("run at 2013-01-05 10:00", "run at 2013-01-06 11:00", between_runs=True)
    assert a == b
    # the same old date on both sides is left as it is (nothing to hide)
    assert mask_pair("since 2013-01-05", "since 2013-01-05") == ("since 2013-01-05",) * 2
    assert near_now(now.strftime("%H:%M:%S")) and near_now(now.strftime("%b %d, %Y"))
    assert not near_now("Jan 5, 1970") and not near_now("datetime.date(2013, 1, 5)")
    assert near_now(str(now.timestamp())) and not near_now("1357380000.5")


# --------------------------------------------------------------------- 4. value vs format

OLD_LIBRARY_CELLS = [
    "import numpy as np\nnp.int64(4) + 5",
    "np.float64(1.25) * 2",
    "import pandas as pd\npd.Series(['a', 'b'])",
    "pd.Index([1, 2, 3])",
    "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\nplt.figure().gca()",
    "print(round(1 / 3, 6))",
]


def _as_saved_by_old_libraries(nb, value_change=False):
    """The outputs NumPy 1, pandas 1 and matplotlib 3.5 printed for the same values, on an
    older Python."""
    def plain(i):
        return nb.cells[i].outputs[-1]["data"]

    plain(0)["text/plain"] = "10" if value_change else "9"
    plain(1)["text/plain"] = "2.5"
    plain(2)["text/plain"] = plain(2)["text/plain"].replace("dtype: str", "dtype: object")
    plain(3)["text/plain"] = "Int64Index([1, 2, 3], dtype='int64')"
    plain(4)["text/plain"] = "<matplotlib.axes._subplots.AxesSubplot at 0x7f3a1c2b4d60>"
    nb.cells[5].outputs[0]["text"] = "0.333\n"  # printed with a display precision of 3
    nb.metadata["language_info"] = {"name": "python", "version": "3.8.5"}


def test_display_only_drift_is_a_grouped_warning_naming_the_library(make_notebook):
    nb = make_notebook(OLD_LIBRARY_CELLS, edit=_as_saved_by_old_libraries)
    before = file_digest(nb)
    report = api.check(nb)
    assert file_digest(nb) == before
    assert report["verdict"] == "repeatable-with-warnings", report["reasons"]
    drift = by_kind(report, "format-drift")
    assert all(f["severity"] == "warning" for f in drift)
    numpy = next(f for f in drift if f["library"] == "numpy")
    assert numpy["cells"] == [0, 1]  # one line for the notebook, not one per output
    assert "'9' -> 'np.int64(9)'" in numpy["message"]
    assert "saved with python 3.8.5" in numpy["message"]
    libraries = {f["library"] for f in drift}
    assert {"numpy", "pandas", "matplotlib", "display precision"} <= libraries
    assert any("dtype: object" in f["message"] and "dtype: str" in f["message"] for f in drift)
    assert any("Int64Index" in f["message"] for f in drift)
    # the reasons: one line per kind of drift, never "hidden state"
    assert len([r for r in report["reasons"] if "print differently" in r]) == len(drift)
    assert not any("hidden state" in f["hint"] for f in drift)


def test_a_value_change_next_to_drift_stays_an_error(make_notebook):
    nb = make_notebook(
        OLD_LIBRARY_CELLS, edit=lambda nb: _as_saved_by_old_libraries(nb, value_change=True)
    )
    report = api.check(nb, runs=2)
    assert report["verdict"] == "not-repeatable"
    err = by_kind(report, "output-diff")
    assert [f["cell"] for f in err] == [0]
    assert "10" in err[0]["message"] and "np.int64(9)" in err[0]["message"]
    assert {f["library"] for f in by_kind(report, "format-drift")} >= {"pandas", "matplotlib"}


# ------------------------------------------------------------------------ 5. a cause or none


def _saved_as_run_in(order):
    """An edit: execution counts as if the author ran the cells in ``order``."""
    def edit(nb):
        code = [c for c in nb.cells if c.cell_type == "code"]
        for count, i in enumerate(order, start=1):
            code[i].execution_count = count
            for out in code[i].outputs:
                if "execution_count" in out:
                    out["execution_count"] = count
    return edit


def test_rounding_explains_a_difference_only_when_it_could_be_display_precision():
    from jupyter_deploy.check.drift import format_drift

    # a display precision change: every number, one way
    assert format_drift("0.333 0.667\n", "0.333333 0.666667\n")["rules"] == [
        ("float formatting", "display precision")]
    # an integer is no float rounded to no decimals: 2 -> 2.4 is a new value
    assert format_drift("2\n", "2.4\n") is None
    # numbers rounded both ways in one output: no one precision setting prints that
    assert format_drift("0.33 0.6667\n", "0.3333 0.67\n") is None


def test_a_random_value_that_rounds_to_the_saved_one_is_still_a_difference(make_notebook):
    """An unseeded random printed as 0.54 where the notebook saved 0.5: rounding would call it
    display precision, but the cell draws unseeded random numbers, which explain a new value
    better than a library's print settings do."""
    def saved_half(nb):
        nb.cells[0].outputs[0]["text"] = "0.5\n"

    nb = make_notebook(["import random\nx = random.random()\nprint(0.54)"], edit=saved_half)
    report = api.check(nb)
    assert report["verdict"] == "not-repeatable", report["findings"]
    diff = by_kind(report, "output-diff")
    assert [f["cell"] for f in diff] == [0] and not by_kind(report, "format-drift")
    assert by_kind(report, "unseeded-random")
    # the same rounding in a cell with nothing random is display precision
    nb = make_notebook(["x = 0.54\nprint(x)"], edit=saved_half, name="plain.ipynb")
    report = api.check(nb)
    assert report["verdict"] == "repeatable-with-warnings", report["findings"]
    assert by_kind(report, "format-drift")


def test_a_library_removal_message_is_library_drift_not_out_of_order(make_notebook):
    # pandas 3 removed the 'M' alias; the author's session had run the cells out of order.
    def saved_with_old_pandas(nb):
        _saved_as_run_in([0, 2, 1, 3])(nb)
        from nbformat.v4 import new_output

        nb.cells[3].outputs = [new_output(
            "execute_result", execution_count=4,
            data={"text/plain": "DatetimeIndex(['2013-01-31', '2013-02-28', '2013-03-31'], "
                                "dtype='datetime64[ns]', freq='M')"},
        )]
        nb.cells[3].source = nb.cells[3].source.replace("'ME'", "'M'")  # as written for pandas 1

    nb = make_notebook(
        ["import pandas as pd", "start = '2013-01-01'", "periods = 3",
         "pd.date_range(start, periods=periods, freq='ME')"],
        edit=saved_with_old_pandas,
    )
    report = api.check(nb)
    assert "out-of-order" in kinds(report)
    err = by_kind(report, "execution-error")[0]
    assert "'M' is no longer supported" in err["message"]
    assert err["causes"][0]["kind"] == "library-drift"
    assert "pandas" in err["causes"][0]["message"]
    assert "library drift" in report["reasons"][0] and "out-of-order" not in report["reasons"][0]
    assert "pin the version" in err["hint"]


def test_a_difference_every_clean_run_agrees_on_is_not_blamed_on_randomness(make_notebook):
    def stale(nb):
        nb.cells[2].outputs[0]["text"] = "11\n"

    nb = make_notebook(
        ["import random", "values = [random.random() for _ in range(3)]\nlen(values)",
         "print(len(values) + 7)"],
        edit=stale,
    )
    report = api.check(nb, runs=2)
    diff = by_kind(report, "output-diff")[0]
    assert diff["cell"] == 2 and "every clean run agrees" in diff["message"]
    assert "causes" not in diff and diff["cause_unknown"]
    assert any("unseeded-random" in r and "every clean run agrees" in r for r in diff["ruled_out"])
    assert "cause unknown" in report["reasons"][0] and "likely cause" not in report["reasons"][0]


def test_a_cause_needs_a_data_flow_path(make_notebook):
    def stale(nb):
        nb.cells[2].outputs[0]["text"] = "5\n"

    nb = make_notebook(
        ["import random", "r = random.random()", "print(2 + 2)", "print(r)"], edit=stale
    )
    report = api.check(nb)
    diffs = {f["cell"]: f for f in by_kind(report, "output-diff")}
    # cell 2 reads nothing cell 1 made: randomness is ruled out, not blamed
    assert "causes" not in diffs[2]
    assert any("nothing flows from it to cell 3" in r for r in diffs[2]["ruled_out"])
    # cell 3 prints what cell 1 drew: that is the cause, with its cell
    assert diffs[3]["causes"][0] == {**diffs[3]["causes"][0], "kind": "unseeded-random", "cell": 1}


def test_timing_outputs_are_judged_as_timing_never_as_randomness(make_notebook):
    nb = make_notebook(
        [
            "import random\nnoise = random.random()",
            "import time\nt0 = time.perf_counter()\nx = sum(range(200000)) + noise\n"
            "print('took', round(time.perf_counter() - t0, 9))",
            "%timeit -n 2 -r 3 sum(range(1000))",
        ]
    )
    report = api.check(nb, runs=2)
    timed = [f for f in report["findings"] if f["cell"] == 1 and f["severity"] == "error"]
    assert timed and all(f["causes"][0]["kind"] == "timing" for f in timed)
    assert all("seed" not in f["hint"] for f in timed)
    assert not [f for f in report["findings"] if f["cell"] == 2 and f["severity"] == "error"]


def test_timeit_slowest_run_line_is_masked():
    from jupyter_deploy.check.masks import mask

    a = "The slowest run took 5.23 times longer than the fastest. This could mean that an intermediate result is being cached.\n"
    b = "The slowest run took 7.01 times longer than the fastest. This could mean that an intermediate result is being cached.\n"
    assert mask(a) == mask(b) == ""  # printed on some runs only: dropped, not replaced
    assert mask(a + "1.2 µs ± 3 ns per loop (mean ± std. dev. of 7 runs, 1 loop each)\n") == \
        mask("1.3 µs ± 3 ns per loop (mean ± std. dev. of 7 runs, 1 loop each)\n")


# ------------------------------------------------------------------------------- 6. images

PLOT = (
    "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
    "import matplotlib.pyplot as plt\nimport numpy as np\n"
    "{dpi}xs = np.linspace(0, 6, 60)\nplt.plot(xs, np.{fn}(xs))\nplt.title('wave')\nplt.show()"
)


def _plot_saved_at_dpi(make_notebook, name, clean_fn="sin"):
    """A plot saved by a session whose figure DPI was 50; the notebook now plots ``clean_fn``
    with the default DPI."""
    def now(nb):
        nb.cells[0].source = PLOT.format(dpi="", fn=clean_fn)

    return make_notebook([PLOT.format(dpi="plt.rcParams['figure.dpi'] = 50\n", fn="sin")], name=name, edit=now)


def test_the_same_plot_at_another_dpi_is_drift(make_notebook):
    need_pillow()
    nb = _plot_saved_at_dpi(make_notebook, "dpi.ipynb")
    before = file_digest(nb)
    report = api.check(nb)
    assert file_digest(nb) == before
    assert report["verdict"] == "repeatable-with-warnings", report["findings"]
    drift = by_kind(report, "format-drift")
    assert len(drift) == 1 and drift[0]["library"] == "matplotlib"
    assert "figure size/DPI" in drift[0]["message"]
    assert not by_kind(report, "output-diff")


def test_another_plot_at_another_dpi_is_still_a_difference(make_notebook):
    need_pillow()
    nb = _plot_saved_at_dpi(make_notebook, "cos.ipynb", clean_fn="cos")
    report = api.check(nb)
    assert report["verdict"] == "not-repeatable"
    diff = by_kind(report, "output-diff")
    assert len(diff) == 1 and diff[0]["mime"] == "image/png" and "size" in diff[0]["message"]


def test_images_one_pixel_wider_compare_as_the_same_picture():
    need_pillow()
    from PIL import Image, ImageDraw

    from jupyter_deploy.check.compare import _same_picture

    def chart(w, h, up=True):
        img = Image.new("RGB", (w, h), "white")
        d = ImageDraw.Draw(img)
        d.line([(0, h - 1), (w - 1, 0)] if up else [(0, 0), (w - 1, h - 1)], fill="blue", width=max(1, w // 100))
        d.rectangle([w // 10, h // 10, w // 4, h // 4], fill="black")
        return img

    assert _same_picture(chart(1227, 470), chart(1228, 470))
    assert _same_picture(chart(640, 480), chart(1280, 960))
    assert not _same_picture(chart(640, 480), chart(1280, 960, up=False))
    assert not _same_picture(chart(640, 480), chart(640, 400))  # another aspect: another figure


def need_pillow():
    import importlib.util

    from jdtest import need

    need(importlib.util.find_spec("PIL") is not None, "pillow", "uv pip install pillow")


# ------------------------------------------------------------- 7. printed version strings

VERSION_CELLS = [
    "import numpy as np\nimport pandas as pd\nprint('pandas', pd.__version__)",
    "np.__version__",
    "pd.Series(['a', 'b'])",
    "totals = pd.Series([1, 2, 3])\nprint('total', totals.sum())",
    "print('done', 2 + 2)",
]


def _saved_with_older_versions(value_change=False):
    def edit(nb):
        nb.cells[0].outputs[0]["text"] = "pandas 2.2.3\n"
        nb.cells[1].outputs[0]["data"]["text/plain"] = "'1.26.4'"
        plain = nb.cells[2].outputs[0]["data"]
        plain["text/plain"] = plain["text/plain"].replace("dtype: str", "dtype: object")
        if value_change:
            nb.cells[3].outputs[0]["text"] = "total 7\n"
            nb.cells[4].outputs[0]["text"] = "done 5\n"
    return edit


def test_printed_versions_are_version_drift_naming_both_versions(make_notebook):
    import numpy
    import pandas

    nb = make_notebook(VERSION_CELLS, edit=_saved_with_older_versions())
    before = file_digest(nb)
    report = api.check(nb)
    assert file_digest(nb) == before
    assert report["verdict"] == "repeatable-with-warnings", report["reasons"]
    assert not by_kind(report, "output-diff")
    drift = {f["library"]: f for f in by_kind(report, "version-drift")}
    assert set(drift) == {"pandas", "numpy"}
    assert drift["pandas"]["severity"] == "warning" and drift["pandas"]["cell"] == 0
    assert f"pandas 2.2.3 -> {pandas.__version__}" in drift["pandas"]["message"]
    assert f"numpy 1.26.4 -> {numpy.__version__}" in drift["numpy"]["message"]
    assert any(f"pandas 2.2.3 -> {pandas.__version__}" in r for r in report["reasons"])
    # the format drift of the same notebook names the version change as its evidence
    fmt = next(f for f in by_kind(report, "format-drift") if f["library"] == "pandas")
    assert f"pandas 2.2.3 -> {pandas.__version__} (printed in cell 0)" in fmt["message"]


def test_printed_versions_are_evidence_for_a_value_change_in_a_cell_using_the_library(make_notebook):
    import pandas

    nb = make_notebook(VERSION_CELLS, edit=_saved_with_older_versions(value_change=True))
    report = api.check(nb, runs=2)
    assert report["verdict"] == "not-repeatable"
    diffs = {f["cell"]: f for f in by_kind(report, "output-diff")}
    assert set(diffs) == {3, 4}
    cause = diffs[3]["causes"][0]
    assert cause["kind"] == "library-drift" and cause["cell"] == 0
    assert f"pandas 2.2.3 -> {pandas.__version__}" in cause["message"]
    assert "--explain-drift" in diffs[3]["hint"]
    # cell 4 uses no library: the versions are not evidence for it
    assert "causes" not in diffs[4] and diffs[4]["cause_unknown"]
    assert "library drift" in report["reasons"][0]


def test_version_strings_are_found_by_name_or_by_the_code_that_prints_them():
    from jupyter_deploy.check.drift import version_drift

    aliases = {"np": "numpy", "pd": "pandas", "sklearn": "sklearn"}
    vd = version_drift("numpy     : 1.26.4\npandas    : 2.2.3", "numpy     : 2.4.6\npandas    : 2.2.3",
                       "%watermark -p numpy,pandas", aliases)
    assert vd == {"versions": [("numpy", "1.26.4", "2.4.6")], "only": True}
    vd = version_drift("scikit-learn==1.4.2", "scikit-learn==1.6.1", "", aliases)
    assert vd["versions"] == [("sklearn", "1.4.2", "1.6.1")]
    vd = version_drift("1.4.2 (100, 3)", "1.6.1 (100, 4)", "print(sklearn.__version__, X.shape)", aliases)
    assert vd["versions"] == [("sklearn", "1.4.2", "1.6.1")] and vd["only"] is False
    # a number printed next to the version stays a number: its change is not hidden
    vd = version_drift("1.26.4 0.5", "2.4.6 0.6", "print(np.__version__, x.mean())", aliases)
    assert vd == {"versions": [("numpy", "1.26.4", "2.4.6")], "only": False}
    vd = version_drift("0.5 1.26.4", "0.6 2.4.6", "print(x.mean(), np.__version__)", aliases)
    assert vd == {"versions": [("numpy", "1.26.4", "2.4.6")], "only": False}
    assert version_drift("'2.2'", "'3.0'", "pd.__version__", aliases)["only"] is True
    # a number that is not a library's version is not one
    assert version_drift("time 1.25", "time 1.31", "print('time', t)", {"time": "time"}) is None
    assert version_drift("price 2.50", "price 3.10", "print('price', p)", aliases) is None
