"""Every error leaves as the one JSON shape of SPEC §5, from this module only."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from service.core.errors import DomainError
from service.core.storage import ObjectMissing, StorageUnavailable
from uploads_schema.messages import bilingual_errors

log = logging.getLogger(__name__)

# code, zh-CN, English for errors raised by Flask/Werkzeug/webargs rather than our code.
HTTP_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("bad_request", "请求格式有误", "Malformed request"),
    401: ("unauthenticated", "请先登录", "Authentication required"),
    403: ("forbidden", "没有权限执行此操作", "You are not allowed to do this"),
    404: ("not_found", "资源不存在", "Not found"),
    405: ("method_not_allowed", "不支持该请求方法", "Method not allowed"),
    409: ("conflict", "数据冲突", "Conflict"),
    412: ("precondition_failed", "数据已被他人修改，请刷新后重试", "Precondition failed"),
    413: ("payload_too_large", "上传内容过大", "Payload too large"),
    # 414, 417, 431 and 501 come from gunicorn, before the app (miniprogram_api.server).
    414: ("uri_too_long", "请求地址过长", "Request URI too long"),
    415: ("unsupported_media_type", "不支持的文件类型", "Unsupported media type"),
    417: ("expectation_failed", "不支持该 Expect 请求头", "Expectation failed"),
    422: ("validation_error", "提交的数据有误", "Invalid input"),
    428: ("precondition_required", "缺少版本信息（If-Match）", "Precondition required"),
    429: ("rate_limited", "操作过于频繁，请稍后再试", "Too many requests; slow down"),
    431: ("headers_too_large", "请求头过多或过大", "Request header fields too large"),
    500: ("internal_error", "服务器内部错误，请稍后重试", "Internal server error"),
    501: ("not_implemented", "不支持该请求的传输方式", "Not implemented"),
    502: ("upstream_error", "上游服务出错，请稍后再试", "Upstream service error"),
    503: ("service_unavailable", "服务暂时不可用，请稍后重试", "Service temporarily unavailable"),
}


def error_body(
    status: int,
    code: str,
    message: str,
    message_en: str,
    errors: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The SPEC §5 error object."""
    return {
        "status": status,
        "code": code,
        "message": message,
        "message_en": message_en,
        "errors": errors or {},
    }


def _respond(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = jsonify(body)
    response.status_code = body["status"]
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _field_errors(messages: Any) -> dict[str, Any]:
    """webargs' validation messages as {field: ["中文 / English", …]}."""
    # webargs nests by location ({"json": {"name": [...]}}); clients want fields.
    if not isinstance(messages, dict):
        return {"_schema": bilingual_errors(messages)}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return bilingual_errors(flat)


def handle_domain_error(error: DomainError) -> Response:
    """Map a domain fact to its status, code and messages."""
    if error.status >= 500:
        log.warning("service error %s: %s", error.code, error.message_en)
    body = error_body(error.status, error.code, error.message, error.message_en, error.errors)
    return _respond(body, error.headers)


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug, routing and webargs errors in our shape."""
    status = error.code or 500
    code, message, message_en = HTTP_ERRORS.get(
        status, (f"http_{status}", error.name, error.description or error.name)
    )
    errors: dict[str, Any] = {}
    headers: dict[str, str] = {}
    data = getattr(error, "data", None) or {}
    if "messages" in data:
        errors = _field_errors(data["messages"])
    if data.get("errors"):
        errors = data["errors"]
    headers.update(data.get("headers") or {})
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(valid_methods)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return _respond(error_body(status, code, message, message_en, errors), headers)


def handle_storage_unavailable(error: StorageUnavailable) -> Response:
    """Object storage is down: a clean, retryable 503."""
    log.warning("object storage unavailable: %s", type(error).__name__)
    body = error_body(
        503,
        "storage_unavailable",
        "文件存储暂时不可用，请稍后重试",
        "Object storage temporarily unavailable; retry later",
    )
    return _respond(body, {"Retry-After": "5"})


def handle_object_missing(error: ObjectMissing) -> Response:
    """A row points at an object that is gone: not found for the client, logged for us."""
    log.error("object missing from storage")
    code, message, message_en = HTTP_ERRORS[404]
    return _respond(error_body(404, code, message, message_en))


def handle_unexpected(error: Exception) -> Response:
    """A bug: log the traceback here, never send it to the client."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if isinstance(error, DomainError):
        return handle_domain_error(error)
    log.exception("unhandled error")
    code, message, message_en = HTTP_ERRORS[500]
    return _respond(error_body(500, code, message, message_en))


def register_error_handlers(app: Flask) -> None:
    """Install the handlers on the app."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(StorageUnavailable, handle_storage_unavailable)
    app.register_error_handler(ObjectMissing, handle_object_missing)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
