"""排查任务: generating the tasks of every attached checklist per window, what is overdue and
which points are 失控, and doing a task (answers per item; a 不合格 item becomes a hazard).

Definitions, once:
- a task is *overdue* when its window has ended (`window_end <= now`) and it is not done;
- *done within its window* when `done_at < window_end` (任务完成率 counts these);
- a point is *失控* while it has an open 重大 hazard, or an overdue task whose window ended
  after the point's last done task (a task done there brings it back under control).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.access.scoping import Actor, Place, charge_condition, under
from service.core import idempotency
from service.core.clock import period_end, period_start
from service.core.context import Context
from service.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from service.core.idempotency import IdempotencyKey
from service.core.models import UTCDateTime
from service.core.pagination import Page, paginate
from service.directory.geo import haversine_m
from service.directory.models import Enterprise, Point
from service.hazards.models import Hazard
from service.hazards.reporting import HazardReport, report_within
from service.inspections import rollup
from service.inspections.models import (
    Checklist,
    ChecklistItem,
    InspectionTask,
    PointChecklist,
    ShiftSchedule,
    TaskResult,
)
from service.inspections.windows import shift_times, windows
from service.qrcodes.codes import scanned_code
from uploads_schema.vocabulary import (
    OPEN_STATUSES,
    CheckinFlag,
    Frequency,
    HazardCategory,
    HazardLevel,
    ItemOutcome,
    Role,
    TaskState,
    TaskStatus,
)

T = InspectionTask
TASK_PLACE = Place(T.region_path, T.grid_id, T.enterprise_id)


class TaskAlreadyDone(Conflict):
    code = "task_already_done"
    message, message_en = "该排查任务已完成", "This inspection task is already done"


class AnswersInvalid(ValidationFailed):
    code = "answers_invalid"
    message = "请逐项填写排查结果：不合格项须附照片和说明"
    message_en = "Answer every item once; a failed item needs a photo and a note"


# --- the definitions --------------------------------------------------------------------------


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """SQL: the task's window has ended and it is not done (逾期)."""
    return and_(T.status == TaskStatus.PENDING, T.window_end <= now)


def done_in_window_condition() -> ColumnElement[bool]:
    """SQL: the task was done before its window ended (what 任务完成率 counts)."""
    return and_(T.status == TaskStatus.DONE, T.done_at < T.window_end)


def task_state(task: InspectionTask, now: datetime) -> TaskState:
    """What a task is now: upcoming, due, overdue or done."""
    if task.status is TaskStatus.DONE:
        return TaskState.DONE
    if task.window_end <= now:
        return TaskState.OVERDUE
    return TaskState.DUE if task.window_start <= now else TaskState.UPCOMING


def out_of_control_condition(point_id: Any, now: datetime) -> ColumnElement[bool]:
    """SQL: the point (a column or value) is 失控 now."""
    last_missed = (
        select(func.max(T.window_end))
        .where(T.point_id == point_id, overdue_condition(now))
        .scalar_subquery()
    )
    last_done = (
        select(func.max(T.done_at))
        .where(T.point_id == point_id, T.status == TaskStatus.DONE)
        .scalar_subquery()
    )
    major_open = exists().where(
        Hazard.point_id == point_id,
        Hazard.level == HazardLevel.MAJOR,
        Hazard.status.in_(OPEN_STATUSES),
    )
    missed = and_(last_missed.is_not(None), or_(last_done.is_(None), last_done < last_missed))
    return or_(major_open, missed)


# --- generation -------------------------------------------------------------------------------


def assignee_key(attachment: PointChecklist) -> str:
    """How a task names its assignee: a person ("user:12") or a role ("role:inspector")."""
    if attachment.assignee_user_id is not None:
        return f"user:{attachment.assignee_user_id}"
    return f"role:{attachment.assignee_role}"


_UNIQUE = ["point_id", "checklist_id", "window_start", "assignee_key"]
_INSERTED = [
    "attachment_id",
    "point_id",
    "checklist_id",
    "enterprise_id",
    "grid_id",
    "region_path",
    "frequency",
    "window_start",
    "window_end",
    "assignee_key",
    "assignee_role",
    "assignee_user_id",
    "status",
    "flagged",
    "created_at",
]


def _insert_window(
    s: Session,
    frequency: Frequency,
    start: datetime,
    end: datetime,
    now: datetime,
    enterprises: ColumnElement[bool],
) -> int:
    """One window's tasks for every active attachment of `frequency` at `enterprises`, in one
    INSERT … SELECT that skips existing tasks, counted into the daily rollup; returns how
    many were new."""
    pc = PointChecklist
    key = case(
        (pc.assignee_user_id.is_not(None), literal("user:") + cast(pc.assignee_user_id, String)),
        else_=literal("role:") + cast(pc.assignee_role, String),
    )
    rows = (
        select(
            pc.id,
            pc.point_id,
            pc.checklist_id,
            Enterprise.id,
            Enterprise.grid_id,
            Enterprise.region_path,
            literal(frequency.value, String),
            literal(start, UTCDateTime()),
            literal(end, UTCDateTime()),
            key,
            pc.assignee_role,
            pc.assignee_user_id,
            literal(TaskStatus.PENDING.value, String),
            false(),
            literal(now, UTCDateTime()),
        )
        .join(Point, Point.id == pc.point_id)
        .join(Checklist, Checklist.id == pc.checklist_id)
        .join(Enterprise, Enterprise.id == Point.enterprise_id)
        .where(
            pc.active,
            pc.frequency == frequency,
            Point.active,
            Checklist.active,
            Enterprise.active,
            enterprises,
        )
        # One order for every run: two runs at once then wait for each other's rows in the
        # same order instead of deadlocking.
        .order_by(pc.id)
    )
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(T.__table__)
        .from_select(_INSERTED, rows)
        .on_conflict_do_nothing(index_elements=_UNIQUE)
        .returning(T.__table__.c.region_path)
    )
    # The new rows' places: rowcount is not reported for this statement on every driver.
    paths = s.execute(statement).scalars().all()
    rollup.created(s, end, paths)
    return len(paths)


def generate(ctx: Context, *, days: int = 7, now: datetime | None = None) -> int:
    """Create the tasks of every active attachment for the windows open at some moment of
    the next `days` days (China time); existing ones are left alone, so running it again, or
    twice at once, creates each task once. Returns how many were created.

    Set-based: one statement per frequency and window (每班: per set of shift times)."""
    now = now or ctx.now()
    until = now + timedelta(days=days)
    created = 0
    with ctx.uow() as uow:
        s = uow.session
        if s.get_bind().dialect.name == "postgresql":
            # The statement's one ORDER BY (a window's tasks, 200,000 for a district's week)
            # then sorts in memory instead of spilling to disk.
            s.execute(text("SET LOCAL work_mem = '64MB'"))
        # Each statement reads every attachment of its frequency: none for unused ones.
        used = set(
            s.scalars(select(PointChecklist.frequency).where(PointChecklist.active).distinct())
        )
        by_shifts: dict[tuple[time, ...], list[int]] = {}
        for enterprise_id, starts in s.execute(
            select(ShiftSchedule.enterprise_id, ShiftSchedule.starts)
        ):
            by_shifts.setdefault(tuple(shift_times(starts)), []).append(enterprise_id)
        everyone = true()
        for frequency in Frequency:
            if frequency not in used:
                continue
            if frequency is not Frequency.SHIFT:
                for start, end in windows(frequency, now, until):
                    created += _insert_window(s, frequency, start, end, now, everyone)
                continue
            own = [e for ids in by_shifts.values() for e in ids]
            groups: list[tuple[tuple[time, ...], ColumnElement[bool]]] = [
                (tuple(shift_times(None)), Enterprise.id.not_in(own) if own else everyone)
            ]
            groups += [(times, Enterprise.id.in_(ids)) for times, ids in by_shifts.items()]
            for times, enterprises in groups:
                for start, end in windows(frequency, now, until, times):
                    created += _insert_window(s, frequency, start, end, now, enterprises)
        uow.commit()
    return created


# --- who does a task --------------------------------------------------------------------------


def may_do(actor: Actor | None, task: InspectionTask) -> bool:
    """Is the task the caller's: the named person, or the role at the task's enterprise
    (its officers, its grid's inspectors, the supervisors above it)?"""
    if actor is None:
        return False
    if task.assignee_user_id is not None:
        return actor.user_id == task.assignee_user_id
    if actor.role is not task.assignee_role:
        return False
    match actor.role:
        case Role.ENTERPRISE_OFFICER:
            return actor.enterprise_id == task.enterprise_id
        case Role.INSPECTOR:
            return task.grid_id in actor.grid_ids
        case Role.SUPERVISOR:
            return under(task.region_path, actor.region_path)
    return False


def _mine(actor: Actor) -> ColumnElement[bool]:
    """SQL form of `may_do`."""
    by_role: ColumnElement[bool]
    match actor.role:
        case Role.ENTERPRISE_OFFICER:
            by_role = T.enterprise_id == actor.enterprise_id
        case Role.INSPECTOR:
            by_role = T.grid_id.in_(actor.grid_ids) if actor.grid_ids else T.id.is_(None)
        case Role.SUPERVISOR:
            by_role = T.region_path.like(f"{actor.region_path or '-'}%")
        case _:
            by_role = T.id.is_(None)
    return or_(
        T.assignee_user_id == actor.user_id,
        and_(T.assignee_user_id.is_(None), T.assignee_role == actor.role, by_role),
    )


def task_scope(actor: Actor) -> ColumnElement[bool]:
    """Tasks the actor may see: those at enterprises in their charge, and their own."""
    return or_(charge_condition(actor, TASK_PLACE), T.assignee_user_id == actor.user_id)


# --- reading ----------------------------------------------------------------------------------


@dataclass
class TaskDoc:
    """A task with what a page shows: its state, point, checklist items and answers."""

    task: InspectionTask
    state: TaskState
    point_name: str
    checklist_name: str
    items: list[ChecklistItem] = field(default_factory=list)
    results: list[TaskResult] = field(default_factory=list)
    can_do: bool = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)  # the task's own fields, for the schema


def _docs(
    s: Session, actor: Actor | None, tasks: Iterable[InspectionTask], now: datetime, full: bool
) -> list[TaskDoc]:
    tasks = list(tasks)
    points = {
        p.id: p.name
        for p in s.scalars(select(Point).where(Point.id.in_({t.point_id for t in tasks})))
    }
    lists = {
        c.id: c
        for c in s.scalars(
            select(Checklist).where(Checklist.id.in_({t.checklist_id for t in tasks}))
        )
    }
    docs = []
    for t in tasks:
        state = task_state(t, now)
        doc = TaskDoc(
            t,
            state,
            points.get(t.point_id, ""),
            lists[t.checklist_id].name,
            can_do=state in (TaskState.DUE, TaskState.OVERDUE) and may_do(actor, t),
        )
        if full:
            doc.results = list(s.scalars(select(TaskResult).where(TaskResult.task_id == t.id)))
            answered = {r.item_id for r in doc.results}
            items = list(lists[t.checklist_id].items)
            if answered:  # a done task shows the items it answered, also ones retired since
                items = list(
                    s.scalars(
                        select(ChecklistItem)
                        .where(ChecklistItem.id.in_(answered))
                        .order_by(ChecklistItem.position, ChecklistItem.id)
                    )
                )
            doc.items = items
        docs.append(doc)
    return docs


def list_tasks(
    ctx: Context,
    actor: Actor,
    *,
    enterprise_id: int | None = None,
    point_id: int | None = None,
    state: TaskState | None = None,
    mine: bool = False,
    date_from: Any = None,
    date_to: Any = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[TaskDoc]:
    """Tasks in scope, by window (latest first); `from`/`to` select windows ending in the
    period (China dates, `to` included)."""
    now = ctx.now()
    query = select(T).where(task_scope(actor))
    if enterprise_id is not None:
        query = query.where(T.enterprise_id == enterprise_id)
    if point_id is not None:
        query = query.where(T.point_id == point_id)
    if mine:
        query = query.where(_mine(actor))
    if date_from is not None:
        query = query.where(T.window_end > period_start(date_from))
    if date_to is not None:
        query = query.where(T.window_end <= period_end(date_to))
    match state:
        case TaskState.DONE:
            query = query.where(T.status == TaskStatus.DONE)
        case TaskState.OVERDUE:
            query = query.where(overdue_condition(now))
        case TaskState.DUE:
            query = query.where(
                T.status == TaskStatus.PENDING, T.window_start <= now, T.window_end > now
            )
        case TaskState.UPCOMING:
            query = query.where(T.status == TaskStatus.PENDING, T.window_start > now)
    with ctx.read() as uow:
        found = paginate(
            uow.session, query.order_by(T.window_end.desc(), T.id.desc()), page, page_size
        )
        return Page(
            items=_docs(uow.session, actor, found.items, now, full=False),
            page=found.page,
            page_size=found.page_size,
            total=found.total,
        )


def _visible_task(s: Session, actor: Actor, task_id: int) -> InspectionTask:
    task = s.scalar(select(T).where(T.id == task_id, task_scope(actor)))
    if task is None:
        raise NotFound("排查任务不存在", "Inspection task not found")
    return task


def get_task(ctx: Context, actor: Actor, task_id: int) -> TaskDoc:
    """One task with its checklist items and, once done, its answers."""
    with ctx.read() as uow:
        task = _visible_task(uow.session, actor, task_id)
        return _docs(uow.session, actor, [task], ctx.now(), full=True)[0]


def due_at_point(ctx: Context, actor: Actor, token: str) -> list[TaskDoc]:
    """The caller's tasks at the point behind a scanned code: windows open now, and
    overdue ones still to do, earliest first."""
    now = ctx.now()
    with ctx.read() as uow:
        s = uow.session
        code = scanned_code(s, token)
        if code.point_id is None:
            raise NotFound("该二维码不是风险点的二维码", "This QR code is not a risk point's")
        tasks = s.scalars(
            select(T)
            .where(
                T.point_id == code.point_id,
                T.status == TaskStatus.PENDING,
                T.window_start <= now,
                _mine(actor),
            )
            .order_by(T.window_end, T.id)
        )
        return _docs(s, actor, tasks, now, full=True)


# --- doing a task -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One item's answer: 合格 / 不合格 / 不涉及; 不合格 with a note and 1–9 photos."""

    item_id: int
    outcome: ItemOutcome
    note: str = ""
    media_ids: list[int] = field(default_factory=list)
    category: HazardCategory = HazardCategory.OTHER


def _check_answers(items: list[ChecklistItem], answers: list[Answer]) -> None:
    errors: dict[str, list[str]] = {}
    wanted = {i.id for i in items}
    given = [a.item_id for a in answers]
    missing = sorted(wanted - set(given))
    if missing:
        errors["missing"] = [str(i) for i in missing]
    unknown = sorted(set(given) - wanted)
    if unknown:
        errors["unknown"] = [str(i) for i in unknown]
    if len(given) != len(set(given)):
        errors["duplicate"] = ["每项只能回答一次 / each item once"]
    for a in answers:
        if a.outcome is ItemOutcome.FAIL and (not a.note.strip() or not a.media_ids):
            errors.setdefault(f"item_{a.item_id}", []).append(
                "不合格项须附照片和说明 / a failed item needs a photo and a note"
            )
    if errors:
        raise AnswersInvalid(errors=errors)


def _geofence(
    point: Point,
    enterprise: Enterprise,
    lat: float,
    lng: float,
    accuracy: float | None,
    radius: float,
) -> tuple[float | None, CheckinFlag | None]:
    # The point's own place when it has one, else the enterprise's: flagged, never refused.
    where = (
        (point.lat, point.lng)
        if point.lat is not None and point.lng is not None
        else (
            enterprise.lat,
            enterprise.lng,
        )
    )
    if where[0] is None or where[1] is None:
        return None, CheckinFlag.NO_LOCATION
    distance = round(haversine_m(lat, lng, where[0], where[1]), 1)
    if distance > radius:
        return distance, CheckinFlag.TOO_FAR
    if accuracy is not None and accuracy > radius:
        return distance, CheckinFlag.POOR_ACCURACY
    return distance, None


def submit_task(
    ctx: Context,
    actor: Actor,
    task_id: int,
    *,
    answers: list[Answer],
    lat: float,
    lng: float,
    accuracy: float | None = None,
    idem: IdempotencyKey | None = None,
) -> InspectionTask:
    """Do a task: every item answered; each 不合格 item becomes one hazard (at the point, with
    its photos) in the same transaction; location recorded and flagged beyond the geofence.
    A retry with the same Idempotency-Key answers the first outcome."""
    if actor.role in (Role.REPORTER, Role.ADMIN):
        raise PermissionDenied(
            "排查任务由企业人员、网格员或监管人员完成", "Tasks are done by staff on site"
        )
    for attempt in (1, 2):
        with ctx.uow() as uow:
            s = uow.session
            previous = idempotency.replay(s, idem)
            if previous is not None:
                return _visible_task(s, actor, previous.resource_id)  # type: ignore[arg-type]
            task = _submit(ctx, s, actor, task_id, answers, lat, lng, accuracy)
            idempotency.remember(s, idem, status_code=200, resource_id=task.id)
            try:
                uow.commit()
            except IntegrityError:
                if idem is not None and attempt == 1:
                    continue  # a concurrent retry with the same key won: replay it
                raise TaskAlreadyDone() from None
            return task
    raise AssertionError("unreachable")


def _submit(
    ctx: Context,
    s: Session,
    actor: Actor,
    task_id: int,
    answers: list[Answer],
    lat: float,
    lng: float,
    accuracy: float | None,
) -> InspectionTask:
    now = ctx.now()
    task = _visible_task(s, actor, task_id)
    if not may_do(actor, task):
        raise PermissionDenied("这项排查任务不是分派给您的", "This task is not assigned to you")
    if task.window_start > now:
        raise Conflict("排查任务尚未开始", "This task's window has not started yet")
    # The one claim on the task: of two submissions at once, one updates the row.
    claimed = s.execute(
        update(T)
        .where(T.id == task.id, T.status == TaskStatus.PENDING)
        .values(status=TaskStatus.DONE, done_at=now, done_by_id=actor.user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise TaskAlreadyDone()
    s.refresh(task)
    rollup.done(s, task)
    checklist = s.get(Checklist, task.checklist_id)
    assert checklist is not None
    _check_answers(list(checklist.items), answers)
    point = s.get(Point, task.point_id)
    enterprise = s.get(Enterprise, task.enterprise_id)
    assert point is not None and enterprise is not None
    distance, flag = _geofence(point, enterprise, lat, lng, accuracy, ctx.settings.checkin_radius_m)
    task.lat, task.lng, task.accuracy_m = lat, lng, accuracy
    task.distance_m, task.flagged, task.flag_reason = distance, flag is not None, flag
    items = {i.id: i for i in checklist.items}
    for answer in answers:
        result = TaskResult(
            task_id=task.id,
            item_id=answer.item_id,
            outcome=answer.outcome,
            note=answer.note.strip(),
            media_ids=list(answer.media_ids) if answer.outcome is ItemOutcome.FAIL else [],
        )
        if answer.outcome is ItemOutcome.FAIL:
            item = items[answer.item_id]
            hazard = report_within(
                ctx,
                s,
                actor,
                HazardReport(
                    category=answer.category,
                    description=f"【{checklist.name}】{item.content}：{answer.note.strip()}",
                    media_ids=list(answer.media_ids),
                    enterprise_id=task.enterprise_id,
                    point_id=task.point_id,
                    lat=lat,
                    lng=lng,
                ),
            )
            result.hazard_id = hazard.id
        s.add(result)
    s.flush()
    return task
