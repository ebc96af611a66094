"""flask-smorest wiring: our error schema in the docs, offline Swagger UI."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import flask_smorest
import swagger_ui_bundle
from apispec import APISpec, BasePlugin
from flask import Flask, Request, Response, request, send_file, send_from_directory, url_for
from flask_smorest import Api
from markupsafe import escape
from marshmallow import missing
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException
from werkzeug.security import safe_join

from miniprogram_api import idempotency
from miniprogram_api.errors import handle_http_exception
from uploads_schema.common import ErrorSchema

SWAGGER_ASSETS = Path(swagger_ui_bundle.swagger_ui_path)
# Swagger UI's start-up script, a file so the docs page needs no inline script (see the
# docs page's CSP in observability.py); its URL carries its hash so browsers may cache it.
DOCS_START = Path(__file__).with_name("docs_ui") / "start.js"
DOCS_START_VERSION = hashlib.sha256(DOCS_START.read_bytes()).hexdigest()[:12]
# The docs' files are named by their content (`?v=<hash>`): under the right name a browser
# keeps them for good; under any other (no version, or another app version's during a
# rolling deploy) it asks again each time, answered 304 by the ETag while unchanged.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_asset_versions: dict[str, str] = {}
_asset_versions_lock = threading.Lock()

# The docs page: no inline script or style, so it works under its own CSP.
_DOCS_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="{icon}">
<link rel="stylesheet" href="{css}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{spec}"></div>
<script src="{bundle}"></script>
<script src="{start}"></script>
</body>
</html>
"""


def swagger_asset_version(filename: str) -> str | None:
    """The content hash naming one of Swagger UI's files, or None when there is no such file."""
    version = _asset_versions.get(filename)
    if version is None:
        path = safe_join(str(SWAGGER_ASSETS), filename)
        if path is None or not Path(path).is_file():
            return None
        version = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        with _asset_versions_lock:  # the folder has a fixed, small set of files
            _asset_versions[filename] = version
    return version


def _cache_by_version(response: Response, fresh: bool) -> Response:
    response.headers["Cache-Control"] = IMMUTABLE if fresh else REVALIDATE
    response.headers.pop("Expires", None)  # Cache-Control says it all
    return response


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": "Error"}}}


class CommonErrorsPlugin(BasePlugin):
    """Documents the errors every operation of a kind can give, so no view can forget them:
    401 wherever a bearer token is accepted (missing, expired or revoked), 400 wherever a
    JSON body is read (not parseable as JSON). Views document their own errors on top."""

    def operation_helper(self, path=None, operations=None, **kwargs):  # type: ignore[no-untyped-def]
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            security = operation.get("security")  # absent: the API-wide bearerAuth
            if security is None or any("bearerAuth" in option for option in security):
                responses.setdefault("401", _error_response("Not logged in, or the token expired"))
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body:
                responses.setdefault("400", _error_response("The body is not valid JSON"))


IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 128},
    "description": "A retry with the same key and request returns the first answer "
    "(with `Idempotent-Replayed: true`) and changes nothing; the same key with another "
    "request is a 422 `idempotency_key_reused`",
}
REPLAYED_HEADER_DOC = {
    "description": "`true` when this is the remembered answer of an earlier request",
    "schema": {"type": "string", "enum": ["true"]},
}


class IdempotencyPlugin(BasePlugin):
    """Documents `Idempotency-Key` on every write the app remembers
    (`miniprogram_api.idempotency`): the header, the replay header on its answers, and the
    422 (key reused) and 409 (a twin still in flight) it may give."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._writes: set[tuple[str, str]] | None = None

    def operation_helper(self, path=None, operations=None, **kwargs):  # type: ignore[no-untyped-def]
        if self._writes is None:  # the document is written after every route is registered
            self._writes = idempotency.replayed_paths(self._app)
        for method, operation in (operations or {}).items():
            if (method.upper(), path) not in self._writes:
                continue
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if str(status).startswith("2"):
                    response.setdefault("headers", {})[idempotency.REPLAYED_HEADER] = (
                        REPLAYED_HEADER_DOC
                    )
            responses.setdefault("409", _error_response("A request with this key is in flight"))
            responses.setdefault("422", _error_response("Invalid input, or the key was reused"))


class BodyParser(FlaskParser):
    """webargs reading the JSON body Flask parsed once, strictly, before the view
    (`inputs.parse_body`), rather than parsing it again with Python's parser."""

    def load_json(self, req: Request, schema: Any) -> Any:
        """The request's parsed JSON body, or `missing` without one."""
        if not req.is_json or not req.get_data(cache=True):
            return missing
        return req.get_json()


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose arguments read the body through `BodyParser`."""

    ARGUMENTS_PARSER = BodyParser()


class MashangchaApi(Api):
    """An Api whose documented and actual errors are the SPEC §5 shape, and whose OpenAPI
    document is written when first asked for.

    Documenting the views (flask-smorest deep-copies every schema of every operation) is
    most of what building the app costs, ~0.3 s of CPU; a gunicorn worker, a `flask`
    command run by a timer, or a test app that never serves /api/openapi.json skips it.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._spec: APISpec | None = None
        self._undocumented: list[tuple[flask_smorest.Blueprint, str, Any]] = []
        self._documenting = threading.RLock()
        self._in_progress = False
        super().__init__(*args, **kwargs)

    @property  # type: ignore[override]
    def spec(self) -> APISpec | None:
        """The OpenAPI document, with every blueprint registered so far."""
        if self._undocumented:
            self._document_blueprints()
        return self._spec

    @spec.setter
    def spec(self, value: APISpec | None) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options):  # type: ignore[no-untyped-def]
        """Register the blueprint's routes now and its documentation on first use of `spec`
        (flask-smorest's own `register_blueprint` does both at once)."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _document_blueprints(self) -> None:
        # One thread writes the document while others wait for it; the writing thread
        # itself reads `spec` on the way, which must not start over.
        with self._documenting:
            if self._in_progress:
                return
            self._in_progress = True
            try:
                while self._undocumented:
                    blp, name, parameters = self._undocumented[0]
                    blp.register_views_in_doc(
                        self, self._app, self._spec, name=name, parameters=parameters
                    )
                    self._spec.tag({"name": name, "description": blp.description})  # type: ignore[union-attr]
                    self._undocumented.pop(0)
            finally:
                self._in_progress = False

    def handle_http_exception(self, error: HTTPException):  # type: ignore[no-untyped-def, override]
        return handle_http_exception(error)


API_CONFIG = {
    "API_TITLE": "码上查 Hazard Reporting API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    # No OPENAPI_SWAGGER_UI_PATH: flask-smorest's page starts Swagger UI with an inline
    # script, which our CSP blocks; build_api serves /api/docs itself.
}


def build_api(app: Flask) -> MashangchaApi:
    """Create the Api for this app, with bearer auth documented."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = MashangchaApi(
        app,
        spec_kwargs={
            "extra_plugins": [CommonErrorsPlugin(), IdempotencyPlugin(app)],
            "info": {"description": "码上查：二维码隐患排查治理 backend (SPEC §8)."},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    )

    @app.get("/api/docs")
    def api_docs() -> Response:
        """Swagger UI over our OpenAPI document, from this app's own files (no CDN)."""

        def asset(filename: str) -> str:
            version = swagger_asset_version(filename)
            return escape(url_for("swagger_assets", filename=filename, v=version))

        html = _DOCS_PAGE.format(
            title=escape(app.config["API_TITLE"]),
            icon=asset("favicon-32x32.png"),
            css=asset("swagger-ui.css"),
            bundle=asset("swagger-ui-bundle.js"),
            spec=escape(url_for("api-docs.openapi_json")),
            start=escape(url_for("api_docs_start", v=DOCS_START_VERSION)),
        )
        return Response(html, mimetype="text/html")

    @app.get("/api/docs/start.js")
    def api_docs_start() -> Response:
        """Swagger UI's start-up script."""
        # Cached only under its own hash: while two versions of the app serve one site (a
        # rolling deploy), a page's URL may reach the other version, whose file must not
        # then be kept under that name.
        fresh = request.args.get("v") == DOCS_START_VERSION
        return _cache_by_version(send_file(DOCS_START, mimetype="text/javascript"), fresh)

    @app.get("/api/docs-assets/<path:filename>")
    def swagger_assets(filename: str) -> Response:
        """Swagger UI's own files (the swagger-ui-bundle package), cached by `?v=`."""
        response = send_from_directory(SWAGGER_ASSETS, filename)
        version = request.args.get("v")
        fresh = version is not None and version == swagger_asset_version(filename)
        return _cache_by_version(response, fresh)

    return api
