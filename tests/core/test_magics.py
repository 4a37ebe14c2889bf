"""%deploy in real IPython: a real kernel through nbclient, and an in-process InteractiveShell."""

from __future__ import annotations

import subprocess

import pytest

from jdtest import PYTHON

pytestmark = pytest.mark.kernel


def run_in_kernel(make_notebook, cells, **kw):
    import nbformat

    path = make_notebook(cells, **kw)
    return nbformat.read(path, 4), path


def outputs_text(cell):
    parts = []
    for o in cell.outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        else:
            parts.append(o.get("data", {}).get("text/plain", ""))
            parts.append(o.get("data", {}).get("text/html", ""))
    return "\n".join(parts)


def test_deploy_check_in_a_real_kernel(make_notebook, tmp_path):
    # The notebook to check, saved next to the one that runs the magic.
    target = make_notebook(["print('ok')"], name="target.ipynb")
    nb, _ = run_in_kernel(
        make_notebook,
        ["%load_ext jupyter_deploy", f"%deploy check --notebook {target}"],
        name="driver.ipynb",
    )
    text = outputs_text(nb.cells[1])
    assert "repeatable" in text
    assert "Traceback" not in text


def test_errors_are_one_line_usage_errors(make_notebook):
    nb, _ = run_in_kernel(
        make_notebook,
        ["%load_ext jupyter_deploy", "%deploy check --notebook missing.ipynb",
         "%deploy frobnicate x", "%deploy check"],
        name="driver.ipynb",
    )
    for idx, needle in ((1, "Notebook not found"), (2, "Unknown target 'frobnicate'"),
                        (3, "Cannot tell which notebook")):
        # IPython prints a UsageError as one stderr line, without a stack
        text = outputs_text(nb.cells[idx]).strip()
        assert text.startswith("UsageError: "), text
        assert needle in text
        assert "\n" not in text and "Traceback" not in text


def test_notebook_found_from_jpy_session_name(make_notebook, tmp_path, monkeypatch):
    target = make_notebook(["print('found me')"], name="session.ipynb")
    monkeypatch.setenv("JPY_SESSION_NAME", str(target))
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()  # the first call makes it, later ones return None
    shell.run_line_magic("load_ext", "jupyter_deploy")
    result = shell.run_line_magic("deploy", "check")
    assert "repeatable" in repr(result)
    # the history renders as a table in a notebook, as the check does (it used to print text)
    hist = shell.run_line_magic("deploy", "history")
    assert "check" in repr(hist) and "repeatable" in repr(hist)
    assert hist._repr_html_().startswith("<table>") and "<td>check</td>" in hist._repr_html_()


def test_load_ext_is_light():
    code = (
        "import sys, time; t=time.perf_counter();"
        "from IPython.core.interactiveshell import InteractiveShell;"
        "sh = InteractiveShell.instance(); t0=time.perf_counter();"
        "sh.run_line_magic('load_ext', 'jupyter_deploy'); dt=time.perf_counter()-t0;"
        "heavy=[m for m in ('nbclient','nbconvert','sqlglot','sklearn','pandas','jupyter_server','ipywidgets','requests','nbformat') if m in sys.modules];"
        "print(heavy); print(dt)"
    )
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]", f"%load_ext imported heavy modules: {out[0]}"
    assert float(out[1]) < 0.3


def test_import_is_fast():
    code = "import time; t=time.perf_counter(); import jupyter_deploy; print(time.perf_counter()-t)"
    times = sorted(
        float(subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(3)
    )
    assert times[1] < 0.3


def test_unsaved_edits_are_warned_about(tmp_path, capsys):
    """The check reads the saved file: when the kernel ran a cell that the file does not hold
    (an edit not saved yet), the magic says so instead of silently checking the old file."""
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    from jupyter_deploy.magics import unsaved_inputs, warn_if_unsaved

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = x + 1"),
                nbformat.v4.new_code_cell("%deploy check")]
    path = tmp_path / "analysis.ipynb"
    nbformat.write(nb, path)
    # the suite's one shell (other tests and fixtures share it): its history is set aside and
    # restored, never the instance cleared
    shell = InteractiveShell.instance()
    history = shell.history_manager
    saved_raw, saved_parsed = list(history.input_hist_raw), list(history.input_hist_parsed)
    history.input_hist_raw[:] = [""]
    history.input_hist_parsed[:] = [""]
    try:
        for src in ("x = 1", "y = x + 1"):
            shell.run_cell(src, store_history=True)
        assert unsaved_inputs(shell, path) == 0
        # a new %deploy cell, not saved yet, changes nothing the check runs
        shell.run_cell("%deploy history --limit 1", store_history=True)
        assert unsaved_inputs(shell, path) == 0
        # the second cell edited and run, not saved
        shell.run_cell("y = x + 2", store_history=True)
        assert unsaved_inputs(shell, path) == 1
        warn_if_unsaved(shell, path)
        err = capsys.readouterr().err
        assert "1 cell(s) this kernel ran are not in analysis.ipynb as saved" in err
        assert "Save the notebook" in err
        # a notebook this kernel never ran (--notebook names another one): no warning
        other = tmp_path / "other.ipynb"
        nb2 = nbformat.v4.new_notebook()
        nb2.cells = [nbformat.v4.new_code_cell("print('hello')")]
        nbformat.write(nb2, other)
        assert unsaved_inputs(shell, other) == 0
    finally:
        history.input_hist_raw[:] = saved_raw
        history.input_hist_parsed[:] = saved_parsed
        for name in ("x", "y"):
            shell.user_ns.pop(name, None)


def test_config_cell_timeout_bounds_the_next_check(make_notebook):
    """``%config DeployConfig.cell_timeout = 3`` reaches the check the next ``%deploy check``
    runs (a real kernel running the magic, and a real clean kernel running a 60 s cell)."""
    import time

    target = make_notebook(["import time\ntime.sleep(60)\nprint('done')"], name="slow.ipynb",
                           execute=False)
    started = time.monotonic()
    nb, _ = run_in_kernel(
        make_notebook,
        ["%load_ext jupyter_deploy",
         "%config DeployConfig.cell_timeout = 3",
         f"%deploy check --notebook {target} --no-cache",
         "%config DeployConfig.cell_timeout",
         f"%deploy check --notebook {target} --no-cache --cell-timeout 2 --runs 1",
         "%config DeployConfig.cell_timeout"],
        name="driver.ipynb",
    )
    took = time.monotonic() - started
    first = outputs_text(nb.cells[2])
    assert "did not finish within 3 s" in first, first
    assert "Not repeatable" in first or "not-repeatable" in first or "not repeatable" in first
    # the value %config set stays; a flag given to one line applies to that line only
    assert "3" in outputs_text(nb.cells[3])
    assert "did not finish within 2 s" in outputs_text(nb.cells[4])
    assert outputs_text(nb.cells[5]).strip() == "3"
    assert took < 55, f"the 60 s cell was not stopped ({took:.0f} s)"


def test_config_reaches_targets_and_backends(tmp_path):
    """``%config`` (any config: ``ModelTarget``, ``RegistryBackend``...) reaches the plugins the
    api creates, and the backend gets the call's DeployConfig, not a global one."""
    from traitlets.config import Config

    from jupyter_deploy import api, plugins
    from jupyter_deploy.config import deploy_config

    extra = Config({"ModelTarget": {"description": "from config"},
                    "RegistryBackend": {"alias": "staging"},
                    "DeployConfig": {"home": str(tmp_path / "home")}})
    conf = deploy_config(extra=extra)
    target = api._make_plugin(plugins.target_class("model"), {}, conf)
    assert target.description == "from config"
    backend = api._make_plugin(plugins.backend_class("registry"), {}, conf)
    assert backend.deploy_config is conf and backend.alias == "staging"
    assert backend.default_destination(conf) == str(tmp_path / "home" / "registry")
    # one default registry for deploys, jupyter deploy models and load()
    extra["DeployConfig"]["registry"] = str(tmp_path / "team")
    assert plugins.backend_class("registry").default_destination(
        deploy_config(extra=extra)) == str(tmp_path / "team")
    assert deploy_config(extra=extra).default_registry == str(tmp_path / "team")
    # options given by the caller win over config
    assert api._make_plugin(plugins.backend_class("registry"), {"alias": "prod"}, conf).alias == "prod"
