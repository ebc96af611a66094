"""Job results and filed documents fetched from S3 storage (moto's server and SeaweedFS) are
saved under our name: the presigned link carries `response-content-disposition`, so the
store answers the Content-Disposition the direct download answers (filename* in UTF-8, an
ASCII fallback), not the storage key's name. Photo links stay as they were."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
import requests

from miniprogram_api import create_app
from service.core.context import Context
from service.documents import filing
from service.media.storage import MinioStorage
from tests import hostile
from tests.fixtures_s3 import make_minio_storage
from tests.fixtures_seaweed import make_seaweed_storage
from tests.integration.test_media_minio import upload
from uploads_schema.vocabulary import DocumentKind


@pytest.fixture(params=["moto", "seaweedfs"])
def bucket(request: pytest.FixtureRequest) -> MinioStorage:
    if request.param == "seaweedfs":
        return make_seaweed_storage(request.getfixturevalue("seaweed"))
    return make_minio_storage(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def s3_client(settings, session_factory, bucket: MinioStorage):
    ctx = Context(settings=settings, session_factory=session_factory, storage=bucket)
    return create_app(context=ctx).test_client()


def names(header: str) -> tuple[str, str, str]:
    """(disposition type, filename* decoded, ASCII filename) of a Content-Disposition."""
    full = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    fallback = re.search(r'filename="?([^";]+)"?(?:;|$)', header)
    assert full and fallback, header
    return header.split(";")[0], unquote(full.group(1)), fallback.group(1)


def fetch_result(client, url: str, headers: dict) -> tuple[dict, requests.Response]:
    answer = client.get(url, headers=headers)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job = client.get(answer.headers["Location"], headers=headers).json
    assert job["state"] == "succeeded", job
    link = job["result"]["url"]
    assert "X-Amz-Signature=" in link and "response-content-disposition=" in link
    fetched = requests.get(link, timeout=10)
    assert fetched.status_code == 200
    return job, fetched


def test_an_export_job_is_saved_under_the_name_the_direct_download_gives(
    s3_client, world, auth_header
):
    sup = auth_header(world.district_supervisor)
    url = "/api/v1/stats/export.xlsx?from=2026-11-01&to=2026-11-30"
    direct = s3_client.get(url, headers=sup)
    assert direct.status_code == 200
    job, fetched = fetch_result(s3_client, url + "&async=1", sup)
    header = fetched.headers["Content-Disposition"]
    assert header == direct.headers["Content-Disposition"]
    assert names(header)[:2] == ("attachment", "隐患统计-测试区-2026-11.xlsx")
    assert names(header)[2].isascii() and names(header)[2].endswith(".xlsx")
    assert len(fetched.content) == job["result"]["size"]


def test_a_poster_job_is_saved_under_its_regions_chinese_name(s3_client, world, auth_header):
    admin = auth_header(world.admin)
    answer = s3_client.post(f"/api/v1/enterprises/{world.enterprise_a.id}/qrcodes", json={},
                            headers=admin)  # fmt: skip
    assert answer.status_code == 201
    url = f"/api/v1/qrcodes/posters.pdf?region_id={world.street_a.id}"
    direct = s3_client.get(url, headers=admin)
    _, fetched = fetch_result(s3_client, url + "&async=1", admin)
    assert fetched.headers["Content-Disposition"] == direct.headers["Content-Disposition"]
    kind, name, fallback = names(fetched.headers["Content-Disposition"])
    assert (kind, name) == ("attachment", "二维码海报-甲街道.pdf")
    assert fallback == f"qr-posters-{world.street_a.code}.pdf"
    assert fetched.content.startswith(b"%PDF")


def test_a_photo_link_is_unchanged_and_names_nothing(s3_client, world, auth_header):
    headers = auth_header(world.reporter)
    response = upload(s3_client, headers, hostile.jpeg_with_gps_and_orientation(400, 300))
    assert response.status_code == 201, response.json
    location = s3_client.get(f"/api/v1/media/{response.json['id']}", headers=headers).location
    assert "response-content-disposition" not in location
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and "Content-Disposition" not in fetched.headers


def test_a_filed_document_is_saved_under_its_chinese_name(s3_client, world, auth_header):
    ctx = s3_client.application.extensions["mashangcha"]
    filed = filing.file_document(ctx, world.district.id, DocumentKind.MONTHLY, "2026-10")
    admin = auth_header(world.admin)
    direct = s3_client.get(
        f"/api/v1/stats/bulletins/monthly.pdf?month=2026-10&region_id={world.district.id}",
        headers=admin,
    )
    assert direct.status_code == 200
    for fmt in ("pdf", "docx"):
        answer = s3_client.get(f"/api/v1/documents/{filed.document_id}/file.{fmt}", headers=admin)
        assert answer.status_code == 302
        fetched = requests.get(answer.location, timeout=10)
        assert fetched.status_code == 200
        kind, name, _ = names(fetched.headers["Content-Disposition"])
        assert (kind, name) == ("attachment", f"月度通报-测试区-2026-10.{fmt}")
        if fmt == "pdf":
            assert fetched.headers["Content-Disposition"] == direct.headers["Content-Disposition"]
