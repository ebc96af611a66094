"""gunicorn settings for `make demo` and production; override with GUNICORN_CMD_ARGS."""

import os

from gunicorn.glogging import Logger

from miniprogram_api.logs import redact_path

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 60  # a 1,000-poster PDF takes ~15 s; everything else answers in milliseconds
graceful_timeout = 20
keepalive = 5
# The app writes one JSON access line per request (with its request id); gunicorn's own
# access log stays off. If enabled (--access-logfile -), it logs the path only: query
# strings carry signatures, and QR tokens are redacted below.
accesslog = None
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


class RedactingLogger(Logger):
    """Access log without QR tokens in paths."""

    def atoms(self, resp, req, environ, request_time):  # type: ignore[no-untyped-def]
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(atoms["U"])
        atoms["r"] = redact_path(atoms["r"].split("?", 1)[0])
        atoms["q"] = ""
        return atoms


logger_class = RedactingLogger
