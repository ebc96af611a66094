"""The application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from miniprogram_api import idempotency
from miniprogram_api.api import build_api
from miniprogram_api.auth import EXTENSION
from miniprogram_api.errors import register_error_handlers
from miniprogram_api.hot import HotReads, raise_passed_on
from miniprogram_api.inputs import FORM_OVERHEAD, cap_body, init_inputs, parse_body, refuse_nul
from miniprogram_api.limits import LimitHooks, init_limiter
from miniprogram_api.observability import finish_response, security_headers, start_request
from service.bootstrap import build_context, install_queue
from service.core.context import Context
from service.core.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> Flask:
    """Build the Flask app; tests pass their own settings or a ready context."""
    if context is None:
        context = build_context(settings or Settings.from_env())
    install_queue(context)  # a context built by a test may come without one
    settings = context.settings
    app = Flask(__name__)
    # No SECRET_KEY: the API keeps no cookie session (callers send bearer tokens), so Flask
    # need not open and sign one on every request.
    init_inputs(app)  # first: the id converter precedes every route, the JSON provider its settings
    # Every body stops here; the routes that take files raise it (`inputs.cap_body`).
    app.config.update(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=settings.max_json_bytes)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION] = context

    if settings.trust_proxy_hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trust_proxy_hops, x_proto=settings.trust_proxy_hops
        )

    api = build_api(app)
    register_error_handlers(app)
    _install_request_hooks(app, settings, init_limiter(app, settings))
    _init_cors(app, settings)

    from miniprogram_api.views import BLUEPRINTS, PAGES

    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    for page in PAGES:
        app.register_blueprint(page)
    idempotency.install(app)  # after every route: it wraps each write view

    from miniprogram_api.cli import register_cli

    register_cli(app)
    app.wsgi_app = HotReads(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def _init_cors(app: Flask, settings: Settings) -> None:
    """Cross-origin calls only from the configured origins (none by default)."""
    if not settings.cors_origins:
        return
    CORS(
        app,
        origins=list(settings.cors_origins),
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
        expose_headers=["ETag", "X-Request-ID", "Retry-After", "Idempotent-Replayed"],
        max_age=600,
        always_send=False,  # no Origin, no CORS headers (phones and the hot path send none)
    )


def _install_request_hooks(app: Flask, settings: Settings, limits: LimitHooks) -> None:
    """One hook before and one after every request, calling each step in turn: Flask wraps
    every hook it runs, which costs more than several of these steps do."""
    defaults = security_headers(settings)
    upload_bytes = settings.media_max_bytes + FORM_OVERHEAD

    @app.before_request
    def _before() -> None:
        start_request()  # first: even a refused request answers with its id
        raise_passed_on(request.environ)
        cap_body(upload_bytes)
        parse_body()
        refuse_nul()

    @app.after_request
    def _after(response: Response) -> Response:
        return finish_response(limits.after(response), defaults)

    app.teardown_request(limits.teardown)
