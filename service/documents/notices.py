"""Per-hazard documents: 隐患整改通知书 (once assigned) and 复查意见书 (once verified), as PDF.

Each carries a document number, the office, the enterprise and its 统一社会信用代码, the
hazard with its photos, the requirement and deadline (or the verification result), and room
for signatures and the seal. Never the reporter (举报人信息保护): the enterprise receives
these. Built from the stored hazard and its events, nothing retyped.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PIL import Image as PILImage
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy import select

from service.access.scoping import Actor, hazard_scope
from service.core.clock import to_china
from service.core.context import Context
from service.core.errors import Conflict, NotFound
from service.core.storage import ObjectMissing, StorageError, StorageUnavailable
from service.directory.models import Enterprise, Point, User
from service.documents.pdf import GRID, Styles, escape, font
from service.hazards.models import Hazard, HazardEvent, HazardMedia
from service.media.models import Media
from service.statistics.exports import plan_item
from uploads_schema.vocabulary import (
    CATEGORY_LABELS,
    LEVEL_LABELS,
    PLAN_LABELS,
    SOURCE_LABELS,
    HazardAction,
    MediaRole,
    Role,
)

Progress = Callable[[int, int], None]
NOTICE, REVIEW = "notice", "review"
TITLES = {NOTICE: "隐患整改通知书", REVIEW: "复查意见书"}
_MAX_PHOTOS = 6
_PHOTO_SIDE = 52 * mm
_OFFICE = {Role.ADMIN.value, Role.SUPERVISOR.value, Role.INSPECTOR.value}
_ROLE_LABELS = {Role.INSPECTOR.value: "网格员", Role.SUPERVISOR.value: "监管人员"}


class DocumentNotReady(Conflict):
    code = "document_not_ready"
    message = "该隐患尚未到达此文书的阶段"
    message_en = "The hazard has not reached the stage of this document"


@dataclass(frozen=True)
class HazardDocument:
    """A document as downloaded: its name (Chinese and ASCII) and PDF bytes."""

    name: str
    ascii_name: str
    data: bytes


@dataclass
class _Facts:
    hazard: Hazard
    enterprise: Enterprise
    point: str
    assignee: str
    event: HazardEvent  # the assignment, or the latest verification
    event_count: int  # how many such events: the document's sequence number
    issuer: str  # who assigned / verified: staff name for the office's copy
    photos: list[bytes]


def _local(moment: datetime | None) -> str:
    return f"{to_china(moment):%Y年%m月%d日 %H:%M}" if moment else "—"


def _load(ctx: Context, actor: Actor, hazard_id: int, kind: str) -> _Facts:
    actions = (HazardAction.ASSIGN,) if kind == NOTICE else (HazardAction.PASS, HazardAction.FAIL)
    roles = (MediaRole.BEFORE,) if kind == NOTICE else (MediaRole.AFTER, MediaRole.VERIFICATION)
    with ctx.read() as uow:
        s = uow.session
        hazard = s.scalar(select(Hazard).where(Hazard.id == hazard_id, hazard_scope(actor)))
        if hazard is None:
            raise NotFound("隐患不存在", "Hazard not found")
        events = s.scalars(
            select(HazardEvent)
            .where(HazardEvent.hazard_id == hazard.id, HazardEvent.action.in_(actions))
            .order_by(HazardEvent.seq)
        ).all()
        if not events:
            raise DocumentNotReady(
                "隐患尚未交办整改，还没有整改通知书"
                if kind == NOTICE
                else "隐患尚未验收，还没有复查意见书",
                "The hazard has not been assigned yet"
                if kind == NOTICE
                else "The hazard has not been verified yet",
            )
        event = events[-1]
        point = s.scalar(select(Point.name).where(Point.id == hazard.point_id)) or ""
        assignee = s.scalar(select(User.display_name).where(User.id == hazard.assignee_id))
        issuer = s.scalar(select(User.display_name).where(User.id == event.actor_id)) or ""
        keys = s.scalars(
            select(Media.key)
            .join(HazardMedia, HazardMedia.media_id == Media.id)
            .where(HazardMedia.hazard_id == hazard.id, HazardMedia.role.in_(roles))
            .order_by(HazardMedia.event_seq, HazardMedia.position)
            .limit(_MAX_PHOTOS)
        ).all()
        keys = list(keys)
        enterprise = hazard.enterprise
    photos = _photos(ctx, keys)
    if actor.role not in _OFFICE and event.actor_role in _OFFICE:
        # Enterprise roles learn the office's roles, not its staff's names (an inspector
        # who signs here may have reported elsewhere).
        issuer = _ROLE_LABELS.get(event.actor_role or "", "检查人员")
    return _Facts(hazard, enterprise, point, assignee or "", event, len(events), issuer, photos)


def _photos(ctx: Context, keys: list[str]) -> list[bytes]:
    """The photos' bytes; one gone from storage is left out rather than failing the notice."""
    found = []
    for key in keys:
        try:
            found.append(ctx.storage.get(key) if ctx.storage is not None else b"")
        except ObjectMissing:
            continue
        except StorageUnavailable:
            raise
        except StorageError as exc:
            raise StorageUnavailable(str(exc)) from exc
    return [data for data in found if data]


def document_number(kind: str, hazard: Hazard, sequence: int, moment: datetime) -> str:
    """`整改〔2026〕YH320412-20261122-0007号`; a second review of one hazard ends `-2号`."""
    word = "整改" if kind == NOTICE else "复查"
    suffix = f"-{sequence}" if sequence > 1 else ""
    return f"{word}〔{to_china(moment):%Y}〕{hazard.number}{suffix}号"


def hazard_document(ctx: Context, actor: Actor, hazard_id: int, kind: str) -> HazardDocument:
    """The 隐患整改通知书 (`notice`) or 复查意见书 (`review`) of a hazard in the caller's scope
    (404 outside), 409 before the hazard has reached that stage."""
    facts = _load(ctx, actor, hazard_id, kind)
    data = _render(ctx, facts, kind)
    number = facts.hazard.number
    return HazardDocument(
        name=f"{TITLES[kind]}-{number}.pdf", ascii_name=f"{kind}-{number}.pdf", data=data
    )


def _table(rows: list[list[Any]], widths: list[float], styles: Styles) -> Table:
    cells = [
        [Paragraph(escape(v), styles.cell) if not isinstance(v, Paragraph) else v for v in r]
        for r in rows
    ]
    table = Table(cells, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.6, GRID),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (0, -1), "#f0f0f0"),
                ("BACKGROUND", (2, 0), (2, -1), "#f0f0f0"),
            ]
        )
    )
    return table


def _photo_grid(photos: list[bytes]) -> list[Any]:
    cells = []
    for data in photos:
        with PILImage.open(io.BytesIO(data)) as probe:
            width, height = probe.size
        scale = _PHOTO_SIDE / max(width, height)
        cells.append(Image(io.BytesIO(data), width=width * scale, height=height * scale))
    if not cells:
        return []
    rows = [cells[i : i + 3] for i in range(0, len(cells), 3)]
    rows[-1] += [""] * (3 - len(rows[-1]))
    table = Table(rows, colWidths=[_PHOTO_SIDE + 4 * mm] * 3)
    table.setStyle(TableStyle([("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [table]


def _render(ctx: Context, facts: _Facts, kind: str) -> bytes:
    styles = Styles(font(ctx.settings.qr_font_path))
    office = ctx.settings.office_name or "安全生产监督管理部门"
    h, e, event = facts.hazard, facts.enterprise, facts.event
    number = document_number(kind, h, facts.event_count, event.created_at)
    story: list[Any] = [
        Paragraph(escape(office), styles.centre),
        Paragraph(TITLES[kind], styles.title),
        Paragraph(f"文书编号：{escape(number)}", styles.right),
        Spacer(1, 4 * mm),
        Paragraph(f"{escape(e.name)}：", styles.body),
    ]
    if kind == NOTICE:
        opening = (
            f"经{escape(SOURCE_LABELS[h.source])}发现，你单位存在下列安全生产事故隐患，"
            "现责令你单位按下列要求整改，整改完成后及时提交整改情况，接受复查。"
        )
    else:
        opening = f"对你单位隐患 {escape(h.number)} 的整改情况进行了复查，意见如下。"
    story.append(Paragraph(opening, styles.body))
    story.append(Spacer(1, 3 * mm))
    width = A4[0] - 40 * mm
    w = [width * 0.16, width * 0.34, width * 0.16, width * 0.34]
    story.append(
        _table(
            [
                ["企业名称", e.name, "统一社会信用代码", e.credit_code],
                ["企业地址", e.address or "—", "点位", facts.point or "—"],
                ["隐患编号", h.number, "发现时间", _local(h.created_at)],
                ["隐患类别", CATEGORY_LABELS[h.category], "隐患等级", LEVEL_LABELS[h.level]],
            ],
            w,
            styles,
        )
    )
    story.append(Spacer(1, 2 * mm))
    story.append(_table([["隐患描述", h.description]], [w[0], width - w[0]], styles))
    label = "隐患照片" if kind == NOTICE else "整改及复查照片"
    if facts.photos:
        story.append(Paragraph(label, styles.heading))
        story += _photo_grid(facts.photos)
    if kind == NOTICE:
        story.append(Paragraph("整改要求", styles.heading))
        requirement = event.note or "立即组织整改，消除事故隐患，整改期间采取有效防范措施。"
        rows = [
            ["整改要求", requirement],
            ["整改期限", f"{_local(h.original_deadline or h.deadline)} 前"],
            ["整改责任人", facts.assignee or "—"],
        ]
        if h.plan:
            plan = "；".join(
                f"{PLAN_LABELS[k]}：{_plan_value(plan_item(h.plan, k))}" for k in PLAN_LABELS
            )
            rows.append(["五落实方案", plan])
        story.append(_table(rows, [w[0], width - w[0]], styles))
    else:
        passed = event.action is HazardAction.PASS
        story.append(Paragraph("复查意见", styles.heading))
        rows = [
            ["整改说明", h.fix_note or "—"],
            ["整改提交时间", _local(h.fix_submitted_at)],
            ["复查时间", _local(event.created_at)],
            ["复查结论", "整改合格，予以销号" if passed else "整改不合格，须重新整改"],
            ["复查意见", event.note or "—"],
        ]
        if not passed:
            rows.append(["重新整改期限", f"{_local(h.deadline)} 前"])
        story.append(_table(rows, [w[0], width - w[0]], styles))
    who = "检查人员" if kind == NOTICE else "复查人员"
    signatures = Table(
        [
            [
                Paragraph(f"{who}（签名）：{escape(facts.issuer)}", styles.body),
                Paragraph("被检查单位负责人（签名）：", styles.body),
            ],
            [
                Paragraph("日期：　　年　　月　　日", styles.body),
                Paragraph("日期：　　年　　月　　日", styles.body),
            ],
            ["", Paragraph(f"{escape(office)}（盖章）", styles.right)],
            ["", Paragraph(f"{to_china(event.created_at):%Y年%m月%d日}", styles.right)],
        ],
        colWidths=[width / 2, width / 2],
        rowHeights=[14 * mm, 9 * mm, 22 * mm, 9 * mm],
    )
    signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM")]))
    story.append(Spacer(1, 6 * mm))
    story.append(KeepTogether([signatures]))
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            "本文书一式两份，一份送达被检查单位，一份存档。"
            if kind == NOTICE
            else "本文书一式两份，一份送达被检查单位，一份存档。复查不合格的，应按期重新整改。",
            styles.small,
        )
    )
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"{TITLES[kind]} {h.number}",
        author=office,
        creator="码上查",
        invariant=1,
    )
    document.build(story)
    return out.getvalue()


def _plan_value(value: Any) -> str:
    return f"{to_china(value):%Y-%m-%d %H:%M}" if isinstance(value, datetime) else str(value)
