"""Commands fail with one clear line on stderr and exit code 1, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from miniprogram_api import create_app
from service.access.scoping import Actor
from service.core.context import Context
from service.qrcodes import codes as qrcodes
from uploads_schema.vocabulary import Role


def assert_one_line_failure(result: Result) -> str:
    """The command failed (exit 1) with a single "Error: …" line on stderr and no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # click's own exit, nothing escaped
    line = result.stderr.strip()
    assert line.startswith("Error: ") and "\n" not in line, result.stderr
    assert "Traceback" not in result.output
    return line


def test_posters_for_an_unknown_region_fail_in_one_line(app, tmp_path: Path):
    out = tmp_path / "posters.pdf"

    result = app.test_cli_runner().invoke(
        args=["qr", "posters", "--region", "999999999999", "-o", str(out)]
    )

    line = assert_one_line_failure(result)
    assert "No region with code 999999999999" in line
    assert not out.exists()


def test_posters_without_a_chinese_font_fail_in_one_line_and_leave_no_file(
    ctx, world, tmp_path: Path
):
    admin = Actor(user_id=world.admin.id, role=Role.ADMIN)
    qrcodes.issue_qrcode(ctx, admin, world.enterprise_a.id)
    ctx.settings = ctx.settings.with_overrides(qr_font_path=str(tmp_path / "no-such-font.ttc"))
    out = tmp_path / "posters.pdf"

    result = (
        create_app(context=ctx)
        .test_cli_runner()
        .invoke(args=["qr", "posters", "--region", world.district.code, "-o", str(out)])
    )

    line = assert_one_line_failure(result)
    assert "No CJK font for posters" in line and "QR_FONT_PATH" in line
    assert list(tmp_path.glob("posters*")) == []  # neither the PDF nor its .part file


@pytest.mark.parametrize(
    "command", [["hazards", "sweep"], ["outbox", "send"], ["stats", "check-rollup"]]
)
def test_a_command_without_its_database_fails_in_one_line(settings, command):
    down = settings.with_overrides(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    )

    result = create_app(down).test_cli_runner().invoke(args=command)

    line = assert_one_line_failure(result)
    assert "atabase" in line  # "Database temporarily unavailable …" or "database error: …"


def test_media_gc_without_its_storage_fails_in_one_line(settings, session_factory):
    from service.bootstrap import storage_for

    down = settings.with_overrides(
        storage_backend="minio",
        minio_endpoint="127.0.0.1:9",
        minio_access_key="k",
        minio_secret_key="s",
    )
    ctx = Context(settings=down, session_factory=session_factory, storage=storage_for(down))

    result = create_app(context=ctx).test_cli_runner().invoke(args=["media", "gc"])

    line = assert_one_line_failure(result)
    assert line.startswith("Error: object storage unavailable")
