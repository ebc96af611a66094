"""Deadlines, each rule written once: overdue (逾期), on time (按期), and a fix awaiting
verification (待验收), late after VERIFY_WITHIN_HOURS (验收超时).

Every rule is a Python predicate over a hazard's values and the same rule as a SQL condition
over `hazards`. The hazard JSON, the list filter, the statistics (live and rollup), the
exports and the sweep all use these, so a list filtered `overdue=true` holds exactly the
hazards whose JSON says `"overdue": true`, and the statistics count that same set.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_

from service.hazards.models import Hazard
from uploads_schema.vocabulary import HazardStatus


def is_overdue(status: HazardStatus | str, deadline: datetime | None, now: datetime) -> bool:
    """逾期: rectifying and its current deadline has passed (the enterprise holds the ball)."""
    return status == HazardStatus.RECTIFYING and deadline is not None and deadline < now


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """`is_overdue` in SQL; never NULL, so its negation selects exactly the other hazards."""
    return and_(
        Hazard.status == HazardStatus.RECTIFYING,
        Hazard.deadline.is_not(None),
        Hazard.deadline < now,
    )


def is_on_time(
    status: HazardStatus | str,
    fix_submitted_at: datetime | None,
    original_deadline: datetime | None,
) -> bool:
    """按期: closed, and the fix finally accepted was submitted by the original deadline.

    A failed verification sends the hazard back and the next fix overwrites
    `fix_submitted_at`, so for a closed hazard it is the accepted fix's. An approved
    extension moves the current deadline only: a fix after the original one is late."""
    return (
        status == HazardStatus.CLOSED
        and fix_submitted_at is not None
        and original_deadline is not None
        and fix_submitted_at <= original_deadline
    )


def on_time_condition() -> ColumnElement[bool]:
    """`is_on_time` in SQL."""
    return and_(
        Hazard.status == HazardStatus.CLOSED,
        Hazard.fix_submitted_at.is_not(None),
        Hazard.original_deadline.is_not(None),
        Hazard.fix_submitted_at <= Hazard.original_deadline,
    )


def is_awaiting_verification(status: HazardStatus | str) -> bool:
    """待验收: a submitted fix waits for the verifier (not the enterprise's delay)."""
    return status == HazardStatus.VERIFYING


def awaiting_verification_condition() -> ColumnElement[bool]:
    """`is_awaiting_verification` in SQL."""
    return Hazard.status == HazardStatus.VERIFYING


def is_verification_late(
    status: HazardStatus | str,
    fix_submitted_at: datetime | None,
    now: datetime,
    within_hours: int,
) -> bool:
    """验收超时: awaiting verification, the fix submitted more than `within_hours`
    (VERIFY_WITHIN_HOURS) before now."""
    return (
        is_awaiting_verification(status)
        and fix_submitted_at is not None
        and fix_submitted_at < now - timedelta(hours=within_hours)
    )


def verification_late_condition(now: datetime, within_hours: int) -> ColumnElement[bool]:
    """`is_verification_late` in SQL."""
    return and_(
        awaiting_verification_condition(),
        Hazard.fix_submitted_at.is_not(None),
        Hazard.fix_submitted_at < now - timedelta(hours=within_hours),
    )
