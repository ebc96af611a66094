"""Settings read from the environment into one typed object.

Every knob the service has lives here; `Settings.from_env()` is the only place
that reads `os.environ`. Tests build their own `Settings(...)` directly.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIN_SECRET_LENGTH = 32
DEFAULT_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


log = logging.getLogger(__name__)


class SettingsError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


# MINIO_ENDPOINT: what the app connects to, "host" or "host:port" (TLS is MINIO_SECURE).
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
_HOST_PORT = re.compile(_HOST + r"(?::\d{1,5})?")
# MINIO_PUBLIC_ENDPOINT: a scheme and a host, an optional port, no path ("/" at most).
_PUBLIC_URL = re.compile(r"https?://" + _HOST_PORT.pattern + r"/?")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")  # of MAP_TILE_URL: {z}, {x}, {y}


def _random_secret() -> str:
    return secrets.token_urlsafe(48)


def installation_secret(path: Path) -> str:
    """The signing key kept in `path` for an installation started without SECRET_KEY, made
    (random, readable by its owner only) on first use. Never a constant from the source: a
    key anyone can read would let anyone forge tokens and photo links."""
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        kept = ""
    if len(kept) >= MIN_SECRET_LENGTH:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(_random_secret() + "\n")
    try:
        if kept:  # too short to trust (written by hand?): replace it
            os.replace(draft, path)
        else:
            # Linking fails if another worker made the file first; theirs is then used.
            os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text().strip()


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Settings:
    """All configuration of the service (see README, "Configuration")."""

    app_env: str = "development"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'mashangcha.db'}"
    # A read replica of DATABASE_URL for statistics and exports (empty: they read the
    # primary). Only reads that never need the caller's own latest write go there.
    database_read_url: str = ""
    # Signs tokens and local photo links. Unset: a random key per installation, kept in
    # secret_key_file (development and test only; production requires SECRET_KEY).
    secret_key: str = field(default_factory=_random_secret, repr=False)
    secret_key_file: str = str(PROJECT_ROOT / "var" / "secret_key")
    jwt_algorithm: str = "HS256"
    jwt_access_ttl_minutes: int = 120
    jwt_issuer: str = "mashangcha"
    public_base_url: str = "http://127.0.0.1:8000"
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_timeout_seconds: float = 5.0
    auth_dev_login: bool = False
    # Storage (photos): "local" keeps files under media_root, "minio" uses S3/MinIO.
    storage_backend: str = "local"
    media_root: str = str(PROJECT_ROOT / "var" / "media")
    minio_endpoint: str = ""
    minio_access_key: str = ""
    minio_secret_key: str = ""
    minio_bucket: str = "mashangcha"
    minio_region: str = ""
    minio_secure: bool = False
    # The https://host[:port] phones download photos from (a proxy or DNS name in front of
    # the same server); presigned links are signed for it. Empty: links carry MINIO_ENDPOINT.
    minio_public_endpoint: str = ""
    media_max_bytes: int = 20 * 1024 * 1024
    # The built pages (`make web` writes them); Flask serves them under /h5/ and /q/<token>.
    web_dist: str = str(PROJECT_ROOT / "web" / "dist")
    media_url_ttl_seconds: int = 300
    media_pending_ttl_hours: int = 24
    # How long a write's Idempotency-Key is remembered (a phone's offline queue may retry
    # days later); `flask idempotency purge` forgets older ones.
    idempotency_ttl_hours: int = 7 * 24
    # Where rate limits count: Redis when set, else the database. Either is shared by
    # every worker and box, so the limits below hold however many serve.
    redis_url: str = ""
    # Rate limits (flask-limiter syntax, moving windows): scan and login per client address,
    # uploads per account.
    ratelimit_scan: str = "60/minute"
    ratelimit_login: str = "20/minute"
    ratelimit_upload: str = "60/minute"
    # Anonymous photos from a scanned code (POST /scan/{token}/media): per client address,
    # and per code whoever sends them (a code on a wall is one place, not a crowd of phones).
    ratelimit_scan_upload: str = "30/minute"
    ratelimit_scan_upload_code: str = "300/hour"
    # Failed password logins per username within the window before it is locked.
    login_lockout: str = "5/15 minutes"
    jwt_refresh_ttl_days: int = 14
    max_json_bytes: int = 1024 * 1024  # non-upload request bodies
    log_format: str = "json"  # or "text"
    trust_proxy_hops: int = 0  # reverse proxies in front of us that set X-Forwarded-For
    qr_font_path: str = DEFAULT_FONT
    # Printed on every poster and document: the office (e.g. 武进区应急管理局) and its
    # hazard-reporting hotline; empty: the line is left out.
    office_name: str = ""
    hotline: str = ""
    checkin_radius_m: float = 500.0
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    # Overdue sweep (flask hazards sweep): reminder and escalation timing.
    due_soon_hours: int = 24
    escalate_inspector_after_hours: int = 24  # past the deadline → the grid's inspectors
    escalate_supervisor_after_hours: int = 72  # past the deadline → the nearest supervisors
    # A submitted fix unverified this long is late (验收超时): counted apart in the
    # statistics and escalated by the sweep to the supervisors above the hazard.
    verify_within_hours: int = 72
    # Outbox delivery (flask outbox send): "log" or "wechat" (subscribe messages).
    notification_sender: str = "log"
    outbox_max_attempts: int = 5
    outbox_retry_base_seconds: int = 300  # doubles per failed attempt …
    outbox_retry_max_seconds: int = 3600  # … up to this
    # "kind=template_id" pairs, e.g. "overdue=AbC…,due_soon=XyZ…"; kinds left out are skipped.
    wechat_subscribe_templates: tuple[str, ...] = field(default_factory=tuple)
    wechat_subscribe_page: str = "pages/hazard/detail"
    wechat_miniprogram_state: str = "formal"  # formal | trial | developer
    # Jobs (long work run by `flask jobs consume`): the queue lives in Redis when REDIS_URL
    # is set, else in this SQLite file (one box). Every box and consumer uses the same name.
    jobs_queue_file: str = str(PROJECT_ROOT / "var" / "jobs-queue.db")
    jobs_queue_name: str = "mashangcha"
    # Run jobs inside the request that asks for them (tests; never in production).
    jobs_immediate: bool = False
    job_result_ttl_hours: int = 24  # a finished job's download, then collected
    # A staff import's report holds one-time passwords: kept this long (if shorter), not a day.
    staff_import_result_ttl_minutes: int = 60
    job_heartbeat_seconds: int = 10  # a running job says it is alive this often …
    job_stale_after_seconds: int = 120  # … and is retried (or failed) when silent this long
    job_max_attempts: int = 2
    # Above these a request becomes a job (202 + Location); `?async=1` always does.
    posters_sync_max: int = 300  # codes in one poster PDF
    poster_part_pages: int = 250  # a big poster job is split in parts of this many pages
    export_sync_max_days: int = 92  # days of an export's period (a quarter answers directly)
    import_sync_max_bytes: int = 512 * 1024  # size of an import file
    # The console's 一张图 on a tile service (e.g. the province's own): an XYZ URL template
    # with {z}, {x} and {y}, and the attribution its terms ask for. Empty: points on plain
    # longitude/latitude axes, no base map. The console's CSP allows this origin's images.
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    bulletin_sync_max_enterprises: int = 1000  # active enterprises a 通报 covers

    @property
    def is_production(self) -> bool:
        """True when running with production safeguards on."""
        return self.app_env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from environment variables named after the fields in upper case."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None:
                continue
            try:
                values[f.name] = _convert(f.type, raw)
            except ValueError as exc:
                raise SettingsError(f"{f.name.upper()}: {exc}") from exc
        if not env.get("SECRET_KEY"):
            values["secret_key"] = cls._secret_without_setting(values)
        settings = cls(**values)  # type: ignore[arg-type]
        problems = settings.problems()
        if settings.is_production and not env.get("DATABASE_URL"):
            # Without it, a cron line or a unit missing the environment file would run on an
            # empty SQLite file beside the code and look as if it worked.
            problems.append(
                "DATABASE_URL must be set in production "
                "(postgresql+psycopg://user:password@host/db; the SQLite default is for trying)"
            )
        _refuse(problems)
        if not env.get("SECRET_KEY") and not settings.is_production:
            # Said once the settings are known to be good: a refusal stays one line.
            log.warning(
                "SECRET_KEY is not set: tokens and photo links are signed with the "
                "installation's own random key in %s (set SECRET_KEY, the same on every box, "
                "for production)",
                settings.secret_key_file,
            )
        return settings

    @classmethod
    def _secret_without_setting(cls, values: Mapping[str, object]) -> str:
        if values.get("app_env", "development") == "production":
            return ""  # refused at start, naming SECRET_KEY
        return installation_secret(Path(str(values.get("secret_key_file") or cls.secret_key_file)))

    def with_overrides(self, **changes: object) -> Settings:
        """Return a copy with some fields replaced (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Fail at start, naming every missing or unsafe setting."""
        _refuse(self.problems())

    def problems(self) -> list[str]:
        """What is missing, malformed or unsafe: one line each (empty when all is well)."""
        problems: list[str] = []
        if self.app_env not in {"development", "production", "test"}:
            problems.append("APP_ENV must be development, production or test")
        if self.storage_backend not in {"local", "minio"}:
            problems.append("STORAGE_BACKEND must be 'local' or 'minio'")
        if self.storage_backend == "minio":
            for name in ("minio_endpoint", "minio_access_key", "minio_secret_key", "minio_bucket"):
                if not getattr(self, name):
                    problems.append(f"{name.upper()} is required when STORAGE_BACKEND=minio")
        if self.minio_endpoint and not _HOST_PORT.fullmatch(self.minio_endpoint):
            problems.append(
                f"MINIO_ENDPOINT must be host:port without a scheme or path, e.g. "
                f"127.0.0.1:9000 (MINIO_SECURE=1 for TLS), not {self.minio_endpoint!r}"
            )
        if self.minio_public_endpoint:
            problems.extend(self._public_endpoint_problems())
        problems.extend(self._rate_problems())
        if self.map_tile_url:
            problems.extend(self._tile_problems())
        problems.extend(self._read_url_problems())
        if self.job_stale_after_seconds < 3 * self.job_heartbeat_seconds:
            problems.append(
                "JOB_STALE_AFTER_SECONDS must be at least 3 × JOB_HEARTBEAT_SECONDS "
                "(a busy consumer must not look dead)"
            )
        for name in (
            "media_pending_ttl_hours",
            "idempotency_ttl_hours",
            "verify_within_hours",
            "job_result_ttl_hours",
            "staff_import_result_ttl_minutes",
            "job_heartbeat_seconds",
            "job_max_attempts",
            "poster_part_pages",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name.upper()} must be at least 1")
        if self.is_production:
            if len(self.secret_key) < MIN_SECRET_LENGTH:
                problems.append("SECRET_KEY must be set to a random value of at least 32 chars")
            if self.jobs_immediate:
                problems.append("JOBS_IMMEDIATE must not be enabled in production")
            if self.auth_dev_login:
                problems.append("AUTH_DEV_LOGIN must not be enabled in production")
            if not self.public_base_url.startswith("https://"):
                problems.append("PUBLIC_BASE_URL must be an https:// URL in production")
            if not (self.wechat_appid and self.wechat_secret):
                problems.append("WECHAT_APPID and WECHAT_SECRET are required in production")
        return problems

    def _read_url_problems(self) -> list[str]:
        value = self.database_read_url
        if not value:
            return []
        if not value.startswith("postgresql"):
            return [
                "DATABASE_READ_URL must name a PostgreSQL read replica "
                "(postgresql+psycopg://user:password@host/db)"
            ]
        if not self.database_url.startswith("postgresql"):
            return ["DATABASE_READ_URL needs DATABASE_URL on PostgreSQL (a replica of it)"]
        try:
            make_url(value)
        except (ArgumentError, ValueError):
            return ["DATABASE_READ_URL is not a database URL (postgresql+psycopg://…)"]
        return []

    def _rate_problems(self) -> list[str]:
        problems = []
        names = (
            "ratelimit_scan",
            "ratelimit_login",
            "ratelimit_upload",
            "ratelimit_scan_upload",
            "ratelimit_scan_upload_code",
            "login_lockout",
        )
        for name in names:
            value = getattr(self, name)
            try:
                rates = parse_many(value)
            except ValueError:
                rates = []
            if not rates or (name == "login_lockout" and len(rates) > 1):
                problems.append(
                    f"{name.upper()} must be a rate like 60/minute or 5/15 minutes, not {value!r}"
                )
        return problems

    def _public_endpoint_problems(self) -> list[str]:
        value = self.minio_public_endpoint
        if not _PUBLIC_URL.fullmatch(value):
            return [
                f"MINIO_PUBLIC_ENDPOINT must be a scheme and a host with an optional port, "
                f"no path, e.g. https://media.example.cn, not {value!r}"
            ]
        problems = []
        if self.is_production and not value.startswith("https://"):
            problems.append(
                "MINIO_PUBLIC_ENDPOINT must be https:// in production (phones download only "
                "from https hosts)"
            )
        if not self.minio_region:
            # A presigned link is signed for a region; without one the SDK asks the server,
            # and the public host need not answer the app.
            problems.append(
                "MINIO_REGION is required with MINIO_PUBLIC_ENDPOINT (MinIO: us-east-1)"
            )
        return problems

    @property
    def map_tile_origin(self) -> str:
        """The tile service's scheme://host[:port] (what the console's CSP names); empty
        when no tile service is set."""
        if not self.map_tile_url:
            return ""
        parts = urlsplit(self.map_tile_url)
        return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

    def _tile_problems(self) -> list[str]:
        value = self.map_tile_url
        parts = urlsplit(value)
        placeholders = set(_PLACEHOLDER.findall(value))
        good = (
            parts.scheme in {"http", "https"}
            and _HOST_PORT.fullmatch(parts.netloc) is not None  # no user:password@, no {s}
            and placeholders == {"{z}", "{x}", "{y}"}
            and not parts.fragment
            and not re.search(r"[\s\"'<>\\]", value)
        )
        if not good:
            return [
                "MAP_TILE_URL must be an http(s) URL template on one host with {z}, {x} and "
                "{y} (no other placeholders), e.g. https://tiles.example.cn/{z}/{x}/{y}.png, "
                f"not {value!r}"
            ]
        if self.is_production and parts.scheme != "https":
            return [
                "MAP_TILE_URL must be https:// in production (an https console loads no "
                "http images)"
            ]
        return []

    def warnings(self) -> list[str]:
        """What works but should not in production: one line each (empty elsewhere)."""
        if not self.is_production:
            return []
        found: list[str] = []
        if self.database_url.startswith("sqlite"):
            found.append(
                "DATABASE_URL is SQLite: one writer at a time, on this server's disk; "
                "use PostgreSQL in production"
            )
        if self.storage_backend == "local":
            found.append(
                f"STORAGE_BACKEND=local: photos are kept in {self.media_root} on this server "
                "and served by the app; use an S3 server (STORAGE_BACKEND=minio)"
            )
        elif not self.minio_public_endpoint:
            found.append(
                f"MINIO_PUBLIC_ENDPOINT is empty: photo links carry MINIO_ENDPOINT "
                f"({self.minio_endpoint}), which phones must reach over https"
            )
        if self.notification_sender == "log":
            found.append(
                "NOTIFICATION_SENDER=log: notifications are only written to the log, nobody "
                "receives them; set NOTIFICATION_SENDER=wechat"
            )
        return found


def _refuse(problems: list[str]) -> None:
    if problems:
        raise SettingsError("Invalid configuration: " + "; ".join(problems))


def _convert(type_name: object, raw: str) -> object:
    # Field annotations are strings because of `from __future__ import annotations`.
    if type_name == "bool":
        return _bool(raw)
    if type_name == "int":
        return int(raw)
    if type_name == "float":
        return float(raw)
    if type_name == "tuple[str, ...]":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
