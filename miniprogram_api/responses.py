"""JSON answers built without a schema dump, for the hot read endpoints."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    """A 200 JSON response; flask-smorest passes a Response through its `@response` unchanged
    (the documented schema still describes it)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(text, mimetype="application/json", headers=headers)
