"""flask-smorest wiring: our error schema in the docs, offline Swagger UI."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle
from apispec import BasePlugin
from flask import Flask, send_from_directory
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from miniprogram_api.errors import handle_http_exception
from uploads_schema.common import ErrorSchema

SWAGGER_ASSETS = Path(swagger_ui_bundle.swagger_ui_path)


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


class MashangchaApi(Api):
    """An Api whose documented and actual errors are the SPEC §5 shape."""

    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):  # type: ignore[no-untyped-def, override]
        return handle_http_exception(error)


API_CONFIG = {
    "API_TITLE": "码上查 Hazard Reporting API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Served by this app from the swagger-ui-bundle package: no CDN, works offline.
    "OPENAPI_SWAGGER_UI_URL": "/api/docs-assets/",
}


def build_api(app: Flask) -> MashangchaApi:
    """Create the Api for this app, with bearer auth documented."""
    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api = MashangchaApi(
        app,
        spec_kwargs={
            "extra_plugins": [CommonErrorsPlugin()],
            "info": {"description": "码上查：二维码隐患排查治理 backend (SPEC §8)."},
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "security": [{"bearerAuth": []}],
        },
    )

    @app.get("/api/docs-assets/<path:filename>")
    def swagger_assets(filename: str):  # type: ignore[no-untyped-def]
        return send_from_directory(SWAGGER_ASSETS, filename, max_age=86400)

    return api
