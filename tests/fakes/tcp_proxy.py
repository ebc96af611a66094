"""A loopback TCP proxy a test can cut and restore, to make a backend unreachable for a while.

`cut()` resets every live connection and, until `restore()`, resets each new one right
after accepting it, so clients fail at once (no hang) and the backend behind keeps its state.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading

_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, not FIN


def _reset(sock: socket.socket) -> None:
    """Abort a connection with RST; the pump thread blocked on it wakes up."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already gone


class TcpProxy:
    """Forward 127.0.0.1:<port> to `upstream` ("host:port"), one thread per connection."""

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.refused = 0  # connections reset while cut
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def endpoint(self) -> str:
        """ "host:port" to give clients instead of the upstream."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TcpProxy:
        self._acceptor.start()
        return self

    def cut(self) -> None:
        """Reset live connections and refuse new ones until restore()."""
        with self._lock:
            self._cut = True
            live = list(self._live)
        for sock in live:
            _reset(sock)

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._cut = False

    def close(self) -> None:
        """Stop accepting and reset everything still open."""
        self._closed = True
        self.cut()
        self._listener.close()
        self._acceptor.join(5)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            with self._lock:
                refuse = self._cut
                if refuse:
                    self.refused += 1
            if refuse:
                _reset(client)
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)
            client.close()
            return
        pair = (client, upstream)
        with self._lock:
            if self._cut:  # cut between accept and here
                for sock in pair:
                    _reset(sock)
                    sock.close()
                return
            self._live.update(pair)
        try:
            self._pump(client, upstream)
        finally:
            with self._lock:
                self._live.difference_update(pair)
            for sock in pair:
                sock.close()

    @staticmethod
    def _pump(client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            for sock in peer:
                sock.setblocking(True)
                selector.register(sock, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    source: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = source.recv(65536)
                        if not data:
                            return  # one side closed: close both (HTTP clients reconnect)
                        peer[source].sendall(data)
                    except OSError:
                        return
