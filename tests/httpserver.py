"""A real HTTP server on 127.0.0.1 for tests: canned responses, delays, request counts.

Why: fetching must be tested against real sockets (timeouts, refused ports, streamed bodies,
redirects), not mocks. The server runs in a daemon thread on an ephemeral port.

Usage in a test module (tests/ is on sys.path, as for `conftest`):

    from httpserver import Response, http_server_fixture  # noqa: F401  (registers `http_server`)

    def test_something(http_server):
        http_server.route("/cat.jpg", Response(200, {"Content-Type": "image/jpeg"}, jpeg_bytes))
        http_server.route("/flaky", [Response(503), Response(200, body=b"ok")])  # in turn
        http_server.route("/slow", Response(200, body=b"x", delay=2.0))          # sleeps first
        http_server.route("/echo", lambda req: Response(200, body=req.path.encode()))
        url = http_server.url("/cat.jpg")
        ...
        assert http_server.count("/cat.jpg") == 1

A route is a `Response`, a list of them (the n-th request gets the n-th item, the last one
repeats), or a callable taking a `Request` and returning a `Response`. Unknown paths get 404.
Paths are matched exactly as sent, query string included if the route has one, else without.
`unused_port()` gives a port nobody listens on (for "connection refused").
The fixture function is named `http_server_fixture` (the fixture itself `http_server`) so that
importing it does not trip ruff's F811 in test signatures. Or, without the fixture:
`with HTTPTestServer() as server: ...`.
"""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Response:
    """One canned response.

    delay: seconds to wait before sending anything (a slow server: read timeouts).
    body_delay: seconds to wait after the headers, before the body.
    content_length: False sends no Content-Length and closes the connection after the body
    (a streamed body of unknown size); an int sends that value whatever the body is (a
    truncated transfer when larger than the body).
    chunk_size, chunk_delay: send the body `chunk_size` bytes at a time, sleeping `chunk_delay`
    seconds before each piece (a server that drips bytes).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    body_delay: float = 0.0
    content_length: bool | int = True
    chunk_size: int = 0
    chunk_delay: float = 0.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    client_port: int  # the same port for two requests means one kept-alive connection


Route = Response | list[Response] | Callable[[Request], Response]


class HTTPTestServer:
    """A threaded HTTP/1.1 server on 127.0.0.1:<ephemeral port> serving canned routes."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._counts: Counter[str] = Counter()
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _make_handler(self))
        self.port: int = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def route(self, path: str, response: Route) -> str:
        """Serve `response` at `path`; returns the full URL. Replaces any earlier route."""
        with self._lock:
            self._routes[path] = response
        return self.url(path)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path: str) -> int:
        """How many requests arrived for `path` (query string included when sent)."""
        with self._lock:
            return self._counts[path]

    @property
    def requests(self) -> list[Request]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """How many distinct TCP connections the requests came on."""
        with self._lock:
            return len({r.client_port for r in self._requests})

    def close(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HTTPTestServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # called from handler threads
    def _respond_to(self, request: Request) -> Response:
        with self._lock:
            self._counts[request.path] += 1
            self._requests.append(request)
            n = self._counts[request.path]
            route = self._routes.get(request.path)
            if route is None:
                route = self._routes.get(request.path.split("?", 1)[0])
        if route is None:
            return Response(404, {"Content-Type": "text/plain"}, b"not found")
        if isinstance(route, list):
            return route[min(n, len(route)) - 1]
        if callable(route):
            return route(request)
        return route

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; True if it is stopping."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


def _make_handler(server: HTTPTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            request = Request(
                self.command, self.path, dict(self.headers.items()), self.client_address[1]
            )
            response = server._respond_to(request)
            if server._sleep(response.delay):
                return
            try:
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                if response.content_length is False:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    length = (
                        len(response.body)
                        if response.content_length is True
                        else int(response.content_length)
                    )
                    self.send_header("Content-Length", str(length))
                    if length != len(response.body):
                        self.close_connection = True
                self.end_headers()
                self.wfile.flush()
                if server._sleep(response.body_delay):
                    return
                if send_body and response.body:
                    step = response.chunk_size or len(response.body)
                    for start in range(0, len(response.body), step):
                        if server._sleep(response.chunk_delay):
                            return
                        self.wfile.write(response.body[start : start + step])
                        self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


def unused_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(name="http_server")
def http_server_fixture() -> Iterator[HTTPTestServer]:
    """The `http_server` fixture: a fresh HTTPTestServer per test, closed afterwards."""
    server = HTTPTestServer()
    try:
        yield server
    finally:
        server.close()
