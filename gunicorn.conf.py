"""gunicorn settings for `make demo` and production; override with GUNICORN_CMD_ARGS."""

import os
import re

from gunicorn.glogging import Logger

from miniprogram_api.logs import redact_path
from miniprogram_api.startup import load_environment_file

load_environment_file()  # the deploy's .env, as the app reads it: WEB_CONCURRENCY too
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gthread, writing gunicorn's own refusals (the limits below) in our JSON error shape.
worker_class = "miniprogram_api.server.ThreadWorker"
timeout = 60  # a 1,000-poster PDF takes ~15 s; everything else answers in milliseconds
graceful_timeout = 20
keepalive = 5
# What gunicorn refuses before the app (414 uri_too_long, 431 headers_too_large, as JSON).
# Our longest URLs (a statistics export with every filter, a signed photo link) stay under
# 1 KB: 4 KB of request line leaves room. Phones and browsers send 10–25 headers and a
# proxy adds a few: 50 is plenty. The largest header we read is a bearer token (~400
# bytes), but a browser may send cookies set by a co-hosted site: 8 KB per header.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
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


def on_starting(server):  # type: ignore[no-untyped-def]
    """In the master, before any worker: refuse bad settings in one line, warn about weak
    ones once (`miniprogram_api.startup`), and give this instance its own control socket."""
    from miniprogram_api.startup import check_at_start

    check_at_start(server.log)
    _own_control_socket(server.cfg)


def _own_control_socket(cfg):  # type: ignore[no-untyped-def]
    # gunicorn ≥ 25.1 listens on a control socket (`gunicornc`) at one path per user by
    # default: a second instance on the box would unlink the first's and take it over. Name
    # it after this instance's bind address instead, in the same directory.
    if cfg.control_socket_disable or cfg.control_socket != cfg.settings["control_socket"].default:
        return  # switched off, or set explicitly (--control-socket)
    instance = re.sub(r"[^A-Za-z0-9.-]+", "_", "-".join(cfg.bind))
    folder = os.path.dirname(cfg.control_socket)
    cfg.set("control_socket", os.path.join(folder, f"mashangcha-{instance}.ctl"))
