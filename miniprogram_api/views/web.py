"""The pages (web/, built by `make web`): the H5 for phones under /h5/, opened by the
printed code's URL /q/<token>; the supervisors' console under /console/; their hashed
files under /assets/."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from html import escape
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request, send_from_directory
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import NotFound as HTTPNotFound

from miniprogram_api.auth import context
from miniprogram_api.limits import limiter, scan_limit
from miniprogram_api.observability import WEB_CSP, console_csp
from service.core.errors import DomainError
from service.qrcodes import codes as qrcodes
from uploads_schema.hazards import vocabulary_json
from uploads_schema.qrcodes import ScanResultSchema

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


# The report page's data inside its HTML: a JSON data block is never executed, so the
# CSP (our own scripts only) stays as it is; the page reads it instead of asking the API.
LANDING_DATA_ID = "report-data"
# In JSON "\u003c" is "<": no "</script>" or "<!--" in a name can end the block early.
_UNSAFE_IN_SCRIPT = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def data_block(element_id: str, data: Any) -> str:
    """`data` as a `<script type="application/json">` block, safe for any text inside."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.translate(_UNSAFE_IN_SCRIPT)
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _app_page(name: str, title: str | None = None, csp: str = WEB_CSP, data: str = "") -> Response:
    """A built app's index.html: always asked again (it names the current hashed files);
    `title` names the page before its script has run (and in the phone's tab list); `data`
    (a data block) goes at the end of its body."""
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
    if data:
        html = html.replace("</body>", f"{data}\n</body>", 1)
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
    """The printed code's URL: the report page for this code, or why the code cannot be used.
    Opening it is the scan (logged here): the page gets the code's answer and the hazard
    categories inside its HTML, which saves a slow phone network the API's round trips."""
    try:
        scanned = qrcodes.scan(
            context(),
            None,
            token,
            ip=request.remote_addr or "",
            user_agent=request.user_agent.string,
        )
    except DomainError as error:
        return _page(
            "二维码不可用",
            f"<p>{escape(error.message)}</p><p>如需上报安全隐患，请扫描现场张贴的有效二维码。</p>",
            error.status,
        )
    point = scanned.code.point
    place = scanned.enterprise.name + (f"（{point.name}）" if point else "")
    landing = {
        "token": token,
        "scan": ScanResultSchema().dump(scanned),
        "categories": vocabulary_json()["categories"],
        # The staff page's own GET /scan/{token} passes it back: one visit, one logged scan.
        "scan_ref": scanned.ref,
    }
    response = _app_page(
        "h5", title=f"{place} · 隐患上报", data=data_block(LANDING_DATA_ID, landing)
    )
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


# Encodings `make web` leaves beside each script and style, the smallest first.
_PACKED = (("br", ".br"), ("gzip", ".gz"))


@web.get("/assets/<path:filename>")
def assets(filename: str) -> Response:
    """The built pages' hashed scripts, styles and fonts; brotli or gzip when the browser
    takes it and `make web` left a .br or .gz beside the file (the bytes are what costs on a
    slow phone network: brotli is a tenth smaller than gzip for our scripts)."""
    folder = _dist() / "assets"
    encoding, packed = next(
        (
            (name, f"{filename}{suffix}")
            for name, suffix in _PACKED
            if request.accept_encodings[name] > 0 and (folder / f"{filename}{suffix}").is_file()
        ),
        (None, ""),
    )
    try:
        if encoding and (folder / filename).is_file():
            kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            response = send_from_directory(folder, packed, mimetype=kind, max_age=31536000)
            response.headers["Content-Encoding"] = encoding
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
