"""The two calls phones make most, answered ahead of Flask: `GET /api/v1/hazards/{id}`
and `GET /api/v1/hazards?page=&page_size=` (no other filter).

Flask's request machinery (request context, routing, hooks, argument parsing, the view's
wrappers, the response object) costs as much CPU as a single read itself, and a fifth of
a list page. This WSGI layer answers the plain success case of those two routes with what
their Flask views use (`reads`, `hazard_json`, `hazard_page_json`) and what every answer
gets (`security_headers`, `request_id`, `log_access`). Everything else goes on to Flask
untouched: other routes and methods, other query parameters, a body, a cross-origin call,
and any failure (no token, not found, a lost database, a bug) — Flask then answers it as
it answers every route, errors in the one shape. Tests hold both paths to the same answers.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

import orjson
from flask import Flask
from marshmallow import ValidationError

from miniprogram_api.auth import EXTENSION, bearer_token
from miniprogram_api.observability import (
    API_CACHING,
    log_access,
    request_id,
    security_headers,
)
from service.access.auth import decode_token
from service.access.scoping import load_caller
from service.core.context import Context
from service.core.errors import DomainError, ServiceUnavailable
from service.core.storage import StorageError
from service.hazards import reads
from service.hazards.queries import HazardFilters
from uploads_schema.common import MAX_ID, PageArgsSchema
from uploads_schema.hazards import hazard_json, hazard_page_json

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# (body, extra headers, caller's user id) of a 200 answer
Answer = tuple[bytes, list[tuple[str, str]], int]

_HAZARD = re.compile(r"/api/v1/hazards/([1-9][0-9]{0,9})")
_LIST = "/api/v1/hazards"
_PAGE_KEYS = frozenset({"page", "page_size"})
_DIGITS = re.compile(r"[0-9]{1,9}")
PASSED_ON = "mashangcha.hot_error"  # environ key: an error the hot path met, for Flask
_PAGE_ARGS = PageArgsSchema()  # the list's own bounds and defaults for page and page_size


class HotReads:
    """WSGI middleware: the two hot reads for a bearer token, else on to `next_app`."""

    def __init__(self, app: Flask, next_app: WSGIApp) -> None:
        self.next_app = next_app
        self._ctx: Context = app.extensions[EXTENSION]
        api_headers, _docs = security_headers(self._ctx.settings)
        self._headers = [*api_headers, API_CACHING]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            environ.get("REQUEST_METHOD") != "GET"
            or environ.get("CONTENT_LENGTH") not in (None, "", "0")
            or "HTTP_TRANSFER_ENCODING" in environ
            or "HTTP_ORIGIN" in environ  # CORS answers come from Flask
        ):
            return self.next_app(environ, start_response)
        started = time.perf_counter()
        answer = self._answer(environ)
        if answer is None:
            return self.next_app(environ, start_response)
        body, extra, user_id = answer
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *extra,
                *self._headers,
                ("X-Request-ID", rid),
            ],
        )
        log_access("GET", environ["PATH_INFO"], 200, started, user_id, rid)
        return [body]

    def _answer(self, environ: dict[str, Any]) -> Answer | None:
        """The answer of a plain hot read, or None to let Flask answer."""
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        one = _HAZARD.fullmatch(path)
        if (one is None and path != _LIST) or (one is not None and query):
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        try:
            if one is not None:
                return self._one(token, int(one[1]))
            return self._page(token, query)
        except ServiceUnavailable as exc:
            # Flask answers it as it is (`raise_passed_on`), without trying the database
            # a second time: on an outage that would double the wait before the 503.
            environ[PASSED_ON] = exc
            return None
        except (DomainError, StorageError):
            return None  # not found, unauthenticated: Flask answers it
        except Exception:
            # A bug: said here (Flask may well answer the same request fine), then Flask
            # reads again and answers it like any other route.
            log.exception("hot read failed; handed to Flask")
            return None

    def _one(self, token: str, hazard_id: int) -> Answer | None:
        if hazard_id > MAX_ID:
            return None
        ctx = self._ctx
        actor, doc = reads.read_hazard(ctx, decode_token(ctx, token), hazard_id)
        etag = [("ETag", f'"{doc.hazard.version}"')]
        return orjson.dumps(hazard_json(doc)), etag, actor.user_id

    def _page(self, token: str, query: str) -> Answer | None:
        pairs = parse_qsl(query, keep_blank_values=True)
        names = [name for name, _value in pairs]
        if (
            len(set(names)) != len(names)
            or not _PAGE_KEYS.issuperset(names)
            or not all(_DIGITS.fullmatch(value) for _name, value in pairs)
        ):
            return None
        try:
            args = _PAGE_ARGS.load(dict(pairs))
        except ValidationError:
            return None
        ctx = self._ctx
        actor = load_caller(ctx, decode_token(ctx, token))
        found = reads.list_page(ctx, actor, HazardFilters(), **args)
        return orjson.dumps(hazard_page_json(found)), [], actor.user_id


def raise_passed_on(environ: dict[str, Any]) -> None:
    """Raise the error the hot path met with this request, if any (a Flask before-request
    step: the error handlers then answer it like any other)."""
    error = environ.get(PASSED_ON)
    if error is not None:
        raise error
