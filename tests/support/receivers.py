"""A real HTTP receiver for tests: a threaded server on a spare local port that records every request
and answers as told (succeed, fail N times with a status, hang for a while).

    with RecordingReceiver() as receiver:
        receiver.fail_next(2, status=500)
        ...                       # deliver to receiver.url
        receiver.wait_for(3)      # two failures, then the success
        receiver.requests[-1].json()
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered (0 when it hung until the client gave up)
    received_at: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    hang_seconds: float = 0.0
    body: bytes | None = None  # None: a small JSON of our own


class RecordingReceiver:
    def __init__(self, default_status: int = 200) -> None:
        self.default = Answer(default_status)
        self.script: deque[Answer] = deque()
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would
            # The headers and the body leave in two writes: with Nagle on, the body waits for the
            # client's delayed ACK (40 ms a request on Linux), which made every test sender crawl.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._next_answer()
                if answer.hang_seconds:
                    receiver._stopping.wait(answer.hang_seconds)
                receiver._record(self, body, answer.status)
                payload = b'{"ok":true}' if 200 <= answer.status < 300 else b'{"error":"scripted failure"}'
                if answer.body is not None:
                    payload = answer.body
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a hang longer than its timeout)

            # Provider APIs read and upsert too (Twilio's account GET, Mailchimp's member PUT).
            do_GET = do_POST  # noqa: N815
            do_PUT = do_POST  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- Scripting the answers ---

    def fail_next(self, count: int, status: int = 500, body: bytes | None = None) -> None:
        with self._lock:
            self.script.extend(Answer(status, body=body) for _ in range(count))

    def answer_with(self, status: int, body: bytes) -> None:
        """Answer every request from now on with this status and body."""
        with self._lock:
            self.default = Answer(status, hang_seconds=self.default.hang_seconds, body=body)

    def hang_next(self, count: int, seconds: float) -> None:
        with self._lock:
            self.script.extend(Answer(200, hang_seconds=seconds) for _ in range(count))

    def always(self, status: int) -> None:
        with self._lock:
            self.default = Answer(status, hang_seconds=self.default.hang_seconds, body=self.default.body)

    def slow_down(self, seconds: float) -> None:
        """Take this long over every answer from now on (to catch a sender mid-batch)."""
        with self._lock:
            self.default = Answer(self.default.status, hang_seconds=seconds, body=self.default.body)

    def _next_answer(self) -> Answer:
        with self._lock:
            return self.script.popleft() if self.script else self.default

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, status: int) -> None:
        received = Received(
            method=handler.command,
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
            status=status,
            received_at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(received)

    # --- Reading what arrived ---

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks"

    def accepted(self) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if 200 <= request.status < 300]

    def wait_for(self, count: int, *, timeout: float = 15.0, accepted_only: bool = False) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = [r for r in self.requests if not accepted_only or 200 <= r.status < 300]
            if len(seen) >= count:
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} requests at the receiver, got {len(seen)} in {timeout} s"
                )
            time.sleep(0.02)

    # --- Lifecycle ---

    def start(self) -> RecordingReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> RecordingReceiver:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
