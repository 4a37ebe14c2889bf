"""Opening what a deploy wrote, from JupyterLab: the *Open* action of every result.

A deploy's local output (a report's folder, a ``.sql`` file, a container's build context, a
registry version) may live outside the Jupyter server's root, where JupyterLab cannot open it,
and a ``file://`` link does not open from a browser page served over HTTP. :func:`open_action`
tells the sidebar how to open a history record or a deploy result:

- ``{"kind": "lab", "path": ...}``: inside the server's root, JupyterLab opens it (a file in
  its viewer, a folder in the file browser), by its root-relative path;
- ``{"kind": "served", "url": ...}``: outside the root, read-only through
  :class:`DeployedFileHandler` (``/jupyter-deploy/files?path=...``);
- ``{"kind": "link", "url": ...}``: a web address (an upload, an artefact server);
- None: nothing to open (a database view, an e-mail).

:class:`DeployedFileHandler` serves only paths this tool wrote: a file or folder recorded as a
deploy's ``destination`` (or its ``url``/``details.index``) in the history, or a file inside such
a folder, after resolving symbolic links. Anything else is answered 403 before it is opened;
what does not exist is 404. Authenticated like every handler of the extension.
"""

from __future__ import annotations

import html
import mimetypes
import os
from typing import Optional
from urllib.parse import quote, unquote, urlparse

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado.ioloop import IOLoop

CHUNK = 256 * 1024


def local_path(value) -> Optional[str]:
    """The absolute local path a destination or URL names (``/x`` or ``file:///x``), or None."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("file://"):
        parsed = urlparse(value)
        if parsed.netloc not in ("", "localhost"):
            return None
        path = unquote(parsed.path)
    else:
        path = value
    return path if os.path.isabs(path) else None


def record_paths(record: dict) -> list[str]:
    """The local paths a deploy record says this tool wrote (real paths, existing or not)."""
    if record.get("action") != "deploy":
        return []
    details = record.get("details") or {}
    found = []
    for value in (record.get("destination"), record.get("url"), details.get("index")):
        path = local_path(value)
        if path:
            real = os.path.realpath(path)
            if real not in found:
                found.append(real)
    return found


def deployed_paths(records: list[dict]) -> list[str]:
    """Every local path the history's deploys wrote."""
    out: list[str] = []
    for rec in records:
        for path in record_paths(rec):
            if path not in out:
                out.append(path)
    return out


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def allowed(path: str, written: list[str]) -> bool:
    """Whether the real ``path`` is one the tool wrote, or inside a folder it wrote."""
    return any(
        path == w or (_inside(path, w) and os.path.isdir(w)) for w in written
    )


def open_action(record: dict, root_dir: str, base_url: str = "/") -> Optional[dict]:
    """How the sidebar opens a deploy record or result (see the module's docstring)."""
    paths = record_paths(dict(record, action="deploy"))
    if paths:
        # the main file when a result names one (a report's page), else its folder or file
        url_path = local_path(record.get("url"))
        path = os.path.realpath(url_path) if url_path else paths[0]
        root = os.path.realpath(root_dir)
        if _inside(path, root):
            rel = "" if path == root else os.path.relpath(path, root).replace(os.sep, "/")
            return {"kind": "lab", "path": rel, "folder": os.path.isdir(path)}
        return {"kind": "served", "path": path,
                "url": base_url.rstrip("/") + "/jupyter-deploy/files?path=" + quote(path)}
    url = record.get("url")
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return {"kind": "link", "url": url}
    return None


class DeployedFileHandler(JupyterHandler):
    """``GET /jupyter-deploy/files?path=/abs/path``: a file or folder a deploy wrote, read-only."""

    auth_resource = "jupyter_deploy"

    def _refuse(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(message)

    @tornado.web.authenticated
    @authorized
    async def get(self):
        from .. import api

        raw = self.get_query_argument("path", "")
        given = local_path(raw)
        if given is None:
            return self._refuse(400, "Give the absolute path of a file a deploy wrote: ?path=/...")
        real = os.path.realpath(given)
        records = await IOLoop.current().run_in_executor(
            None, lambda: api.history(action="deploy"))
        if not allowed(real, deployed_paths(records)):
            # decided from the history alone: nothing at this path was opened or read
            return self._refuse(
                403, "jupyter-deploy serves only what its deploys wrote (see the history); "
                "this path is not one of them.")
        if os.path.isdir(real):
            return self._listing(real, deployed_paths(records))
        if not os.path.isfile(real):
            return self._refuse(404, f"{real} no longer exists (it was moved or deleted).")
        kind, encoding = mimetypes.guess_type(real)
        if kind is None or encoding:
            kind = "application/octet-stream"
        elif kind.startswith("text/") or kind in ("application/json", "application/sql"):
            kind += "; charset=utf-8"
        if real.endswith(".sql"):
            kind = "text/plain; charset=utf-8"  # shown, not downloaded
        self.set_header("Content-Type", kind)
        # a report's page runs in an origin of its own: it cannot call the server as the user
        self.set_header("Content-Security-Policy", "sandbox allow-scripts")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")
        with open(real, "rb") as fh:
            while True:
                chunk = fh.read(CHUNK)
                if not chunk:
                    break
                self.write(chunk)
                await self.flush()
        self.finish()

    def _listing(self, folder: str, written: list[str]) -> None:
        base = self.base_url.rstrip("/") + "/jupyter-deploy/files?path="
        rows = []
        parent = os.path.dirname(folder)
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            return self._refuse(403, f"Cannot list {folder}: {exc.strerror}.")
        for name in names:
            full = os.path.join(folder, name)
            slash = "/" if os.path.isdir(full) else ""
            rows.append(f"<li><a href='{html.escape(base + quote(full))}'>"
                        f"{html.escape(name + slash)}</a></li>")
        up = ""
        if parent != folder and allowed(parent, written):
            up = f"<p><a href='{html.escape(base + quote(parent))}'>..</a></p>"
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
        self.set_header("Cache-Control", "no-store")
        self.finish(
            "<!doctype html><meta charset='utf-8'>"
            f"<title>{html.escape(os.path.basename(folder))}</title>"
            f"<h1 style='font:600 16px sans-serif'>{html.escape(folder)}</h1>"
            "<p style='font:13px sans-serif'>Written by jupyter-deploy (read-only).</p>"
            f"{up}<ul style='font:13px monospace'>{''.join(rows)}</ul>"
        )
