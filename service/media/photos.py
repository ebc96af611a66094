"""Photos (照片): safe uploads, short-lived reads, garbage collection of unattached uploads.

Object storage is not transactional, so an upload puts its objects first, under
content-addressed keys, and commits the row second. A failure in between leaves only
objects that no row points to; `collect_garbage` removes them once they are older than
a grace period, and never removes a key that any row still references (rows share
objects: the same photo uploaded twice is stored once).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, and_, delete, not_, select
from sqlalchemy.orm import Session

from service.access.scoping import Actor, hazard_scope
from service.core.clock import from_china_wall_clock
from service.core.context import Context
from service.core.errors import NotFound, PermissionDenied
from service.core.storage import (
    ObjectInfo,
    ObjectMissing,
    ObjectStorage,
    StorageError,
    StorageUnavailable,
)
from service.hazards.models import Hazard, HazardMedia
from service.media.images import process_image
from service.media.links import link_ttl, photo_links
from service.media.models import Media
from service.media.storage import LocalStorage, content_key
from service.qrcodes.codes import scanned_code
from uploads_schema.vocabulary import MediaKind, MediaStatus

JPEG = "image/jpeg"
MEDIA_PREFIX = "media"  # the re-encoded photos
THUMB_PREFIX = "thumbs"  # their thumbnails
# An upload that finds its object already stored writes it again when the copy is older
# than this: an old object may be an orphan the collector is about to delete, and the
# rewrite restarts its grace period. Far below any sensible `collect_garbage` age.
REFRESH_AFTER = timedelta(minutes=10)
# Content types the signed-file route will declare; anything else is sent as opaque bytes.
_SERVABLE_TYPES = frozenset({JPEG, "image/png", "image/webp"})
_DELETE_BATCH = 500


# --- errors ---------------------------------------------------------------------------


class MediaLinkInvalid(PermissionDenied):
    """A signed photo link that was tampered with, is malformed or has expired."""

    code = "media_link_invalid"
    message = "图片链接无效或已过期，请重新打开"
    message_en = "The photo link is invalid or has expired; open the photo again"


# --- results --------------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoLinks:
    """A media row and short-lived URLs of its photo and thumbnail."""

    media: Media
    url: str
    thumbnail_url: str


@dataclass(frozen=True)
class ScanUpload:
    """An anonymous photo from a scanned code, and the scan session's upload token that an
    anonymous report from that code presents to attach it."""

    links: PhotoLinks
    upload_token: str

    @property
    def media(self) -> Media:
        return self.links.media

    @property
    def url(self) -> str:
        return self.links.url

    @property
    def thumbnail_url(self) -> str:
        return self.links.thumbnail_url


@dataclass(frozen=True)
class Owner:
    """Whose pending photo a row is: an account's, or an anonymous scan session's (the
    code it was sent from and the SHA-256 of its upload token)."""

    uploader_id: int | None = None
    qrcode_id: int | None = None
    session: str | None = None


@dataclass(frozen=True)
class SignedFile:
    """A local file behind a genuine, unexpired signed link."""

    path: Path
    content_type: str
    max_age: int  # seconds the link stays valid: how long a client may cache the bytes
    disposition: str | None = None  # the name to save it as, signed in the link (job results)


@dataclass
class GcReport:
    """What `collect_garbage` deleted (or, in a dry run, would delete)."""

    dry_run: bool
    cutoff: datetime
    rows_deleted: int = 0
    objects_scanned: int = 0
    objects_deleted: int = 0
    bytes_freed: int = 0


# `click.progressbar` fits: called as progress(iterable, label=..., length=...).
Progress = Callable[..., AbstractContextManager[Iterable[Any]]]


# --- helpers --------------------------------------------------------------------------


def _storage(ctx: Context) -> ObjectStorage:
    if ctx.storage is None:
        raise StorageUnavailable("no object storage configured")
    return ctx.storage


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Any provider failure (even a refusal such as AccessDenied) is a retryable 503."""
    try:
        yield
    except (StorageUnavailable, ObjectMissing):
        raise
    except StorageError as exc:
        raise StorageUnavailable(str(exc)) from exc


def _links(ctx: Context, media: Media) -> PhotoLinks:
    storage, ttl = _storage(ctx), link_ttl(ctx.settings)
    with _storage_errors():
        url, thumbnail_url = photo_links(storage, media.key, media.thumb_key, ttl)
    return PhotoLinks(media=media, url=url, thumbnail_url=thumbnail_url)


def _put_fresh(storage: ObjectStorage, key: str, data: bytes, now: datetime) -> None:
    """Store data under its content key unless a recent copy is already there (dedup)."""
    try:
        info = storage.stat(key)
    except ObjectMissing:
        storage.put(key, data, JPEG)
        return
    if now - info.last_modified > REFRESH_AFTER:
        storage.put(key, data, JPEG)  # same bytes: restarts the collector's grace period


def _owned_by(owner: Owner) -> ColumnElement[bool]:
    if owner.session is not None:
        # Each scan session apart: anonymous uploaders are not one person.
        return and_(
            Media.uploader_id.is_(None),
            Media.upload_session == owner.session,
            Media.qrcode_id == owner.qrcode_id,
        )
    return Media.uploader_id == owner.uploader_id


def _pending_duplicate(session: Session, owner: Owner, sha256: str) -> Media | None:
    """The owner's unattached row for the same photo: a retry answers it again."""
    return session.scalars(
        select(Media)
        .where(_owned_by(owner), Media.sha256 == sha256, Media.status == MediaStatus.PENDING)
        .order_by(Media.id)
        .limit(1)
    ).first()


def _camera_time(captured_at: datetime | None) -> datetime | None:
    if captured_at is None:
        return None
    # EXIF times are the phone's wall clock without a zone; our users' phones run on China time.
    return from_china_wall_clock(captured_at)


# --- use cases ------------------------------------------------------------------------


def upload_photo(
    ctx: Context, actor: Actor, stream: BinaryIO, *, share_location: bool = False
) -> PhotoLinks:
    """Validate, sanitize and store one photo as a pending media row (上传照片)."""
    return _store(ctx, Owner(uploader_id=actor.user_id), stream, share_location=share_location)


# A scan session's upload token: the client's own (kept across its retries) or one we make;
# at least 22 URL-safe characters (≥ 128 bits when random).
UPLOAD_TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")


def upload_session(upload_token: str) -> str:
    """What is stored of an upload token: its SHA-256 (the token is random, so no salt)."""
    return hashlib.sha256(upload_token.encode()).hexdigest()


def upload_scan_photo(
    ctx: Context, qr_token: str, stream: BinaryIO, *, upload_token: str | None = None
) -> ScanUpload:
    """Public: one photo for an anonymous report from a scanned code (扫码匿名上传), bound to
    the code and to the scan session's upload token; capture time and GPS are discarded."""
    with ctx.read() as uow:
        code_id = scanned_code(uow.session, qr_token).id  # 404 / 410 before reading the file
    token = upload_token or secrets.token_urlsafe(24)
    owner = Owner(qrcode_id=code_id, session=upload_session(token))
    return ScanUpload(_store(ctx, owner, stream, share_location=False), token)


def _store(ctx: Context, owner: Owner, stream: BinaryIO, *, share_location: bool) -> PhotoLinks:
    max_bytes = ctx.settings.media_max_bytes
    # One byte past the cap is enough to know a file is too large.
    data = stream.read(max_bytes + 1)
    # A refused file raises an ImageRejected: a domain error that answers the client as is.
    photo = process_image(data, max_bytes=max_bytes)

    with ctx.read() as uow:
        existing = _pending_duplicate(uow.session, owner, photo.sha256)
    if existing is not None:
        return _links(ctx, existing)

    storage = _storage(ctx)
    key = content_key(photo.sha256, ".jpg", prefix=MEDIA_PREFIX)
    thumb_key = content_key(photo.thumb_sha256, ".jpg", prefix=THUMB_PREFIX)
    now = ctx.now()
    with _storage_errors():
        # Objects first, row second; if the commit below fails the objects stay for the
        # collector (another row may already share them, so they are never deleted here).
        _put_fresh(storage, key, photo.image, now)
        _put_fresh(storage, thumb_key, photo.thumbnail, now)

    with ctx.uow() as uow:
        # A concurrent retry may have committed while the objects were being written.
        media = _pending_duplicate(uow.session, owner, photo.sha256)
        if media is None:
            keep = share_location  # capture metadata is the uploader's to share, or not
            media = Media(
                kind=MediaKind.PHOTO,
                status=MediaStatus.PENDING,
                uploader_id=owner.uploader_id,
                qrcode_id=owner.qrcode_id,
                upload_session=owner.session,
                sha256=photo.sha256,
                key=key,
                thumb_key=thumb_key,
                content_type=JPEG,
                source_type=photo.content_type,
                size_bytes=len(photo.image),
                width=photo.width,
                height=photo.height,
                thumb_width=photo.thumb_width,
                thumb_height=photo.thumb_height,
                captured_at=_camera_time(photo.captured_at) if keep else None,
                gps_lat=photo.gps[0] if keep and photo.gps else None,
                gps_lng=photo.gps[1] if keep and photo.gps else None,
                created_at=now,
            )
            uow.session.add(media)
            uow.commit()
    return _links(ctx, media)


def can_view_media(session: Session, actor: Actor, media: Media) -> bool:
    """Whether the actor may see a photo: its uploader, an admin, or whoever may see the
    hazard it is attached to."""
    if actor.is_admin or (media.uploader_id is not None and media.uploader_id == actor.user_id):
        return True
    attached_in_scope = session.scalar(
        select(HazardMedia.id)
        .join(Hazard, Hazard.id == HazardMedia.hazard_id)
        .where(HazardMedia.media_id == media.id, hazard_scope(actor))
    )
    return attached_in_scope is not None


def photo_url(ctx: Context, actor: Actor, media_id: int, *, thumbnail: bool = False) -> str:
    """A short-lived URL of a photo or its thumbnail; 404 for anyone who may not see it."""
    with ctx.read() as uow:
        media = uow.session.get(Media, media_id)
        if media is None or not can_view_media(uow.session, actor, media):
            raise NotFound("照片不存在", "Photo not found")
    with _storage_errors():
        return _storage(ctx).presigned_get(
            media.thumb_key if thumbnail else media.key, link_ttl(ctx.settings)
        )


def signed_file(
    ctx: Context, key: str, expires: str, sig: str, disposition: str = ""
) -> SignedFile:
    """The local file a LocalStorage presigned URL names, if the link is genuine and current
    (its `disposition`, if any, signed with it)."""
    storage = ctx.storage
    if not isinstance(storage, LocalStorage):
        # S3/MinIO serve their own presigned URLs; this route then has nothing to serve.
        raise NotFound()
    try:
        expires_at = int(expires)
    except ValueError as exc:
        raise MediaLinkInvalid() from exc
    now = ctx.now()
    # Signature first: a forged link learns nothing about which keys exist.
    if not storage.verify_signature(key, expires_at, sig, now=now, disposition=disposition):
        raise MediaLinkInvalid()
    try:
        info = storage.stat(key)
    except ObjectMissing as exc:
        raise NotFound("照片不存在", "Photo not found") from exc
    content_type = info.content_type if info.content_type in _SERVABLE_TYPES else None
    return SignedFile(
        # Absolute: a relative MEDIA_ROOT must not be resolved against the app's package.
        path=storage.path_for(key).absolute(),
        content_type=content_type or "application/octet-stream",
        max_age=max(0, min(expires_at - int(now.timestamp()), ctx.settings.media_url_ttl_seconds)),
        disposition=disposition or None,
    )


# --- garbage collection ---------------------------------------------------------------


def _expired(cutoff: datetime) -> ColumnElement[bool]:
    """Unattached uploads older than the cutoff."""
    return and_(Media.status == MediaStatus.PENDING, Media.created_at < cutoff)


def _no_progress(iterable: Iterable[Any], **_options: Any) -> AbstractContextManager[Iterable[Any]]:
    return nullcontext(iterable)


def _delete_rows(ctx: Context, ids: list[int], cutoff: datetime) -> int:
    with ctx.uow() as uow:
        # The condition is repeated: a row attached since it was listed must survive.
        result = uow.session.execute(
            delete(Media)
            .where(Media.id.in_(ids), _expired(cutoff))
            .execution_options(synchronize_session=False)
        )
        uow.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _referenced_keys(ctx: Context, cutoff: datetime, *, dry_run: bool) -> set[str]:
    """Every object key a media row points to (in a dry run: rows that would survive)."""
    query = select(Media.key, Media.thumb_key)
    if dry_run:
        query = query.where(not_(_expired(cutoff)))
    with ctx.read() as uow:
        rows = uow.session.execute(query.execution_options(yield_per=10_000))
        return {key for row in rows for key in row}


def _listing(storage: ObjectStorage) -> Iterator[ObjectInfo]:
    for prefix in (MEDIA_PREFIX, THUMB_PREFIX):
        yield from storage.iter_objects(prefix + "/")


def _still_old(storage: ObjectStorage, info: ObjectInfo, cutoff: datetime) -> bool:
    """Re-check just before deleting: an upload may have rewritten it since the listing."""
    try:
        return storage.stat(info.key).last_modified < cutoff
    except ObjectMissing:
        return False


def collect_garbage(
    ctx: Context,
    older_than: timedelta | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> GcReport:
    """Delete pending media older than `older_than`, then objects no row points to (垃圾回收).

    `older_than` (default MEDIA_PENDING_TTL_HOURS) is also the grace period for objects:
    an upload in flight has written its objects but not yet committed its row, so only
    objects last written before the cutoff are deleted. Keep it well above the time an
    upload takes. With `dry_run` nothing changes and the report says what would.
    """
    if older_than is None:
        older_than = timedelta(hours=ctx.settings.media_pending_ttl_hours)
    if older_than < timedelta(0):
        raise ValueError("older_than must not be negative")
    progress = progress or _no_progress
    storage = _storage(ctx)
    cutoff = ctx.now() - older_than
    report = GcReport(dry_run=dry_run, cutoff=cutoff)

    with ctx.read() as uow:
        expired_ids = list(
            uow.session.scalars(select(Media.id).where(_expired(cutoff)).order_by(Media.id))
        )
    with progress(expired_ids, label="expired uploads", length=len(expired_ids)) as ids:
        batch: list[int] = []
        for media_id in ids:
            batch.append(media_id)
            if len(batch) == _DELETE_BATCH:
                report.rows_deleted += len(batch) if dry_run else _delete_rows(ctx, batch, cutoff)
                batch = []
        if batch:
            report.rows_deleted += len(batch) if dry_run else _delete_rows(ctx, batch, cutoff)

    # Read after the rows are gone, so the expired rows' objects count as orphans too.
    referenced = _referenced_keys(ctx, cutoff, dry_run=dry_run)
    with _storage_errors(), progress(_listing(storage), label="stored objects") as objects:
        for info in objects:
            report.objects_scanned += 1
            if info.key in referenced or info.last_modified >= cutoff:
                continue
            if not dry_run:
                if not _still_old(storage, info, cutoff):
                    continue
                storage.delete(info.key)
            report.objects_deleted += 1
            report.bytes_freed += info.size
    return report
