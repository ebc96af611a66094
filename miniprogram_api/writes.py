"""Request details every write endpoint honours: Idempotency-Key and If-Match."""

from __future__ import annotations

from typing import Any

from flask import request

from service.access.scoping import Actor
from service.core.errors import ValidationFailed
from service.core.idempotency import IdempotencyKey

MAX_KEY = 128


def client_key() -> str | None:
    """The request's `Idempotency-Key` header; None without one, 422 when too long."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY:
        raise ValidationFailed(errors={"Idempotency-Key": [f"at most {MAX_KEY} characters"]})
    return key


def idempotency_key(actor: Actor | None, *, anonymous: bool = False) -> IdempotencyKey | None:
    """The request's Idempotency-Key, bound to the caller and a fingerprint of the request.

    Anonymous reports are bound to no caller (`IdempotencyKey.anonymous`), so the record
    cannot be joined back to a user (举报人信息保护).
    """
    key = client_key()
    if key is None:
        return None
    body = request.get_data(cache=True)
    if actor is None or anonymous:
        return IdempotencyKey.anonymous(key, request.method, request.path, body)
    return IdempotencyKey.of(f"user:{actor.user_id}", key, request.method, request.path, body)


def expected_version(args: dict[str, Any]) -> int | None:
    """The version the client last saw: `If-Match: "7"` or a `version` field."""
    version = args.pop("version", None)
    header = request.headers.get("If-Match", "").strip()
    if header and header != "*":
        value = header.removeprefix("W/").strip('"')
        try:
            return int(value)
        except ValueError:
            raise ValidationFailed(errors={"If-Match": ["expected a version number"]}) from None
    return int(version) if version is not None else None
