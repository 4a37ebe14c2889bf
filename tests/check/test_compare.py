"""Output comparison, saved vs clean run and clean run vs clean run.

Most tests build saved/clean notebook pairs with nbformat directly; the tests marked ``kernel``
execute notebooks for real with nbclient, twice, and compare the runs.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import time

import nbformat
import pytest
from jdtest import need, need_module
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_deploy.check.compare import compare_notebooks, compare_runs, diff_text

# ------------------------------------------------------------------------------------ helpers


def nb_of(*cells):
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = list(cells)
    return nb


def code(source="x", *outputs, tags=None):
    cell = new_code_cell(source)
    cell.outputs = list(outputs)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def stdout(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def result(data, count=1):
    if isinstance(data, str):
        data = {"text/plain": data}
    return new_output("execute_result", data=data, execution_count=count)


def display(data):
    return new_output("display_data", data=data)


def error(ename, evalue):
    return new_output(
        "error",
        ename=ename,
        evalue=evalue,
        traceback=[f"{ename}: {evalue}", "Traceback (most recent call last)"],
    )


def png(width=100, height=100, color=(255, 255, 255), pixels=(), fmt="PNG"):
    from PIL import Image

    img = Image.new("RGB", (width, height), color)
    for xy, value in pixels:
        img.putpixel(xy, value)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return base64.b64encode(buf.getvalue()).decode("ascii")


def one(findings, kind="output-diff"):
    assert len(findings) == 1, [f["message"] for f in findings]
    f = findings[0]
    assert f["kind"] == kind
    json.dumps(f)  # every finding is JSON-serialisable
    return f


def pair(saved_outputs, clean_outputs, **kw):
    return compare_notebooks(
        nb_of(code("x", *saved_outputs)), nb_of(code("x", *clean_outputs)), **kw
    )


# ---------------------------------------------------------------------------- basic behaviour


def test_identical_notebooks_give_no_finding():
    nb = nb_of(new_markdown_cell("# t"), code("print(1)", stdout("1\n")), code("x", result("42")))
    assert compare_notebooks(nb, nb) == []


def test_volatile_parts_give_no_finding():
    # issue 18: a date is masked only where it varies; the clean run's is the clock's (now)
    import datetime

    saved = [
        stdout(
            "<object object at 0x7f3a1c2b4d60>\nstarted 2026-11-27 10:54:40.123456\ntook 1.23 s\n"
        ),
        result("<__main__.Model at 0x7f3a1c2b4d60>", count=4),
    ]
    clean = [
        stdout(
            f"<object object at 0x7f99aa0b1e30>\nstarted {datetime.datetime.now()}\ntook 0.98 s\n"
        ),
        result("<__main__.Model at 0x7f1111111110>", count=2),
    ]
    assert pair(saved, clean) == []


def test_changed_number_is_reported_with_values_and_unified_diff():
    nb_saved = nb_of(new_markdown_cell("m"), code("a", result("accuracy 0.8312\nn=3")))
    nb_clean = nb_of(new_markdown_cell("m"), code("a", result("accuracy 0.8297\nn=3")))
    f = one(compare_notebooks(nb_saved, nb_clean))
    assert f["cell"] == 1  # index among all cells
    assert f["severity"] == "error" and f["line"] is None and f["mime"] == "text/plain"
    assert f["message"] == "cell 2: text/plain output differs (1 line; values 0.8312 -> 0.8297)"
    assert f["diff"].startswith("--- saved\n+++ clean\n")
    assert "-accuracy 0.8312" in f["diff"] and "+accuracy 0.8297" in f["diff"]
    assert "seed" in f["hint"]
    assert f["saved"] == "accuracy 0.8312\nn=3" and f["clean"] == "accuracy 0.8297\nn=3"


@pytest.mark.parametrize(
    "a,b,equal",
    [
        ("0.8312", "0.83120000001", True),
        ("0.8312", "0.9312", False),
        ("0.8312", "0.8312001", True),  # relative difference 1.2e-7
        ("0.8312", "0.831201", False),  # relative difference 1.2e-6
        ("1e-7", "1.0000001e-07", True),
        ("1000000.0", "1000000.5", True),  # relative 5e-7
        ("0.0", "1e-13", True),  # tiny absolute tolerance
        ("0.0", "1e-9", False),
        ("10", "11", False),  # integers compare exactly
        ("1000000", "1000001", False),
        ("1", "1.0", False),  # an int turned float is a difference
        ("-0.5", "-0.5000000001", True),
        ("nan", "nan", True),
        ("[0.1 0.25]", "[0.1  0.25]", True),  # column alignment
        ("version 1.26.4", "version 1.26.5", False),
    ],
)
def test_float_tolerance_edges(a, b, equal):
    assert (diff_text(a, b, 1e-6) is None) is equal


def test_float_tolerance_is_configurable():
    saved, clean = [result("score 0.8312")], [result("score 0.8297")]
    assert len(pair(saved, clean)) == 1
    assert pair(saved, clean, float_tol=1e-2) == []


def test_lines_in_another_order_are_explained():
    f = one(pair([stdout("apple\nbanana\ncherry\n")], [stdout("cherry\napple\nbanana\n")]))
    assert "same lines in a different order" in f["message"]
    assert "PYTHONHASHSEED" in f["hint"] and "sorted" in f["hint"]
    assert f["cause"] == "unordered-iteration"
    assert f["mime"] == "stream:stdout"


def test_set_items_in_another_order_are_explained():
    f = one(pair([result("{'b', 'a', 'c'}")], [result("{'c', 'b', 'a'}")]))
    assert "same items in a different order" in f["message"]


def test_text_change_names_the_lines():
    f = one(
        pair([stdout("loaded 10 rows\nstatus: ok\n")], [stdout("loaded 10 rows\nstatus: failed\n")])
    )
    assert "'status: ok' -> 'status: failed'" in f["message"]
    assert "-status: ok" in f["diff"] and "+status: failed" in f["diff"]


def test_stdout_split_over_several_stream_outputs_is_one_text():
    saved = [stdout("a\nb\n")]
    clean = [stdout("a\n"), stdout("b\n")]
    assert pair(saved, clean) == []


def test_carriage_return_progress_bars_compare_final_state():
    saved = [
        stdout(
            "  0%|     | 0/5 [00:00<?, ?it/s]\r100%|#####| 5/5 [00:00<00:00, 812.3it/s]\n", "stderr"
        )
    ]
    clean = [
        stdout(
            "\r 40%|##   | 2/5 [00:00<00:00, 5.1it/s]\r100%|#####| 5/5 [00:01<00:00, 3.20it/s]\n",
            "stderr",
        )
    ]
    assert pair(saved, clean) == []
    unfinished = [stdout("\r 40%|##   | 2/5 [00:00<00:00, 5.1it/s]\n", "stderr")]
    f = one(pair(saved, unfinished))
    assert f["mime"] == "stream:stderr"


def test_stderr_warnings_are_tolerated_but_other_stderr_is_compared():
    warning = "/tmp/ipykernel_77/123.py:2: FutureWarning: the default changes\n  df.mean()\n"
    assert pair([stdout(warning + "INFO ok\n", "stderr")], [stdout("INFO ok\n", "stderr")]) == []
    assert (
        pair([stdout(warning, "stderr")], []) == []
    )  # a saved warning the clean run does not print
    f = one(pair([stdout("INFO ok\n", "stderr")], [stdout("ERROR disk full\n", "stderr")]))
    assert f["mime"] == "stream:stderr" and "disk full" in f["message"]


def test_one_more_output_is_a_difference():
    f = one(pair([result("1")], [display({"text/plain": "extra"}), result("1")]))
    assert "number of outputs differs" in f["message"] and "1 -> 2" in f["message"]
    assert "1 more output" in f["message"]
    f = one(
        pair(
            [stdout("x\n"), display({"image/png": png()}), result("1")],
            [stdout("x\n"), result("1")],
        )
    )
    assert "image/png" in f["message"] and "missing from the clean run" in f["message"]


def test_saved_output_missing_from_clean_run():
    f = one(pair([stdout("hello\n")], []))
    assert "only in the saved notebook" in f["message"]


def test_cells_without_saved_outputs_are_not_compared():
    saved = nb_of(code("print(1)"), code("print(2)", stdout("2\n")))
    clean = nb_of(code("print(1)", stdout("1\n")), code("print(2)", stdout("2\n")))
    assert compare_notebooks(saved, clean) == []


def test_cells_argument_limits_the_comparison():
    saved = nb_of(code("a", stdout("1\n")), code("b", stdout("2\n")), code("c", stdout("3\n")))
    clean = nb_of(code("a", stdout("1\n")), code("b", error("ValueError", "bad")), code("c"))
    assert [f["cell"] for f in compare_notebooks(saved, clean)] == [1, 2]
    assert [f["cell"] for f in compare_notebooks(saved, clean, cells=range(2))] == [1]
    assert compare_notebooks(saved, clean, cells=[0]) == []


def test_deploy_magic_cells_are_not_compared():
    saved = nb_of(code("%deploy model clf --name churn", stdout("Deployed churn v3 to /models\n")))
    clean = nb_of(
        code("%deploy model clf --name churn", stdout("%deploy skipped during the clean run\n"))
    )
    assert compare_notebooks(saved, clean) == []


def test_injected_parameter_cell_does_not_shift_cells():
    saved = nb_of(code("n = 1", tags=["parameters"]), code("print(n)", stdout("1\n")))
    clean = nb_of(
        code("n = 1", tags=["parameters"]),
        code("n = 1", tags=["injected-parameters"]),
        code("print(n)", stdout("2\n")),
    )
    f = one(compare_notebooks(saved, clean))
    assert f["cell"] == 1


# --------------------------------------------------------------------------------- rich types


@functools.cache
def _frame_html(value="x", score=0.5):
    pd = need_module("pandas")
    df = pd.DataFrame({"name": ["a", "b"], "score": [0.25, score], "label": ["p", value]})
    return df.to_html()


def test_html_table_with_a_changed_cell_names_the_cell():
    f = one(
        pair(
            [result({"text/html": _frame_html("x"), "text/plain": "df"})],
            [result({"text/html": _frame_html("y"), "text/plain": "df"})],
        )
    )
    assert f["mime"] == "text/html"
    assert "table differs" in f["message"]
    assert "'x' -> 'y'" in f["message"] and "row '1'" in f["message"]
    assert "1 | b | 0.50 | x" in f["saved"] and "1 | b | 0.50 | y" in f["clean"]


def test_html_tables_compare_floats_with_tolerance_and_ignore_markup():
    a = _frame_html(score=0.5)
    b = _frame_html(score=0.5000000001).replace(
        'class="dataframe"', 'class="dataframe" id="T_9f8e7d"'
    )
    b = b.replace("<table", "<style scoped>td {color: red}</style>\n<table")
    assert pair([result({"text/html": a})], [result({"text/html": b})]) == []
    c = _frame_html(score=0.75)
    f = one(pair([result({"text/html": a})], [result({"text/html": c})]))
    assert "row '1': values 0.50 -> 0.75" in f["message"]


def test_html_without_table_compares_visible_text():
    a = '<div id="sk-container-id-1"><pre>LogisticRegression(random_state=0)</pre></div>'
    b = '<div id="sk-container-id-7"><pre>LogisticRegression(random_state=0)</pre></div>'
    assert pair([result({"text/html": a})], [result({"text/html": b})]) == []
    c = '<div id="sk-container-id-7"><pre>LogisticRegression(C=2.0)</pre></div>'
    assert len(pair([result({"text/html": a})], [result({"text/html": c})])) == 1


def test_image_differing_by_one_pixel_passes():
    need_module("PIL")
    a = png()
    b = png(pixels=[((3, 4), (0, 0, 0))])
    assert a != b
    assert pair([display({"image/png": a})], [display({"image/png": b})]) == []


def test_image_with_small_channel_noise_passes():
    need_module("PIL")
    a = png(color=(200, 200, 200))
    b = png(color=(205, 197, 203))  # below the per-channel threshold
    assert pair([display({"image/png": a})], [display({"image/png": b})]) == []


def test_different_plot_fails_with_the_share_of_pixels():
    need_module("PIL")
    a = png()
    b = png(pixels=[((x, y), (0, 0, 255)) for x in range(50) for y in range(100)])
    f = one(
        pair(
            [display({"image/png": a, "text/plain": "<Figure>"})],
            [display({"image/png": b, "text/plain": "<Figure>"})],
        )
    )
    assert f["mime"] == "image/png"
    assert "50.0% of pixels differ" in f["message"]
    assert f["saved"].startswith("data:image/png;base64,") and f["clean"].startswith(
        "data:image/png;base64,"
    )
    assert f["diff"] == ""


def test_image_tolerance_is_configurable():
    need_module("PIL")
    a = png()
    b = png(pixels=[((x, 0), (0, 0, 0)) for x in range(50)])  # 0.5% of pixels
    assert pair([display({"image/png": a})], [display({"image/png": b})]) == []
    assert len(pair([display({"image/png": a})], [display({"image/png": b})], image_tol=0.001)) == 1


def test_image_of_another_size_fails():
    need_module("PIL")
    f = one(pair([display({"image/png": png(100, 100)})], [display({"image/png": png(120, 100)})]))
    assert "size 100x100 -> 120x100" in f["message"]


def test_jpeg_compression_noise_passes():
    need_module("PIL")
    a = png(color=(10, 120, 200), fmt="JPEG")
    b = png(color=(10, 120, 200), pixels=[((1, 1), (12, 118, 201))], fmt="JPEG")
    assert pair([display({"image/jpeg": a})], [display({"image/jpeg": b})]) == []


def test_undecodable_image_is_reported_not_raised():
    need_module("PIL")
    f = one(pair([display({"image/png": png()})], [display({"image/png": "bm90IGFuIGltYWdl"})]))
    assert "cannot be decoded" in f["message"]


def test_svg_ids_are_volatile():
    a = '<svg><defs><clipPath id="p1a2b3c"/></defs><g clip-path="url(#p1a2b3c)"><path d="M 0 0 L 1.5 2"/></g><dc:date>2026-11-27T10:00:00</dc:date></svg>'
    b = '<svg><defs><clipPath id="p9z8y7"/></defs><g clip-path="url(#p9z8y7)"><path d="M 0 0 L 1.5 2"/></g><dc:date>2026-11-28T09:00:00</dc:date></svg>'
    assert pair([display({"image/svg+xml": a})], [display({"image/svg+xml": b})]) == []
    c = b.replace("L 1.5 2", "L 3.5 2")
    assert (
        one(pair([display({"image/svg+xml": a})], [display({"image/svg+xml": c})]))["mime"]
        == "image/svg+xml"
    )


def test_widgets_compare_only_that_one_was_shown():
    w1 = {
        "application/vnd.jupyter.widget-view+json": {
            "model_id": "a1b2",
            "version_major": 2,
            "version_minor": 0,
        },
        "text/plain": "IntSlider(value=3)",
    }
    w2 = {
        "application/vnd.jupyter.widget-view+json": {
            "model_id": "ffee",
            "version_major": 2,
            "version_minor": 0,
        },
        "text/plain": "IntSlider(value=3)",
    }
    assert pair([display(w1)], [display(w2)]) == []
    f = one(pair([display(w1)], []))
    assert "application/vnd.jupyter.widget-view+json" in f["message"]


def test_plotly_ignores_uids_and_template():
    fig = {
        "data": [{"type": "scatter", "x": [1, 2], "y": [0.5, 0.25], "uid": "aaa-111"}],
        "layout": {
            "title": {"text": "t"},
            "template": {"data": {"bar": [{"marker": {"color": "#123"}}]}},
        },
    }
    other = json.loads(json.dumps(fig))
    other["data"][0]["uid"] = "bbb-222"
    other["layout"]["template"] = {"layout": {"font": {"size": 12}}}
    mime = "application/vnd.plotly.v1+json"
    assert pair([display({mime: fig})], [display({mime: other})]) == []
    other["data"][0]["y"] = [0.5, 0.75]
    f = one(pair([display({mime: fig})], [display({mime: other})]))
    assert f["mime"] == mime and "0.25 -> 0.75" in f["message"]


def test_vega_lite_charts_compare_their_data():
    mime = "application/vnd.vegalite.v5+json"
    spec = {
        "mark": "point",
        "datasets": {"data-1a2b": [{"x": 1, "y": 0.5}]},
        "data": {"name": "data-1a2b"},
    }
    same = json.loads(json.dumps(spec))
    assert (
        pair(
            [display({mime: spec, "text/plain": "alt.Chart(...)"})],
            [display({mime: same, "text/plain": "alt.Chart(...)"})],
        )
        == []
    )
    same["datasets"]["data-1a2b"][0]["y"] = 0.9
    f = one(
        pair(
            [display({mime: spec, "text/plain": "alt.Chart(...)"})],
            [display({mime: same, "text/plain": "alt.Chart(...)"})],
        )
    )
    assert f["mime"] == mime and "0.5 -> 0.9" in f["message"]


def test_application_json_compares_structure_not_key_order():
    a = {"application/json": {"a": 1, "b": [1.0, 2.0]}}
    b = {"application/json": {"b": [1.0, 2.0000000001], "a": 1}}
    assert pair([display(a)], [display(b)]) == []
    c = {"application/json": {"b": [1.0, 3.0], "a": 1}}
    assert one(pair([display(a)], [display(c)]))["mime"] == "application/json"


def test_errors_compare_name_and_masked_value_not_traceback():
    a = error("ValueError", "bad object <Foo at 0x7f3a1c2b4d60>")
    b = error("ValueError", "bad object <Foo at 0x7f00ff00ff00>")
    b["traceback"] = ["something else entirely"]
    assert pair([a], [b]) == []
    f = one(pair([a], [error("KeyError", "'x'")]))
    assert f["mime"] == "error" and "ValueError -> KeyError" in f["message"]
    f = one(pair([result("1")], [error("ZeroDivisionError", "division by zero")]))
    assert "the clean run raises an error" in f["message"] and "ZeroDivisionError" in f["message"]


def test_different_output_types_are_reported():
    f = one(
        pair(
            [display({"image/png": png()})],
            [display({"text/plain": "<Figure size 640x480 with 0 Axes>"})],
        )
    )
    assert "image/png" in f["message"] and "text/plain" in f["message"]


# ------------------------------------------------------------------------------- odd content


def test_non_utf8_text_compares_without_crashing():
    saved = [stdout("caf\udcc3\udca9 ok\n"), result("r\xc3\xa9sum\xc3\xa9 \udcff")]
    assert pair(saved, saved) == []
    findings = pair(
        saved, [stdout("caf\udcc3\udca9 changed\n"), result("r\xc3\xa9sum\xc3\xa9 \udcfe")]
    )
    assert len(findings) == 1  # the surrogates mask alike; only the stdout word differs
    text = json.dumps(findings, ensure_ascii=False)
    text.encode("utf-8")  # a report with these findings can be written as UTF-8
    assert "changed" in findings[0]["clean"]


def test_outputs_as_lists_of_lines_are_joined():
    saved = new_output("stream", name="stdout", text="a\nb\n")
    saved["text"] = ["a\n", "b\n"]
    assert pair([saved], [stdout("a\nb\n")]) == []


def test_long_outputs_are_truncated_in_the_finding():
    big_a = "".join(f"row {i} value {i * 2}\n" for i in range(5000))
    big_b = big_a.replace("row 4999 value 9998", "row 4999 value 1")
    f = one(pair([stdout(big_a)], [stdout(big_b)]))
    assert len(f["saved"]) < 5000 and "truncated" in f["saved"]
    assert "9998 -> 1" in f["message"]


# --------------------------------------------------------------------------------- two runs


def test_runs_that_disagree_are_nondeterministic_and_not_also_output_diff():
    saved = nb_of(code("r", stdout("0.1234\n")), code("s", stdout("total 42\n")))
    run1 = nb_of(code("r", stdout("0.5678\n")), code("s", stdout("total 42\n")))
    run2 = nb_of(code("r", stdout("0.9012\n")), code("s", stdout("total 42\n")))
    f = one(compare_runs(saved, [run1, run2]), kind="nondeterministic")
    assert f["cell"] == 0 and f["severity"] == "error"
    assert f["message"].startswith("cell 1 gives different output on each clean run (")
    assert "0.5678 -> 0.9012" in f["message"]
    assert f["diff"].startswith("--- run 1\n+++ run 2\n")
    assert f["runs"] == [1, 2]
    assert "seed" in f["hint"]


def test_runs_that_agree_against_the_saved_output_point_to_hidden_state():
    saved = nb_of(code("s", stdout("total 41\n")))
    run1 = nb_of(code("s", stdout("total 42\n")))
    run2 = nb_of(code("s", stdout("total 42\n")))
    f = one(compare_runs(saved, [run1, run2]))
    assert f["cause"] == "hidden-state-or-drift"
    assert "every clean run agrees" in f["message"] and "41 -> 42" in f["message"]
    assert "hidden state" in f["hint"] and "environment" in f["hint"]


def test_third_run_disagreeing_is_nondeterministic():
    saved = nb_of(code("s", stdout("1\n")))
    runs = [
        nb_of(code("s", stdout("1\n"))),
        nb_of(code("s", stdout("1\n"))),
        nb_of(code("s", stdout("2\n"))),
    ]
    f = one(compare_runs(saved, runs), kind="nondeterministic")
    assert f["runs"] == [1, 3]


def test_compare_runs_with_one_run_is_compare_notebooks():
    saved = nb_of(code("s", stdout("1\n")))
    run = nb_of(code("s", stdout("2\n")))
    assert compare_runs(saved, [run]) == compare_notebooks(saved, run)
    assert compare_runs(saved, []) == []
    with pytest.raises(TypeError, match="floattol"):
        compare_runs(saved, [run], floattol=1)


def test_nondeterministic_cell_without_saved_output_is_still_found():
    saved = nb_of(code("r"))
    runs = [nb_of(code("r", stdout("0.1\n"))), nb_of(code("r", stdout("0.7\n")))]
    assert one(compare_runs(saved, runs), kind="nondeterministic")["cell"] == 0


# ------------------------------------------------------------------------------- performance


def _stamp(seed):
    """A timestamp a run printed: the saved run's from a past session, a later run's now (issue
    18: dates are masked only where they vary, e.g. by being the clock's)."""
    import datetime

    if seed <= 1:
        return f"2026-11-2{seed} 10:0{seed}:00"
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def _typical_notebook(n_cells=500, volatile_seed=0, image=None, other_image=None):
    cells = []
    for i in range(n_cells):
        if i % 5 == 0:
            cells.append(new_markdown_cell(f"## step {i}"))
            continue
        outs = [
            stdout(
                f"step {i}: loss 0.{i:04d}12 at {_stamp(volatile_seed)} took {volatile_seed}.5 s\n"
            )
        ]
        if i % 3 == 0:
            rows = "\n".join(f"{r:>4}  {r * 0.5:8.3f}  {r * 7:6d}  name_{r}" for r in range(20))
            outs.append(result(f"      a         b       c     d\n{rows}", count=i))
        elif i % 7 == 0:
            outs.append(result({"text/html": _frame_html(score=0.5), "text/plain": "df"}, count=i))
        elif i % 25 == 1 and image:
            img = other_image if (other_image and i % 100 == 1) else image
            outs.append(
                display({"image/png": img, "text/plain": "<Figure size 640x480 with 1 Axes>"})
            )
        else:
            outs.append(result(f"<model.Thing object at 0x7f3a{volatile_seed}c2b4d60>", count=i))
        cells.append(code(f"cell {i}", *outs))
    return nb_of(*cells)


def test_500_cells_compare_quickly():
    """400 code cells, every one with a volatile stdout line (timestamps, durations) and a result
    (text tables, HTML tables, object reprs, 640x480 plots); 5 of the plots were re-encoded so
    their pixels must be compared. Measured about 0.2-0.4 s on a loaded 2-core machine; the
    bound leaves room for a busy CI runner."""
    need_module("PIL")
    a_img = png(640, 480)
    b_img = png(640, 480, pixels=[((5, 5), (0, 0, 0))])  # same plot, other bytes: pixel comparison
    saved = _typical_notebook(volatile_seed=1, image=a_img)
    clean = _typical_notebook(volatile_seed=2, image=a_img, other_image=b_img)
    compare_notebooks(saved, clean)  # warm-up: imports
    best = min(_timed(lambda: compare_notebooks(saved, clean)) for _ in range(3))
    assert compare_notebooks(saved, clean) == []
    print(f"500-cell comparison: {best * 1000:.0f} ms")
    assert best < 2.0, f"comparing 500 cells took {best:.2f} s"


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# ------------------------------------------------------------------------------ real kernels

VOLATILE_CELLS = [
    "print(object())",
    "x = [1, 2]\nprint(id(x))",
    "import datetime\nprint(datetime.datetime.now())\nprint(datetime.datetime.now().isoformat())",
    "import sys, time\nfor i in range(5):\n    print(f'\\r{i * 25}% working', end='')\n    time.sleep(0.01)\nprint('\\rdone      ')",
    "from tqdm.auto import tqdm as _t\nfrom tqdm import tqdm\nfor _ in tqdm(range(50)):\n    time.sleep(0.001)",
    "%time sum(range(100000))",
    "%timeit -n 3 -r 2 sum(range(1000))",
    "import os, tempfile, uuid\nprint(tempfile.mkdtemp())\nprint(uuid.uuid4())\nprint(f'pid={os.getpid()}')",
    "import threading\nprint(threading.Thread(target=print).name)",
    "class Model: pass\nModel()",
    "import warnings\nwarnings.warn('this will change', FutureWarning)\nprint('after warning')",
    (
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import matplotlib.pyplot as plt\nimport numpy as np\n"
        "xs = np.linspace(0, 6, 50)\nplt.plot(xs, np.sin(xs))\nplt.title('sine')\nplt.show()"
    ),
    "import pandas as pd\npd.DataFrame({'a': [1, 2, 3], 'b': [0.1, 0.2, 0.30000000000000004], 'c': ['x', 'y', 'z']})",
    "import time\nt = time.time()\nprint(t)",
    "datetime.datetime.now()",
    # non-UTF-8 output: undecodable bytes written to the raw file descriptor, and mojibake
    "import os, sys\nsys.stdout.flush()\nos.write(1, b'raw \\xff\\xfe bytes\\n')",
    "print(b'caf\\xc3\\xa9'.decode('latin-1'))",
]


def _execute(nb, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return nb


@pytest.fixture(scope="module")
def volatile_runs(tmp_path_factory):
    import importlib.util

    for mod, pkg in [
        ("matplotlib", "matplotlib"),
        ("pandas", "pandas"),
        ("tqdm", "tqdm"),
        ("PIL", "pillow"),
    ]:
        need(importlib.util.find_spec(mod) is not None, mod, f"uv pip install {pkg}")
    tmp = tmp_path_factory.mktemp("volatile")
    nb = nb_of(*[code(src) for src in VOLATILE_CELLS])
    return _execute(nb, tmp), _execute(nb, tmp)


@pytest.mark.timeout(300)
def test_kernel_volatile_outputs_give_no_diff_between_runs(volatile_runs):
    run1, run2 = volatile_runs
    # the runs really did print different raw text, and each cell printed something
    assert all(c.outputs for c in run1.cells), [
        i for i, c in enumerate(run1.cells) if not c.outputs
    ]
    raw1 = json.dumps([c.outputs for c in run1.cells])
    raw2 = json.dumps([c.outputs for c in run2.cells])
    assert raw1 != raw2
    assert any("image/png" in (o.get("data") or {}) for c in run1.cells for o in c.outputs)
    assert any(
        "<table" in str((o.get("data") or {}).get("text/html", ""))
        for c in run1.cells
        for o in c.outputs
    )
    # run 1 plays the saved notebook, run 2 the clean run
    findings = compare_notebooks(run1, run2)
    assert findings == [], [(f["message"], f["diff"]) for f in findings]
    assert compare_runs(run1, [run1, run2]) == []


@pytest.fixture(scope="module")
def random_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("random")
    nb = nb_of(
        code("import random\nprint(random.random())"),
        code("total = sum(range(10))\nprint('total', total)"),
        code("total * 2"),
    )
    return _execute(nb, tmp), _execute(nb, tmp)


@pytest.mark.timeout(300)
def test_kernel_unseeded_random_is_nondeterministic(random_runs):
    run1, run2 = random_runs
    findings = compare_runs(run1, [run1, run2])
    f = one(findings, kind="nondeterministic")
    assert f["cell"] == 0 and f["mime"] == "stream:stdout"
    assert "gives different output on each clean run" in f["message"]


@pytest.mark.timeout(300)
def test_kernel_edited_saved_output_is_hidden_state(random_runs):
    run1, run2 = random_runs
    saved = nbformat.from_dict(json.loads(json.dumps(run1)))
    # the author's session had another value of total (a cell run twice, then edited away)
    saved.cells[1].outputs[0]["text"] = "total 55\n"
    saved.cells[2].outputs[0]["data"]["text/plain"] = "110"
    findings = compare_runs(saved, [run1, run2])
    kinds = sorted((f["cell"], f["kind"]) for f in findings)
    assert kinds == [(0, "nondeterministic"), (1, "output-diff"), (2, "output-diff")]
    for f in findings[1:]:
        assert f["cause"] == "hidden-state-or-drift"
        assert "hidden state" in f["hint"]
    assert "55 -> 45" in findings[1]["message"]
    assert "110 -> 90" in findings[2]["message"]
