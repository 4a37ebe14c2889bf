"""The %deploy ipywidgets panel: real ipywidgets objects, a real IPython shell, real kernels."""

from __future__ import annotations

import json
import time

import pytest

from jdtest import file_digest, need

pytestmark = pytest.mark.kernel


def make_panel(shell, monkeypatch, notebook=None):
    from jupyter_deploy.widget import DeployPanel

    if notebook is None:
        monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    else:
        monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    return DeployPanel.for_shell(shell)


def texts(html_value: str) -> str:
    import re

    return re.sub(r"<[^>]+>", " ", html_value)


# ------------------------------------------------------------------------------ the form


def test_object_pickers_offer_exactly_the_live_estimators_and_data(session_objects, monkeypatch,
                                                                    echo_plugins, make_notebook):
    import ipywidgets as W

    nb = make_notebook(["x = 1"], execute=False)
    panel = make_panel(session_objects, monkeypatch, nb)
    assert isinstance(panel, W.VBox)
    panel.target_picker.value = "echo"
    var, sample = panel.fields["var"], panel.fields["sample"]
    assert isinstance(var.widget, W.Dropdown) and isinstance(sample.widget, W.Dropdown)
    assert var.choices == ["clf", "pipe", "scaler"]
    assert sample.choices == ["X", "arr", "y"]
    # the required estimator picks the first name; the optional data field starts empty
    assert var.widget.value == "clf" and sample.widget.value == ""
    # a variable defined after the panel was shown appears on refresh
    from sklearn.tree import DecisionTreeClassifier

    session_objects.user_ns["tree"] = DecisionTreeClassifier().fit([[0], [1]], [0, 1])
    panel.refresh_button.click()
    assert panel.fields["var"].choices == ["clf", "pipe", "scaler", "tree"]
    assert panel.fields["var"].widget.value == "clf"  # the choice survives a refresh


def test_form_widgets_follow_the_schema_and_required_fields_are_marked(shell, monkeypatch,
                                                                       echo_plugins, make_notebook):
    import ipywidgets as W

    panel = make_panel(shell, monkeypatch, make_notebook(["x = 1"], execute=False))
    panel.target_picker.value = "echo"
    kinds = {name: type(f.widget) for name, f in panel.fields.items()}
    assert kinds == {
        "var": W.Dropdown, "label": W.Text, "sample": W.Dropdown, "level": W.IntText,
        "ratio": W.FloatText, "fmt": W.Dropdown, "verbose": W.Checkbox, "tags": W.Text,
        "meta": W.Textarea, "explode": W.Text,
    }
    # positional first, then required, then object pickers, then the rest
    assert list(panel.fields)[:3] == ["var", "label", "sample"]
    assert panel.fields["var"].widget.description == "var *"
    assert panel.fields["label"].widget.description == "label *"
    assert panel.fields["level"].widget.description == "level"
    assert panel.fields["fmt"].widget.options == ("html", "pdf")
    assert panel.fields["level"].widget.value == 1 and panel.fields["ratio"].widget.value == 0.5
    # no estimator in the namespace: the required picker is empty and the form says what is missing
    assert panel.fields["var"].choices == []
    assert "No fitted model in this session yet" in panel.fields["var"].help.value
    assert "Still needed: var, label" in texts(panel.form_error.value)
    # ... and the Deploy button does not look clickable while it says so
    assert panel.deploy_button.disabled
    assert panel.deploy_button.tooltip == "Still needed: var, label"


def test_changing_the_form_updates_the_magic_line(session_objects, monkeypatch, echo_plugins,
                                                 make_notebook):
    panel = make_panel(session_objects, monkeypatch, make_notebook(["x = 1"], execute=False))
    panel.target_picker.value = "echo"
    f = {name: fld.widget for name, fld in panel.fields.items()}
    assert panel.magic_text == "%deploy echo clf"
    assert panel.deploy_button.disabled  # label is required and still empty
    f["var"].value = "pipe"
    f["label"].value = "churn model"
    assert not panel.deploy_button.disabled and panel.deploy_button.tooltip == ""
    f["sample"].value = "X"
    f["level"].value = 3
    f["ratio"].value = 0.25
    f["fmt"].value = "pdf"
    f["verbose"].value = True
    f["tags"].value = "a, b ,,c"
    f["meta"].value = "owner=ana\n\nteam = risk"
    panel.to_text.value = "/tmp/out dir"
    panel.force_box.value = True
    # in the form's order: positional, required, object pickers, then the rest
    expected = ("%deploy echo pipe --label 'churn model' --sample X --fmt pdf --level 3 "
                "--meta owner=ana --meta team=risk --ratio 0.25 --tags a --tags b --tags c --verbose "
                "--to '/tmp/out dir' --force")
    assert panel.magic_text == expected
    assert "churn model" in panel.magic.value
    assert panel.form_error.value == ""
    # back to defaults: the flags go away again
    f["level"].value, f["fmt"].value, f["verbose"].value = 1, "html", False
    f["tags"].value = f["meta"].value = ""
    panel.force_box.value = False
    assert panel.magic_text == "%deploy echo pipe --label 'churn model' --sample X --ratio 0.25 --to '/tmp/out dir'"
    # a malformed key=value line is reported in the form, the line keeps its last good value
    f["meta"].value = "owner"
    assert "meta: expected key=value lines" in texts(panel.form_error.value)
    # switching target rebuilds the form from the other schema
    panel.target_picker.value = "report"
    assert "var" not in panel.fields and "format" in panel.fields
    assert panel.magic_text == "%deploy report --to '/tmp/out dir'"


def test_copy_to_a_new_cell_uses_set_next_input(session_objects, monkeypatch, echo_plugins,
                                               make_notebook):
    panel = make_panel(session_objects, monkeypatch, make_notebook(["x = 1"], execute=False))
    panel.target_picker.value = "echo"
    panel.fields["label"].widget.value = "m"
    panel.copy_button.click()
    assert session_objects.rl_next_input == "%deploy echo clf --label m"


def test_model_target_form_when_installed(session_objects, monkeypatch, make_notebook):
    from jupyter_deploy import api

    panel = make_panel(session_objects, monkeypatch, make_notebook(["x = 1"], execute=False))
    need("model" in panel.targets, "the model target (jupyter_deploy/targets/model.py)",
         "the model target of this package: " + json.dumps(api.targets()["broken"]))
    assert panel.target == "model"  # the default choice when it exists
    assert panel.fields["var"].choices == ["clf", "pipe", "scaler"]
    # the sample is 2-D data with the model's features: not the labels y nor the 1-D arr
    assert panel.fields["sample"].choices == ["X"]
    panel.fields["var"].widget.value = "pipe"
    panel.fields["name"].widget.value = "churn"
    panel.fields["sample"].widget.value = "X"
    panel.fields["metric"].widget.value = "auc=0.91"
    assert panel.magic_text == "%deploy model pipe --name churn --sample X --metric auc=0.91"


# ---------------------------------------------------------------------------- the check


def test_check_shows_the_verdict_progress_and_history(shell, monkeypatch, make_notebook):
    nb = make_notebook(["import math", "x = math.sqrt(16)", "print(x)"])
    digest = file_digest(nb)
    panel = make_panel(shell, monkeypatch, nb)
    assert str(nb) in panel.header.children[0].value
    assert "Nothing checked" in panel.history_output.value
    seen = []
    panel.progress.observe(lambda c: seen.append(c["new"]), names="value")
    disabled_while_running = []
    panel.stage.observe(lambda c: disabled_while_running.append(
        (panel.check_button.disabled, panel.deploy_button.disabled, panel.cancel_button.disabled)),
        names="value")
    panel.check_button.click()
    assert panel._worker is not None
    panel.wait(180)
    assert not panel.running
    assert panel.last_error is None, panel.status.value
    assert "✔ repeatable" in panel.check_output.value
    assert panel.progress.value == panel.progress.max and panel.progress.bar_style == "success"
    assert any(0 < v < 1 for v in seen), seen  # it moved while the cells ran
    assert (True, True, False) in disabled_while_running
    assert (panel.check_button.disabled, panel.deploy_button.disabled, panel.cancel_button.disabled) \
        == (False, False, True)
    table = texts(panel.history_output.value)
    assert "check" in table and "repeatable" in table and "ok" in table
    assert file_digest(nb) == digest  # the user's notebook is not touched


def test_findings_are_shown_as_a_table(shell, monkeypatch, make_notebook):
    nb = make_notebook(["import random", "print(random.random())"])
    panel = make_panel(shell, monkeypatch, nb)
    panel.check_button.click()
    panel.wait(180)
    assert panel.last_report["verdict"] == "not-repeatable"
    shown = panel.check_output.value
    assert "✘ not repeatable" in shown and "#cf222e" in shown  # coloured verdict
    assert "<table>" in shown and "<th>cell</th><th>kind</th>" in shown
    assert "output-diff" in shown and "likely cause: unseeded-random" in shown


def test_missing_notebook_is_one_line_without_traceback(shell, monkeypatch, tmp_path):
    panel = make_panel(shell, monkeypatch, None)
    # not found: a field to type the path, with the one-line hint
    assert panel.notebook_text in panel.header.children
    assert "Cannot tell which notebook" in panel.notebook_hint.value
    # clicking without a path says so
    panel.check_button.click()
    panel.wait(30)
    assert "Cannot tell which notebook" in panel.status.value
    # a path that does not exist
    missing = tmp_path / "gone.ipynb"
    panel.notebook_text.value = str(missing)
    assert panel.magic_text.endswith(f"--notebook {missing}")
    panel.check_button.click()
    panel.wait(30)
    msg = texts(panel.status.value)
    assert "Notebook not found" in msg and "Traceback" not in panel.status.value
    assert "\n" not in panel.last_error
    assert "internal error" not in msg
    assert panel.progress.bar_style == "danger"
    assert not missing.exists()
    from jupyter_deploy import api

    assert api.history(missing) == []
    assert not panel.check_button.disabled


def test_notebook_deleted_after_the_panel_opened(shell, monkeypatch, make_notebook):
    nb = make_notebook(["x = 1"], execute=False)
    panel = make_panel(shell, monkeypatch, nb)
    nb.unlink()
    panel.check_button.click()
    panel.wait(30)
    assert "Notebook not found" in panel.last_error
    assert "Traceback" not in panel.status.value


def test_cancel_stops_a_running_check(shell, monkeypatch, make_notebook):
    nb = make_notebook(["import time"] + ["time.sleep(0.6)"] * 12, execute=False)
    panel = make_panel(shell, monkeypatch, nb)
    t0 = time.monotonic()
    assert panel.check() is True
    assert panel.check() is False  # one job at a time
    assert "already running" in panel.status.value
    deadline = time.monotonic() + 60
    while "cell" not in panel.stage.value and time.monotonic() < deadline:
        time.sleep(0.1)
    assert panel.check_button.disabled and not panel.cancel_button.disabled
    assert panel.to_text.disabled and panel.target_picker.disabled
    assert all(f.widget.disabled for f in panel.fields.values())
    panel.cancel_button.click()
    panel.wait(60)
    assert "cancelled" in panel.last_error
    assert time.monotonic() - t0 < 30
    assert panel.check_output.value == ""
    assert not panel.check_button.disabled and panel.cancel_button.disabled
    assert not panel.to_text.disabled and not any(f.widget.disabled for f in panel.fields.values())


# ---------------------------------------------------------------------------- deploying


def test_deploy_through_the_panel_with_a_plugin(session_objects, monkeypatch, echo_plugins,
                                               make_notebook, tmp_path):
    nb = make_notebook([
        "from sklearn.linear_model import LogisticRegression\nimport pandas as pd",
        "X = pd.DataFrame({'a': [0., 1., 2., 3.]}); y = [0, 0, 1, 1]",
        "clf = LogisticRegression().fit(X, y)",
    ])
    panel = make_panel(session_objects, monkeypatch, nb)
    panel.target_picker.value = "echo"
    panel.fields["label"].widget.value = "first"
    panel.fields["meta"].widget.value = "owner=ana"
    panel.fields["sample"].widget.value = "X"
    out = tmp_path / "published"
    panel.to_text.value = str(out)
    panel.deploy_button.click()
    panel.wait(180)
    assert panel.last_error is None, panel.status.value
    result = panel.last_result
    assert result["destination"] == str(out / "v1") and result["details"]["version"] == 1
    written = json.loads((out / "v1" / "echo.json").read_text())
    assert written["meta"] == {"owner": "ana"} and written["sample_rows"] == 4
    html = panel.result_output.value
    assert "echo v1 in" in html and "&#10004;" in html and "reloaded" in html
    assert panel.progress.value == panel.progress.max
    assert result["magic"].startswith("%deploy echo clf")
    rows = texts(panel.history_output.value)
    assert "deploy" in rows and "echo" in rows and str(out / "v1") in rows


def test_deploy_errors_are_one_line_and_bugs_say_internal_error(session_objects, monkeypatch,
                                                               echo_plugins, make_notebook,
                                                               tmp_path):
    nb = make_notebook(["from sklearn.dummy import DummyClassifier",
                        "clf = DummyClassifier().fit([[0], [1]], [0, 1])"])
    panel = make_panel(session_objects, monkeypatch, nb)
    panel.target_picker.value = "echo"
    # a required field left empty: refused before anything runs
    panel.deploy_button.click()
    panel.wait(30)
    assert panel.last_error == "echo needs label. -- Fill the fields marked * in the form."
    from jupyter_deploy import api

    assert api.history(nb) == []
    # a backend's DeployError: its one line, in red, no traceback, nothing published
    panel.fields["label"].widget.value = "x"
    refuse = tmp_path / "refuse"
    panel.to_text.value = str(refuse)
    panel.deploy_button.click()
    panel.wait(180)
    assert panel.last_error == f"{refuse} refuses bundles. -- Choose another folder with --to."
    assert "#cf222e" in panel.status.value and "Traceback" not in panel.status.value
    assert not refuse.exists() and panel.result_output.value == ""
    # a plain exception from a plugin is an internal error with a hint to report it
    panel.fields["explode"].widget.value = "bug"
    panel.to_text.value = str(tmp_path / "ok")
    panel.deploy_button.click()
    panel.wait(180)
    assert panel.last_error == "internal error: RuntimeError: boom in build"
    assert "please report it" in panel.status.value
    assert not (tmp_path / "ok").exists()
    assert [r["action"] for r in api.history(nb)] == []  # no deploy recorded


def test_not_repeatable_is_refused_unless_forced_and_failed_proofs_show(
        session_objects, monkeypatch, echo_plugins, make_notebook, tmp_path):
    def tamper(nb):
        nb.cells[2].outputs[0]["text"] = "7\n"  # saved from a session with other state

    nb = make_notebook(["from sklearn.dummy import DummyClassifier",
                        "clf = DummyClassifier().fit([[0], [1]], [0, 1])", "print(3 + 3)"],
                       edit=tamper)
    digest = file_digest(nb)
    panel = make_panel(session_objects, monkeypatch, nb)
    panel.target_picker.value = "echo"
    panel.fields["label"].widget.value = "x"
    out = tmp_path / "out"
    panel.to_text.value = str(out)
    panel.deploy_button.click()
    panel.wait(180)
    assert panel.last_error.startswith("nb.ipynb is not repeatable, so it was not deployed")
    assert "pass --force" in panel.last_error and "Traceback" not in panel.status.value
    assert not out.exists() and panel.result_output.value == ""
    # forced: deployed, and said so
    panel.force_box.value = True
    assert panel.magic_text.endswith(" --force")
    panel.deploy_button.click()
    panel.wait(180)
    assert panel.last_error is None, panel.status.value
    assert panel.last_result["forced"] is True and (out / "v1" / "echo.json").is_file()
    # a proof that fails: the result is still shown, with its cross, and the error in red
    panel.fields["label"].widget.value = "unverified"
    out2 = tmp_path / "out2"
    panel.to_text.value = str(out2)
    panel.deploy_button.click()
    panel.wait(180)
    assert panel.last_error.startswith(f"echo was handed off to {out2 / 'v1'} but its proof failed")
    assert "&#10008;" in panel.result_output.value and "the label does not verify" in panel.result_output.value
    assert panel.progress.bar_style == "danger"
    from jupyter_deploy import api

    statuses = [(r["action"], r["status"], r.get("forced")) for r in api.history(nb)]
    assert statuses == [("deploy", "failed", True), ("deploy", "ok", True)]
    assert "failed" in texts(panel.history_output.value)
    assert file_digest(nb) == digest


def test_deploy_a_model_through_the_panel(monkeypatch, shell, make_notebook, tmp_path):
    from jupyter_deploy import api

    targets = api.targets()
    need(any(t["name"] == "model" for t in targets["targets"]),
         "the model target (jupyter_deploy/targets/model.py)",
         "the model target of this package: " + json.dumps(targets["broken"]))
    code = [
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
        "X = pd.DataFrame({'a': [0., 1., 2., 3., 4., 5.], 'b': [1., 0., 1., 0., 1., 0.]})\n"
        "y = [0, 0, 0, 1, 1, 1]\nclf = LogisticRegression().fit(X, y)\nX_test = X.head(3)",
    ]
    nb = make_notebook(code)
    for cell in code:  # the same objects in the live session
        shell.run_cell(cell)
    panel = make_panel(shell, monkeypatch, nb)
    assert panel.target == "model"
    assert "clf" in panel.fields["var"].choices and "X_test" in panel.fields["sample"].choices
    panel.fields["var"].widget.value = "clf"
    panel.fields["name"].widget.value = "churn"
    panel.fields["sample"].widget.value = "X_test"
    registry = tmp_path / "registry"
    assert "registry" not in panel.fields  # one destination: the "to" field (--registry is --to)
    panel.to_text.value = str(registry)
    panel.deploy_button.click()
    panel.wait(300)
    assert panel.last_error is None, panel.status.value
    result = panel.last_result
    version = result["details"].get("version")
    assert version == 1, result
    assert all(p["ok"] for p in result["proofs"]) and result["proofs"]
    assert "churn" in panel.result_output.value
    assert "model" in texts(panel.history_output.value)


# ------------------------------------------------------------------------ in a real kernel


def test_deploy_without_arguments_shows_the_panel_in_a_real_kernel(make_notebook):
    import nbformat

    target = make_notebook(["print(6 * 7)"], name="target.ipynb")
    path = make_notebook([
        "%load_ext jupyter_deploy",
        "%deploy",
        "panel = _\n"
        f"panel.notebook_text.value = {str(target)!r}\n"
        "panel.check_button.click()\n"
        "panel.wait(120)\n"
        "print(panel.last_error, panel.progress.value == panel.progress.max, panel.progress.model_id)\n"
        "print('repeatable' in panel.check_output.value)",
    ], name="driver.ipynb")
    nb = nbformat.read(path, 4)
    for cell in nb.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    views = [o for o in nb.cells[1].outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert views, nb.cells[1].outputs
    assert views[0]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
    # the check ran in a background thread of the kernel and its widgets were updated
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    first, second = printed.splitlines()
    none, reached, progress_id = first.split()
    assert (none, reached, second) == ("None", "True", "True"), printed
    # and the front end was told: the saved widget state has the full, green progress bar
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    bar = state[progress_id]["state"]
    assert bar["value"] == bar["max"] == 1.0 and bar["bar_style"] == "success"


def test_one_bar_for_the_whole_job():
    from jupyter_deploy.widget import overall_fraction

    assert overall_fraction("check", "lint", 1.0) == pytest.approx(0.05)
    assert overall_fraction("check", "run", 0.5) == pytest.approx(0.475)
    assert overall_fraction("check", "run 2/2", 0.0) == pytest.approx(0.475)
    assert overall_fraction("check", "compare", 1.0) == pytest.approx(1.0)
    assert overall_fraction("check", "cache", 1.0) == 1.0
    assert overall_fraction("deploy", "run", 1.0) == pytest.approx(0.9 * 0.6)
    assert overall_fraction("deploy", "publish", 0.0) == pytest.approx(0.75)
    assert overall_fraction("check", "publish", 1.0) is None  # not a check stage
    assert overall_fraction("deploy", "somewhere", 0.5) is None
    assert overall_fraction("deploy", "build", None) is None


def test_a_plugin_with_odd_options_still_gets_a_form(shell, monkeypatch, make_notebook):
    from traitlets import Int, List, Unicode, Union

    from jupyter_deploy import plugins
    from jupyter_deploy.plugin import Target

    class OddTarget(Target):
        plugin_name = "odd"
        ports = List(Int(), default_value=[80, 443], help="Ports.").tag(config=True, option=True)
        maybe = Int(None, allow_none=True, help="Maybe a number.").tag(config=True, option=True)
        either = Union([Int(), Unicode()], default_value="a", help="Either.").tag(config=True, option=True)
        count = Int(help="A count.").tag(config=True, option=True, object_kind="gizmo")

    plugins.register(plugins.TARGETS, "odd", OddTarget)
    try:
        panel = make_panel(shell, monkeypatch, make_notebook(["x = 1"], execute=False))
        panel.target_picker.value = "odd"
        assert set(panel.fields) == {"ports", "maybe", "either", "count"}
        # (the schema carries no default for container traits: the target's own default applies)
        panel.fields["ports"].widget.value = "8080, 8443"
        panel.fields["count"].widget.value = 3  # an unknown object kind: the type decides
        assert panel.magic_text == "%deploy odd --count 3 --ports 8080 --ports 8443"
    finally:
        plugins.unregister(plugins.TARGETS, "odd")


def test_sample_picker_offers_only_data_with_the_chosen_models_features(shell, monkeypatch,
                                                                        make_notebook):
    """Issue 16: the model form's sample offered labels (y_test) and frames holding the target."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = pd.DataFrame({"a": [0.0, 1, 2, 3, 4, 5], "b": [1.0, 0, 1, 0, 1, 0], "churn": [0, 0, 0, 1, 1, 1]})
    X_train, X_test, y_test = df[["a", "b"]][:4], df[["a", "b"]][4:], df["churn"][4:]
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, df["churn"][:4])
    on_arrays = LogisticRegression().fit(X_train.to_numpy(), df["churn"][:4].to_numpy())
    shell.user_ns.update(df=df, X_train=X_train, X_test=X_test, y_test=y_test, pipe=pipe,
                         on_arrays=on_arrays, X_arr=X_test.to_numpy(), wide=np.zeros((2, 3)),
                         swapped=X_test[["b", "a"]])
    panel = make_panel(shell, monkeypatch, make_notebook(["x = 1"], execute=False))
    panel.target_picker.value = "model"
    var, sample = panel.fields["var"], panel.fields["sample"]
    assert var.choices == ["on_arrays", "pipe"]
    # the first model is chosen: fitted on arrays, it takes any data with 2 columns
    assert var.widget.value == "on_arrays"
    assert sample.choices == ["X_arr", "X_test", "X_train", "swapped"]
    # a model fitted on named columns takes frames with exactly those columns, in that order
    var.widget.value = "pipe"
    assert sample.choices == ["X_test", "X_train"]
    sample.widget.value = "X_test"
    assert panel.magic_text == "%deploy model pipe --sample X_test"
    var.widget.value = "on_arrays"
    assert sample.widget.value == "X_test"  # still offered: the choice stays
    # the sidebar and the server read the same descriptions
    described = {d["name"]: d for d in panel.objects}
    assert described["pipe"]["fitted"] is True
    assert described["pipe"]["feature_names_in_"] == ["a", "b"]
    assert described["on_arrays"]["n_features_in_"] == 2 and "feature_names_in_" not in described["on_arrays"]
    assert described["y_test"]["fits"] == ["data", "any", "series"]  # never "sample"


def test_pickers_offer_the_clean_runs_objects_once_the_notebook_is_checked(shell, monkeypatch,
                                                                           make_notebook):
    """The widget listed the live session's objects while the sidebar listed the clean run's
    (what a deploy ships): now both list the clean run's, the live ones only until a check."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    nb = make_notebook([
        "import numpy as np\nfrom sklearn.linear_model import LogisticRegression\n"
        "X = np.arange(20.0).reshape(10, 2)\ny = np.array([0, 1] * 5)\n"
        "clean_clf = LogisticRegression().fit(X, y)",
    ])
    # the live session holds another model the notebook never defines (hidden state)
    shell.user_ns.update(live_only=LogisticRegression().fit(np.eye(2), [0, 1]))
    panel = make_panel(shell, monkeypatch, nb)
    panel.target_picker.value = "model"
    assert panel.fields["var"].choices == ["live_only"]
    assert "live session" in panel.objects_note.value
    panel.check_button.click()
    panel.wait(180)
    assert panel.last_error is None, panel.status.value
    assert panel.fields["var"].choices == ["clean_clf"]
    assert panel.fields["sample"].choices == ["X"]  # 2-D, with the model's 2 features
    assert "last clean run" in panel.objects_note.value
