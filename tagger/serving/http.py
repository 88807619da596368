"""A TensorFlow-Serving-compatible REST server on the standard library.

Endpoints (https://www.tensorflow.org/tfx/serving/api_rest)::

    POST /v1/models/<name>[/versions/<v>]:predict   {"instances": [...]} or {"inputs": ...}
    GET  /v1/models/<name>[/versions/<v>]           version status
    GET  /v1/models/<name>[/versions/<v>]/metadata  signature defs

Errors are ``{"error": "..."}`` with 400 (malformed request), 404 (unknown
model, version or path), 405 (wrong method), 411 (no Content-Length), 413
(body above ``max_request_bytes``, refused before reading it) or 500.

Every version found on disk is loaded at start; a request without a version
uses the highest. Each request runs in its own thread and calls the model
directly: calls of a loaded SavedModel's signatures are thread-safe, and letting
them overlap raised throughput by about half over a lock around each call (8
clients x 16 sentences per request, a 128-unit BiRNN, 2 CPU cores: ~30 vs ~20
requests/s). At most ``max_concurrent_calls`` calls per model version run at
once (default 4), which bounds memory under load. SIGTERM/SIGINT stop accepting
connections, let requests in flight finish, and exit 0.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tagger.serving.model import SavedModel, discover, load_version
from tagger.serving.rest import (
    RestError,
    format_predict,
    metadata_response,
    parse_predict,
    status_response,
)

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
    r"(?P<suffix>/metadata|:[A-Za-z]+)?/?$")


class ModelRepository:
    """{name: {version: SavedModel}} for everything under a folder."""

    def __init__(self, path: str | Path, max_concurrent_calls: int = 4):
        self.models: dict[str, dict[int, SavedModel]] = {
            name: {version: load_version(folder, name, max_concurrent_calls)
                   for version, folder in found.items()}
            for name, found in discover(path).items()}

    def get(self, name: str, version: str | None) -> SavedModel:
        versions = self.models.get(name)
        if version is not None and not version.isdigit():
            raise RestError(404, f"version must be an integer, got {version!r}")
        if not versions or (version is not None and int(version) not in versions):
            spec = f"Specific({name}, {version})" if version else f"Latest({name})"
            raise RestError(404, f"Servable not found for request: {spec}")
        return versions[int(version) if version is not None else max(versions)]

    def describe(self) -> str:
        return ", ".join(f"{name} (versions {', '.join(map(str, sorted(v)))})"
                         for name, v in sorted(self.models.items()))


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients sending "Expect: 100-continue" (curl, above 1 kB) are
    # answered at once; every response closes its connection (no idle keep-alive
    # threads to wait for at shutdown).
    protocol_version = "HTTP/1.1"
    server_version = "tagger-serving/0.1"
    timeout = 60  # seconds a client may stall while sending
    _body_pending = False

    # -- plumbing ---------------------------------------------------------------
    def _discard_body(self, limit: int = 1 << 20) -> None:
        """Read an unread request body (if at most ``limit``) so that closing the socket
        does not reset the connection before the client reads our answer."""
        length = self.headers.get("Content-Length", "") if self.headers else ""
        if self._body_pending and length.strip().isdigit() and int(length) <= limit:
            self._body_pending = False
            left = int(length)
            try:
                self.connection.settimeout(1.0)
                while left > 0 and (chunk := self.rfile.read1(min(left, 65536))):
                    left -= len(chunk)
            except OSError:
                pass

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        if status >= 400:
            self._discard_body()
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.server.count(status)  # before the client can see the answer (tests read counts)
        self.send_response(status)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if match is None:
            raise RestError(404, f"unknown path {self.path.split('?', 1)[0]!r}; expected "
                                 "/v1/models/<name>[/versions/<v>][:predict|/metadata]")
        suffix = match["suffix"] or ""
        if suffix.startswith(":") and suffix != ":predict":
            raise RestError(404, f"unsupported method {suffix!r}: this server answers :predict")
        return match["name"], match["version"], suffix

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, 414, 501) as JSON too."""
        self.close_connection = True
        self._body_pending = False
        self._send(code, {"error": message or explain or self.responses.get(code, ("",))[0]})

    def handle_expect_100(self):
        """Refuse an oversized body before the client sends it."""
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > self.server.max_request_bytes:
            self._send(413, {"error": f"request body of {int(length)} bytes is above the "
                                      f"limit of {self.server.max_request_bytes} bytes"})
            return False
        return super().handle_expect_100()

    def _handle(self, method: str) -> None:
        self._body_pending = method in ("POST", "PUT", "PATCH")
        try:
            name, version, suffix = self._route()
            allowed = "POST" if suffix == ":predict" else "GET"
            if method != allowed:
                raise RestError(405, f"{method} not allowed here; use {allowed}",
                                {"Allow": allowed})
            model = self.server.repository.get(name, version)
            if suffix == "/metadata":
                self._send(200, metadata_response(model))
            elif suffix == ":predict":
                self._send(200, self._predict(model))
            else:
                versions = [model.version] if version else list(
                    self.server.repository.models[name])
                self._send(200, status_response(versions))
        except RestError as error:
            self._send(error.status, {"error": str(error)}, error.headers)
        except Exception as error:  # noqa: BLE001 - answer, log, keep serving
            self.log_error("internal error on %s: %r", self.path, error)
            self._send(500, {"error": f"internal error: {type(error).__name__}: {error}"})

    def _predict(self, model: SavedModel) -> dict:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise RestError(411, "chunked bodies are not supported; send Content-Length")
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise RestError(411, "Content-Length required")
        if not length.strip().isdigit():
            self.close_connection = True
            raise RestError(400, f"invalid Content-Length {length!r}")
        if int(length) > self.server.max_request_bytes:
            self.close_connection = True  # the body stays unread
            raise RestError(413, f"request body of {int(length)} bytes is above the limit of "
                                 f"{self.server.max_request_bytes} bytes")
        raw = self.rfile.read(int(length))
        self._body_pending = False
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise RestError(400, f"malformed JSON: {error}") from None
        signature, tensors, row = parse_predict(model, body)
        try:
            outputs = model.call(signature, tensors)
        except Exception as error:  # noqa: BLE001 - TF rejects the values: a bad request
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise RestError(400, f"{type(error).__name__}: {message}") from None
        return format_predict(outputs, row)

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PUT(self):  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self):  # noqa: N802
        self._handle("DELETE")

    def do_PATCH(self):  # noqa: N802
        self._handle("PATCH")

    def do_HEAD(self):  # noqa: N802
        self._handle("HEAD")

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        if not self.server.quiet:
            sys.stderr.write(f"serve: {self.address_string()} {format % args}\n")


class ModelServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with the models; joins request threads on close."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, repository: ModelRepository, host: str = "127.0.0.1", port: int = 8501,
                 max_request_bytes: int = 10 * 1024 * 1024, quiet: bool = False):
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.repository = repository
        self.max_request_bytes = max_request_bytes
        self.quiet = quiet
        self.requests = self.errors = 0
        self._count_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def count(self, status: int) -> None:
        with self._count_lock:
            self.requests += 1
            self.errors += status >= 400

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_server(model_path: str | Path, host: str = "127.0.0.1", port: int = 8501,
               max_request_bytes: int = 10 * 1024 * 1024, quiet: bool = False,
               max_concurrent_calls: int = 4) -> int:
    """Load the models, serve until SIGTERM/SIGINT, print a JSON summary; returns 0."""
    repository = ModelRepository(model_path, max_concurrent_calls)
    server = ModelServer(repository, host, port, max_request_bytes, quiet)
    started = time.perf_counter()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
    print(f"serve: {repository.describe()}", file=sys.stderr)
    print(f"serve: listening on {server.url}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()  # waits for requests in flight
    print(json.dumps({"url": server.url, "requests": server.requests, "errors": server.errors,
                      "seconds": round(time.perf_counter() - started, 3)}), flush=True)
    return 0
