"""The domain vocabulary, once: enums, their Chinese labels and the open statuses, shared
by the core (models, rules, statistics, reminders) and the API schemas.

Values are what is stored and what travels in JSON; never rename a value.
"""

from __future__ import annotations

from enum import StrEnum


class RegionLevel(StrEnum):
    CITY = "city"  # 市
    DISTRICT = "district"  # 区县
    STREET = "street"  # 镇街
    COMMUNITY = "community"  # 村社区


LEVEL_ORDER = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]


class Industry(StrEnum):
    HAZARDOUS_CHEMICALS = "hazardous_chemicals"  # 危化品
    INDUSTRY_TRADE = "industry_trade"  # 工贸
    DUST_EXPLOSION = "dust_explosion"  # 粉尘涉爆
    CONFINED_SPACE = "confined_space"  # 有限空间
    CONSTRUCTION = "construction"  # 建筑施工
    FIRE_KEY_UNIT = "fire_key_unit"  # 消防重点
    OTHER = "other"  # 其他


INDUSTRY_LABELS = {
    Industry.HAZARDOUS_CHEMICALS: "危化品",
    Industry.INDUSTRY_TRADE: "工贸",
    Industry.DUST_EXPLOSION: "粉尘涉爆",
    Industry.CONFINED_SPACE: "有限空间",
    Industry.CONSTRUCTION: "建筑施工",
    Industry.FIRE_KEY_UNIT: "消防重点",
    Industry.OTHER: "其他",
}


class RiskColor(StrEnum):
    RED = "red"  # 重大风险
    ORANGE = "orange"  # 较大风险
    YELLOW = "yellow"  # 一般风险
    BLUE = "blue"  # 低风险


RISK_LABELS = {
    RiskColor.RED: "红",
    RiskColor.ORANGE: "橙",
    RiskColor.YELLOW: "黄",
    RiskColor.BLUE: "蓝",
}


class Role(StrEnum):
    REPORTER = "reporter"
    ENTERPRISE_OFFICER = "enterprise_officer"
    INSPECTOR = "inspector"  # 网格员
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class ImportMode(StrEnum):
    ATOMIC = "atomic"  # all rows or none
    PARTIAL = "partial"  # good rows are written, bad ones reported


class QrStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class CheckinFlag(StrEnum):
    TOO_FAR = "too_far"  # farther from the enterprise than the geofence radius
    POOR_ACCURACY = "poor_accuracy"  # the phone's own accuracy is worse than the radius
    NO_LOCATION = "no_enterprise_location"  # the enterprise has no coordinates on file


class MediaKind(StrEnum):
    PHOTO = "photo"


class MediaStatus(StrEnum):
    PENDING = "pending"  # uploaded, not yet referenced; garbage-collected when old
    ATTACHED = "attached"


class HazardStatus(StrEnum):
    REPORTED = "reported"  # 已上报
    RECTIFYING = "rectifying"  # 整改中
    VERIFYING = "verifying"  # 待验收
    CLOSED = "closed"  # 已销号
    REJECTED = "rejected"  # 不属实 / 重复


STATUS_LABELS = {
    HazardStatus.REPORTED: "已上报",
    HazardStatus.RECTIFYING: "整改中",
    HazardStatus.VERIFYING: "待验收",
    HazardStatus.CLOSED: "已销号",
    HazardStatus.REJECTED: "不属实",
}
# Not yet closed or rejected: counted as "open", and what the open-hazards index holds.
OPEN_STATUSES = (HazardStatus.REPORTED, HazardStatus.RECTIFYING, HazardStatus.VERIFYING)


class HazardLevel(StrEnum):
    GENERAL = "general"  # 一般隐患
    MAJOR = "major"  # 重大隐患


LEVEL_LABELS = {HazardLevel.GENERAL: "一般隐患", HazardLevel.MAJOR: "重大隐患"}
# 五落实, the plan a 重大 hazard needs before it is assigned and fixed: field → Chinese.
PLAN_LABELS = {
    "responsible_person": "责任人",
    "measures": "措施",
    "funds": "资金",
    "deadline": "时限",
    "contingency_plan": "预案",
}


class HazardSource(StrEnum):
    SELF_CHECK = "self_check"  # 企业自查
    INSPECTION = "inspection"  # 网格员/监管检查
    PUBLIC_TIP = "public_tip"  # 群众举报


SOURCE_LABELS = {
    HazardSource.SELF_CHECK: "企业自查",
    HazardSource.INSPECTION: "检查发现",
    HazardSource.PUBLIC_TIP: "群众举报",
}


class HazardOrigin(StrEnum):
    """How the report reached us; later also `point` and `task` (SPEC §9)."""

    SCAN = "scan"  # through a scanned QR code
    APP = "app"  # from the app without a scan
    # A 不合格 item of an inspection task is reported with origin "app"; its link to the task
    # and the item is the task result's `hazard_id` (service.inspections.tasks).


class HazardCategory(StrEnum):
    FIRE = "fire"  # 消防安全
    ELECTRICAL = "electrical"  # 用电安全
    SPECIAL_EQUIPMENT = "special_equipment"  # 特种设备
    HAZARDOUS_CHEMICALS = "hazardous_chemicals"  # 危险化学品
    CONFINED_SPACE = "confined_space"  # 有限空间
    DUST = "dust"  # 粉尘涉爆
    MACHINERY = "machinery"  # 机械防护
    WORK_AT_HEIGHT = "work_at_height"  # 高处作业
    HOUSEKEEPING = "housekeeping"  # 现场管理
    OTHER = "other"  # 其他


CATEGORY_LABELS = {
    HazardCategory.FIRE: "消防安全",
    HazardCategory.ELECTRICAL: "用电安全",
    HazardCategory.SPECIAL_EQUIPMENT: "特种设备",
    HazardCategory.HAZARDOUS_CHEMICALS: "危险化学品",
    HazardCategory.CONFINED_SPACE: "有限空间",
    HazardCategory.DUST: "粉尘涉爆",
    HazardCategory.MACHINERY: "机械防护",
    HazardCategory.WORK_AT_HEIGHT: "高处作业",
    HazardCategory.HOUSEKEEPING: "现场管理",
    HazardCategory.OTHER: "其他",
}


class HazardAction(StrEnum):
    REPORT = "report"  # 上报 (the first event)
    ASSIGN = "assign"  # 交办整改
    FILE_PLAN = "file_plan"  # 五落实方案
    SUBMIT_FIX = "submit_fix"  # 提交整改
    PASS = "pass"  # 验收通过 → 销号
    FAIL = "fail"  # 验收不通过
    REJECT = "reject"  # 不属实 / 重复
    REOPEN = "reopen"  # 重新打开
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    APPROVE_EXTENSION = "approve_extension"  # 批准延期
    DECLINE_EXTENSION = "decline_extension"  # 驳回延期
    MARK_OVERDUE = "mark_overdue"  # 逾期
    ESCALATE = "escalate"  # 升级提醒: overdue (逾期) or late verification (验收超时)


ACTION_LABELS = {
    HazardAction.REPORT: "上报",
    HazardAction.ASSIGN: "交办整改",
    HazardAction.FILE_PLAN: "制定五落实方案",
    HazardAction.SUBMIT_FIX: "提交整改",
    HazardAction.PASS: "验收通过",
    HazardAction.FAIL: "验收不通过",
    HazardAction.REJECT: "不予受理",
    HazardAction.REOPEN: "重新打开",
    HazardAction.REQUEST_EXTENSION: "申请延期",
    HazardAction.APPROVE_EXTENSION: "批准延期",
    HazardAction.DECLINE_EXTENSION: "驳回延期",
    HazardAction.MARK_OVERDUE: "逾期",
    HazardAction.ESCALATE: "升级提醒",
}


class MediaRole(StrEnum):
    BEFORE = "before"  # 隐患照片
    AFTER = "after"  # 整改后照片
    VERIFICATION = "verification"  # 验收照片


class NotificationKind(StrEnum):
    ASSIGNED = "assigned"
    FIX_SUBMITTED = "fix_submitted"
    VERIFIED = "verified"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    VERIFY_LATE = "verify_late"  # 验收超时: to the supervisors above the hazard
    DOCUMENT_FILED = "document_filed"  # a region's 通报 was filed: to its supervisors


class DocumentKind(StrEnum):
    """The documents filed for a region each period."""

    MONTHLY = "monthly"  # 月度通报
    WEEKLY = "weekly"  # 周统计
    QUARTERLY = "quarterly"  # 季度排名


DOCUMENT_KIND_LABELS = {
    DocumentKind.MONTHLY: "月度通报",
    DocumentKind.WEEKLY: "周统计",
    DocumentKind.QUARTERLY: "季度排名",
}


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after retries
    SKIPPED = "skipped"  # e.g. the user has not consented (WeChat 43101)


class Figure(StrEnum):
    """Statistics figures a ranking may be sorted by."""

    REPORTED = "reported"
    CLOSED = "closed"
    OPEN = "open"
    OVERDUE = "overdue"
    AWAITING_VERIFICATION = "awaiting_verification"  # 待验收
    VERIFICATION_LATE = "verification_late"  # 验收超时
    RECTIFICATION_RATE = "rectification_rate"  # 整改率
    ON_TIME_RATE = "on_time_rate"  # 按期整改率
    MEAN_HOURS_TO_CLOSE = "mean_hours_to_close"
    COVERAGE = "coverage"  # 检查覆盖率


class Bucket(StrEnum):
    WEEK = "week"
    MONTH = "month"


# --- 双重预防: risk points, assessments, checklists, inspection tasks ------------------------


class PointKind(StrEnum):
    EQUIPMENT = "equipment"  # 设备设施
    ACTIVITY = "activity"  # 作业活动
    AREA = "area"  # 场所区域


POINT_KIND_LABELS = {
    PointKind.EQUIPMENT: "设备设施",
    PointKind.ACTIVITY: "作业活动",
    PointKind.AREA: "场所区域",
}


class ControlLevel(StrEnum):
    """管控层级: who in the enterprise controls the risk."""

    COMPANY = "company"  # 公司
    WORKSHOP = "workshop"  # 车间
    TEAM = "team"  # 班组
    POST = "post"  # 岗位


class MeasureType(StrEnum):
    """The kind of a control measure (管控措施)."""

    ENGINEERING = "engineering"  # 工程技术
    MANAGEMENT = "management"  # 管理
    TRAINING = "training"  # 培训教育
    PPE = "ppe"  # 个体防护
    EMERGENCY = "emergency"  # 应急处置


class AssessmentMethod(StrEnum):
    LEC = "lec"  # 作业条件危险性分析 D = L×E×C
    LS = "ls"  # 风险矩阵 R = L×S
    DIRECT = "direct"  # 直接判定 (e.g. 重大危险源 is 红)


class Frequency(StrEnum):
    """How often a checklist is done at a point (排查频次)."""

    SHIFT = "shift"  # 每班
    DAY = "day"  # 每天
    WEEK = "week"  # 每周
    MONTH = "month"  # 每月
    QUARTER = "quarter"  # 每季
    YEAR = "year"  # 每年


FREQUENCY_LABELS = {
    Frequency.SHIFT: "每班",
    Frequency.DAY: "每天",
    Frequency.WEEK: "每周",
    Frequency.MONTH: "每月",
    Frequency.QUARTER: "每季",
    Frequency.YEAR: "每年",
}


class TaskStatus(StrEnum):
    """Stored state of an inspection task; overdue is computed (window ended, not done)."""

    PENDING = "pending"  # 待排查
    DONE = "done"  # 已完成


class TaskState(StrEnum):
    """What a task is now, as lists filter and show it."""

    UPCOMING = "upcoming"  # window not started
    DUE = "due"  # window open, not done
    OVERDUE = "overdue"  # window ended, not done (逾期)
    DONE = "done"


class ItemOutcome(StrEnum):
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格 → a hazard
    NOT_APPLICABLE = "not_applicable"  # 不涉及
