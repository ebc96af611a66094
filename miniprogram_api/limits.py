"""Rate limits for anonymous and login endpoints (flask-limiter, Redis when configured)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Flask, Response, request
from flask.globals import request_ctx
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from service.core.settings import Settings

# Module-level and bound per app with init_app; limits read settings at request time.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


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
        return self._add_headers(response) if _limit_checked() else response

    def teardown(self, error: BaseException | None = None) -> None:
        """Drop the request's limiter state, if it has any."""
        if _limit_checked():
            self._release(error)


def _limit_checked() -> bool:
    # flask-limiter keeps a request's state on the request context, made on first use
    # (tests/api/test_hardening.py checks the headers still appear on limited routes).
    return hasattr(request_ctx._get_current_object(), "_limiter_request_context")


def init_limiter(app: Flask, settings: Settings) -> LimitHooks:
    """Bind the limiter to the app with Redis storage when REDIS_URL is set; returns the
    hooks the app runs itself (`LimitHooks`)."""
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
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
    from miniprogram_api.auth import context

    return context().settings.ratelimit_scan


def login_limit() -> str:
    """Limit for login endpoints."""
    from miniprogram_api.auth import context

    return context().settings.ratelimit_login


def upload_limit() -> str:
    """Limit for photo uploads."""
    from miniprogram_api.auth import context

    return context().settings.ratelimit_upload


def lockout_limit() -> str:
    """Failed password logins allowed per username in the window."""
    from miniprogram_api.auth import context

    return context().settings.login_lockout


def caller_key() -> str:
    """Who to count: the bearer token (hashed), else the client address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "auth:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "ip:" + get_remote_address()


def login_username_key() -> str:
    """The username a password login is for, so lockout follows the account, not the IP."""
    body = request.get_json(silent=True) or {}
    name = body.get("username") if isinstance(body, dict) else None
    return "login:" + (str(name).strip().lower()[:64] if name else get_remote_address())


LOCKED_MARKER = "login_locked"
