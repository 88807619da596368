"""A TensorFlow-Serving-compatible REST server on the standard library.

Endpoints (https://www.tensorflow.org/tfx/serving/api_rest)::

    POST /v1/models/<name>[/versions/<v>|/labels/<l>]:predict   {"instances": ...}
    GET  /v1/models/<name>[/versions/<v>|/labels/<l>]           version status
    GET  /v1/models/<name>[/versions/<v>|/labels/<l>]/metadata  signature defs

(``:predict`` also takes the columnar ``{"inputs": ...}``.)

A version label is ``latest`` or one named in ``<model>/version_labels.json``
(``{"stable": 3, "canary": 4}``). Connections are HTTP/1.1 keep-alive.
Errors are ``{"error": "..."}`` with 400 (malformed request, a body shorter
than its Content-Length, a bad Content-Length, more instances or longer
sentences than the limits), 404 (unknown model, version, label or path), 405
(wrong method), 408 (the client stalled for ``read_timeout`` seconds while
sending), 411 (no length), 413 (body above ``max_request_bytes``: refused
from its Content-Length before reading, or while reading a chunked body) or 500.

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

import contextlib
import json
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tagger.files import json_line
from tagger.serving.http_body import RequestBody
from tagger.serving.model import SavedModel
from tagger.serving.repository import ModelRepository
from tagger.serving.rest import (
    RequestLimits,
    RestError,
    format_predict,
    metadata_response,
    parse_predict,
    status_response,
)

_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?P<suffix>/metadata|:[A-Za-z]+)?/?$")


class Handler(RequestBody, BaseHTTPRequestHandler):
    # HTTP/1.1: keep-alive (no TCP handshake per request) and "Expect: 100-continue"
    # answered at once. An idle connection is closed after ``read_timeout`` seconds,
    # and at shutdown (ModelServer.server_close).
    protocol_version = "HTTP/1.1"
    server_version = "tagger-serving/0.1"
    busy = False

    def setup(self):
        self.timeout = self.server.read_timeout  # applied to the socket by setup()
        super().setup()
        self.server.track(self, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.track(self, False)

    # -- plumbing ---------------------------------------------------------------
    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        if status >= 400:
            self._discard_body()
        body = json_line(payload).encode("utf-8")
        self.server.count(status)  # before the client can see the answer (tests read counts)
        self.send_response(status)
        if self.close_connection:
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
        return match["name"], match["version"], match["label"], suffix

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, 414, 501) as JSON too."""
        self.close_connection = True
        self._body_pending = False
        self._send(code, {"error": message or explain or self.responses.get(code, ("",))[0]})

    def handle_expect_100(self):
        """Refuse an oversized body before the client sends it."""
        self._body_pending = True
        length = self.headers.get("Content-Length", "")
        if length.strip().isdigit() and int(length) > self.server.max_request_bytes:
            self._send(413, {"error": f"request body of {int(length)} bytes is above the "
                                      f"limit of {self.server.max_request_bytes} bytes"})
            return False
        return super().handle_expect_100()

    def _handle(self, method: str) -> None:
        self._body_pending = method in ("POST", "PUT", "PATCH")
        try:
            name, version, label, suffix = self._route()
            allowed = "POST" if suffix == ":predict" else "GET"
            if method != allowed:
                raise RestError(405, f"{method} not allowed here; use {allowed}",
                                {"Allow": allowed})
            self.busy = True
            model = self.server.repository.get(name, version, label)
            if suffix == "/metadata":
                self._send(200, metadata_response(model))
            elif suffix == ":predict":
                self._send(200, self._predict(model))
            else:
                versions = [model.version] if version or label else list(
                    self.server.repository.models[name])
                self._send(200, status_response(versions))
        except RestError as error:
            self._send(error.status, {"error": str(error)}, error.headers)
        except Exception as error:  # noqa: BLE001 - answer, log, keep serving
            self.log_error("internal error on %s: %r", self.path, error)
            self._send(500, {"error": f"internal error: {type(error).__name__}: {error}"})
        finally:
            self.busy = False

    def _predict(self, model: SavedModel) -> dict:
        raw = self._read_body()
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise RestError(400, f"malformed JSON: {error}") from None
        signature, tensors, row = parse_predict(model, body, self.server.limits)
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

    def log_error(self, format, *args):  # noqa: A002 - http.server's signature
        if format.startswith("Request timed out"):
            return  # an idle keep-alive connection closed after read_timeout: normal
        self.log_message(format, *args)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        if not self.server.quiet:
            sys.stderr.write(f"serve: {self.address_string()} {format % args}\n")


class ModelServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with the models; on close, idle keep-alive connections are
    closed and requests in flight are waited for."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 128  # socketserver's 5 drops connections when many clients start

    def __init__(self, repository: ModelRepository, host: str = "127.0.0.1", port: int = 8501,
                 max_request_bytes: int = 10 * 1024 * 1024, quiet: bool = False,
                 read_timeout: float = 10.0, limits: RequestLimits | None = None):
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.repository = repository
        self.max_request_bytes = max_request_bytes
        self.quiet = quiet
        self.read_timeout = read_timeout
        self.limits = limits or RequestLimits()
        self.requests = self.errors = 0
        self._count_lock = threading.Lock()
        self._handlers: set = set()
        super().__init__((host, port), Handler)

    def count(self, status: int) -> None:
        with self._count_lock:
            self.requests += 1
            self.errors += status >= 400

    def track(self, handler, alive: bool) -> None:
        with self._count_lock:
            (self._handlers.add if alive else self._handlers.discard)(handler)

    def server_close(self) -> None:
        """Stop listening; wake idle keep-alive connections so their threads end."""
        super_close = super().server_close
        with self._count_lock:
            idle = [h for h in self._handlers if not h.busy]
        for handler in idle:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RD)
        super_close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_server(model_path: str | Path, host: str = "127.0.0.1", port: int = 8501,
               max_request_bytes: int = 10 * 1024 * 1024, quiet: bool = False,
               max_concurrent_calls: int = 4, read_timeout: float = 10.0,
               max_instances: int = 1024, max_sentence_tokens: int = 4096) -> int:
    """Load the models, serve until SIGTERM/SIGINT, print a JSON summary; returns 0."""
    repository = ModelRepository(model_path, max_concurrent_calls)
    server = ModelServer(repository, host, port, max_request_bytes, quiet, read_timeout,
                         RequestLimits(max_instances, max_sentence_tokens))
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
