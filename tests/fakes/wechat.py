"""A fake WeChat server API on loopback: real HTTP, scripted answers.

Codes drive the answer of `jscode2session`: `ok-<openid>` logs in as that openid,
`invalid` → 40029, `used` → 40163, `ratelimit` → 45011, `busy` → -1, `http500` → 500.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ERRCODES = {"invalid": 40029, "used": 40163, "ratelimit": 45011, "busy": -1, "other": 40013}


@dataclass
class FakeWeChat:
    """Handle on the running fake: its URL and the requests it saw."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def reset(self) -> None:
        self.requests.clear()


def _handler(fake: FakeWeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict[str, Any] | str) -> None:
            payload = body if isinstance(body, str) else json.dumps(body)
            data = payload.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            fake.requests.append({"method": "GET", "path": parts.path, "query": query})
            if parts.path == "/sns/jscode2session":
                self._jscode2session(query)
            else:
                self._send(404, {"errcode": 404, "errmsg": "not found"})

        def _jscode2session(self, query: dict[str, str]) -> None:
            code = query.get("js_code", "")
            if query.get("grant_type") != "authorization_code" or not query.get("secret"):
                self._send(200, {"errcode": 40013, "errmsg": "invalid appid"})
            elif code.startswith("ok-"):
                self._send(
                    200,
                    {"openid": code[3:], "session_key": "SECRET-SESSION-KEY", "unionid": None},
                )
            elif code == "http500":
                self._send(500, "oops")
            elif code in ERRCODES:
                self._send(200, {"errcode": ERRCODES[code], "errmsg": f"err {code}"})
            else:
                self._send(200, {"errcode": 40029, "errmsg": "invalid code"})

    return Handler


def start_fake_wechat() -> FakeWeChat:
    """Start the fake on a free loopback port in a daemon thread."""
    fake = FakeWeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.server = server
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake


def stop_fake_wechat(fake: FakeWeChat) -> None:
    """Shut the fake down."""
    if fake.server is not None:
        fake.server.shutdown()
        fake.server.server_close()
