"""Answers built without a schema dump: JSON for the hot reads, files for downloads."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson
from flask import Response, current_app
from werkzeug.datastructures import Headers


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    """A 200 JSON response; flask-smorest passes a Response through its `@response` unchanged
    (the documented schema still describes it). orjson writes UTF-8 as the standard `json`
    with ensure_ascii=False would, several times faster on a list page."""
    return current_app.response_class(
        orjson.dumps(body), mimetype="application/json", headers=headers
    )


# Characters no file name may carry on Windows, macOS or Linux, and control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def disposition(name: str, ascii_name: str, *, inline: bool = False) -> str:
    """A Content-Disposition naming the file (RFC 6266): `filename*=UTF-8''…` with the full
    name (Chinese too), and `filename=` with an ASCII fallback for older clients."""
    name = _UNSAFE.sub("_", name).strip(" .") or ascii_name
    fallback = _NOT_ASCII_NAME.sub("_", ascii_name).strip("._") or "download"
    headers = Headers()
    headers.set(
        "Content-Disposition",
        "inline" if inline else "attachment",
        filename=fallback,
        # RFC 5987 attr-chars stay as they are; everything else is percent-encoded UTF-8.
        **{"filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")},
    )
    return headers["Content-Disposition"]


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
    response.headers["Content-Disposition"] = disposition(name, ascii_name, inline=inline)
    return response
