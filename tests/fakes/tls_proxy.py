"""An https host in front of a plain-HTTP server on loopback, as the README's nginx puts
`media.example.cn` in front of MinIO: TLS ends here and each request goes on with the `Host`
the client asked for (nginx's `proxy_set_header Host $http_host`), so the server checks a
presigned link's signature for the public host.

The certificate is self-signed for `localhost` and `127.0.0.1`; clients trust `cert_path`.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate and key for `localhost` and `127.0.0.1`, written in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "media-cert.pem", folder / "media-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsProxy:
    """Listen on 127.0.0.1:<port> with TLS; forward each GET and HEAD to `upstream`
    ("host:port") with the client's `Host`, refuse other methods (the README's
    `limit_except GET HEAD { deny all; }`)."""

    def __init__(self, upstream: str, folder: Path) -> None:
        self.upstream = upstream
        self.cert_path, key_path = self_signed_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                proxy._forward(self)

            def do_HEAD(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._deny(self)

            do_PUT = do_DELETE = do_POST

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: pytest shows failures through the answers

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> TlsProxy:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _forward(self, request: BaseHTTPRequestHandler) -> None:
        upstream = http.client.HTTPConnection(self.upstream, timeout=30)
        try:
            upstream.putrequest(
                request.command, request.path, skip_host=True, skip_accept_encoding=True
            )
            upstream.putheader("Host", request.headers.get("Host", ""))
            upstream.endheaders()
            answer = upstream.getresponse()
            body = answer.read()
        finally:
            upstream.close()
        request.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                request.send_header(name, value)
        if request.command != "HEAD":
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(body)

    @staticmethod
    def _deny(request: BaseHTTPRequestHandler) -> None:
        request.send_response(403)
        request.send_header("Content-Length", "0")
        request.send_header("Connection", "close")
        request.end_headers()


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"}
