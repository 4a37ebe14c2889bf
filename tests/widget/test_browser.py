"""The panel as a user sees it: JupyterLab in Debian's Chromium, driven by Playwright.

Runs ``%deploy`` in a real notebook served by a real JupyterLab (which tells the kernel its
notebook, so the panel finds it by itself), clicks "Check repeatability", waits for the verdict,
fills the form and checks the equivalent line. Screenshots land in ``test-artifacts/widget/``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from jdtest import ROOT, need

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts" / "widget"

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.kernel]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path, make_notebook):
    need(os.path.exists(CHROMIUM), "Chromium", "apt-get install -y chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        need(False, "playwright (Python)", "pip install playwright (never `playwright install`)")
    root = tmp_path / "root"
    make_notebook(["import math\nprint(math.sqrt(16))"], name="analysis.ipynb", folder=root)
    make_notebook(["from sklearn.linear_model import LogisticRegression\nimport pandas as pd\n"
                   "X = pd.DataFrame({'a': [0., 1., 2., 3.]})\ny = [0, 0, 1, 1]\n"
                   "clf = LogisticRegression().fit(X, y)",
                   "%load_ext jupyter_deploy", "%deploy"], execute=False, name="deploy.ipynb",
                  folder=root)
    port, token = _free_port(), "widget-test-token"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    log = open(tmp_path / "lab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.timeout(600)
def test_panel_in_jupyterlab(lab):
    from playwright.sync_api import expect, sync_playwright

    base, token, root = lab
    expect.set_options(timeout=120_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.set_default_timeout(120_000)
        page.goto(f"{base}/lab/tree/deploy.ipynb?token={token}")
        page.locator(".jp-Notebook").first.wait_for()
        expect(page.get_by_role("button", name=re.compile(r"ipykernel\) \| Idle"))).to_be_visible()
        page.locator(".jp-Cell").first.click()
        for _ in range(3):
            page.keyboard.press("Shift+Enter")
        panel = page.locator(".jp-OutputArea-output .widget-vbox").first
        expect(page.get_by_role("button", name="Check repeatability")).to_be_visible()
        # the server told the kernel its notebook: the header names it
        expect(panel).to_contain_text("deploy.ipynb")
        no_news = page.get_by_role("button", name="No", exact=True)
        if no_news.count():
            no_news.click()
        panel.screenshot(path=str(ARTIFACTS / "panel-open.png"))

        # the notebook must be saved before it is checked; check the other one by its line
        page.keyboard.press("Control+s")
        page.get_by_role("button", name="Check repeatability").click()
        expect(panel).to_contain_text("check: done", timeout=180_000)
        expect(panel).to_contain_text("repeatable")
        panel.screenshot(path=str(ARTIFACTS / "panel-checked.png"))
        # the history table shows the check
        expect(panel.locator("table.jupyter-deploy-history")).to_contain_text("check")

        # deploy the model by clicking: the pickers offer the clean run's objects (checked above)
        registry = root.parent / "registry"
        panel.get_by_role("combobox", name="var *").select_option("clf")
        panel.get_by_role("textbox", name="name *").fill("churn")
        panel.get_by_role("combobox", name="sample").select_option("X")
        # one destination: the "to" field (--registry is the same flag)
        panel.get_by_role("textbox", name="to").fill(str(registry))
        panel.get_by_role("textbox", name="to").press("Tab")
        expect(panel).to_contain_text(f"%deploy model clf --name churn --sample X --to {registry}")
        panel.get_by_role("button", name="Deploy").click()
        expect(panel).to_contain_text("deploy: done", timeout=300_000)
        expect(panel).to_contain_text("churn v1 in")
        proofs = panel.locator("li")
        expect(proofs.first).to_contain_text("✔")  # the hand-off's proofs, each with its mark
        assert "✘" not in panel.inner_text()
        expect(panel.locator("table.jupyter-deploy-history")).to_contain_text("model")
        panel.screenshot(path=str(ARTIFACTS / "panel-deployed.png"))
        assert any(registry.rglob("model.pkl")), list(registry.rglob("*"))

        # the target form and its equivalent line
        target = panel.get_by_role("combobox", name="target")
        target.select_option("report")
        panel.get_by_role("textbox", name="title").fill("Quarterly")
        panel.get_by_role("textbox", name="title").press("Tab")
        expect(panel).to_contain_text("%deploy report --title Quarterly")
        panel.screenshot(path=str(ARTIFACTS / "panel-form.png"))
        browser.close()
