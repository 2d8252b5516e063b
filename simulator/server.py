"""A threaded HTTP server for the WSGI app (wsgiref plus ThreadingMixIn), in a daemon thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a request sleeping on an injected delay must not block exit
    block_on_close = False
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # One line per request on stderr would drown test and demo output.
        pass


@dataclass
class ServerHandle:
    """A running server: `url` is its base URL; close() stops it."""

    url: str
    host: str
    port: int
    server: ThreadingWSGIServer
    thread: threading.Thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> ServerHandle:
    server = make_server(
        host, port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    actual = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name=f"simulator-{actual}",
        daemon=True,
    )
    thread.start()
    return ServerHandle(f"http://{host}:{actual}", host, actual, server, thread)
