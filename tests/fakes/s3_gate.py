"""A public host in front of the S3 server that checks presigned links the way S3 does.

moto serves a presigned GET without checking its signature, so it cannot tell a link signed
for one host from one signed for another. This gate can: it recomputes each link's SigV4
query signature (AWS's "authenticating requests: query parameters" algorithm) for the
`Host` it was reached at, answers 403 `SignatureDoesNotMatch` on a mismatch, as S3 and
MinIO do, and otherwise forwards the request to the server behind it.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Error><Code>{code}</Code><Message>{message}</Message></Error>"
)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(method: str, host: str, target: str, secret_key: str) -> str:
    """The SigV4 signature a presigned `target` ("/bucket/key?X-Amz-…") must carry when it
    is requested at `host` ("name:port"), for the access key's `secret_key`."""
    parts = urlsplit(target)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = dict(params)
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(params)
        if k != "X-Amz-Signature"
    )
    signed_headers = query["X-Amz-SignedHeaders"]
    if signed_headers != "host":
        raise ValueError(f"only links signing the host alone are checked: {signed_headers}")
    canonical_request = "\n".join(
        [method, parts.path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    _access_key, scope = query["X-Amz-Credential"].split("/", 1)
    day, region, service, terminator = scope.split("/")
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(f"AWS4{secret_key}".encode(), day)
    for part in (region, service, terminator):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class SigV4Gate:
    """Listen on 127.0.0.1:<port>; forward GETs whose presigned signature holds to `upstream`."""

    def __init__(self, upstream: str, secret_key: str) -> None:
        self.upstream = upstream
        self.checked = 0
        self.refused = 0
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gate._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest shows failures through the answers

        self._secret_key = secret_key
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SigV4Gate:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        host = request.headers.get("Host", "")
        query = dict(parse_qsl(urlsplit(request.path).query, keep_blank_values=True))
        if "X-Amz-Signature" not in query:
            self._answer_error(request, 403, "AccessDenied", "Anonymous access is forbidden")
            return
        self.checked += 1
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        if datetime.now(UTC) > signed_at + timedelta(seconds=int(query["X-Amz-Expires"])):
            self._answer_error(request, 403, "AccessDenied", "Request has expired")
            return
        wanted = expected_signature("GET", host, request.path, self._secret_key)
        if not hmac.compare_digest(wanted, query["X-Amz-Signature"]):
            self.refused += 1
            self._answer_error(
                request,
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided",
            )
            return
        upstream = http.client.HTTPConnection(self.upstream, timeout=10)
        try:
            upstream.request("GET", request.path)
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        request.send_response(answer.status)
        for name in ("Content-Type", "ETag", "Last-Modified"):
            if answer.getheader(name):
                request.send_header(name, answer.getheader(name))
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _answer_error(request: BaseHTTPRequestHandler, status: int, code: str, text: str) -> None:
        body = _ERROR.format(code=code, message=text).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
