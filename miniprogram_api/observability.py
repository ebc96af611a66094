"""Request ids, structured JSON logs, one access line per request, security headers."""

from __future__ import annotations

import atexit
import copy
import itertools
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from collections import deque
from logging.handlers import QueueHandler
from typing import Any, TextIO

from flask import Response, g, has_request_context, request

from miniprogram_api.logs import redact_path
from service.core.settings import Settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("mashangcha.access")

# Locked down for JSON; the Swagger UI page needs its own scripts and styles. Its scripts
# are files from our origin only, never inline (Swagger UI sets inline styles, not scripts).
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_DOCS_CSP = (
    "default-src 'self'; script-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
)

# The pages for phones (web/, built by Vite): scripts, styles and fonts from our origin
# only (Vant's icon font is a data: URL), photos also as blob: and data: previews, and API
# calls to our own origin; never framed.
WEB_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self' data:; "
    "img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)




def console_csp(settings: Settings) -> str:
    """The console's CSP: the pages' own, its images also from the map's tile service when
    one is set (MAP_TILE_URL), that origin and nothing else."""
    origin = settings.map_tile_origin
    if not origin:
        return WEB_CSP
    return WEB_CSP.replace("img-src 'self' data: blob:", f"img-src 'self' data: blob: {origin}")


class RequestIdFilter(logging.Filter):
    """Adds the current request id to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id", "-")
        elif not hasattr(record, "request_id"):  # the hot path (`hot.py`) sets its own
            record.request_id = "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with any `extra` fields."""

    _STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
        "message",
        "asctime",
    }

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class _QueueFront(QueueHandler):
    """Hands records to the writer thread as they are: the message resolved now (its args
    may change later), the exception kept for the JSON formatter."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        if not record.args and isinstance(record.msg, str):
            return record  # nothing left to resolve (access lines): no copy needed
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        return record


# How long a log line may wait in memory before its batch is written; warnings and errors
# are written at once.
LOG_BATCH_SECONDS = 0.2


class LogWriter:
    """Formats and writes queued records from its own thread, a batch at a time.

    Each record handed over one at a time woke the writer thread, which then took the GIL
    from the request threads: once per request, for an access line."""

    def __init__(self, formatter: logging.Formatter, stream: TextIO | None = None) -> None:
        self._formatter = formatter
        self._stream = stream or sys.stderr
        self._start()
        # A thread does not survive fork(): a worker forked from a process that logged
        # already (gunicorn --preload) starts its own, with an empty queue (the lines
        # queued before the fork are the parent's to write).
        os.register_at_fork(after_in_child=self._start)

    def _start(self) -> None:
        self._records: deque[logging.LogRecord] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def put_nowait(self, record: logging.LogRecord) -> None:
        """Queue a record (`QueueHandler` calls this); a warning or worse wakes the writer."""
        self._records.append(record)
        if record.levelno >= logging.WARNING:
            self._wake.set()

    def stop(self) -> None:
        """Write what is queued and end the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=5)
        self._write_batch()  # whatever came after its last batch

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(LOG_BATCH_SECONDS)
            self._wake.clear()
            self._write_batch()
        self._write_batch()

    def _write_batch(self) -> None:
        lines = []
        while self._records:
            record = self._records.popleft()
            try:
                lines.append(self._formatter.format(record))
            except Exception:  # one bad record must not lose the others
                lines.append(f"unformattable log record from {record.name}: {record.msg!r}")
        if lines:
            try:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass  # stderr gone (closed pipe): nothing else could report it


def configure_logging(settings: Settings) -> LogWriter:
    """Process-wide log setup for servers (wsgi.py); tests keep pytest's own.

    Request threads only queue their records; one thread per process formats and writes
    them (`LogWriter`). A write to stderr gives up the GIL, and taking it back can wait a
    whole switch interval while other requests run: on the request path that cost a
    simple read a quarter of its throughput and doubled its p99."""
    if settings.log_format == "json":
        formatter: logging.Formatter = JsonFormatter()
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
        )
    writer = LogWriter(formatter)
    front = _QueueFront(writer)  # type: ignore[arg-type]
    front.addFilter(RequestIdFilter())  # here, in the request's thread, where `g` is
    atexit.register(writer.stop)  # write what is queued when the worker exits
    root = logging.getLogger()
    root.handlers[:] = [front]
    root.setLevel(logging.INFO)
    # Importing alembic announces each of its plugins at INFO: seven lines on the stderr of
    # every worker and every command (cron mails them), before any line that matters.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return writer


class _RequestIds:
    """New request ids: 32 hex digits, a random half per process and a counter.

    Unique without asking the kernel for randomness on every request (that call gives up
    the GIL, and getting it back can wait for other requests' threads)."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        """A new random half (and counter)."""
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFFFFFF:016x}"


_new_ids = _RequestIds()
os.register_at_fork(after_in_child=_new_ids.renew)  # each forked worker its own ids


def request_id(incoming: str) -> str:
    """The id of a request: the caller's X-Request-ID when sane, else a new one."""
    return incoming if _REQUEST_ID.match(incoming) else _new_ids.new()


def start_request() -> None:
    """Before every request: its id and its clock."""
    g.request_id = request_id(request.headers.get("X-Request-ID", ""))
    g.started = time.perf_counter()


# API answers are per user: no cache keeps them (unless a view says otherwise).
API_CACHING = ("Cache-Control", "no-store")


def security_headers(settings: Settings) -> tuple[tuple[tuple[str, str], ...], ...]:
    """The headers every answer carries unless its view set them: (API, docs page)."""
    common = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
    ]
    if settings.is_production:
        common.append(("Strict-Transport-Security", "max-age=31536000"))
    api = (*common, ("Content-Security-Policy", _API_CSP))
    docs = (*common, ("Content-Security-Policy", _DOCS_CSP))
    return api, docs


def finish_response(
    response: Response, defaults: tuple[tuple[tuple[str, str], ...], ...]
) -> Response:
    """After every request: the request id, the security headers (`security_headers`) a
    view did not set, and one access line."""
    path = request.path
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}  # one pass, not one per header
    for name, value in defaults[1] if path.startswith("/api/docs") else defaults[0]:
        if name.lower() not in present:
            headers.add(name, value)
    if path.startswith("/api/v1") and "cache-control" not in present:
        headers.add(*API_CACHING)
    headers["X-Request-ID"] = rid = g.get("request_id", "")
    actor = g.get("actor")
    log_access(
        request.method,
        path,
        response.status_code,
        g.get("started"),
        actor.user_id if actor else None,
        rid,
    )
    return response


def log_access(
    method: str,
    path: str,
    status: int,
    started: float | None,
    user_id: int | None,
    rid: str,
) -> None:
    """The access line of a request (`started`: its `time.perf_counter()` at the start)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    # A record made here, not through `Logger.info`: that walks the stack to find the
    # caller's line, which no access line needs.
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        __file__,
        0,
        "request",
        None,
        None,
        extra={
            "method": method,
            "path": redact_path(path),  # never the query: signatures live there
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 1) if started else 0.0,
            "user_id": user_id,
            "request_id": rid,
        },
    )
    access_log.handle(record)
