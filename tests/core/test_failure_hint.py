"""A failed proof's hint blames what is at fault: the engine, a registry, the package index, a
signing key, or (only when nothing outside it explains the failure) the notebook."""

from jupyter_deploy.api import _first_line, failure_hint


def proof(name, detail="x"):
    return {"name": name, "ok": False, "detail": detail}


def test_engine_failures_do_not_blame_the_notebook():
    for failed in ([proof("image: build")], [proof("image: runs")],
                   [proof("image: runs"), proof("image: stops on SIGTERM")]):
        hint = failure_hint(failed, {})
        assert "container engine" in hint and "The notebook is not the cause" in hint
        assert "fix the notebook" not in hint


def test_push_and_package_index_are_named():
    assert "registry's address" in failure_hint([proof("image: push")], {})
    assert "package index" in failure_hint([proof("api-local: requirements install")], {})


def test_a_prediction_that_differs_still_points_at_the_notebook():
    hint = failure_hint([proof("image: predictions (split)"), proof("image: build")], {})
    assert "fix the notebook" in hint
    assert "fix the notebook" in failure_hint([proof("reload-fresh-process")], {})


def test_a_failed_version_says_no_alias_moved():
    assert failure_hint([proof("image: build")], {"status": "failed"}).endswith(
        "The version is kept, marked failed; no alias moved.")


def test_first_line_keeps_an_engine_log_out_of_the_message():
    log = "podman build failed (exit 125): pull access denied\n" + "STEP 1/9\n" * 500
    assert _first_line(log) == "podman build failed (exit 125): pull access denied"
    long = "word " * 400
    assert len(_first_line(long)) <= 1004 and _first_line(long).endswith(" ...")
    assert _first_line(None) == ""
