"""The application factory."""

from __future__ import annotations

import logging

from flask import Flask, abort, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from miniprogram_api.api import build_api
from miniprogram_api.auth import EXTENSION
from miniprogram_api.errors import register_error_handlers
from miniprogram_api.inputs import init_inputs
from miniprogram_api.limits import init_limiter
from miniprogram_api.observability import init_observability
from service.context import Context
from service.db import make_engine, make_lookup_factory, make_session_factory
from service.settings import Settings
from service.storage import build_storage

log = logging.getLogger(__name__)


def build_context(settings: Settings) -> Context:
    """Wire the service context from settings (engine, sessions)."""
    engine = make_engine(settings.database_url)
    return Context(
        settings=settings,
        session_factory=make_session_factory(engine),
        lookup_factory=make_lookup_factory(engine),
        storage=build_storage(settings),
    )


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> Flask:
    """Build the Flask app; tests pass their own settings or a ready context."""
    if context is None:
        context = build_context(settings or Settings.from_env())
    settings = context.settings
    app = Flask(__name__)
    # No SECRET_KEY: the API keeps no cookie session (callers send bearer tokens), so Flask
    # need not open and sign one on every request.
    app.config.update(
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=settings.media_max_bytes + 1024 * 1024,  # file + form overhead
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = context

    if settings.trust_proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trust_proxy_hops, x_proto=settings.trust_proxy_hops
        )

    init_inputs(app)  # before build_api: the id converter must precede every route
    api = build_api(app)
    register_error_handlers(app)
    init_limiter(app, settings)
    init_observability(app, settings)
    _init_cors(app, settings)
    _cap_json_bodies(app, settings)

    from miniprogram_api.views import BLUEPRINTS, PAGES

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    for page in PAGES:
        app.register_blueprint(page)

    from miniprogram_api.cli import register_cli

    register_cli(app)
    return app


def _init_cors(app: Flask, settings: Settings) -> None:
    """Cross-origin calls only from the configured origins (none by default)."""
    if not settings.cors_origins:
        return
    CORS(
        app,
        origins=list(settings.cors_origins),
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
        expose_headers=["ETag", "X-Request-ID", "Retry-After"],
        max_age=600,
    )


def _cap_json_bodies(app: Flask, settings: Settings) -> None:
    """Only uploads may be large; any other body over MAX_JSON_BYTES is refused early."""

    @app.before_request
    def _check_size() -> None:
        length = request.content_length or 0
        if length > settings.max_json_bytes and request.mimetype != "multipart/form-data":
            abort(413)
