"""Input the database cannot hold is refused at the door: ids past 32 bits or not in ASCII
digits, NUL characters.

Found by fuzzing (tests/fuzz): such values reached SQL and failed there as 500s — ids over
2³¹−1 overflow PostgreSQL INTEGER keys (over 2⁶³ the SQLite driver), and PostgreSQL text
rejects U+0000. Here they become a 404 (no such row can exist) or a 422 on both databases.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from service.core.errors import ValidationFailed
from uploads_schema.common import MAX_ID

NUL = "\x00"
NUL_MESSAGE = "不能包含空字符（NUL） / must not contain NUL characters"


class IdConverter(IntegerConverter):
    """`<int:…>` in our routes is a row id: ASCII digits, 1 … 2³¹−1; anything else matches no
    route (404). Werkzeug's `\\d+` also matches other scripts' digits (`１`, `١`), which
    `int()` reads as numbers: an id must have one spelling."""

    regex = "[0-9]+"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


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
    """Install the id converter (before any route is added); `refuse_nul` runs in the
    app's one before-request hook."""
    app.url_map.converters["int"] = IdConverter
