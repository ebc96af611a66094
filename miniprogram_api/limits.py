"""Rate limits for anonymous and login endpoints (flask-limiter, Redis when configured)."""

from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from service.settings import Settings

# Module-level and bound per app with init_app; limits read settings at request time.
limiter = Limiter(key_func=get_remote_address, headers_enabled=True, strategy="moving-window")


def init_limiter(app: Flask, settings: Settings) -> None:
    """Bind the limiter to the app with Redis storage when REDIS_URL is set."""
    app.config["RATELIMIT_STORAGE_URI"] = settings.redis_url or "memory://"
    app.config["RATELIMIT_KEY_PREFIX"] = "mashangcha"
    limiter.init_app(app)
    # Every limit is a decorator on its route and is checked there when the route runs; the
    # extension's own pass before each request finds nothing to do, yet costs a few percent
    # of a simple read.
    app.before_request_funcs[None].remove(limiter._check_request_limit)


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
