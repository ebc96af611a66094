"""Object storage for media: one interface, a folder and a MinIO/S3 implementation."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import mimetypes
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote, urlsplit

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from service.core.storage import (
    ObjectInfo,
    ObjectMissing,
    StorageError,
    StorageUnavailable,
)

# S3 caps presigned URLs at 7 days; the folder store follows the same contract.
MAX_PRESIGN_EXPIRY = timedelta(days=7)

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_SUFFIX = re.compile(r"[A-Za-z0-9]{1,10}")
# Keys as `make_key` writes them: "a/b/c.jpg" segments of URL-safe characters, none empty or
# starting with a dot. Such a key is valid and needs no quoting in a URL.
_PLAIN_KEY = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*")


def content_key(sha256_hex: str, suffix: str, prefix: str = "media") -> str:
    """Build a content-addressed key such as "media/ab/cd/abcd….jpg"."""
    digest = sha256_hex.lower()
    if not _SHA256_HEX.fullmatch(digest):
        raise ValueError("sha256_hex must be 64 hexadecimal characters")
    ext = suffix.removeprefix(".")
    if not _SUFFIX.fullmatch(ext):
        raise ValueError(f"invalid suffix: {suffix!r}")
    # Two fan-out levels keep folders small for LocalStorage and listings cheap on S3.
    key = f"{digest[:2]}/{digest[2:4]}/{digest}.{ext.lower()}"
    return f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key


def validate_key(key: str) -> str:
    """Return key unchanged if it is a safe relative "a/b/c" path, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("storage key must be a non-empty string")
    if "\\" in key or "\x00" in key:
        raise ValueError(f"storage key may not contain backslashes or NUL: {key!r}")
    if key.startswith("/"):
        raise ValueError(f"storage key must be relative: {key!r}")
    for part in key.split("/"):
        # Dot-names are reserved: "."/".." escape the root, others are our temp/metadata files.
        if not part or part.startswith("."):
            raise ValueError(f"invalid storage key segment in {key!r}")
    return key


def _check_key_for_url(key: str) -> None:
    # Our own keys ("a/b/c.jpg") pass the cheap test; anything else the full one.
    if _PLAIN_KEY.fullmatch(key) is None:
        validate_key(key)


def _check_expiry(expires: timedelta) -> int:
    """Return the expiry in whole seconds, enforcing the S3 range of 1 s to 7 days."""
    seconds = int(expires.total_seconds())
    if not 1 <= seconds <= MAX_PRESIGN_EXPIRY.total_seconds():
        raise ValueError("presigned URL expiry must be between 1 second and 7 days")
    return seconds


# The query parameter of a presigned link that sets the answer's Content-Disposition (S3's
# name; the folder store's signed route takes the same).
RESPONSE_DISPOSITION = "response-content-disposition"

# A process keeps at most this many signed links for reuse (a few MB).
SIGNED_LINKS_KEPT = 50_000


def link_window(seconds: int, now: float) -> tuple[int, int]:
    """When a link asked for at `now`, valid for `seconds`, is signed and for how long:
    (signed_at, valid_for) with signed_at + valid_for >= now + seconds.

    signed_at is `now` rounded down to a quarter of the lifetime, so every link to an
    object signed in that quarter is the same URL: phones reuse the photo they already
    downloaded, and the app signs each link once per quarter (`SignedLinks`). A link
    therefore stays valid for between `seconds` and 1¼ × `seconds`."""
    step = min(seconds // 4, int(MAX_PRESIGN_EXPIRY.total_seconds()) - seconds)
    if step < 1:
        return int(now), seconds
    signed_at = int(now) // step * step
    return signed_at, seconds + step


class SignedLinks:
    """Signed links kept for reuse while their window (`link_window`) lasts."""

    def __init__(
        self,
        sign: Callable[[str, int, int, str | None], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        # (key, signed_at, valid_for, disposition) -> URL; the key is already checked.
        self._sign = sign
        self._clock = clock
        self._kept: dict[tuple[str, int, str | None], tuple[int, str]] = {}

    def get(
        self,
        key: str,
        expires: timedelta,
        check: Callable[[str], object],
        disposition: str | None = None,
    ) -> str:
        """The link to `key`, valid for at least `expires` (answered with `disposition` as
        its Content-Disposition when given); `check` validates a key the first time it is
        signed in a window."""
        seconds = _check_expiry(expires)
        signed_at, valid_for = link_window(seconds, self._clock())
        kept = self._kept.get((key, seconds, disposition))
        if kept is not None and kept[0] == signed_at:
            return kept[1]
        check(key)
        url = self._sign(key, signed_at, valid_for, disposition)
        if len(self._kept) >= SIGNED_LINKS_KEPT:
            self._kept.clear()  # older windows' links are useless; the rest re-sign once
        self._kept[(key, seconds, disposition)] = (signed_at, url)
        return url


class LocalStorage:
    """Objects as files under a folder; the zero-setup default for development and tests."""

    _META_DIR = ".meta"  # content types live beside the data tree, never inside it

    def __init__(self, root: Path, *, base_url: str, secret: str) -> None:
        if not secret:
            raise ValueError("LocalStorage needs a non-empty signing secret")
        self.root = Path(root)
        self.base_url = base_url.rstrip("/")
        self._secret = secret.encode()
        self._mac = hmac.new(self._secret, digestmod=hashlib.sha256)
        self._links = SignedLinks(self._sign_link)

    def path_for(self, key: str) -> Path:
        """Return the file path that holds key's bytes."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def _meta_path(self, key: str) -> Path:
        return self.root.joinpath(self._META_DIR, *validate_key(key).split("/"))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store bytes under key, replacing any existing object atomically."""
        path = self.path_for(key)
        try:
            # Metadata first: a crash in between leaves a stale type, never a typeless file.
            self._write_atomic(self._meta_path(key), json.dumps({"content_type": content_type}))
            self._write_atomic(path, data)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write {key}: {exc}") from exc

    @staticmethod
    def _write_atomic(path: Path, data: bytes | str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = data.encode() if isinstance(data, str) else data
        # Dot-prefixed temp name: invalid as a key, so iter_objects never reports it.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Return the object's bytes or raise ObjectMissing."""
        try:
            return self.path_for(key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key}: {exc}") from exc

    def stat(self, key: str) -> ObjectInfo:
        """Return the object's metadata or raise ObjectMissing."""
        path = self.path_for(key)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise ObjectMissing(key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot stat {key}: {exc}") from exc
        if not path.is_file():
            raise ObjectMissing(key)
        return ObjectInfo(
            key=key,
            size=st.st_size,
            content_type=self._content_type(key),
            last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
        )

    def _content_type(self, key: str) -> str | None:
        try:
            return json.loads(self._meta_path(key).read_text())["content_type"]
        except (OSError, ValueError, KeyError, TypeError):
            # Files copied in by hand have no metadata; guess like a static file server.
            return mimetypes.guess_type(key)[0]

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under key."""
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        try:
            self.path_for(key).unlink(missing_ok=True)
            self._meta_path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {key}: {exc}") from exc

    def _signature(self, key: str, expires: int, disposition: str | None = None) -> str:
        # A copy of the keyed HMAC, not hmac.digest/hmac.new: those release the GIL on every
        # call, and under gunicorn's threads each release can wait a whole switch interval
        # (5 ms) to get it back — dozens of times for a list page of photo links.
        mac = self._mac.copy()
        signed = f"{key}\n{expires}" if not disposition else f"{key}\n{expires}\n{disposition}"
        mac.update(signed.encode())
        return mac.hexdigest()

    def presigned_get(
        self, key: str, expires: timedelta, *, disposition: str | None = None
    ) -> str:
        """Return an HMAC-signed URL served by the app's /media-files/ route, valid for at
        least `expires` (`link_window`), answered with `disposition` when given (signed
        too, like S3's `response-content-disposition`)."""
        return self._links.get(key, expires, _check_key_for_url, disposition)

    def _sign_link(
        self, key: str, signed_at: int, valid_for: int, disposition: str | None = None
    ) -> str:
        expires_at = signed_at + valid_for
        sig = self._signature(key, expires_at, disposition)
        path = key if _PLAIN_KEY.fullmatch(key) else quote(key)
        url = f"{self.base_url}/media-files/{path}?expires={expires_at}&sig={sig}"
        if disposition:
            url += f"&{RESPONSE_DISPOSITION}={quote(disposition, safe='')}"
        return url

    def verify_signature(
        self,
        key: str,
        expires: int,
        sig: str,
        *,
        now: datetime | None = None,
        disposition: str | None = None,
    ) -> bool:
        """Tell whether sig signs (key, expires, disposition) and the link has not expired."""
        try:
            validate_key(key)
        except ValueError:
            return False  # the key comes from the request path: refuse, don't raise
        moment = now or datetime.now(UTC)
        expected = self._signature(key, expires, disposition).encode()
        # Compare before the expiry check so timing says nothing about the signature.
        valid = hmac.compare_digest(expected, sig.encode())
        return valid and moment.timestamp() <= expires

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield objects whose key starts with prefix, in key order."""
        # Only walk the deepest folder the prefix pins down; prefixes match mid-name like S3's.
        folder = prefix.rpartition("/")[0]
        if folder:
            validate_key(folder)  # a prefix like "../" must not walk outside the root
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not start.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            rel = Path(dirpath).relative_to(self.root).as_posix()
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    try:
                        yield self.stat(key)
                    except ObjectMissing:
                        continue  # deleted while we walked

    def check(self) -> None:
        """Raise StorageUnavailable unless the root folder can be created and written."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create storage root {self.root}: {exc}") from exc
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageUnavailable(f"storage root {self.root} is not writable")


# Everything the SDK or its transport may raise; `_fail` sorts them into our exceptions.
_SDK_ERRORS = (S3Error, ServerError, InvalidResponseError, urllib3.exceptions.HTTPError, OSError)


class MinioStorage:
    """Objects in one MinIO/S3 bucket through the `minio` SDK."""

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str | None = None,
        secure: bool = False,
        create_bucket: bool = True,
        timeout_seconds: float = 5.0,
        public_endpoint: str | None = None,
    ) -> None:
        # The SDK's default pool waits 5 min and retries 5 times: an outage would hang workers.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds),
            maxsize=10,
            retries=urllib3.Retry(
                total=2,
                connect=1,
                read=1,
                status=1,
                backoff_factor=0.1,
                status_forcelist=(500, 502, 503, 504),
                raise_on_status=False,  # let the SDK turn the final 5xx into ServerError
            ),
        )
        self.bucket = bucket
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        # Links phones open are signed for the host they download from ("https://host[:port]"):
        # SigV4 covers the Host header, so a link signed for the internal endpoint fails at a
        # proxy in front of it. The signer only signs; with the region given it never connects.
        self._signer = self._client
        if public_endpoint:
            if not region:
                raise ValueError("a public endpoint needs the region to sign without a request")
            public = urlsplit(public_endpoint)
            self._signer = Minio(
                public.netloc,
                access_key=access_key,
                secret_key=secret_key,
                secure=public.scheme == "https",
                region=region,
                http_client=http,
            )
        # Bucket creation is lazy and cached so the app can boot while MinIO is still starting.
        self._bucket_ready = not create_bucket
        self._links = SignedLinks(self._sign_link)
        self._create_bucket = create_bucket
        self._bucket_lock = threading.Lock()

    def _fail(self, exc: BaseException, key: str | None = None) -> NoReturn:
        """Translate an SDK or transport error into our StorageError family."""
        if isinstance(exc, S3Error):
            if exc.code == "NoSuchKey" and key is not None:
                raise ObjectMissing(key) from exc
            if getattr(exc.response, "status", 0) >= 500:
                # XML-bodied 5xx (InternalError, SlowDown, ServiceUnavailable) is an outage too.
                raise StorageUnavailable(f"storage server error {exc.code}") from exc
            if exc.code == "NoSuchBucket" and self._create_bucket:
                self._bucket_ready = False  # someone removed it: recreate on the next call
            raise StorageError(f"S3 error {exc.code}: {exc.message}") from exc
        if isinstance(exc, ServerError):
            raise StorageUnavailable(f"storage server error {exc.status_code}") from exc
        if isinstance(exc, InvalidResponseError):
            # Non-XML answers typically come from a proxy in front of a dead MinIO.
            raise StorageUnavailable(f"invalid response from storage: {exc}") from exc
        # urllib3 errors (MaxRetryError, timeouts, protocol errors) and socket errors.
        raise StorageUnavailable(f"storage unreachable: {exc}") from exc

    @contextmanager
    def _translated(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except _SDK_ERRORS as exc:
            self._fail(exc, key)

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                if not self._client.bucket_exists(self.bucket):
                    self._client.make_bucket(self.bucket)
            except S3Error as exc:
                # Another worker created it first.
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    self._fail(exc)
            except _SDK_ERRORS as exc:
                self._fail(exc)
            self._bucket_ready = True

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store bytes under key, replacing any existing object."""
        validate_key(key)
        self._ensure_bucket()
        with self._translated(key):
            self._client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
            )

    def get(self, key: str) -> bytes:
        """Return the object's bytes or raise ObjectMissing."""
        validate_key(key)
        self._ensure_bucket()
        with self._translated(key):
            response = self._client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

    def stat(self, key: str) -> ObjectInfo:
        """Return the object's metadata or raise ObjectMissing."""
        validate_key(key)
        self._ensure_bucket()
        with self._translated(key):
            obj = self._client.stat_object(self.bucket, key)
        return ObjectInfo(
            key=key,
            size=obj.size or 0,
            content_type=obj.content_type,
            last_modified=_utc(obj.last_modified),
        )

    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under key."""
        try:
            self.stat(key)
        except ObjectMissing:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error (S3 answers 204 either way)."""
        validate_key(key)
        self._ensure_bucket()
        with self._translated(key):
            self._client.remove_object(self.bucket, key)

    def presigned_get(
        self, key: str, expires: timedelta, *, disposition: str | None = None
    ) -> str:
        """Return a SigV4 presigned GET URL valid for at least `expires` (`link_window`);
        offline unless the region must be looked up. With `disposition`, the store answers
        it as the Content-Disposition (`response-content-disposition`, signed in the link):
        the file is saved under our name, not the key's."""
        return self._links.get(key, expires, validate_key, disposition)

    def _sign_link(
        self, key: str, signed_at: int, valid_for: int, disposition: str | None = None
    ) -> str:
        with self._translated(key):
            return self._signer.presigned_get_object(
                self.bucket,
                key,
                expires=timedelta(seconds=valid_for),
                request_date=datetime.fromtimestamp(signed_at, UTC),
                response_headers={RESPONSE_DISPOSITION: disposition} if disposition else None,
            )

    def iter_objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield objects whose key starts with prefix; listings carry no content type."""
        self._ensure_bucket()
        with self._translated():
            for obj in self._client.list_objects(
                self.bucket, prefix=prefix or None, recursive=True
            ):
                if obj.is_dir or obj.object_name is None:
                    continue
                yield ObjectInfo(
                    key=obj.object_name,
                    size=obj.size or 0,
                    content_type=obj.content_type,
                    last_modified=_utc(obj.last_modified),
                )

    def check(self) -> None:
        """Raise StorageUnavailable unless the bucket is reachable and exists."""
        try:
            self._ensure_bucket()
            with self._translated():
                found = self._client.bucket_exists(self.bucket)
        except StorageUnavailable:
            raise
        except StorageError as exc:  # e.g. AccessDenied: not ready either
            raise StorageUnavailable(str(exc)) from exc
        if not found:
            raise StorageUnavailable(f"bucket {self.bucket!r} does not exist")


def _utc(moment: datetime | None) -> datetime:
    """Normalise a provider timestamp to tz-aware UTC."""
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
