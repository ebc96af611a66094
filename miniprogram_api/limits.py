"""Rate limits for anonymous and login endpoints (flask-limiter, Redis when configured)."""

from __future__ import annotations

from flask import Flask
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


def scan_limit() -> str:
    """Limit for public scan endpoints."""
    from miniprogram_api.auth import context

    return context().settings.ratelimit_scan


def login_limit() -> str:
    """Limit for login endpoints."""
    from miniprogram_api.auth import context

    return context().settings.ratelimit_login
