"""Login: WeChat mini-program code, office password, development shortcut."""

from __future__ import annotations

from flask.views import MethodView

from miniprogram_api.api import Blueprint
from miniprogram_api.auth import bearer_claims, context
from miniprogram_api.limits import limiter, login_limit
from service.access import auth
from service.access.wechat import WeChatClient
from uploads_schema.auth import (
    ChangePasswordSchema,
    DevLoginSchema,
    LoginResultSchema,
    PasswordLoginSchema,
    RefreshSchema,
    WeChatLoginSchema,
)
from uploads_schema.common import ErrorSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Login")


def _wechat_client() -> WeChatClient:
    ctx = context()
    client = ctx.adapters.get("wechat")
    if client is None:
        s = ctx.settings
        client = WeChatClient(
            s.wechat_api_base, s.wechat_appid, s.wechat_secret, s.wechat_timeout_seconds
        )
        ctx.adapters["wechat"] = client
    return client  # type: ignore[no-any-return]


@blp.route("/wechat-login")
class WeChatLogin(MethodView):
    decorators = (limiter.limit(login_limit),)

    @blp.doc(security=[])
    @blp.arguments(WeChatLoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(400, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    @blp.alt_response(502, schema=ErrorSchema)
    @blp.alt_response(503, schema=ErrorSchema, description="wechat_not_configured")
    def post(self, args):
        """Log in with a `wx.login()` code; first-time users become reporters."""
        return auth.wechat_login(context(), _wechat_client(), args["code"])


@blp.route("/login")
class PasswordLogin(MethodView):
    # Per client address; the lockout per username is the login's own (service.access.lockout).
    decorators = (limiter.limit(login_limit),)

    @blp.doc(security=[])
    @blp.arguments(PasswordLoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def post(self, args):
        """Office staff log in with username and password. `LOGIN_LOCKOUT` failed logins
        for one username lock it (429 `login_locked`, with `Retry-After`)."""
        return auth.password_login(context(), args["username"], args["password"])


@blp.route("/refresh")
class Refresh(MethodView):
    decorators = (limiter.limit(login_limit),)

    @blp.doc(security=[])
    @blp.arguments(RefreshSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(429, schema=ErrorSchema)
    def post(self, args):
        """Exchange a refresh token for a new access and refresh token."""
        return auth.refresh(context(), args["refresh_token"])


@blp.route("/dev-login")
class DevLogin(MethodView):
    @blp.doc(security=[])
    @blp.arguments(DevLoginSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(404, schema=ErrorSchema)
    def post(self, args):
        """Development only (`AUTH_DEV_LOGIN=1`): log in by username or role."""
        return auth.dev_login(context(), args.get("username"), args.get("role"))


@blp.route("/change-password")
class ChangePassword(MethodView):
    decorators = (limiter.limit(login_limit),)

    @blp.arguments(ChangePasswordSchema)
    @blp.response(200, LoginResultSchema)
    @blp.alt_response(401, schema=ErrorSchema)
    @blp.alt_response(403, schema=ErrorSchema, description="a WeChat account has no password")
    @blp.alt_response(422, schema=ErrorSchema, description="weak_password, wrong_password")
    @blp.alt_response(429, schema=ErrorSchema)
    def post(self, args):
        """Change the caller's own password (also a one-time one, the one call it allows);
        earlier tokens stop working, the answer carries a new pair."""
        return auth.change_password(
            context(), bearer_claims(), args["old_password"], args["new_password"]
        )
