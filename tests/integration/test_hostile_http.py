"""Hostile requests from a raw socket to the production gunicorn config (2 workers): what
Werkzeug's test client cannot send (a chunked body as a real client sends it) and what
gunicorn refuses before the app (over-long request lines and headers). Every answer is the
one JSON error shape (issue 15, classes 7 and 11).
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields

import pytest

from service.core.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_SECRET

MB = 1024 * 1024
ERROR_KEYS = {"status", "code", "message", "message_en", "errors"}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error(self, status: int, code: str) -> dict:
        """The body, asserted to be the one error shape with this status and code."""
        assert self.status == status, (self.status, self.body[:300])
        assert self.headers["content-type"].startswith("application/json"), self.headers
        body = json.loads(self.body)
        assert set(body) == ERROR_KEYS and (body["status"], body["code"]) == (status, code)
        assert body["message"] and body["message_en"] and body["message"] != body["message_en"]
        return body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    database_url: str, engine: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, int]]:
    """gunicorn with gunicorn.conf.py and 2 workers on the (migrated) test database."""
    ours = {f.name.upper() for f in fields(Settings)} | {"GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env |= {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        "LOG_FORMAT": "text",
    }
    address = ("127.0.0.1", _free_port())
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "-w", "2"]
    # No control socket: its default path is shared by every gunicorn of this user.
    command += ["--no-control-socket", "--bind", f"{address[0]}:{address[1]}", "wsgi:app"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(process, address)
        yield address
    finally:
        process.terminate()
        process.wait(20)
        sys.stderr.write(log_path.read_text(errors="replace")[-20_000:])  # shown on failure


def _wait_ready(process: subprocess.Popen[bytes], address: tuple[str, int]) -> None:
    deadline = time.monotonic() + 60  # a loaded 2-core machine, or parallel tests
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode} before it was ready")
        try:
            if exchange(address, b"GET /api/v1/readyz HTTP/1.1\r\nHost: t\r\n\r\n").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail("gunicorn was not ready within 60 s")


def exchange(address: tuple[str, int], head: bytes, chunks: Iterable[bytes] = ()) -> Answer:
    """Send `head`, then `chunks` until the server answers, on a fresh connection; read the
    answer to its end (every answer here closes the connection or has a Content-Length)."""
    with socket.create_connection(address, timeout=20) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # answered before the body ended, as a refusal should be
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        return _read_answer(sock)


def _read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        assert part, f"connection closed before an answer: {data!r}"
        data += part
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines)}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        try:
            part = sock.recv(65536)
        except ConnectionResetError:
            break
        if not part:
            break
        body += part
    return Answer(int(status_line.split()[1]), headers, body[: length if length >= 0 else None])


def _chunked(body: bytes, size: int = 64 * 1024) -> list[bytes]:
    """`body` in HTTP/1.1 chunked framing, a frame per `size` bytes, then the last chunk."""
    frames = [
        b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return [*frames, b"0\r\n\r\n"]


def _post_head(path: str, content_type: str, framing: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n"
        f"{framing}\r\nConnection: close\r\n\r\n"
    ).encode()


def _multipart(size: int) -> tuple[str, bytes]:
    boundary = "hostile-boundary-1"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff" * size
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


def test_a_chunked_json_body_past_the_cap_is_413_json(server):
    body = b'{"username": "' + b"x" * (2 * MB) + b'", "password": "long-enough-pass"}'
    head = _post_head("/api/v1/auth/login", "application/json", "Transfer-Encoding: chunked")
    exchange(server, head, _chunked(body)).error(413, "payload_too_large")


def test_a_chunked_json_body_under_the_cap_is_read(server):
    body = json.dumps({"username": "nobody-here", "password": "long-enough-pass"}).encode()
    head = _post_head("/api/v1/auth/login", "application/json", "Transfer-Encoding: chunked")
    exchange(server, head, _chunked(body, size=7)).error(401, "invalid_credentials")


@pytest.mark.parametrize("framing", ["chunked", "content-length"])
def test_a_multipart_body_on_a_json_route_is_capped_like_json(server, framing):
    content_type, body = _multipart(2 * MB)
    if framing == "chunked":
        head = _post_head("/api/v1/auth/login", content_type, "Transfer-Encoding: chunked")
        chunks = _chunked(body)
    else:
        head = _post_head("/api/v1/auth/login", content_type, f"Content-Length: {len(body)}")
        chunks = [body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)]
    exchange(server, head, chunks).error(413, "payload_too_large")


def test_a_chunked_upload_keeps_the_upload_cap(server):
    # Past MAX_JSON_BYTES but under MEDIA_MAX_BYTES: read whole, then refused for who sent
    # it (no token), not for its size.
    content_type, body = _multipart(2 * MB)
    head = _post_head("/api/v1/media", content_type, "Transfer-Encoding: chunked")
    exchange(server, head, _chunked(body)).error(401, "unauthenticated")


def test_hostile_json_through_gunicorn_is_400_json(server):
    for text in ('{"username": "\\ud800"}', "[" * 50_000 + "]" * 50_000, "1" * 5_000):
        body = text.encode()
        head = _post_head("/api/v1/auth/login", "application/json", f"Content-Length: {len(body)}")
        exchange(server, head, [body]).error(400, "bad_request")


def test_an_overlong_request_line_is_414_json(server):
    head = b"GET /api/v1/hazards/" + b"1" * 5_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    exchange(server, head).error(414, "uri_too_long")


def test_a_long_url_within_the_limit_is_the_apps_json_404(server):
    head = b"GET /api/v1/" + b"a" * 4_000 + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    exchange(server, head).error(404, "not_found")


def test_too_many_or_too_long_headers_are_431_json(server):
    many = "".join(f"X-Filler-{n}: {n}\r\n" for n in range(60))
    head = f"GET /api/v1/healthz HTTP/1.1\r\nHost: t\r\n{many}\r\n".encode()
    exchange(server, head).error(431, "headers_too_large")
    long = "GET /api/v1/healthz HTTP/1.1\r\nHost: t\r\nX-Long: " + "a" * 9_000 + "\r\n\r\n"
    exchange(server, long.encode()).error(431, "headers_too_large")


def test_a_malformed_request_is_400_json(server):
    exchange(server, b"GET /api/v1/healthz HTTP/9.9\r\nHost: t\r\n\r\n").error(400, "bad_request")


def test_transfer_codings_and_expectations_gunicorn_refuses_are_json(server):
    head = _post_head("/api/v1/auth/login", "application/json", "Transfer-Encoding: br, chunked")
    exchange(server, head).error(501, "not_implemented")
    head = _post_head("/api/v1/auth/login", "application/json", "Expect: 200-ok")
    exchange(server, head).error(417, "expectation_failed")
