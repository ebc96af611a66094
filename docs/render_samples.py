"""Render the sample pages shown in the README (docs/*.png) from the demo district.

Run: .venv/bin/python docs/render_samples.py   (needs pdftoppm: `make poppler`)
Builds a throwaway SQLite database with `flask demo seed`'s data, makes each document as
the API does, and renders its first page with pdftoppm.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from service import demo  # noqa: E402
from service.access.scoping import Actor  # noqa: E402
from service.bootstrap import build_context  # noqa: E402
from service.core import migrations  # noqa: E402
from service.core.settings import Settings  # noqa: E402
from service.directory.models import Region  # noqa: E402
from service.documents import bulletins, notices  # noqa: E402
from service.qrcodes import codes  # noqa: E402
from uploads_schema.vocabulary import RegionLevel, Role  # noqa: E402

OUT = ROOT / "docs"


def render(pdf: bytes, name: str, dpi: int = 60) -> None:
    """The first page of `pdf` as docs/<name>.png."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", "1", "-l", "1",
             str(source), str(OUT / name)],
            check=True,
        )  # fmt: skip
    print(f"docs/{name}.png")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/samples.db"
        settings = Settings(
            database_url=url,
            app_env="test",
            secret_key="s" * 40,
            media_root=f"{folder}/media",
            office_name="示范区应急管理局",
            hotline="0519-12350",
            public_base_url="https://mashangcha.example.gov.cn",
        )
        migrations.upgrade(url)
        ctx = build_context(settings)
        demo.seed(ctx)
        admin = Actor(user_id=0, role=Role.ADMIN)
        batch = codes.active_codes_in_region(ctx, admin, None)
        out = io.BytesIO()
        codes.write_region_posters(ctx, batch.specs[:1], out)
        render(out.getvalue(), "sample-poster-a5")
        render(notices.hazard_document(ctx, admin, 2, notices.NOTICE).data, "sample-notice")
        render(notices.hazard_document(ctx, admin, 4, notices.REVIEW).data, "sample-review")
        month = bulletins.parse_month(f"{ctx.now():%Y-%m}")
        with ctx.read() as uow:
            district = uow.session.scalar(
                select(Region.id).where(Region.level == RegionLevel.DISTRICT).limit(1)
            )
        bulletin = bulletins.monthly_bulletin(ctx, admin, district, month)
        render(bulletins.bulletin_pdf(ctx, bulletin), "sample-bulletin")


if __name__ == "__main__":
    main()
