"""Object storage as the core sees it: the interface adapters implement, and its errors.

The adapters (a local folder, MinIO/S3) live in `service.media.storage`; the composition
root (`service.bootstrap`) picks one, so nothing in the core depends on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable


class StorageError(Exception):
    """Base class for object storage failures."""


class StorageUnavailable(StorageError):
    """The storage provider is unreachable, timed out or answered 5xx (maps to HTTP 503)."""


class ObjectMissing(StorageError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"object not found: {key}")
        self.key = key


@dataclass(frozen=True)
class ObjectInfo:
    """Metadata of one stored object."""

    key: str
    size: int
    content_type: str | None
    last_modified: datetime  # tz-aware UTC


@runtime_checkable
class ObjectStorage(Protocol):
    """Where media bytes live; implementations raise only StorageError subclasses or ValueError."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store bytes under key, replacing any existing object."""

    def get(self, key: str) -> bytes:
        """Return the object's bytes or raise ObjectMissing."""

    def stat(self, key: str) -> ObjectInfo:
        """Return the object's metadata or raise ObjectMissing."""

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under key."""

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""

    def presigned_get(
        self, key: str, expires: timedelta, *, disposition: str | None = None
    ) -> str:
        """Return an absolute, time-limited URL that downloads the object, answered with
        `disposition` as its Content-Disposition when given (the file's name for saving)."""

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with prefix (for garbage collection)."""

    def check(self) -> None:
        """Readiness probe; raise StorageUnavailable when storage cannot serve requests."""
