"""Rate limits on the public, login and upload endpoints (flask-limiter, moving windows),
counted where every worker and box sees the same numbers: Redis when `REDIS_URL` is set,
else the database (`service.core.ratelimits`). The login lockout is not here: it is the
password login's own rule (`service.access.lockout`)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from flask import Flask, Response, request
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from miniprogram_api.auth import bearer_token, context
from service.access.auth import decode_token
from service.core.errors import ServiceUnavailable, Unauthenticated
from service.core.ratelimits import DatabaseStorage
from service.core.settings import Settings

log = logging.getLogger(__name__)

# Module-level and bound per app with init_app; limits read settings at request time.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


class AppDatabaseStorage(DatabaseStorage):
    """The database storage under our own scheme, counting in the current app's database
    (one limiter serves every app a process builds: tests build many)."""

    STORAGE_SCHEME: ClassVar[list[str]] = ["mashangcha+db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        super().__init__(uri, wrap_exceptions, context_of=context, **options)


class LimitHooks:
    """The limiter's after-request (rate-limit headers) and teardown hooks, run only for
    requests that met a limit.

    Every limit is a decorator on its route and is checked there when the route runs. The
    extension's own hooks run on every request: before it, to find no limit to check;
    after it, to find none to report — each creating the per-request state it then looks
    at. Together they cost several percent of a simple read."""

    def __init__(self, add_headers: Callable[[Response], Response], release: Callable) -> None:
        self._add_headers, self._release = add_headers, release

    def after(self, response: Response) -> Response:
        """X-RateLimit-* headers (and conditional deductions) when a limit was checked."""
        if not _limit_checked():
            return response
        try:
            return self._add_headers(response)
        except ServiceUnavailable as exc:
            # The counters' store went away after the route had answered (its hit was
            # counted before it ran): the answer stands, without the headers.
            log.warning("rate-limit headers left out: %s", exc.message_en)
            return response

    def teardown(self, error: BaseException | None = None) -> None:
        """Drop the request's limiter state, if it has any."""
        if _limit_checked():
            self._release(error)


def _limit_checked() -> bool:
    # flask-limiter keeps a request's state on the request context, made on first use
    # (tests/api/test_hardening.py checks the headers still appear on limited routes).
    return hasattr(request_ctx._get_current_object(), "_limiter_request_context")


def init_limiter(app: Flask, settings: Settings) -> LimitHooks:
    """Bind the limiter to the app, counting in Redis when REDIS_URL is set, else in the
    database; returns the hooks the app runs itself (`LimitHooks`)."""
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "mashangcha+db://"
    app.config["RATELIMIT_KEY_PREFIX"] = "mashangcha"
    limiter.init_app(app)
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    add_headers = app.after_request_funcs[None].pop()
    release = app.teardown_request_funcs[None].pop()
    assert getattr(add_headers, "args", None) == (limiter,), "the limiter's after-request hook"
    assert getattr(release, "__self__", None) is limiter, "the limiter's teardown hook"
    return LimitHooks(add_headers, release)


def scan_limit() -> str:
    """Limit for public scan endpoints."""
    return context().settings.ratelimit_scan


def login_limit() -> str:
    """Limit for login endpoints."""
    return context().settings.ratelimit_login


def upload_limit() -> str:
    """Limit for photo uploads."""
    return context().settings.ratelimit_upload


def scan_upload_limit() -> str:
    """Limit for anonymous photos from a scanned code, per client address."""
    return context().settings.ratelimit_scan_upload


def scan_upload_code_limit() -> str:
    """Limit for anonymous photos from a scanned code, per code."""
    return context().settings.ratelimit_scan_upload_code


def code_key() -> str:
    """Who to count for a per-code limit: the code, by a hash of its token (the counters'
    store never holds a token)."""
    token = (request.view_args or {}).get("token", "")
    return "code:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def caller_key() -> str:
    """Who to count: the account the bearer token was issued to, as its signature proves
    (however the header is spelled), else the client address. A bad or expired token is
    counted as the anonymous client it is; the view then answers 401."""
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is not None:
        try:
            return f"user:{decode_token(context(), token).user_id}"
        except Unauthenticated:
            pass
    return "ip:" + get_remote_address()
