"""The hazard rules shared by reporting, transitions and reads: limits, the source a
reporter speaks as, the 五落实 plan, receipt keys, and the errors they raise.
"""

from __future__ import annotations

import hashlib
from typing import Any

from service.core.errors import Conflict, NotFound, ValidationFailed
from uploads_schema.vocabulary import HazardSource, Role

MAX_PHOTOS = 9
PLAN_FIELDS = ("responsible_person", "measures", "funds", "deadline", "contingency_plan")
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
    code = "plan_incomplete"
    message = "重大隐患须先完善“五落实”方案（责任人、措施、资金、时限、预案）"
    message_en = "A major hazard needs a complete plan (person, measures, funds, deadline, plan)"


class ReceiptNotFound(NotFound):
    code = "receipt_not_found"
    message, message_en = "回执码无效", "Unknown receipt key"



def receipt_hash(key: str) -> str:
    """What is stored of an anonymous reporter's receipt key: its sha256."""
    return hashlib.sha256(key.encode()).hexdigest()


def plan_complete(plan: dict[str, Any] | None) -> bool:
    """五落实: every one of the five items is filled in."""
    return bool(plan) and all(str(plan.get(k) or "").strip() for k in PLAN_FIELDS)
