"""The domain vocabulary: enums shared by the models and the API schemas.

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
