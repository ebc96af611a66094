"""gunicorn's worker for this app: the requests gunicorn refuses itself (an over-long request
line, too many or too long headers, a malformed request) answer in the one error shape.

gunicorn answers those before the app sees them, with an HTML page written by
`gunicorn.util.write_error` and no setting to change it (benoitc/gunicorn#993). Its
`handle_error` still decides the status, logs the refusal and writes the access line; this
worker only swaps the page it writes for our JSON.
"""

from __future__ import annotations

import json
import socket
from functools import partial

from gunicorn import util
from gunicorn.workers import gthread

from miniprogram_api.errors import HTTP_ERRORS, error_body
from miniprogram_api.observability import API_CACHING, security_headers
from service.core.settings import Settings

Headers = tuple[tuple[str, str], ...]


def write_json_error(
    sock: socket.socket, status_int: int, reason: str, mesg: str, *, headers: Headers = ()
) -> None:
    """Write gunicorn's refusal as the SPEC §5 error object (the signature of
    `gunicorn.util.write_error`; `mesg`, gunicorn's detail, stays in its log)."""
    code, message, message_en = HTTP_ERRORS.get(status_int, (f"http_{status_int}", reason, reason))
    body = json.dumps(
        error_body(status_int, code, message, message_en), ensure_ascii=False
    ).encode()
    lines = [
        f"HTTP/1.1 {status_int} {reason}",
        "Connection: close",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    util.write_nonblock(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker, writing its own refusals as JSON (`write_json_error`)."""

    def init_process(self) -> None:
        """In each worker process, before it serves: install the JSON error writer."""
        api_headers, _docs = security_headers(Settings.from_env())
        util.write_error = partial(write_json_error, headers=(*api_headers, API_CACHING))
        super().init_process()
