"""Domain exceptions: facts that carry their HTTP status, a stable code and messages.

The Flask layer maps every `DomainError` to the one JSON error shape (SPEC §5);
nothing here knows about Flask.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a client may see; zh-CN message first, English second."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[str] = "请求有误"
    message_en: ClassVar[str] = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        message_en: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.message_en = message_en or type(self).message_en
        self.errors = errors or {}
        self.headers = headers or {}
        super().__init__(self.message_en)


class Unauthenticated(DomainError):
    status, code = 401, "unauthenticated"
    message, message_en = "请先登录", "Authentication required"


class TokenExpired(Unauthenticated):
    code = "token_expired"
    message, message_en = "登录已过期，请重新登录", "Access token expired"


class InvalidCredentials(DomainError):
    status, code = 401, "invalid_credentials"
    message, message_en = "用户名或密码错误", "Wrong username or password"


class PermissionDenied(DomainError):
    status, code = 403, "forbidden"
    message, message_en = "没有权限执行此操作", "You are not allowed to do this"


class NotFound(DomainError):
    """Also used for objects outside the actor's scope, so ids cannot be probed."""

    status, code = 404, "not_found"
    message, message_en = "资源不存在", "Not found"


class Conflict(DomainError):
    status, code = 409, "conflict"
    message, message_en = "数据冲突", "Conflict"


class ValidationFailed(DomainError):
    status, code = 422, "validation_error"
    message, message_en = "提交的数据有误", "Invalid input"


class UpstreamError(DomainError):
    status, code = 502, "upstream_error"
    message, message_en = "上游服务出错，请稍后再试", "Upstream service error"


class ServiceUnavailable(DomainError):
    status, code = 503, "service_unavailable"
    message, message_en = "服务暂时不可用，请稍后重试", "Service temporarily unavailable"
