"""WeChat server API client: `jscode2session` (login).

The base URL is a setting so tests talk to a fake WeChat server on loopback.
The `session_key` WeChat returns is dropped here and never stored, logged or returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from service.core.errors import DomainError, ServiceUnavailable, UpstreamError

log = logging.getLogger(__name__)


class WeChatCodeInvalid(DomainError):
    status, code = 400, "wechat_code_invalid"
    message, message_en = (
        "微信登录凭证无效或已过期，请重新进入小程序",
        "Invalid or expired WeChat login code",
    )


class WeChatRateLimited(DomainError):
    status, code = 429, "wechat_rate_limited"
    message, message_en = "微信登录过于频繁，请稍后再试", "WeChat login rate limit reached"


class WeChatBusy(UpstreamError):
    code = "wechat_busy"
    message, message_en = "微信服务繁忙，请稍后再试", "WeChat is busy; try again later"


class WeChatUnavailable(UpstreamError):
    code = "wechat_unavailable"
    message, message_en = "无法连接微信服务，请稍后再试", "Could not reach WeChat"


class WeChatNotConfigured(ServiceUnavailable):
    """This installation has no WeChat credentials: nothing to ask WeChat, nothing to retry."""

    code = "wechat_not_configured"
    message = "未配置微信登录，请使用账号密码登录或联系管理员"
    message_en = "WeChat login is not configured on this server (WECHAT_APPID, WECHAT_SECRET)"


@dataclass(frozen=True)
class WeChatIdentity:
    """What we keep of a WeChat login: who it is, not the session key."""

    openid: str
    unionid: str | None


class WeChatClient:
    """A small client of the WeChat server API."""

    def __init__(self, base_url: str, appid: str, secret: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.appid = appid
        self.secret = secret
        self.timeout = timeout
        self._http = requests.Session()

    def code_to_session(self, code: str) -> WeChatIdentity:
        """Exchange a `wx.login` code for the user's openid (jscode2session)."""
        if not (self.appid and self.secret):
            raise WeChatNotConfigured()
        params = {
            "appid": self.appid,
            "secret": self.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        body = self._get_json("/sns/jscode2session", params)
        errcode = int(body.get("errcode") or 0)
        if errcode:
            # errmsg may echo the code; log only the number.
            log.warning("wechat jscode2session failed", extra={"errcode": errcode})
            raise _error_for(errcode)
        openid = body.get("openid")
        if not openid:
            raise UpstreamError("微信返回数据不完整", "WeChat answer lacked an openid")
        return WeChatIdentity(openid=str(openid), unionid=body.get("unionid"))

    def _get_json(self, path: str, params: dict[str, str]) -> dict[str, object]:
        try:
            response = self._http.get(self.base_url + path, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise WeChatUnavailable() from exc
        if response.status_code >= 500:
            raise WeChatBusy()
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError("微信返回了无法解析的数据", "WeChat answered non-JSON") from exc
        if not isinstance(body, dict):
            raise UpstreamError("微信返回了无法解析的数据", "WeChat answered non-JSON")
        return body


def _error_for(errcode: int) -> DomainError:
    if errcode in (40029, 40163, 40226):  # invalid code, code already used, high-risk user
        return WeChatCodeInvalid(errors={"code": [f"errcode {errcode}"]})
    if errcode == 45011:
        return WeChatRateLimited(headers={"Retry-After": "60"})
    if errcode == -1:
        return WeChatBusy()
    return UpstreamError(
        f"微信登录失败（错误码 {errcode}）", f"WeChat login failed (errcode {errcode})"
    )
