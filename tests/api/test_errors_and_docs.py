"""The one error shape everywhere, and the API documentation served offline."""

import hashlib
import re

import pytest

from tests.api.helpers import assert_error


def test_unknown_route_is_404_in_the_error_shape(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_in_the_error_shape(client):
    response = client.delete("/api/v1/healthz")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_an_error_in_the_shape(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


def test_an_oversized_body_is_413(client, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/api/v1/auth/login", data="x" * 5000, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_unexpected_errors_are_500_without_a_traceback(ctx):
    from miniprogram_api import create_app

    app = create_app(context=ctx)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/boom")
    body = assert_error(response, 500, "internal_error")
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["message"] == "服务器内部错误，请稍后重试"


def test_openapi_document_lists_the_api(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/auth/wechat-login", "/api/v1/enterprises/import", "/api/v1/readyz"):
        assert path in spec["paths"]
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"status", "code", "message", "message_en", "errors"}
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_ui_is_served_without_any_cdn(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs-assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    asset = client.get("/api/docs-assets/swagger-ui-bundle.js")
    try:
        assert asset.status_code == 200 and len(asset.data) > 100_000
    finally:
        asset.close()  # a file response holds its file open until closed


def _csp(response) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: sources}."""
    directives = (part.split() for part in response.headers["Content-Security-Policy"].split(";"))
    return {words[0]: words[1:] for words in directives if words}


def test_docs_page_runs_only_script_files_from_our_origin(client):
    page = client.get("/api/docs")
    csp = _csp(page)
    # Scripts from our origin only: no 'unsafe-inline' (nor eval), for scripts or by default.
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["default-src"]
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, "Swagger UI is loaded"
    for attributes, body in scripts:
        assert re.search(r'\bsrc="/api/docs', attributes) and body.strip() == ""
    assert re.search(r"<[^>]+\son\w+=", html) is None  # no inline event handler either


def test_docs_start_up_script_is_a_cacheable_file_named_by_its_content(client):
    html = client.get("/api/docs").get_data(as_text=True)
    (src,) = re.findall(r'src="(/api/docs/start\.js\?v=[0-9a-f]{12})"', html)
    script = client.get(src)
    try:
        assert script.status_code == 200
        assert script.mimetype == "text/javascript"
        assert "SwaggerUIBundle(" in script.get_data(as_text=True)
        assert script.cache_control.max_age and script.cache_control.max_age >= 3600
    finally:
        script.close()
    # Another version's URL (a rolling deploy) gets this file, but not to keep under it.
    other = client.get("/api/docs/start.js?v=000000000000")
    try:
        assert other.status_code == 200 and not other.cache_control.max_age
    finally:
        other.close()


def test_docs_assets_are_kept_for_good_only_under_their_content_version(client):
    html = client.get("/api/docs").get_data(as_text=True)
    links = re.findall(r'(?:src|href)="(/api/docs-assets/[^"?]+)\?v=([0-9a-f]{12})"', html)
    assert {path.rsplit("/", 1)[1] for path, _ in links} == {
        "favicon-32x32.png",
        "swagger-ui.css",
        "swagger-ui-bundle.js",
    }
    for path, version in links:
        fresh = client.get(f"{path}?v={version}")
        try:
            assert fresh.status_code == 200
            assert fresh.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            # The version is the bytes' own hash: other bytes never come under that name.
            assert hashlib.sha256(fresh.data).hexdigest()[:12] == version
        finally:
            fresh.close()
        # Without the version, or with another one (a rolling deploy): asked again each
        # time, and answered 304 while the file is the same.
        for url in (path, f"{path}?v=000000000000"):
            stale = client.get(url)
            try:
                assert stale.status_code == 200
                assert stale.headers["Cache-Control"] == "no-cache"
                assert "Expires" not in stale.headers
                etag = stale.headers["ETag"]
            finally:
                stale.close()
            again = client.get(url, headers={"If-None-Match": etag})
            try:
                assert again.status_code == 304 and again.data == b""
                assert again.headers["Cache-Control"] == "no-cache"
            finally:
                again.close()
    missing = client.get("/api/docs-assets/no-such-file.js?v=000000000000")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_readyz_checks_the_database(client):
    response = client.get("/api/v1/readyz")
    assert response.status_code == 200
    assert response.json["checks"]["database"] == "ok"


def test_readyz_is_503_when_the_database_is_down(settings):
    from miniprogram_api import create_app

    down = settings.with_overrides(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    )
    response = create_app(down).test_client().get("/api/v1/readyz")
    body = assert_error(response, 503, "service_unavailable")
    assert body["errors"] == {"database": ["unavailable"]}
    assert_no_internals(response)


@pytest.mark.parametrize("path", ["/api/v1/enterprises", "/api/v1/users/me"])
def test_error_messages_are_chinese_first(client, path):
    body = assert_error(client.get(path), 401)
    assert body["message"] == "请先登录" and body["message_en"] == "Authentication required"


def test_readyz_checks_storage_and_is_503_when_it_is_down(settings, client, ctx):
    from miniprogram_api import create_app
    from service.bootstrap import storage_for
    from service.core.context import Context

    assert client.get("/api/v1/readyz").json["checks"]["storage"] == "ok"
    down = settings.with_overrides(
        storage_backend="minio",
        minio_endpoint="127.0.0.1:9",
        minio_access_key="k",
        minio_secret_key="s",
    )
    down_ctx = Context(
        settings=down, session_factory=ctx.session_factory, storage=storage_for(down)
    )
    response = create_app(context=down_ctx).test_client().get("/api/v1/readyz")
    body = assert_error(response, 503, "service_unavailable")
    assert body["errors"] == {"storage": ["unavailable"]}
    assert_no_internals(response)


# What a failing dependency's error text would carry: the hosts, ports and user of the
# settings above, and the exception names and messages of psycopg, SQLAlchemy and urllib3.
INTERNALS = ("127.0.0.1", "port", "nobody", "/none", "Error", "Pool", "refused", "Traceback")


def assert_no_internals(response) -> None:
    """A public probe's answer names what is down and nothing about how it is reached."""
    text = response.get_data(as_text=True)
    for fragment in INTERNALS:
        assert fragment not in text, f"{fragment!r} leaked in {text}"
