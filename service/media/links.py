"""Links to a stored photo and its thumbnail: signed one way, wherever a photo is shown."""

from __future__ import annotations

from datetime import timedelta

from service.core.settings import Settings
from service.core.storage import ObjectStorage


def link_ttl(settings: Settings) -> timedelta:
    """How long a photo link stays valid at least: MEDIA_URL_TTL_SECONDS."""
    return timedelta(seconds=settings.media_url_ttl_seconds)


def photo_links(
    storage: ObjectStorage | None, key: str, thumb_key: str, ttl: timedelta
) -> tuple[str, str]:
    """The signed URLs of a photo and of its thumbnail, valid for at least `ttl` (`link_ttl`;
    the storage hands out the same URL within its link window); empty without a storage."""
    if storage is None:
        return "", ""
    return storage.presigned_get(key, ttl), storage.presigned_get(thumb_key, ttl)
