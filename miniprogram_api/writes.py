"""Request details every write endpoint honours: Idempotency-Key and If-Match."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import request

from miniprogram_api.auth import context
from service.access.scoping import Actor
from service.core.errors import ValidationFailed
from service.core.idempotency import IdempotencyKey

MAX_KEY = 128


def idempotency_key(actor: Actor | None, *, anonymous: bool = False) -> IdempotencyKey | None:
    """The request's Idempotency-Key, bound to the caller and a fingerprint of the request.

    For anonymous reports the caller is stored only as a keyed hash, so the record cannot
    be joined back to a user id (举报人信息保护).
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY:
        raise ValidationFailed(errors={"Idempotency-Key": [f"at most {MAX_KEY} characters"]})
    if actor is None:
        actor_key = "anon"
    elif anonymous:
        secret = context().settings.secret_key.encode()
        digest = hmac.new(secret, f"user:{actor.user_id}".encode(), hashlib.sha256).hexdigest()
        actor_key = f"anon:{digest[:40]}"
    else:
        actor_key = f"user:{actor.user_id}"
    return IdempotencyKey.of(
        actor_key, key, request.method, request.path, request.get_data(cache=True)
    )


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
