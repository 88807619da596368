"""Reading a request body within the server's size cap and read timeout.

A mixin of the REST server's request handler: a ``Content-Length`` body or a
chunked one, refused with 411/400/413 before or while it is read, 408 when the
client stalls; a body left unread closes the connection after the answer.
"""

from __future__ import annotations

from tagger.serving.rest import RestError


class RequestBody:
    """For a ``BaseHTTPRequestHandler`` whose server has ``max_request_bytes`` and
    ``read_timeout``; ``_body_pending`` is True while a body may be unread."""

    _body_pending = False

    def _discard_body(self, limit: int = 1 << 20) -> None:
        """Read an unread request body (if at most ``limit``) so that closing the socket
        does not reset the connection before the client reads our answer; a body left
        unread means the connection cannot carry another request."""
        if not self._body_pending:
            return
        self._body_pending = False
        self.close_connection = True
        length = self.headers.get("Content-Length", "") if self.headers else ""
        if length.strip().isdigit() and int(length) <= limit:
            left = int(length)
            try:
                self.connection.settimeout(1.0)
                while left > 0 and (chunk := self.rfile.read1(min(left, 65536))):
                    left -= len(chunk)
            except OSError:
                pass

    def _read_body(self) -> bytes:
        """The request body, within ``max_request_bytes`` and ``read_timeout``."""
        limit = self.server.max_request_bytes
        too_big = f"request body above the limit of {limit} bytes"
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._read_chunked(limit, too_big)
            lengths = set(self.headers.get_all("Content-Length") or [])
            if not lengths:
                self.close_connection = True
                raise RestError(411, "Content-Length required")
            if len(lengths) > 1 or not next(iter(lengths)).strip().isdigit():
                self.close_connection = True
                raise RestError(400, f"invalid Content-Length {', '.join(sorted(lengths))!r}")
            length = int(next(iter(lengths)))
            if length > limit:
                self.close_connection = True  # the body stays unread
                raise RestError(413, f"request body of {length} bytes is above the limit of "
                                     f"{limit} bytes")
            raw = self.rfile.read(length)
            self._body_pending = False
            if len(raw) < length:
                self.close_connection = True
                raise RestError(400, f"request body ended after {len(raw)} of the {length} "
                                     "bytes its Content-Length announced")
            return raw
        except TimeoutError:
            self._body_pending = False
            self.close_connection = True
            raise RestError(408, f"request body not received within "
                                 f"{self.server.read_timeout:g} s") from None

    def _read_chunked(self, limit: int, too_big: str) -> bytes:
        parts, size = [], 0
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise RestError(400, "malformed chunked body") from None
            if chunk == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                self._body_pending = False
                return b"".join(parts)
            size += chunk
            if size > limit:
                self.close_connection = True
                raise RestError(413, too_big)
            data = self.rfile.read(chunk + 2)
            if len(data) < chunk + 2:
                self.close_connection = True
                raise RestError(400, "chunked body ended early")
            parts.append(data[:chunk])
