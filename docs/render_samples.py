"""Render the sample pages shown in the README (docs/*.png) from the demo district.

Run: .venv/bin/python docs/render_samples.py   (needs pdftoppm: `make poppler`, and for the
spreadsheets LibreOffice: `apt-get install libreoffice-calc-nogui`)
Builds a throwaway SQLite database with `flask demo seed`'s data, makes each document as
the API does, and renders its first page with pdftoppm. The 台账 workbooks are printed the
way an office prints them: LibreOffice turns them into PDF with their own page set-up
(A4 landscape, fitted to the width, the header rows repeated), then pdftoppm renders it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402
from sqlalchemy import select  # noqa: E402

from service import demo  # noqa: E402
from service.access.scoping import Actor  # noqa: E402
from service.bootstrap import build_context  # noqa: E402
from service.core import migrations  # noqa: E402
from service.core.clock import china_date  # noqa: E402
from service.core.context import Context  # noqa: E402
from service.core.settings import Settings  # noqa: E402
from service.directory.models import Region  # noqa: E402
from service.documents import bulletins, notices  # noqa: E402
from service.hazards.models import Hazard  # noqa: E402
from service.qrcodes import codes  # noqa: E402
from service.statistics import exports  # noqa: E402
from service.statistics.figures import StatsQuery  # noqa: E402
from uploads_schema.vocabulary import HazardLevel, RegionLevel, Role  # noqa: E402

OUT = ROOT / "docs"


def render(pdf: bytes, name: str, dpi: int = 60, page: int = 1) -> None:
    """A page of `pdf` (the first) as docs/<name>.png."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", str(page), "-l", str(page),
             str(source), str(OUT / name)],
            check=True,
        )  # fmt: skip
    print(f"docs/{name}.png")


def print_sheet(xlsx: bytes, name: str, title: str, dpi: int = 80) -> None:
    """The first printed page of the workbook's sheet headed `title`, as docs/<name>.png."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / f"{name}.xlsx"
        source.write_bytes(xlsx)
        subprocess.run(
            ["soffice", "--headless", f"-env:UserInstallation=file://{folder}/profile",
             "--convert-to", "pdf", "--outdir", folder, str(source)],
            check=True, capture_output=True,
        )  # fmt: skip
        pdf = source.with_suffix(".pdf")
        pages = len(PdfReader(str(pdf)).pages)
        page = next(
            n for n in range(1, pages + 1)
            if title in subprocess.run(
                ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"],
                check=True, capture_output=True, text=True,
            ).stdout
        )  # fmt: skip
        render(pdf.read_bytes(), name, dpi=dpi, page=page)
        # The same page's top left at 200 dpi: what the cells say, as a reader zooms in.
        subprocess.run(
            ["pdftoppm", "-r", "200", "-png", "-singlefile", "-f", str(page), "-l", str(page),
             "-x", "60", "-y", "120", "-W", "1300", "-H", "200", str(pdf),
             str(OUT / f"{name}-detail")],
            check=True,
        )  # fmt: skip
        print(f"docs/{name}-detail.png")


def _one_major(ctx: Context) -> None:
    """The demo has no 重大 hazard: its assigned one becomes one, with a 五落实 plan, so the
    一单四制 台账 sample has a row (this throwaway database only)."""
    with ctx.uow() as uow:
        hazard = uow.session.get(Hazard, 2)
        assert hazard is not None
        hazard.level, hazard.supervised = HazardLevel.MAJOR, True
        hazard.plan = {
            "responsible_person": "王建国（设备部经理）",
            "measures": "更换破损线缆，配电箱加锁并张贴警示标识，每日巡检",
            "funds": "1.2万元",
            "deadline": (ctx.now() + timedelta(days=7)).isoformat(),
            "contingency_plan": "整改期间断电隔离，设置警戒区，配备灭火器两具",
        }
        uow.commit()


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
        _one_major(ctx)
        today = china_date(ctx.now())
        year = StatsQuery(region_id=district, date_from=date(today.year, 1, 1), date_to=today)
        ledger, major = io.BytesIO(), io.BytesIO()
        exports.write_xlsx(ctx, admin, year, ledger)
        print_sheet(ledger.getvalue(), "sample-ledger", "隐患排查治理台账")
        exports.write_major_xlsx(ctx, admin, year, major)
        print_sheet(major.getvalue(), "sample-major-ledger", "重大事故隐患台账")


if __name__ == "__main__":
    main()
