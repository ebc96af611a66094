"""The hazard rules shared by reporting, transitions and reads: limits, the source a
reporter speaks as, the 五落实 plan, receipt keys, and the errors they raise.
"""

from __future__ import annotations

import hashlib
from typing import Any

from service.core.errors import Conflict, NotFound, ValidationFailed
from uploads_schema.vocabulary import PLAN_LABELS, HazardSource, Role

MAX_PHOTOS = 9
PLAN_FIELDS = tuple(PLAN_LABELS)  # 责任人, 措施, 资金, 时限, 预案
SOURCE_BY_ROLE = {
    Role.REPORTER: HazardSource.PUBLIC_TIP,
    Role.ENTERPRISE_OFFICER: HazardSource.SELF_CHECK,
    Role.INSPECTOR: HazardSource.INSPECTION,
    Role.SUPERVISOR: HazardSource.INSPECTION,
}


class MediaInvalid(ValidationFailed):
    code = "media_invalid"
    message = "照片无效：请重新上传后再提交"
    message_en = "Photos must be your own recent uploads, not yet used"


class PlanIncomplete(Conflict):
    """A 重大 hazard's 五落实 plan lacks items; `errors["missing"]` lists their fields."""

    code = "plan_incomplete"
    message = "重大隐患须先完善“五落实”方案（责任人、措施、资金、时限、预案）"
    message_en = "A major hazard needs a complete plan (person, measures, funds, deadline, plan)"

    def __init__(self, missing: list[str]) -> None:
        names = "、".join(PLAN_LABELS[name] for name in missing)
        super().__init__(
            f"重大隐患须先完善“五落实”方案，尚缺：{names}",
            f"A major hazard needs a complete 五落实 plan; missing: {', '.join(missing)}",
            errors={"missing": list(missing)},
        )


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"
    message, message_en = "回执码无效", "Unknown receipt key"


def receipt_hash(key: str) -> str:
    """What is stored of an anonymous reporter's receipt key: its sha256."""
    return hashlib.sha256(key.encode()).hexdigest()


def missing_plan_items(plan: dict[str, Any] | None) -> list[str]:
    """The 五落实 items not yet filled in, in the plan's order."""
    if not plan:
        return list(PLAN_FIELDS)
    return [k for k in PLAN_FIELDS if not str(plan.get(k) or "").strip()]


def plan_complete(plan: dict[str, Any] | None) -> bool:
    """五落实: every one of the five items is filled in."""
    return not missing_plan_items(plan)
