"""Answers built without a schema dump: JSON for the hot reads, files for downloads."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app

from service.core.downloads import content_disposition


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    """A 200 JSON response; flask-smorest passes a Response through its `@response` unchanged
    (the documented schema still describes it). orjson writes UTF-8 as the standard `json`
    with ensure_ascii=False would, several times faster on a list page."""
    return current_app.response_class(
        orjson.dumps(body), mimetype="application/json", headers=headers
    )


def download(
    data: bytes,
    mimetype: str,
    name: str,
    ascii_name: str,
    *,
    inline: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """A file answer named for saving: `name` (may be Chinese) with its ASCII fallback."""
    response = current_app.response_class(data, mimetype=mimetype, headers=headers)
    response.headers["Content-Disposition"] = content_disposition(name, ascii_name, inline=inline)
    return response
