"""The pages (web/, built by `make web`): the H5 for phones under /h5/, opened by the
printed code's URL /q/<token>; the supervisors' console under /console/; their hashed
files under /assets/."""

from __future__ import annotations

import mimetypes
import re
import time
from html import escape
from pathlib import Path

from flask import Blueprint, Response, request, send_from_directory
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as HTTPNotFound

from miniprogram_api.auth import context
from miniprogram_api.limits import limiter, scan_limit
from miniprogram_api.observability import WEB_CSP, console_csp
from service.core.errors import DomainError
from service.qrcodes import codes as qrcodes

web = Blueprint("web", __name__)

WEB_UI = Path(__file__).resolve().parents[1] / "web_ui"
_STATIC = {"page.css": "text/css", "icon.svg": "image/svg+xml"}
# Vite names every built file after its content: a name is never reused for other bytes.
IMMUTABLE = "public, max-age=31536000, immutable"

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 码上查</title><link rel="icon" type="image/svg+xml" href="/web-static/icon.svg">
<link rel="stylesheet" href="/web-static/page.css"></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


def _dist() -> Path:
    return Path(context().settings.web_dist)


def _page(title: str, body: str, status: int) -> Response:
    """One of the server's own small pages (no script, its style from a file)."""
    html = _PAGE.format(title=escape(title), body=body)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = WEB_CSP
    return response


_TITLE = re.compile(r"<title>[^<]*</title>")


def _app_page(name: str, title: str | None = None, csp: str = WEB_CSP) -> Response:
    """A built app's index.html: always asked again (it names the current hashed files);
    `title` names the page before its script has run (and in the phone's tab list)."""
    index = _dist() / name / "index.html"
    if not index.is_file():
        return _page(
            "页面尚未构建",
            "<p>页面还没有构建。请在项目目录运行 <code>make web</code>（或 "
            "<code>make demo</code>）后刷新。</p>",
            503,
        )
    html = index.read_text(encoding="utf-8")
    if title is not None:
        html = _TITLE.sub(f"<title>{escape(title)} · 码上查</title>", html, count=1)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = csp
    return response


@web.get("/h5/")
@web.get("/h5/<path:rest>")
def h5(rest: str = "") -> Response:
    """The H5 app; its router shows the page for the path (SPA fallback)."""
    return _app_page("h5")


@web.get("/h5")
def h5_slash() -> Response:
    """/h5 without its slash: the app lives under /h5/."""
    return Response(status=308, headers={"Location": "/h5/"})


@web.get("/console/")
@web.get("/console/<path:rest>")
def console(rest: str = "") -> Response:
    """The supervisors' console; its router shows the page for the path (SPA fallback)."""
    return _app_page("console", csp=console_csp(context().settings))


@web.get("/console")
def console_slash() -> Response:
    """/console without its slash: the app lives under /console/."""
    return Response(status=308, headers={"Location": "/console/"})


@web.get("/q/<token>")
@limiter.limit(scan_limit)
def code_landing(token: str) -> Response:
    """The printed code's URL: the report page for this code, or why the code cannot be used."""
    try:
        place = qrcodes.check_code(context(), token)
    except DomainError as error:
        return _page(
            "二维码不可用",
            f"<p>{escape(error.message)}</p><p>如需上报安全隐患，请扫描现场张贴的有效二维码。</p>",
            error.status,
        )
    response = _app_page("h5", title=f"{place} · 隐患上报")
    if response.status_code == 200:
        response.headers["Cache-Control"] = "no-store"  # behind it, a code that may be revoked
    return response


@web.errorhandler(429)
def too_many_scans(error: HTTPException) -> Response:
    """A phone over the scan limit (`/q/<token>`): a page in Chinese saying when to scan
    again, with Retry-After, rather than the API's JSON in a phone's browser."""
    limit = limiter.current_limit  # the one this request broke, counted in its window
    wait = max(1, limit.reset_at - int(time.time())) if limit is not None else None
    when = f"请约 {wait} 秒后再扫码。" if wait else "请稍后再扫码。"
    response = _page(
        "扫码过于频繁",
        f"<p>这台手机短时间内扫码次数过多。{when}</p>"
        "<p>已填写但未提交的上报内容仍保存在本机，稍后重新扫码即可继续。</p>",
        429,
    )
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


@web.get("/assets/<path:filename>")
def assets(filename: str) -> Response:
    """The built pages' hashed scripts, styles and fonts; gzipped when the browser takes it
    and `make web` left a .gz beside the file (a third of the bytes on a slow phone network)."""
    folder = _dist() / "assets"
    packed = f"{filename}.gz"
    gzipped = request.accept_encodings["gzip"] > 0 and (folder / packed).is_file()
    try:
        if gzipped and (folder / filename).is_file():
            kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            response = send_from_directory(folder, packed, mimetype=kind, max_age=31536000)
            response.headers["Content-Encoding"] = "gzip"
        else:
            response = send_from_directory(folder, filename, max_age=31536000)
    except HTTPNotFound:
        return _page("找不到该文件", "<p>页面已更新，请刷新后重试。</p>", 404)
    response.headers["Cache-Control"] = IMMUTABLE
    response.vary.add("Accept-Encoding")
    response.headers["Content-Security-Policy"] = WEB_CSP
    return response


@web.get("/web-static/<name>")
def page_static(name: str) -> Response:
    """The style and icon of the server's own small pages."""
    if name not in _STATIC:
        return _page("找不到该文件", "<p>请检查链接。</p>", 404)
    response = Response((WEB_UI / name).read_bytes(), mimetype=_STATIC[name])
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Content-Security-Policy"] = WEB_CSP
    return response


__all__ = ["web"]
