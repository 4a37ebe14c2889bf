"""The model's HTTP API (FastAPI + uvicorn).

  POST /predict    JSON records ([{"col": value, ...}, ...]) or pandas' split form
                   ({"columns": [...], "data": [[...], ...]}); arrays: [[...], ...] or {"data": ...}.
                   Answers {"predictions", "probabilities", "classes", "model"}; input that does
                   not fit the model's schema gets 422 with one message per field.
  GET  /health     200 once the model is loaded (readiness and liveness probes)
  GET  /metadata   the model's metadata: name, version, schema, source notebook, pins
  GET  /docs       OpenAPI documentation (/openapi.json)

Environment: HOST (0.0.0.0), PORT (8000), WORKERS (1), MAX_BODY_BYTES (10485760),
ACCESS_LOG (1), LOG_LEVEL (info), MODEL_DIR, VERIFY_HASHES. SIGTERM stops the server at once
(in-flight requests get GRACEFUL_SECONDS, default 5, to finish).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serving  # noqa: E402

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import Response  # noqa: E402

MAX_BODY_BYTES = int(os.environ.get("MAX_BODY_BYTES", str(10 * 1024 * 1024)))
INLINE_BYTES = 64 * 1024  # bodies up to this size are predicted on the event loop

try:
    MODEL = serving.Model()
except serving.StartupError as exc:
    print(f"error: {exc}", file=sys.stderr, flush=True)
    sys.exit(3)


def json_bytes(content):
    return json.dumps(content, ensure_ascii=True, separators=(",", ":"), allow_nan=False,
                      default=str).encode("ascii")


def json_response(content, status=200):
    return Response(json_bytes(content), status_code=status, media_type="application/json")


class BodyLimit:
    """ASGI middleware: request bodies over MAX_BODY_BYTES get 413 before the app sees them.

    POST /predict is answered here once its body is read: the same _predict as the FastAPI
    route (which stays for /docs and /openapi.json), without the framework's routing and
    request objects around it, which cost as much as validating a 100-row batch.
    """

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit
        self.drain_limit = max(4 * limit, 32 * 1024 * 1024)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        declared = 0
        for key, value in scope.get("headers") or ():
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
        if declared > self.drain_limit:
            return await self._too_large(send)  # not worth reading: answer and close
        chunks = []
        size = 0
        too_large = declared > self.limit
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                too_large = True
                chunks = []
            elif not too_large:
                chunks.append(chunk)
            if not message.get("more_body") or size > self.drain_limit:
                break
        if too_large:
            # The body was read (up to a cap) so that the client sees the 413, not a reset.
            return await self._too_large(send)
        body = b"".join(chunks)
        if scope["method"] == "POST" and scope["path"] == "/predict" and not scope.get(
                "root_path"):
            if len(body) <= INLINE_BYTES:
                status, content = _predict(body)
            else:
                from starlette.concurrency import run_in_threadpool

                status, content = await run_in_threadpool(_predict, body)
            payload = json_bytes(content)
            await send({"type": "http.response.start", "status": status, "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return None
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_large(self, send):
        body = json.dumps({"detail": [{
            "loc": ["body"], "type": "value_error.too_large",
            "msg": f"the request body is larger than the limit of {self.limit} bytes; send "
                   "fewer rows per request (or raise MAX_BODY_BYTES)"}]}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _error_schema():
    return {"type": "object", "properties": {"detail": {"type": "array", "items": {
        "type": "object", "properties": {"loc": {"type": "array"}, "msg": {"type": "string"},
                                         "type": {"type": "string"}}}}}}


def _example():
    try:
        sample = json.loads((MODEL.root / "sample.json").read_text())
        inputs = sample.get("inputs")
        if inputs and inputs.get("data"):
            out = dict(inputs)
            out["data"] = inputs["data"][:2]
            return out
    except (OSError, ValueError, AttributeError):
        pass
    return None


api = FastAPI(
    title=f"{MODEL.name} prediction API",
    version=str(MODEL.version if MODEL.version is not None else "unversioned"),
    description=f"Predictions of the model {MODEL.name!r} "
    f"({MODEL.meta.get('model_class')}), generated by jupyter-deploy. "
    "Input is validated against the model's schema; see GET /metadata.",
)

_request_body = {"required": True, "content": {"application/json": {
    "schema": MODEL.request_schema()}}}
if _example() is not None:
    _request_body["content"]["application/json"]["example"] = _example()


@api.post(
    "/predict",
    summary="Predict",
    openapi_extra={"requestBody": _request_body},
    responses={
        200: {"description": "Predictions", "content": {"application/json": {
            "schema": MODEL.response_schema()}}},
        413: {"description": "Body too large", "content": {"application/json": {
            "schema": _error_schema()}}},
        422: {"description": "Input that does not fit the model's schema",
              "content": {"application/json": {"schema": _error_schema()}}},
    },
)
async def predict(request: Request):
    body = await request.body()
    if len(body) <= INLINE_BYTES:
        status, content = _predict(body)
    else:
        from starlette.concurrency import run_in_threadpool

        status, content = await run_in_threadpool(_predict, body)
    return json_response(content, status)


def _predict(body: bytes):
    try:
        payload = serving.parse_json(body)
        X = MODEL.inputs_from_json(payload)
    except serving.InputError as exc:
        return 422, {"detail": exc.errors, "errors": exc.total}
    try:
        out = MODEL.predict(X)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return 422, {"detail": [serving.err(["body"], "the model rejected the input: "
                                            + serving.show(first, 300), "value_error.model")],
                     "errors": 1}
    out["model"] = {"name": MODEL.name, "version": MODEL.version}
    return 200, out


@api.get("/health", summary="Health", responses={200: {"description": "The model is loaded"}})
async def health():
    return json_response({"status": "ok", "model": MODEL.name, "version": MODEL.version})


@api.get("/metadata", summary="Model metadata")
async def metadata():
    return json_response(MODEL.describe())


app = BodyLimit(api, MAX_BODY_BYTES)


def main():
    import uvicorn

    workers = int(os.environ.get("WORKERS", "1"))
    options = dict(
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "8000")),
        log_level=os.environ.get("LOG_LEVEL", "info"),
        access_log=os.environ.get("ACCESS_LOG", "1") != "0",
        timeout_graceful_shutdown=int(os.environ.get("GRACEFUL_SECONDS", "5")),
        server_header=False,
    )
    if workers > 1:
        uvicorn.run("app:app", workers=workers,
                    app_dir=str(Path(__file__).resolve().parent), **options)
    else:
        uvicorn.run(app, **options)


if __name__ == "__main__":
    main()
