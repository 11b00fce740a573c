"""A real SMTP sink for tests (aiosmtpd on a spare local port): records every message and every
session, and answers DATA as told (accept, or a scripted 4xx/5xx for the next N messages).

    with SmtpSink() as sink, sink.as_email_backend():
        sink.fail_next(1, "451 4.3.0 Try again later")
        ...                       # deliver email messages
        sink.wait_for(2)
        sink.messages[-1]["Message-ID"], sink.sessions
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from django.test import override_settings


@dataclass(frozen=True)
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    answer: str  # what the sink answered to DATA


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.deliveries: list[Delivery] = []
        self.sessions = 0  # SMTP sessions opened (one EHLO/HELO each)
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
                sink._count_session()
                session.host_name = hostname
                return responses

            async def handle_HELO(self, server, session, envelope, hostname):  # noqa: N802
                sink._count_session()
                session.host_name = hostname
                return f"250 {server.hostname}"

            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                answer = sink._next_answer()
                parsed = message_from_bytes(envelope.content, policy=policy.default)
                with sink._lock:
                    sink.deliveries.append(
                        Delivery(envelope.mail_from, list(envelope.rcpt_tos), parsed, answer)
                    )
                return answer

        self.port = _free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def _count_session(self) -> None:
        with self._lock:
            self.sessions += 1

    def _next_answer(self) -> str:
        with self._lock:
            return self.script.popleft() if self.script else "250 OK"

    # --- Scripting ---

    def fail_next(self, count: int, answer: str = "451 4.3.0 Try again later") -> None:
        with self._lock:
            self.script.extend(answer for _ in range(count))

    # --- Reading ---

    @property
    def messages(self) -> list[EmailMessage]:
        """What the sink accepted (2xx), in arrival order."""
        with self._lock:
            return [d.message for d in self.deliveries if d.answer.startswith("2")]

    def wait_for(self, count: int, *, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while True:
            accepted = self.messages
            if len(accepted) >= count:
                return accepted
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} emails at the sink, got {len(accepted)} in {timeout} s"
                )
            time.sleep(0.02)

    @contextmanager
    def as_email_backend(self):
        """Point Django's SMTP backend at this sink."""
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=self.port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ):
            yield self

    # --- Lifecycle ---

    def start(self) -> SmtpSink:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        """Stop listening (idempotent): later connections are refused."""
        if getattr(self, "running", False):
            self.controller.stop()
            self.running = False

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
