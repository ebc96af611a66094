"""Input the app cannot hold is refused at the door, in the one error shape.

- Bodies: every request body is capped at MAX_JSON_BYTES as it is read (a chunked body
  too, whatever its Content-Length claims), except on the routes that take files
  (`takes_files`), capped at MEDIA_MAX_BYTES plus the form's other fields; over it, 413.
- JSON: a JSON body is parsed once, here, before any view: by orjson, which refuses what
  Python's parser lets through to a 500 (lone surrogates PostgreSQL cannot store, a number
  of thousands of digits, nesting deep enough to exhaust the stack), and no deeper than
  MAX_JSON_DEPTH. The views' arguments read this parse (`miniprogram_api.api.BodyParser`).
- Ids past 32 bits or not in ASCII digits, NUL characters: found by fuzzing, they reached
  SQL and failed there as 500s (ids over 2³¹−1 overflow PostgreSQL INTEGER keys, over 2⁶³
  the SQLite driver; PostgreSQL text rejects U+0000). Here they become a 404 (no such row
  can exist) or a 422 on both databases.
"""

from __future__ import annotations

import logging
from typing import IO, Any, TypeVar

import orjson
from flask import Flask, Request, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from service.core.errors import ValidationFailed
from uploads_schema.common import MAX_ID

log = logging.getLogger(__name__)

NUL = "\x00"
NUL_MESSAGE = "不能包含空字符（NUL） / must not contain NUL characters"
# Our deepest body nests 2 levels (an object holding a list); 32 leaves room and stays far
# below the recursion limit of the walks that follow (the NUL check, marshmallow).
MAX_JSON_DEPTH = 32
JSON_MESSAGE = "请求体不是有效的 JSON / invalid JSON body"
FORM_OVERHEAD = 1024 * 1024  # an upload's other form fields and multipart framing


class IdConverter(IntegerConverter):
    """`<int:…>` in our routes is a row id: ASCII digits, 1 … 2³¹−1; anything else matches no
    route (404). Werkzeug's `\\d+` also matches other scripts' digits (`１`, `١`), which
    `int()` reads as numbers: an id must have one spelling."""

    regex = "[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class BodyRefused(ValueError):
    """A JSON body that does not parse, or nests deeper than MAX_JSON_DEPTH."""


def parse_json(data: str | bytes) -> Any:
    """Parse JSON strictly: valid UTF-8 without lone surrogates, numbers a double can hold,
    at most MAX_JSON_DEPTH levels of arrays and objects."""
    try:
        value = orjson.loads(data)  # depth-limited at 1,024 and not recursive in Python
    except orjson.JSONDecodeError as error:
        raise BodyRefused(str(error)) from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise BodyRefused(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest past `limit` levels (a walk level by level, so a
    deep value costs no stack)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(limit):
        level = [
            child
            for container in level
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return bool(level)


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, whose parsing (request bodies included) is `parse_json`."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse strictly (`parse_json`)."""
        return parse_json(s)


class CappedStream(LimitedStream):
    """A body without Content-Length (chunked) read up to a maximum. Werkzeug's own stream
    stops reading a whole body at the maximum without a word (a 2 MB body would parse as
    its first megabyte); here a byte past the maximum is a 413."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._source = stream

    def on_exhausted(self) -> None:
        """At the maximum: the end of the body, or a 413 if there is more."""
        if self._source.read(1):
            raise RequestEntityTooLarge()

    def readall(self) -> bytes:
        """The whole body, or a 413 if it goes past the maximum."""
        data = super().readall()
        if self.is_exhausted:
            self.on_exhausted()
        return data


class ApiRequest(Request):
    """Flask's request: a chunked body capped as it is read, and a JSON body that does not
    parse a 400 saying why."""

    @cached_property
    def stream(self) -> IO[bytes]:
        """The body, at most `max_content_length` bytes (`CappedStream` when it comes
        without a Content-Length)."""
        limit = self.max_content_length
        if self.content_length is None and limit and "wsgi.input_terminated" in self.environ:
            return CappedStream(self.environ["wsgi.input"], limit)
        return super().stream

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        """Refuse the body: 400 `bad_request`, logged as a refusal (no traceback)."""
        if e is None:  # not a JSON content type: Flask's own answer (415)
            return super().on_json_loading_failed(e)
        log.info("refused a JSON body: %s", e)
        refused = BadRequest()
        refused.data = {"errors": {"json": [f"{JSON_MESSAGE}: {e}"]}}  # type: ignore[attr-defined]
        raise refused


V = TypeVar("V", bound=type)


def takes_files(view: V) -> V:
    """Class decorator for a route that takes a multipart upload: its body may reach
    MEDIA_MAX_BYTES plus the form's other fields; every other body stops at MAX_JSON_BYTES."""
    view.takes_files = True
    return view


def cap_body(upload_bytes: int) -> None:
    """Before any view: the most this request's body may read (MAX_CONTENT_LENGTH, or
    `upload_bytes` on a route that takes files). Reading past it is a 413, for a chunked
    body too; a Content-Length over it is refused before anything is read."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(getattr(view, "view_class", None), "takes_files", False):
        request.max_content_length = upload_bytes
    if (request.content_length or 0) > (request.max_content_length or 0):
        abort(413)


def parse_body() -> None:
    """Before any view: parse a JSON body, once (the parse is cached on the request and read
    by the views' arguments); one that does not parse is a 400. An empty body is no body."""
    if request.is_json and request.get_data(cache=True):
        request.get_json()


def _nul_paths(value: Any, path: str) -> list[str]:
    """Where in a JSON-like value a NUL character occurs (keys included)."""
    if isinstance(value, str):
        return [path] if NUL in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            found += [name] if NUL in str(key) else _nul_paths(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _nul_paths(item, f"{path}.{index}" if path else str(index))
    return found


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_nul() -> None:
    """Before any view: a NUL in the path, query, form or JSON body is a 422 naming the field."""
    found = _nul_paths(request.view_args or {}, "")
    if request.query_string:
        found += _nul_fields(request.args)
    if request.mimetype in _FORMS:  # reading `request.form` of any other body parses nothing
        found += _nul_fields(request.form)
    if request.is_json:
        found += _nul_paths(request.get_json(silent=True), "")
    if found:
        raise ValidationFailed(errors={name: [NUL_MESSAGE] for name in found})


def _nul_fields(source: Any) -> list[str]:
    return [str(name) for name, value in source.items(multi=True) if NUL in f"{name}{value}"]


def init_inputs(app: Flask) -> None:
    """Install the id converter (before any route is added) and the strict JSON parser;
    `cap_body`, `parse_body` and `refuse_nul` run in the app's one before-request hook."""
    app.url_map.converters["int"] = IdConverter
    app.json = JsonProvider(app)
    app.request_class = ApiRequest
