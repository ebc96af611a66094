"""The pages for phones as Flask serves them: the H5 under /h5/, opened by a printed code's
URL /q/<token>, its hashed files cached for a year, our CSP on every answer."""

from __future__ import annotations

import gzip
import json
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from miniprogram_api import create_app
from miniprogram_api.observability import WEB_CSP
from service.qrcodes.models import ScanLog

IMMUTABLE = "public, max-age=31536000, immutable"


def issue(client, headers, enterprise_id):
    response = client.post(f"/api/v1/enterprises/{enterprise_id}/qrcodes", json={}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def admin(world, auth_header):
    return auth_header(world.admin)


def scans(db) -> int:
    return db.scalar(select(func.count()).select_from(ScanLog))


class _Scripts(HTMLParser):
    """Every <script> element as a browser's tokenizer splits it: (attributes, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._open = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self.scripts.append((dict(attrs), ""))
            self._open = True

    def handle_data(self, data):
        if self._open:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._open = False


def scripts_of(html: str) -> list[tuple[dict[str, str | None], str]]:
    parser = _Scripts()
    parser.feed(html)
    parser.close()
    return parser.scripts


def landing_data(html: str):
    """The report page's data block, parsed; None when the page has none."""
    blocks = [text for attrs, text in scripts_of(html) if attrs.get("id") == "report-data"]
    assert len(blocks) <= 1
    return json.loads(blocks[0]) if blocks else None


def test_a_code_opens_the_report_page_named_after_its_place(client, db, world, admin):
    code = issue(client, admin, world.enterprise_a.id)
    before = scans(db)
    page = client.get(f"/q/{code['token']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<title>甲企业 · 隐患上报 · 码上查</title>" in html
    assert '<script type="module" crossorigin src="/assets/h5-Tst0Hash.js">' in html
    assert page.headers["Content-Security-Policy"] == WEB_CSP
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    # Opening the code's URL is the scan: logged once, and the page need not ask again.
    assert scans(db) == before + 1
    # What the page would have asked the API for travels inside the HTML, as data (a
    # block of type application/json is never run: the CSP stays our own scripts only).
    data = landing_data(html)
    assert data["token"] == code["token"]
    assert data["categories"] == client.get("/api/v1/vocabulary").json["categories"]
    # With the block's scan reference the API answers the same without logging again (the
    # staff page asks it, as its actions depend on who asks).
    ref = {"scan_ref": data["scan_ref"]}
    assert data["scan"] == client.get(f"/api/v1/scan/{code['token']}", query_string=ref).json
    assert scans(db) == before + 1
    assert data["scan"]["enterprise"]["name"] == "甲企业"
    assert [attrs for attrs, _ in scripts_of(html) if attrs.get("type") != "module"] == [
        {"type": "application/json", "id": "report-data"}
    ]


def test_no_name_can_end_the_pages_data_block_early(client, db, world, admin):
    hostile_name = '甲企业</script><script>alert(1)</script><!--<script>&amp;\u2028\u2029"\\'
    world.enterprise_a.name = hostile_name
    db.commit()
    code = issue(client, admin, world.enterprise_a.id)
    html = client.get(f"/q/{code['token']}").get_data(as_text=True)
    # One module script (the app's) and one data block, and nothing a name could add.
    kinds = [attrs.get("type") for attrs, _ in scripts_of(html)]
    assert kinds == ["module", "application/json"]
    assert "<script>alert" not in html and "<!--" not in html
    assert landing_data(html)["scan"]["enterprise"]["name"] == hostile_name


def test_a_revoked_or_unknown_code_says_why_in_chinese_without_the_app(client, world, admin):
    code = issue(client, admin, world.enterprise_a.id)
    client.post(f"/api/v1/qrcodes/{code['id']}/revoke", headers=admin)
    gone = client.get(f"/q/{code['token']}")
    assert gone.status_code == 410 and gone.mimetype == "text/html"
    text = gone.get_data(as_text=True)
    assert "二维码不可用" in text and "已停用" in text
    assert "<script" not in text and "style=" not in text  # nothing our CSP would block
    assert gone.headers["Content-Security-Policy"] == WEB_CSP

    unknown = client.get("/q/aB3dE5gH7jK9mN1pQ3sT5v")
    assert unknown.status_code == 404 and "二维码不可用" in unknown.get_data(as_text=True)
    style = client.get("/web-static/page.css")
    assert style.status_code == 200 and style.mimetype == "text/css"
    assert client.get("/web-static/icon.svg").mimetype == "image/svg+xml"
    assert client.get("/web-static/secret_key").status_code == 404


def test_every_h5_path_answers_the_app_which_is_asked_again_each_time(client):
    for path in ("/h5/", "/h5/receipts/ABCD-1234", "/h5/done"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "h5-Tst0Hash.js" in page.get_data(as_text=True)
        assert page.headers["Cache-Control"] == "no-cache"
        assert page.headers["Content-Security-Policy"] == WEB_CSP
    bare = client.get("/h5")
    assert bare.status_code == 308 and bare.headers["Location"] == "/h5/"


def test_every_console_path_answers_the_console_app_with_the_same_headers(client):
    for path in ("/console/", "/console/hazards/12", "/console/login?next=/console/ledger"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert "console-Tst0Hash.js" in html and "<title>码上查 · 监管控制台</title>" in html
        assert page.headers["Cache-Control"] == "no-cache"
        assert page.headers["Content-Security-Policy"] == WEB_CSP
    bare = client.get("/console")
    assert bare.status_code == 308 and bare.headers["Location"] == "/console/"


def test_a_tile_service_adds_its_one_origin_to_the_consoles_images_and_nothing_else(
    ctx, world, auth_header
):
    tiles = "https://tiles.example.cn/{z}/{x}/{y}.png?key=abc"
    ctx.settings = ctx.settings.with_overrides(
        map_tile_url=tiles, map_tile_attribution="© 示例地图"
    )
    client = create_app(context=ctx).test_client()

    console = client.get("/console/map").headers["Content-Security-Policy"]
    h5 = client.get("/h5/").headers["Content-Security-Policy"]
    basemap = client.get("/api/v1/geo/basemap", headers=auth_header(world.district_supervisor))

    assert console == WEB_CSP.replace(
        "img-src 'self' data: blob:", "img-src 'self' data: blob: https://tiles.example.cn"
    )
    assert h5 == WEB_CSP  # the phones' pages draw no map
    assert basemap.status_code == 200
    assert basemap.get_json() == {"tile_url": tiles, "attribution": "© 示例地图"}
    assert client.get("/api/v1/geo/basemap").status_code == 401


def test_without_a_tile_service_the_console_learns_there_is_no_base_map(client, world, auth_header):
    basemap = client.get("/api/v1/geo/basemap", headers=auth_header(world.admin))
    assert basemap.get_json() == {"tile_url": None, "attribution": ""}
    assert client.get("/console/map").headers["Content-Security-Policy"] == WEB_CSP


def test_hashed_files_are_cached_for_a_year_and_missing_ones_are_404(client):
    script = client.get("/assets/h5-Tst0Hash.js")
    assert script.status_code == 200
    assert script.headers["Cache-Control"] == IMMUTABLE
    assert script.mimetype == "text/javascript"
    script.close()
    assert client.get("/assets/h5-Gone0000.js").status_code == 404
    assert client.get("/assets/../h5/index.html").status_code == 404


def test_hashed_files_travel_gzipped_to_browsers_that_take_it(client, web_dist):
    source = b"export const words = '" + "隐患随手拍".encode() * 400 + b"'\n"
    (web_dist / "assets" / "report-Gz0Hash.js").write_bytes(source)
    (web_dist / "assets" / "report-Gz0Hash.js.gz").write_bytes(gzip.compress(source))
    packed = client.get("/assets/report-Gz0Hash.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert packed.mimetype == "text/javascript" and "Accept-Encoding" in packed.headers["Vary"]
    assert packed.headers["Cache-Control"] == IMMUTABLE
    assert gzip.decompress(packed.get_data()) == source and len(packed.get_data()) < len(source)
    plain = client.get("/assets/report-Gz0Hash.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.get_data() == source
    assert "Accept-Encoding" in plain.headers["Vary"]
    # A file without a .gz beside it is sent as it is, whatever the browser takes.
    script = client.get("/assets/h5-Tst0Hash.js", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in script.headers
    for answer in (packed, plain, script):
        answer.close()
    gone = client.get("/assets/report-Gone.js", headers={"Accept-Encoding": "gzip"})
    assert gone.status_code == 404


def test_hashed_files_travel_as_brotli_to_browsers_that_take_it(client, web_dist):
    source = b"export const words = '" + "隐患随手拍".encode() * 400 + b"'\n"
    br = b"\x1b brotli stand-in"  # the app sends the file as it is; only its choice is tested
    (web_dist / "assets" / "report-Br0Hash.js").write_bytes(source)
    (web_dist / "assets" / "report-Br0Hash.js.gz").write_bytes(gzip.compress(source))
    (web_dist / "assets" / "report-Br0Hash.js.br").write_bytes(br)
    packed = client.get("/assets/report-Br0Hash.js", headers={"Accept-Encoding": "gzip, br"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "br"
    assert packed.get_data() == br and packed.mimetype == "text/javascript"
    assert packed.headers["Cache-Control"] == IMMUTABLE
    assert packed.headers["Content-Security-Policy"] == WEB_CSP
    assert "Accept-Encoding" in packed.headers["Vary"]
    # A browser without brotli gets the .gz; one that takes neither, the file itself.
    zipped = client.get("/assets/report-Br0Hash.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == source
    plain = client.get("/assets/report-Br0Hash.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.get_data() == source
    # A .br without its file is not served.
    (web_dist / "assets" / "report-Orphan.js.br").write_bytes(br)
    gone = client.get("/assets/report-Orphan.js", headers={"Accept-Encoding": "br"})
    assert gone.status_code == 404
    for answer in (packed, zipped, plain, gone):
        answer.close()


def test_without_a_build_the_pages_say_to_run_make_web(ctx, tmp_path, world, admin):
    ctx.settings = ctx.settings.with_overrides(web_dist=str(tmp_path / "no-build"))
    client = create_app(context=ctx).test_client()
    page = client.get("/h5/")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "make web" in page.get_data(as_text=True)
    assert client.get("/console/").status_code == 503
    code = issue(client, admin, world.enterprise_a.id)
    assert client.get(f"/q/{code['token']}").status_code == 503


def test_a_code_scanned_too_often_answers_a_page_in_chinese_with_retry_after(ctx, world, admin):
    ctx.settings = ctx.settings.with_overrides(ratelimit_scan="2/minute")
    client = create_app(context=ctx).test_client()
    code = issue(client, admin, world.enterprise_a.id)
    phone = {"REMOTE_ADDR": "10.0.0.77"}
    for _ in range(2):
        assert client.get(f"/q/{code['token']}", environ_base=phone).status_code == 200

    page = client.get(f"/q/{code['token']}", environ_base=phone)
    # A phone's browser shows a page, not the API's JSON; it says when to scan again.
    assert page.status_code == 429 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "扫码过于频繁" in text and "秒后再扫码" in text
    assert 0 < int(page.headers["Retry-After"]) <= 60
    assert "<script" not in text and "style=" not in text
    assert page.headers["Content-Security-Policy"] == WEB_CSP
    assert page.headers["Cache-Control"] == "no-store"
    # The API beside it (counted apart) keeps its one JSON shape over the same limit.
    answers = [client.get(f"/api/v1/scan/{code['token']}", environ_base=phone) for _ in range(3)]
    assert answers[-1].status_code == 429 and answers[-1].json["code"] == "rate_limited"
