"""`GET /api/v1/hazards/{id}`, the call phones make most, answered ahead of Flask.

Flask's request machinery (request context, routing, hooks, the view's wrappers, the
response object) costs about as much CPU as the read itself. This WSGI layer answers the
plain success case of that one route with what the Flask view uses (`reads.read_hazard`,
`hazard_json`) and what every answer gets (`security_headers`, `request_id`,
`log_access`). Everything else goes on to Flask untouched: other routes and methods, a
query string, a body, a cross-origin call, and any failure (no token, not found, a lost
database, a bug) — Flask then answers it as it answers every route, errors in the one
shape. Tests hold both paths to the same answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from flask import Flask

from miniprogram_api.auth import EXTENSION
from miniprogram_api.observability import log_access, request_id, security_headers
from service import reads
from service.auth import decode_token
from uploads_schema.common import MAX_ID
from uploads_schema.hazards import hazard_json

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_HAZARD = re.compile(r"/api/v1/hazards/([1-9][0-9]{0,9})")


class HotReads:
    """WSGI middleware: one hazard for a bearer token, else on to `next_app` (Flask)."""

    def __init__(self, app: Flask, next_app: WSGIApp) -> None:
        self.next_app = next_app
        self._ctx = app.extensions[EXTENSION]
        api_headers, _docs = security_headers(self._ctx.settings)
        self._headers = [*api_headers, ("Cache-Control", "no-store")]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        found = _HAZARD.fullmatch(path)
        if (
            found is None
            or environ.get("REQUEST_METHOD") != "GET"
            or environ.get("QUERY_STRING")
            or environ.get("CONTENT_LENGTH") not in (None, "", "0")
            or "HTTP_TRANSFER_ENCODING" in environ
            or "HTTP_ORIGIN" in environ  # CORS answers come from Flask
            or int(found[1]) > MAX_ID
        ):
            return self.next_app(environ, start_response)
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self.next_app(environ, start_response)
        started = time.perf_counter()
        ctx = self._ctx
        try:
            actor, doc = reads.read_hazard(ctx, decode_token(ctx, token), int(found[1]))
            body = orjson.dumps(hazard_json(doc))
        except Exception:
            # Not found, unauthenticated, unavailable, or a bug: Flask reads again and
            # answers (or logs) it like any other route.
            return self.next_app(environ, start_response)
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("ETag", f'"{doc.hazard.version}"'),
                *self._headers,
                ("X-Request-ID", rid),
            ],
        )
        log_access("GET", path, 200, started, actor.user_id, rid)
        return [body]
