"""Risk assessments (风险评价): each one kept, the latest giving the point its level."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from uploads_schema.vocabulary import AssessmentMethod, RiskColor


class Assessment(Base):
    """One assessment of a risk point, with its method and inputs; never changed, so a
    re-assessment adds a row and the history stays."""

    __tablename__ = "risk_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    method: Mapped[AssessmentMethod] = mapped_column(
        enum_column(AssessmentMethod, "assessment_method")
    )
    # LEC: {"l", "e", "c"}; LS: {"l", "s"}; direct: {}
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(Float)  # D or R; None for direct
    level: Mapped[RiskColor] = mapped_column(enum_column(RiskColor, "assessment_level"))
    reason: Mapped[str] = mapped_column(Text, default="")
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Whoever ran it, kept apart from the account (an assessor may be an outside expert).
    assessor_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seq: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_risk_assessments_point_seq", "point_id", "seq", unique=True),)
