"""A small generic-repository artefact server on loopback: PUT stores a file, GET returns it.

Honours ``If-None-Match: *`` (412 when the file exists), like Artifactory/Nexus/WebDAV. Modes:
``ok``; ``flaky`` (the first request for each method+path answers 500, the retry succeeds);
``down`` (always 500); ``readonly`` (PUT/DELETE answer 403).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


class ArtefactServer:
    def __init__(self, root: Path, mode: str = "ok"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.mode = mode
        self.lock = threading.Lock()
        self.seen: set = set()
        self.requests: list = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _path(self):
                rel = unquote(urlsplit(self.path).path).lstrip("/")
                if ".." in rel.split("/"):
                    return None
                return server.root / rel

            def _reply(self, code, body=b""):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and self.command != "HEAD":
                    self.wfile.write(body)

            def _fault(self):
                key = (self.command, self.path)
                server.requests.append(key)
                if server.mode == "down":
                    return 500
                if server.mode == "flaky":
                    with server.lock:
                        if key not in server.seen:
                            server.seen.add(key)
                            return 500
                if server.mode == "readonly" and self.command in ("PUT", "DELETE"):
                    return 403
                return None

            def _drain(self):
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                code = self._fault()
                if code:
                    return self._reply(code, b"error")
                p = self._path()
                if p is None or not p.is_file():
                    return self._reply(404, b"not found")
                self._reply(200, p.read_bytes())

            do_HEAD = do_GET

            def do_PUT(self):
                data = self._drain()
                code = self._fault()
                if code:
                    return self._reply(code, b"error")
                p = self._path()
                if p is None:
                    return self._reply(400)
                with server.lock:
                    if self.headers.get("If-None-Match") == "*" and p.exists():
                        return self._reply(412, b"exists")
                    p.parent.mkdir(parents=True, exist_ok=True)
                    tmp = p.with_name(p.name + ".part")
                    tmp.write_bytes(data)
                    tmp.replace(p)
                self._reply(201)

            def do_DELETE(self):
                code = self._fault()
                if code:
                    return self._reply(code)
                p = self._path()
                if p is not None and p.is_file():
                    p.unlink()
                self._reply(204)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/models"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
