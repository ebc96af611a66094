"""Filed documents (文书归档): a region's 通报 of a period, kept for the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.core.clock import utcnow
from service.core.models import Base, UTCDateTime, enum_column
from service.directory.models import Region
from uploads_schema.vocabulary import DocumentKind


class FiledDocument(Base):
    """One region's document of one kind and period, as PDF and DOCX in object storage.

    Kept, unlike a job's result: rebuilding replaces the files of the same region, kind and
    period (the unique key), so a region has one 月度通报 per month however often it is built.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, "document_kind"))
    period: Mapped[str] = mapped_column(String(16))  # "2026-11", "2026-W48", "2026-Q4"
    # The region's path when filed, so a supervisor's subtree is one prefix match.
    region_path: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))  # the Chinese file name, without extension
    pdf_key: Mapped[str] = mapped_column(String(255))
    pdf_size: Mapped[int] = mapped_column(Integer)
    docx_key: Mapped[str] = mapped_column(String(255))
    docx_size: Mapped[int] = mapped_column(Integer)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    region: Mapped[Region] = relationship()

    __table_args__ = (
        UniqueConstraint("region_id", "kind", "period"),
        Index(
            "ix_documents_region_path_made_at",
            "region_path",
            "made_at",
            postgresql_ops={"region_path": "text_pattern_ops"},
        ),
    )
