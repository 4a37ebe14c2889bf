"""The report's HTML printed to PDF by headless Chromium.

Chromium is a Debian/Ubuntu package (``apt-get install chromium``); no LaTeX, no pandoc, no
browser download. It is looked for as ``c.ReportTarget.chromium_path``, then
``$JUPYTER_DEPLOY_CHROMIUM``, then ``chromium``, ``chromium-browser``, ``google-chrome`` and
``google-chrome-stable`` on the PATH. Each print uses a fresh profile directory, so a running
browser or a stale lock never interferes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from ..errors import TargetError
from .. import tmp as _tmp

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
ENV = "JUPYTER_DEPLOY_CHROMIUM"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--no-pdf-header-footer",
)


class ChromiumNotFound(TargetError):
    code = "chromium-not-found"


class PDFError(TargetError):
    code = "pdf"


def find_chromium(configured: str = "") -> str:
    """The path of a headless-capable Chromium, or :class:`ChromiumNotFound` saying what to do."""
    for candidate, origin in ((configured, "c.ReportTarget.chromium_path"), (os.environ.get(ENV, ""), f"${ENV}")):
        if not candidate:
            continue
        found = shutil.which(candidate) if os.sep not in candidate else candidate
        if found and os.path.isfile(found) and os.access(found, os.X_OK):
            return found
        raise ChromiumNotFound(
            f"{origin} names {candidate!r}, which is not an executable Chromium.",
            hint=f"Fix {origin}, or install Chromium (apt-get install chromium) and unset it.",
        )
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumNotFound(
        "A PDF report needs headless Chromium, and none was found "
        f"(looked for {', '.join(NAMES)} on the PATH).",
        hint="Install it (apt-get install chromium), or point c.ReportTarget.chromium_path or "
        f"${ENV} at its executable, or use --format html.",
    )


def html_to_pdf(html_path: os.PathLike | str, pdf_path: os.PathLike | str, *,
                chromium: str = "", timeout: float = 180) -> Path:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium; return ``pdf_path``."""
    exe = find_chromium(chromium)
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path).resolve()

    profile = _tmp.mkdtemp(prefix="jupyter-deploy-chromium-")
    cmd = [
        exe,
        *FLAGS,
        f"--user-data-dir={profile}",
        # Let scripts (Plotly, widgets fallbacks) settle before printing, but never hang on them.
        "--virtual-time-budget=5000",
        f"--print-to-pdf={pdf_path}",
        html_path.as_uri(),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
        pdf_path.unlink(missing_ok=True)
        raise PDFError(
            f"Chromium did not finish printing the PDF within {timeout:g} s.",
            hint="Try --format html, or a smaller notebook (large interactive outputs).",
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    ok = pdf_path.is_file() and pdf_path.stat().st_size > 0
    if ok:
        with open(pdf_path, "rb") as fh:
            ok = fh.read(5) == b"%PDF-"
    if proc.returncode != 0 or not ok:
        lines = [
            ln for ln in err.decode("utf-8", "replace").splitlines()
            if ln.strip() and "dbus" not in ln.lower()
        ]
        last = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        pdf_path.unlink(missing_ok=True)
        raise PDFError(
            f"Chromium ({exe}) failed to print the PDF: {last}",
            hint="Check that it runs headless (chromium --headless --no-sandbox --version), "
            "or use --format html.",
        )
    return pdf_path
