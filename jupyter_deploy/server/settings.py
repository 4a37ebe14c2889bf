"""The server extension's own settings, and where its REST clients may send things.

Set in ``jupyter_server_config.py`` (or on the command line)::

    c.DeployServer.allowed_destinations = ["/srv/reports", "/srv/models"]
    c.DeployServer.max_body_size = 1048576

A REST request names destinations (``to``, and options such as a model's ``registry`` or a
container's ``out``) that the worker then writes into. They are confined like notebook paths:
a local folder or file must lie under the server's root folder or under one of
``allowed_destinations`` (after resolving ``..`` and symlinks), else the request is refused with
403 before any work starts. Relative paths are taken from the server's root and handed to the
worker as absolute paths, so what was checked is where it writes. Remote destinations (http(s),
s3, postgresql, mailto...) are not local folders and pass unchanged.
"""

from __future__ import annotations

import os
from typing import Any, Optional
from urllib.parse import quote, unquote, urlsplit

from traitlets import Int, List, Unicode
from traitlets.config import Configurable

from ..errors import PathNotAllowed, UsageError

#: database URL schemes whose path is a local file (SQLAlchemy style: scheme:///relative,
#: scheme:////absolute)
FILE_DB_SCHEMES = ("duckdb", "sqlite")


class DeployServer(Configurable):
    """Settings of the jupyter-deploy server extension (REST API)."""

    allowed_destinations = List(
        Unicode(),
        default_value=[],
        help="Local folders, besides the server's root folder, that REST requests may name as a "
        "destination (--to, a model's registry, a container's out). Anything else outside the "
        "root is refused with 403.",
    ).tag(config=True)

    max_body_size = Int(
        1024 * 1024,
        help="Largest REST request body accepted, in bytes; larger ones are answered 413 without "
        "being read into memory.",
    ).tag(config=True)

    max_json_depth = Int(
        32, help="Deepest nesting of arrays and objects accepted in a REST request body.",
    ).tag(config=True)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def confine_path(root_dir: str, raw: str, allowed: list[str], what: str = "destination") -> str:
    """The real absolute path of ``raw`` (relative to ``root_dir``) if it is allowed."""
    if "\0" in raw:
        raise PathNotAllowed(f"The {what} contains a NUL byte.", hint="Give a plain path.")
    root = os.path.realpath(root_dir)
    expanded = os.path.expanduser(raw)
    base = expanded if os.path.isabs(expanded) else os.path.join(root, expanded)
    full = os.path.realpath(base)
    folders = [root] + [os.path.realpath(os.path.expanduser(a)) for a in allowed if a]
    if any(_inside(full, f) for f in folders):
        return full
    extra = (f" or under {', '.join(folders[1:])}" if len(folders) > 1 else "")
    raise PathNotAllowed(
        f"The {what} {raw!r} is outside the server's root folder{extra}.",
        hint="Pick a folder inside the folder JupyterLab was started in, or ask the server's "
        "operator to allow it (c.DeployServer.allowed_destinations).",
    )


def confine_destination(root_dir: str, to: Any, allowed: list[str], what: str = "destination"
                        ) -> Optional[str]:
    """``to`` rewritten to the absolute local path it names, once allowed; remote URLs as is."""
    if to is None or to == "":
        return None
    if not isinstance(to, str):
        raise UsageError(f"The {what} must be a string.", hint="For example a folder path or URL.")
    text = to.strip()
    low = text.lower()
    if low.startswith("file://"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            raise PathNotAllowed(f"The {what} {text!r} names another host.",
                                 hint="Write file:///absolute/path or just the folder path.")
        return "file://" + quote(confine_path(root_dir, unquote(parts.path), allowed, what))
    if "://" in text:
        scheme, rest = text.split("://", 1)
        if scheme.lower() in FILE_DB_SCHEMES:
            rest, sep, query = rest.partition("?")
            path = rest[1:] if rest.startswith("/") else rest
            if not path:
                return text  # the backend reports "names no database file"
            full = confine_path(root_dir, path, allowed, what)
            return f"{scheme}:///{full}" + (sep + query if sep else "")
        return text  # a remote place: http(s), s3, postgresql...
    if low.startswith("mailto:"):
        return text
    return confine_path(root_dir, text, allowed, what)


def confine_request(body: Any, root_dir: str, allowed: list[str]) -> Any:
    """A job request whose ``to`` and destination options are confined (a new dict)."""
    if not isinstance(body, dict):
        return body
    body = dict(body)
    if "to" in body:
        body["to"] = confine_destination(root_dir, body.get("to"), allowed)
    options = body.get("options")
    target = body.get("target")
    if body.get("action") == "deploy" and isinstance(options, dict) and isinstance(target, str) \
            and target:
        from .. import plugins

        try:
            cls = plugins.target_class(target)
        except Exception:  # noqa: BLE001 - validate() reports unknown or broken targets
            return body
        options = dict(options)
        # a target's other names for --to (registry, out), and options a plugin tags so
        names = set(getattr(cls, "destination_flags", ())) | set(cls.class_traits(destination=True))
        for name in sorted(names):
            if options.get(name):
                options[name] = confine_destination(root_dir, options[name], allowed,
                                                    what=f"option {name}")
        body["options"] = options
    return body
