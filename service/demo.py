"""Demo data: one district with streets, communities, grids, enterprises and a user per role.

Run by `flask demo seed` only (never at app start). Idempotent: it adds what is missing.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import timedelta

from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

import qr
from service.access.auth import hash_password
from service.access.scoping import load_actor
from service.core.context import Context
from service.core.errors import DomainError
from service.directory import credit_code
from service.directory.models import Enterprise, Grid, Region, User
from service.hazards import reporting, transitions
from service.hazards.models import Hazard
from service.media import photos as media
from service.qrcodes.models import QrCode
from uploads_schema.vocabulary import HazardCategory, Industry, RegionLevel, RiskColor, Role

DEMO_PASSWORD = "demo12345"

CITY = ("320400000000", "常州市")
DISTRICT = ("320412000000", "武进区")
STREETS = [("320412001000", "湖塘镇"), ("320412002000", "牛塘镇"), ("320412003000", "洛阳镇")]
COMMUNITY_NAMES = ["花园社区", "新华村"]
ENTERPRISE_NAMES = [
    "常州市武进区湖塘精密机械有限公司",
    "常州恒安化工有限公司",
    "武进区永盛粉末冶金厂",
    "常州市宏达建筑工程有限公司",
    "常州新源食品有限公司",
    "武进区鑫达木业加工厂",
    "常州华泰物流仓储有限公司",
    "常州市金鼎铝业有限公司",
    "武进区安顺危险品运输有限公司",
    "常州市天宇纺织有限公司",
    "常州瑞丰塑料制品有限公司",
    "武进区宏图电镀厂",
    "常州市百盛商贸有限公司",
    "常州东方酒店管理有限公司",
    "武进区兴业家具有限公司",
    "常州市绿源污水处理有限公司",
    "常州中科涂料有限公司",
    "武进区长江五金制品厂",
    "常州市明珠商场有限公司",
    "常州宝通钢结构工程有限公司",
]
INDUSTRIES = list(Industry)
COLOURS = [RiskColor.BLUE, RiskColor.YELLOW, RiskColor.YELLOW, RiskColor.ORANGE, RiskColor.RED]


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    description: str


ACCOUNTS = [
    DemoAccount("admin", Role.ADMIN, "管理员 administrator"),
    DemoAccount("district", Role.SUPERVISOR, "区级监管 district supervisor (武进区)"),
    DemoAccount("street", Role.SUPERVISOR, "镇街监管 street supervisor (湖塘镇)"),
    DemoAccount("inspector", Role.INSPECTOR, "网格员 inspector of the first grid"),
    DemoAccount("officer", Role.ENTERPRISE_OFFICER, "企业安全员 officer of the first enterprise"),
    DemoAccount("worker", Role.REPORTER, "职工 reporter"),
]


def _region(
    session: Session, code: str, name: str, level: RegionLevel, parent: Region | None
) -> Region:
    region = session.scalar(select(Region).where(Region.code == code))
    if region is None:
        region = Region(
            code=code,
            name=name,
            level=level,
            parent_id=parent.id if parent else None,
            path=(parent.path if parent else "/") + code + "/",
        )
        session.add(region)
        session.flush()
    return region


class DemoRefusedInProduction(DomainError):
    status, code = 403, "demo_refused_in_production"
    message = "生产环境（APP_ENV=production）不能写入演示数据：演示账号的密码是公开的"
    message_en = (
        "flask demo seed refuses to run under APP_ENV=production (demo accounts share a "
        "published password); create the first admin with `flask users create-admin`"
    )


def seed(ctx: Context) -> dict[str, int]:
    """Create the demo district if missing; returns counts of what now exists. Refused in
    production, before anything is written."""
    if ctx.settings.is_production:
        raise DemoRefusedInProduction()
    rng = random.Random(20261124)  # fixed, so every machine gets the same demo
    with ctx.uow() as uow:
        s = uow.session
        city = _region(s, *CITY, RegionLevel.CITY, None)
        district = _region(s, *DISTRICT, RegionLevel.DISTRICT, city)
        grids: list[Grid] = []
        streets: list[Region] = []
        for street_code, street_name in STREETS:
            street = _region(s, street_code, street_name, RegionLevel.STREET, district)
            streets.append(street)
            for c, community_name in enumerate(COMMUNITY_NAMES, start=1):
                code = street_code[:9] + f"{c:03d}"
                community = _region(
                    s, code, street_name + community_name, RegionLevel.COMMUNITY, street
                )
                for g in (1, 2):
                    grid_code = f"{code}-G{g}"
                    grid = s.scalar(select(Grid).where(Grid.code == grid_code))
                    if grid is None:
                        grid = Grid(
                            code=grid_code,
                            name=f"{community.name}第{g}网格",
                            region_id=community.id,
                            region_path=community.path,
                        )
                        s.add(grid)
                        s.flush()
                    grids.append(grid)
        enterprises: list[Enterprise] = []
        for i, name in enumerate(ENTERPRISE_NAMES):
            existing = s.scalar(select(Enterprise).where(Enterprise.name == name))
            grid = grids[0] if i == 0 else grids[i % len(grids)]
            if existing is None:
                existing = Enterprise(
                    credit_code=_demo_credit_code(rng),
                    credit_code_valid=True,
                    name=name,
                    address=f"常州市武进区{grid.name[:3]}工业路{10 + i}号",
                    lat=round(31.70 + rng.uniform(-0.05, 0.05), 6),
                    lng=round(119.94 + rng.uniform(-0.05, 0.05), 6),
                    industry=INDUSTRIES[i % len(INDUSTRIES)],
                    risk_color=COLOURS[i % len(COLOURS)],
                    grid_id=grid.id,
                    region_path=grid.region_path,
                )
                s.add(existing)
                s.flush()
            enterprises.append(existing)
        bindings = {
            "district": {"region_id": district.id},
            "street": {"region_id": streets[0].id},
            "officer": {"enterprise_id": enterprises[0].id},
        }
        password_hash = None
        for account in ACCOUNTS:
            if s.scalar(select(User).where(User.username == account.username)) is not None:
                continue
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user = User(
                username=account.username,
                password_hash=password_hash,
                display_name=account.description.split(" ")[0],
                role=account.role,
                token_version=0,
                **bindings.get(account.username, {}),
            )
            if account.role is Role.INSPECTOR:
                user.grids = [grids[0]]
            s.add(user)
        for enterprise in enterprises:
            if s.scalar(select(QrCode.id).where(QrCode.enterprise_id == enterprise.id)) is None:
                s.add(QrCode(token=qr.new_token(), enterprise_id=enterprise.id))
        uow.commit()
    if ctx.storage is not None:
        _seed_hazards(ctx, rng)
    with ctx.read() as uow:
        s = uow.session
        first_token = s.scalar(
            select(QrCode.token).where(QrCode.enterprise_id == enterprises[0].id).limit(1)
        )
        return {
            "regions": len(s.scalars(select(Region.id)).all()),
            "grids": len(grids),
            "enterprises": len(enterprises),
            "users": len(s.scalars(select(User.id)).all()),
            "hazards": len(s.scalars(select(Hazard.id)).all()),
            "first_token": first_token,
        }


def _photo(rng: random.Random) -> io.BytesIO:
    """A small distinct JPEG standing in for a phone photo."""
    image = Image.new("RGB", (640, 480), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(600), rng.randrange(440)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + 40, y + 40), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    out.seek(0)
    return out


def _seed_hazards(ctx: Context, rng: random.Random) -> None:
    """A few hazards in every state on the first enterprise, reported through the use cases."""
    with ctx.read() as uow:
        s = uow.session
        if s.scalar(select(Hazard.id).limit(1)) is not None:
            return  # seeded before
        users = {u.username: u for u in s.scalars(select(User))}
        token = s.scalar(select(QrCode.token).order_by(QrCode.id).limit(1))
        actors = {
            name: load_actor(s.connection(), users[name].id)
            for name in ("worker", "inspector", "officer", "street")
        }
    officer_id = users["officer"].id
    deadline = ctx.now() + timedelta(days=7)
    stories = [
        ("worker", HazardCategory.FIRE, "消防通道堆放纸箱，安全出口被堵", 0),
        ("inspector", HazardCategory.ELECTRICAL, "配电箱门未关闭，线缆外皮破损", 1),
        ("inspector", HazardCategory.MACHINERY, "冲床防护罩缺失", 2),
        ("worker", HazardCategory.HOUSEKEEPING, "车间通道油污未清理，易滑倒", 3),
        ("inspector", HazardCategory.HAZARDOUS_CHEMICALS, "危化品仓库未张贴安全标识", 4),
    ]
    for reporter, category, text, steps in stories:
        photo = media.upload_photo(ctx, actors[reporter], _photo(rng))
        report = reporting.HazardReport(
            category=category, description=text, media_ids=[photo.media.id], qr_token=token
        )
        result = reporting.report_hazard(ctx, actors[reporter], report)
        hid = result.hazard.id
        if steps == 4:
            transitions.reject(ctx, actors["inspector"], hid, reason="现场核实不属实")
            continue
        if steps >= 1:
            transitions.assign(
                ctx,
                actors["inspector"] if reporter == "inspector" else actors["officer"],
                hid,
                assignee_id=officer_id,
                deadline=deadline,
            )
        if steps >= 2:
            fix = media.upload_photo(ctx, actors["officer"], _photo(rng))
            transitions.submit_fix(
                ctx, actors["officer"], hid, note="已整改", media_ids=[fix.media.id]
            )
        if steps >= 3:
            transitions.verify(ctx, actors["inspector"], hid, passed=True, note="验收合格")


def _demo_credit_code(rng: random.Random) -> str:
    org = "".join(rng.choice(credit_code.ALPHABET) for _ in range(9))
    first17 = "91320412" + org
    return first17 + credit_code.check_char(first17)
