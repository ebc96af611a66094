"""A fake WeChat server API on loopback: real HTTP, scripted answers.

Codes drive the answer of `jscode2session`: `ok-<openid>` logs in as that openid,
`invalid` → 40029, `used` → 40163, `ratelimit` → 45011, `busy` → -1, `http500` → 500.

`/cgi-bin/token` hands out access tokens (counted in `token_calls`; lifetime
`token_expires_in`; `expire_tokens()` revokes all issued ones). `/cgi-bin/message/
subscribe/send` records each body in `subscribe_messages` and answers by `touser`:
`noconsent…` → 43101, `flaky…` → -1 on its first call then ok, `badopenid…` → 40003,
anything else → 0; an unknown or revoked access token → 40001.
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
    token_expires_in: int = 7200
    token_calls: int = 0
    tokens: set[str] = field(default_factory=set)
    subscribe_messages: list[dict[str, Any]] = field(default_factory=list)
    calls_by_touser: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.requests.clear()
        self.token_expires_in = 7200
        self.token_calls = 0
        self.tokens.clear()
        self.subscribe_messages.clear()
        self.calls_by_touser.clear()

    def expire_tokens(self) -> None:
        """Revoke every issued access token (WeChat then answers 40001)."""
        self.tokens.clear()

    def messages_to(self, touser: str) -> list[dict[str, Any]]:
        """Bodies of the subscribe messages sent to one openid (including failed tries)."""
        return [m["body"] for m in self.subscribe_messages if m["body"].get("touser") == touser]


def _handler(fake: FakeWeChat) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # the server is threaded; counters are shared

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
            elif parts.path == "/cgi-bin/token":
                self._token(query)
            else:
                self._send(404, {"errcode": 404, "errmsg": "not found"})

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            fake.requests.append({"method": "POST", "path": parts.path, "query": query})
            if parts.path == "/cgi-bin/message/subscribe/send":
                self._subscribe_send(query, body)
            else:
                self._send(404, {"errcode": 404, "errmsg": "not found"})

        def _token(self, query: dict[str, str]) -> None:
            if query.get("grant_type") != "client_credential" or not query.get("appid"):
                self._send(200, {"errcode": 40013, "errmsg": "invalid appid"})
                return
            if not query.get("secret"):
                self._send(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
                return
            with lock:
                fake.token_calls += 1
                token = f"fake-token-{fake.token_calls}"
                fake.tokens.add(token)
            self._send(200, {"access_token": token, "expires_in": fake.token_expires_in})

        def _subscribe_send(self, query: dict[str, str], body: Any) -> None:
            if query.get("access_token") not in fake.tokens:
                self._send(200, {"errcode": 40001, "errmsg": "invalid credential"})
                return
            if not isinstance(body, dict) or not body.get("template_id"):
                self._send(200, {"errcode": 47003, "errmsg": "argument invalid!"})
                return
            touser = str(body.get("touser", ""))
            with lock:
                fake.subscribe_messages.append(
                    {"access_token": query["access_token"], "body": body}
                )
                calls = fake.calls_by_touser[touser] = fake.calls_by_touser.get(touser, 0) + 1
            if not isinstance(body.get("data"), dict):
                self._send(200, {"errcode": 47003, "errmsg": "argument invalid! data"})
            elif touser.startswith("noconsent"):
                self._send(200, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
            elif touser.startswith("badopenid"):
                self._send(200, {"errcode": 40003, "errmsg": "invalid openid"})
            elif touser.startswith("flaky") and calls == 1:
                self._send(200, {"errcode": -1, "errmsg": "system error"})
            else:
                self._send(200, {"errcode": 0, "errmsg": "ok", "msgid": calls})

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
