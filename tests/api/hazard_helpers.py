"""Steps of the hazard story, through the HTTP API."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime, timedelta

from tests.hostile import plain_jpeg

_shade = itertools.count(1)
PLAN = {
    "responsible_person": "张伟（企业负责人）",
    "measures": "更换老化电缆，增设漏电保护",
    "funds": "2.5 万元",
    "deadline": "2026-12-20",
    "contingency_plan": "停用车间二号线并设警戒区",
}


def upload(client, headers, width: int = 320, height: int = 240) -> int:
    """Upload a distinct photo (each call a different image) and return its media id."""
    n = next(_shade)
    data = plain_jpeg(width + n % 50, height + n // 50 % 50)
    response = client.post(
        "/api/v1/media",
        data={"file": (io.BytesIO(data), f"photo{n}.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def scan_token(client, admin_headers, enterprise_id: int) -> str:
    response = client.post(
        f"/api/v1/enterprises/{enterprise_id}/qrcodes", json={}, headers=admin_headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def report(client, headers, token: str, photos: int = 1, **overrides):
    body = {
        "qr_token": token,
        "category": "electrical",
        "description": "配电箱门未关闭，电缆外皮破损",
        "media_ids": [upload(client, headers) for _ in range(photos)],
    }
    body.update(overrides)
    return client.post("/api/v1/hazards", json=body, headers=headers)


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()
