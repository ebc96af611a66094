"""QR codes through the API: issue, render, scan, revoke, rotate, check in, batch posters."""

import io
import json
import logging
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from miniprogram_api import create_app
from service.qrcodes import codes as qrcodes
from service.qrcodes.models import ScanLog
from tests.api.helpers import assert_error
from tests.factories import make_enterprise
from tests.pdf_tools import decode_qr, page_sizes_mm, pdf_text, render_pages

BASE = "https://mashangcha.test"


def issue(client, headers, enterprise_id, **body):
    response = client.post(
        f"/api/v1/enterprises/{enterprise_id}/qrcodes", json=body, headers=headers
    )
    assert response.status_code == 201, response.json
    return response.json


def decode_png(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    return [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


@pytest.fixture
def admin(world, auth_header):
    return auth_header(world.admin)


def test_admin_issues_a_code_with_a_scene_and_a_url(client, world, admin):
    code = issue(client, admin, world.enterprise_a.id)
    assert re.fullmatch(r"[A-Za-z0-9]{22}", code["token"])
    assert code["scene"] == code["token"] and len(code["scene"]) <= 32
    assert code["url"] == f"{BASE}/q/{code['token']}"
    assert code["short_id"] == f"QR-{code['id']:06d}"
    assert code["enterprise_name"] == "甲企业" and code["point"] is None
    assert code["status"] == "active"


def test_codes_for_points_inside_an_enterprise_share_the_point(client, world, admin):
    first = issue(client, admin, world.enterprise_a.id, point_name="一号车间")
    second = issue(client, admin, world.enterprise_a.id, point_name=" 一号车间 ")
    assert first["point"]["name"] == "一号车间"
    assert first["point"]["id"] == second["point"]["id"]
    assert first["token"] != second["token"]


@pytest.mark.parametrize("role", ["district_supervisor", "inspector", "officer", "reporter"])
def test_only_admins_issue_codes(client, world, auth_header, role):
    response = client.post(
        f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes",
        json={},
        headers=auth_header(getattr(world, role)),
    )
    assert response.status_code in (403, 404)
    assert_error(response, response.status_code)


def test_code_listing_is_scoped(client, world, admin, auth_header):
    issue(client, admin, world.enterprise_a.id)
    issue(client, admin, world.enterprise_b.id)
    mine = client.get("/api/v1/qrcodes", headers=auth_header(world.officer)).json
    assert [c["enterprise_id"] for c in mine["items"]] == [world.enterprise_a.id]
    everyone = client.get("/api/v1/qrcodes", headers=admin).json
    assert everyone["total"] == 2
    assert client.get("/api/v1/qrcodes", headers=auth_header(world.reporter)).json["total"] == 0


def test_png_svg_and_poster_decode_to_the_exact_url(client, world, admin):
    code = issue(client, admin, world.enterprise_a.id, point_name="仓库")
    png = client.get(f"/api/v1/qrcodes/{code['id']}.png", headers=admin)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert decode_png(png.data) == [code["url"]]
    svg = client.get(f"/api/v1/qrcodes/{code['id']}.svg", headers=admin)
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    poster = client.get(f"/api/v1/qrcodes/{code['id']}/poster.png", headers=admin)
    assert poster.status_code == 200
    image = Image.open(io.BytesIO(poster.data))
    assert image.height > image.width >= 1000  # portrait, print resolution
    assert decode_png(poster.data) == [code["url"]]
    # re-rendering yields the printed payload, byte for byte
    again = client.get(f"/api/v1/qrcodes/{code['id']}.png", headers=admin)
    assert again.data == png.data


def test_svg_rasterized_decodes_to_the_url(client, world, admin):
    code = issue(client, admin, world.enterprise_a.id)
    svg = client.get(f"/api/v1/qrcodes/{code['id']}.svg", headers=admin).data
    from tests.unit.test_qr_render import rasterize_svg

    assert decode_image(rasterize_svg(svg)) == [code["url"]]


def decode_image(image: Image.Image) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def test_rendering_someone_elses_code_is_404(client, world, admin, auth_header):
    code = issue(client, admin, world.enterprise_b.id)
    response = client.get(f"/api/v1/qrcodes/{code['id']}.png", headers=auth_header(world.officer))
    assert_error(response, 404)


def test_poster_without_a_cjk_font_names_the_setting(client, world, admin, ctx):
    code = issue(client, admin, world.enterprise_a.id)
    ctx.settings = ctx.settings.with_overrides(qr_font_path="/nonexistent/font.ttc")
    response = client.get(f"/api/v1/qrcodes/{code['id']}/poster.png", headers=admin)
    body = assert_error(response, 500, "poster_font_missing")
    assert "QR_FONT_PATH" in body["message"]


def test_anyone_can_scan_and_learns_the_public_context(client, world, admin, db):
    code = issue(client, admin, world.enterprise_a.id, point_name="一号车间")
    response = client.get(
        f"/api/v1/scan/{code['token']}", headers={"User-Agent": "Mozilla/5.0 MicroMessenger"}
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["enterprise"]["name"] == "甲企业"
    assert body["enterprise"]["industry_label"] == "工贸"
    assert body["point"]["name"] == "一号车间"
    assert body["actions"] == ["report"]
    assert "credit_code" not in body["enterprise"]
    log = db.scalars(select(ScanLog).where(ScanLog.qrcode_id == code["id"])).one()
    assert "MicroMessenger" in log.user_agent and log.outcome == "ok"


def test_the_grids_inspector_may_check_in_after_scanning(client, world, admin, auth_header):
    code = issue(client, admin, world.enterprise_a.id)
    own = client.get(f"/api/v1/scan/{code['token']}", headers=auth_header(world.inspector))
    assert own.json["actions"] == ["report", "checkin"]
    other = issue(client, admin, world.enterprise_b.id)
    foreign = client.get(f"/api/v1/scan/{other['token']}", headers=auth_header(world.inspector))
    assert foreign.json["actions"] == ["report"]


def test_scans_keep_the_token_out_of_the_logs(client, world, admin, caplog):
    code = issue(client, admin, world.enterprise_a.id)
    caplog.set_level(logging.DEBUG)
    client.get(f"/api/v1/scan/{code['token']}")
    assert code["token"] not in caplog.text


@pytest.mark.parametrize("token", ["AAAAAAAAAAAAAAAAAAAAAA", "short", "has space in it", "x" * 40])
def test_unknown_or_malformed_tokens_are_404(client, token):
    assert_error(client.get(f"/api/v1/scan/{token}"), 404, "qrcode_not_found")


def test_a_revoked_code_answers_410_with_a_clear_message(client, world, admin, db):
    code = issue(client, admin, world.enterprise_a.id)
    revoked = client.post(f"/api/v1/qrcodes/{code['id']}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json["status"] == "revoked"
    body = assert_error(client.get(f"/api/v1/scan/{code['token']}"), 410, "qrcode_revoked")
    assert "已停用" in body["message"]
    assert_error(client.post(f"/api/v1/qrcodes/{code['id']}/revoke", headers=admin), 409)
    outcomes = db.scalars(select(ScanLog.outcome).where(ScanLog.qrcode_id == code["id"])).all()
    assert outcomes == ["revoked"]


def test_rotate_revokes_the_old_code_and_issues_a_new_one(client, world, admin):
    old = issue(client, admin, world.enterprise_a.id, point_name="仓库")
    rotated = client.post(f"/api/v1/qrcodes/{old['id']}/rotate", headers=admin)
    assert rotated.status_code == 201
    new = rotated.json
    assert new["token"] != old["token"] and new["point"]["name"] == "仓库"
    assert_error(client.get(f"/api/v1/scan/{old['token']}"), 410)
    assert client.get(f"/api/v1/scan/{new['token']}").status_code == 200
    assert (
        client.get(f"/api/v1/qrcodes/{old['id']}", headers=admin).json["replaced_by_id"]
        == new["id"]
    )
    assert_error(client.post(f"/api/v1/qrcodes/{old['id']}/rotate", headers=admin), 409)


def test_scan_rate_limit_answers_429_with_retry_after(ctx, world, auth_header):
    ctx.settings = ctx.settings.with_overrides(ratelimit_scan="3/minute")
    app = create_app(context=ctx)
    client = app.test_client()
    code = issue(client, auth_header(world.admin), world.enterprise_a.id)
    for _ in range(3):
        assert client.get(f"/api/v1/scan/{code['token']}").status_code == 200
    limited = client.get(f"/api/v1/scan/{code['token']}")
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) > 0


def test_limited_answers_say_how_much_is_left_and_others_do_not(ctx, world, auth_header):
    ctx.settings = ctx.settings.with_overrides(ratelimit_scan="3/minute")
    client = create_app(context=ctx).test_client()
    code = issue(client, auth_header(world.admin), world.enterprise_a.id)
    first = client.get(f"/api/v1/scan/{code['token']}")
    assert first.headers["X-RateLimit-Limit"] == "3"
    assert first.headers["X-RateLimit-Remaining"] == "2"
    unlimited = client.get("/api/v1/healthz")
    assert not [name for name, _ in unlimited.headers.items() if name.startswith("X-RateLimit")]


def test_camera_apps_get_a_chinese_landing_page(client, world, admin):
    code = issue(client, admin, world.enterprise_a.id)
    page = client.get(f"/q/{code['token']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "甲企业" in page.get_data(as_text=True)
    client.post(f"/api/v1/qrcodes/{code['id']}/revoke", headers=admin)
    gone = client.get(f"/q/{code['token']}")
    assert gone.status_code == 410 and "已停用" in gone.get_data(as_text=True)


# --- one visit, one scan: the /q/<token> page's scan reference ---------------------------------


def scan_rows(db, code_id: int) -> int:
    query = select(func.count()).select_from(ScanLog).where(ScanLog.qrcode_id == code_id)
    return db.scalar(query)


def page_scan_ref(client, token: str) -> str:
    """The scan reference the /q/<token> page hands its page (in its data block)."""
    html = client.get(f"/q/{token}").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html)
    return json.loads(block[1])["scan_ref"]


def scan_with(client, token: str, ref: str, headers=None):
    return client.get(f"/api/v1/scan/{token}", query_string={"scan_ref": ref}, headers=headers)


def test_an_inspector_opening_the_codes_page_is_one_scan_with_his_actions(
    client, world, admin, auth_header, db
):
    code = issue(client, admin, world.enterprise_a.id)
    ref = page_scan_ref(client, code["token"])
    assert scan_rows(db, code["id"]) == 1  # opening the page is the scan
    inspector = auth_header(world.inspector)
    own = scan_with(client, code["token"], ref, inspector)
    assert own.status_code == 200, own.json
    assert own.json["actions"] == ["report", "checkin"]
    # The staff page asking again (it reloads its data) is still the same visit.
    assert scan_with(client, code["token"], ref, inspector).status_code == 200
    assert scan_rows(db, code["id"]) == 1
    # Without the reference the scan is logged as before.
    assert client.get(f"/api/v1/scan/{code['token']}", headers=inspector).status_code == 200
    assert scan_rows(db, code["id"]) == 2


@pytest.fixture
def at_noon(ctx):
    """Moves the app's clock: `at_noon(seconds)` is noon today plus that many seconds."""
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)

    def move(seconds: int = 0) -> None:
        ctx.clock = lambda: noon + timedelta(seconds=seconds)

    return move


def test_a_reference_is_worth_a_few_minutes(client, ctx, world, admin, db, at_noon):
    code = issue(client, admin, world.enterprise_a.id)
    at_noon()
    ref = qrcodes.scan_ref(ctx, code["id"])
    at_noon(qrcodes.SCAN_REF_SECONDS)
    assert scan_with(client, code["token"], ref).status_code == 200
    assert scan_rows(db, code["id"]) == 0
    at_noon(qrcodes.SCAN_REF_SECONDS + 1)
    assert scan_with(client, code["token"], ref).status_code == 200
    assert scan_rows(db, code["id"]) == 1


@pytest.mark.parametrize(
    "kind",
    ["expired", "future", "other_code", "other_secret", "forged", "garbage", "empty"],
)
def test_any_other_reference_logs_the_scan_as_before_and_is_no_error(
    client, ctx, world, admin, db, at_noon, kind
):
    code = issue(client, admin, world.enterprise_a.id)
    other = issue(client, admin, world.enterprise_b.id)
    at_noon()
    signed_at = int(ctx.now().timestamp())
    if kind == "expired":
        at_noon(-qrcodes.SCAN_REF_SECONDS - 1)
        ref = qrcodes.scan_ref(ctx, code["id"])
        at_noon()
    elif kind == "future":
        at_noon(qrcodes.SCAN_REF_SKEW_SECONDS + 1)
        ref = qrcodes.scan_ref(ctx, code["id"])
        at_noon()
    elif kind == "other_code":
        ref = qrcodes.scan_ref(ctx, other["id"])
    elif kind == "other_secret":
        elsewhere = ctx.settings.with_overrides(secret_key="another-installation-" + "k" * 32)
        ref = qrcodes.scan_ref(replace(ctx, settings=elsewhere), code["id"])
    elif kind == "forged":
        ref = f"{signed_at}.{'0' * 32}"
    elif kind == "garbage":
        ref = "１２３.<script>" + "x" * 5000
    else:
        ref = ""
    response = scan_with(client, code["token"], ref)
    assert response.status_code == 200, response.json
    assert response.json["actions"] == ["report"]
    assert scan_rows(db, code["id"]) == 1


def test_a_code_revoked_after_its_page_was_opened_answers_410_with_its_reference(
    client, world, admin, auth_header
):
    code = issue(client, admin, world.enterprise_a.id)
    ref = page_scan_ref(client, code["token"])
    client.post(f"/api/v1/qrcodes/{code['id']}/revoke", headers=admin)
    gone = scan_with(client, code["token"], ref, auth_header(world.inspector))
    body = assert_error(gone, 410, "qrcode_revoked")
    assert "已停用" in body["message"]


def test_an_enterprise_deactivated_after_its_page_was_opened_answers_410(client, world, admin, db):
    code = issue(client, admin, world.enterprise_a.id)
    ref = page_scan_ref(client, code["token"])
    world.enterprise_a.active = False
    db.commit()
    assert_error(scan_with(client, code["token"], ref), 410, "qrcode_revoked")


# --- check-ins -------------------------------------------------------------------------------

# enterprise_a sits at (31.7, 119.9); 0.001° of longitude there is about 94.7 m.
NEAR = {"lat": 31.7, "lng": 119.901, "accuracy": 15}
FAR = {"lat": 31.7, "lng": 119.91, "accuracy": 15}


def checkin(client, headers, token, body):
    return client.post(f"/api/v1/scan/{token}/checkins", json=body, headers=headers)


def test_inspector_check_in_records_distance_and_no_flag_when_near(
    client, world, admin, auth_header
):
    code = issue(client, admin, world.enterprise_a.id)
    response = checkin(client, auth_header(world.inspector), code["token"], NEAR)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["distance_m"] == pytest.approx(94.7, abs=0.5)
    assert body["flagged"] is False and body["flag_reason"] is None
    assert (
        body["inspector_id"] == world.inspector.id
        and body["enterprise_id"] == world.enterprise_a.id
    )


def test_check_in_beyond_the_radius_is_flagged(client, world, admin, auth_header):
    code = issue(client, admin, world.enterprise_a.id)
    body = checkin(client, auth_header(world.inspector), code["token"], FAR).json
    assert body["distance_m"] == pytest.approx(947, abs=3)
    assert body["flagged"] is True and body["flag_reason"] == "too_far"


def test_check_in_with_poor_gps_accuracy_is_flagged(client, world, admin, auth_header):
    code = issue(client, admin, world.enterprise_a.id)
    body = checkin(
        client, auth_header(world.inspector), code["token"], {**NEAR, "accuracy": 800}
    ).json
    assert body["flagged"] is True and body["flag_reason"] == "poor_accuracy"


def test_the_radius_is_configurable(client, world, admin, auth_header, ctx):
    ctx.settings = ctx.settings.with_overrides(checkin_radius_m=50)
    code = issue(client, admin, world.enterprise_a.id)
    body = checkin(client, auth_header(world.inspector), code["token"], NEAR).json
    assert body["flag_reason"] == "too_far"


def test_check_in_at_an_enterprise_without_coordinates_is_flagged(
    client, world, admin, auth_header, db
):
    enterprise = make_enterprise(db, world.grid_a, lat=None, lng=None)
    db.commit()
    code = issue(client, admin, enterprise.id)
    body = checkin(client, auth_header(world.inspector), code["token"], NEAR).json
    assert body["distance_m"] is None and body["flag_reason"] == "no_enterprise_location"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("inspector", True),
        ("street_supervisor", True),
        ("district_supervisor", True),
        ("officer", False),
        ("reporter", False),
        ("admin", False),
    ],
)
def test_who_may_check_in(client, world, admin, auth_header, role, allowed):
    code = issue(client, admin, world.enterprise_a.id)
    response = checkin(client, auth_header(getattr(world, role)), code["token"], NEAR)
    if allowed:
        assert response.status_code == 201
    else:
        assert_error(response, 403, "forbidden")


def test_inspectors_and_supervisors_of_other_areas_cannot_check_in(
    client, world, admin, auth_header
):
    code = issue(client, admin, world.enterprise_b.id)
    assert_error(checkin(client, auth_header(world.inspector), code["token"], NEAR), 403)
    assert_error(checkin(client, auth_header(world.street_supervisor), code["token"], NEAR), 403)


def test_check_in_needs_login_and_valid_coordinates(client, world, admin, auth_header):
    code = issue(client, admin, world.enterprise_a.id)
    assert_error(checkin(client, {}, code["token"], NEAR), 401)
    bad = checkin(client, auth_header(world.inspector), code["token"], {"lat": 95, "lng": 0})
    assert "lat" in assert_error(bad, 422)["errors"]


def test_check_in_with_a_revoked_code_is_410(client, world, admin, auth_header):
    code = issue(client, admin, world.enterprise_a.id)
    client.post(f"/api/v1/qrcodes/{code['id']}/revoke", headers=admin)
    assert_error(checkin(client, auth_header(world.inspector), code["token"], NEAR), 410)


def test_check_ins_are_listed_in_scope_and_filtered(client, world, admin, auth_header):
    code_a = issue(client, admin, world.enterprise_a.id)
    code_b = issue(client, admin, world.enterprise_b.id)
    checkin(client, auth_header(world.inspector), code_a["token"], NEAR)
    checkin(client, auth_header(world.inspector), code_a["token"], FAR)
    checkin(client, auth_header(world.district_supervisor), code_b["token"], NEAR)
    assert client.get("/api/v1/checkins", headers=admin).json["total"] == 3
    street = client.get("/api/v1/checkins", headers=auth_header(world.street_supervisor)).json
    assert {c["enterprise_id"] for c in street["items"]} == {world.enterprise_a.id}
    flagged = client.get("/api/v1/checkins?flagged=true", headers=admin).json
    assert [c["flag_reason"] for c in flagged["items"]] == ["too_far"]
    by_grid = client.get(f"/api/v1/checkins?grid_id={world.grid_b.id}", headers=admin).json
    assert by_grid["total"] == 1
    future = client.get("/api/v1/checkins?from=2999-01-01T00:00:00Z", headers=admin).json
    assert future["total"] == 0
    assert client.get("/api/v1/checkins", headers=auth_header(world.reporter)).json["total"] == 0


# --- batch posters ---------------------------------------------------------------------------


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


def test_batch_pdf_has_one_page_per_active_code_in_the_subtree(client, world, admin, auth_header):
    issue(client, admin, world.enterprise_a.id)
    issue(client, admin, world.enterprise_a2.id, point_name="仓库")
    revoked = issue(client, admin, world.enterprise_a.id)
    client.post(f"/api/v1/qrcodes/{revoked['id']}/revoke", headers=admin)
    issue(client, admin, world.enterprise_b.id)

    street = client.get(f"/api/v1/qrcodes/posters.pdf?region_id={world.street_a.id}", headers=admin)
    assert street.status_code == 200 and street.mimetype == "application/pdf"
    assert street.data.startswith(b"%PDF") and pdf_pages(street.data) == 2
    district = client.get(
        f"/api/v1/qrcodes/posters.pdf?region_id={world.district.id}",
        headers=auth_header(world.district_supervisor),
    )
    assert pdf_pages(district.data) == 3


def test_batch_pdf_is_vector_a5_or_a4_by_short_id_with_the_office_and_hotline(
    client, world, admin, ctx
):
    ctx.settings = ctx.settings.with_overrides(office_name="测试区应急管理局", hotline="12350")
    codes = [
        issue(client, admin, world.enterprise_b.id),
        issue(client, admin, world.enterprise_a.id),
    ]
    url = f"/api/v1/qrcodes/posters.pdf?region_id={world.district.id}"
    a5 = client.get(url, headers=admin)
    assert a5.status_code == 200 and page_sizes_mm(a5.data) == [(148, 210)] * 2
    texts = [t.replace(" ", "") for t in pdf_text(a5.data)]
    # By short id: the code issued first (enterprise B's) prints first.
    assert [re.search(r"编号(QR-\d+)", t).group(1) for t in texts] == [c["short_id"] for c in codes]
    assert world.enterprise_b.name in texts[0] and world.enterprise_a.name in texts[1]
    for text in texts:
        assert "测试区应急管理局" in text and "举报电话：12350" in text
        assert "可匿名，严格保密" in text and "微信扫一扫/相机扫码" in text
    assert [decode_qr(page) for page in render_pages(a5.data)] == [[c["url"]] for c in codes]
    a4 = client.get(f"{url}&size=A4", headers=admin)
    assert a4.status_code == 200 and page_sizes_mm(a4.data) == [(210, 297)] * 2
    assert "size" in assert_error(client.get(f"{url}&size=A3", headers=admin), 422)["errors"]


def test_batch_pdf_respects_scope(client, world, admin, auth_header):
    issue(client, admin, world.enterprise_b.id)
    url = f"/api/v1/qrcodes/posters.pdf?region_id={world.street_b.id}"
    assert_error(client.get(url, headers=auth_header(world.street_supervisor)), 404)
    assert_error(client.get(url, headers=auth_header(world.inspector)), 403)
    empty = f"/api/v1/qrcodes/posters.pdf?region_id={world.street_a.id}"
    assert_error(client.get(empty, headers=admin), 404)


def test_cli_writes_the_region_posters_pdf(app, client, world, admin, tmp_path):
    issue(client, admin, world.enterprise_a.id)
    issue(client, admin, world.enterprise_b.id)
    out = tmp_path / "posters.pdf"
    result = app.test_cli_runner().invoke(
        args=["qr", "posters", "--region", world.district.code, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "2 posters" in result.output
    assert pdf_pages(out.read_bytes()) == 2
