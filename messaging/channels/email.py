"""The email channel: SMTP through Django's email backend, one connection per delivery batch.

`prepare` builds the backend and the project's sender identity once; the first `send` opens the SMTP
session and every later message of the batch reuses it; `close` ends it. A dropped session (a
connection error, a 421) is closed and reopened by the next message.

Every message carries `Message-ID: <message public id@sender domain>` (the delivery key: a resend
after a crash has the same id), `List-Unsubscribe` (the HTTPS one-click page, `/u/<token>`) and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).

Outcomes: an SMTP 4xx answer, a refused or dropped connection, or a timeout is transient (retried on
the default exponential schedule); a 5xx answer is permanent.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Sequence
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection

from messaging.channels.base import Batch, Channel, Outcome, PermanentFailure, Sent, TransientFailure
from messaging.email.compiler import EmailContentError, build_email_content, compiled_email
from messaging.email.mime import OneShapeEmail
from messaging.links import unsubscribe_url
from messaging.rendering import RenderContext

NO_ADDRESS = "The customer has no email address."
# For owners materialising messages in SQL: the skip reason of a customer row aliased `customer`.
NO_ADDRESS_SQL = f"CASE WHEN coalesce(customer.email, '') = '' THEN '{NO_ADDRESS}' ELSE '' END"


def no_address_reason(customer: Any) -> str:
    """The skip reason for a customer this channel cannot reach ('' when it can)."""
    return "" if (getattr(customer, "email", None) or "").strip() else NO_ADDRESS


def sender_of(project: Any) -> tuple[str, list[str]]:
    """The project's From header and Reply-To list (settings.DEFAULT_FROM_EMAIL when unset)."""
    address = project.email_from_address or settings.DEFAULT_FROM_EMAIL
    from_header = formataddr((project.email_from_name, address)) if project.email_from_name else address
    return from_header, [project.email_reply_to] if project.email_reply_to else []


def message_id_header(public_id: str, from_header: str) -> str:
    domain = from_header.rpartition("@")[2].rstrip(">").strip() or "localhost"
    return f"<{public_id}@{domain}>"


def classify(error: BaseException) -> Outcome:
    """An SMTP error as an outcome: 4xx and connection trouble transient, 5xx permanent."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        code = max(codes) if codes else 0
        detail = "; ".join(
            f"{address}: {code} {text!r}" for address, (code, text) in error.recipients.items()
        )
        return _by_code(code, f"Recipient refused: {detail}")
    if isinstance(error, smtplib.SMTPResponseException):
        text = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return _by_code(error.smtp_code, f"SMTP {error.smtp_code}: {text}")
    return TransientFailure(f"SMTP connection failed: {type(error).__name__}: {error}")


def _by_code(code: int, error: str) -> Outcome:
    if 500 <= code < 600:
        return PermanentFailure(error, status_code=code)
    return TransientFailure(error, status_code=code or None)


class EmailChannel(Channel):
    name = "email"

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return float(getattr(settings, "EMAIL_TIMEOUT", None) or 10.0)

    def validate_content(self, *, project, content: dict[str, Any]) -> dict[str, Any]:
        try:
            return build_email_content(project=project, content=content)
        except EmailContentError as error:
            raise ValidationError(error.problems) from None

    def prepare(self, *, project, messages: Sequence) -> Batch:
        batch = super().prepare(project=project, messages=messages)
        from_header, reply_to = sender_of(project)
        batch.extra.update(
            backend=get_connection(fail_silently=False, timeout=self.timeout),
            open=False,
            from_header=from_header,
            reply_to=reply_to,
        )
        return batch

    def skip_reason(self, message, batch: Batch) -> str | None:
        return no_address_reason(message.customer) or None

    def render(self, message, batch: Batch) -> EmailMultiAlternatives:
        template = batch.templates[message.template_id]
        unsubscribe = unsubscribe_url(batch.project, message.customer, self.name)
        context = RenderContext(
            customer=message.customer,
            variables={**message.variables, "message.id": message.public_id, "unsubscribe.url": unsubscribe},
            project=batch.project,
            channel=self.name,
        )
        return build_message(
            compiled_email(template).render(context),
            to=message.customer.email,
            from_header=batch.extra["from_header"],
            reply_to=batch.extra["reply_to"],
            message_id=message_id_header(message.public_id, batch.extra["from_header"]),
            unsubscribe=unsubscribe,
        )

    def send(self, rendered: EmailMultiAlternatives, batch: Batch) -> Outcome:
        backend = batch.extra["backend"]
        try:
            if not batch.extra["open"]:
                backend.open()
                batch.extra["open"] = True
            backend.send_messages([rendered])
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            outcome = classify(error)
            if not _session_survives(error):
                self._drop(batch)
            return outcome
        return Sent(provider_id=rendered.extra_headers["Message-ID"])

    def _drop(self, batch: Batch) -> None:
        # Closing a dead session may fail too; the next send opens a new one either way.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            batch.extra["backend"].close()
        batch.extra["backend"].connection = None
        batch.extra["open"] = False

    def close(self, batch: Batch) -> None:
        if batch.extra.get("open"):
            self._drop(batch)


def _session_survives(error: BaseException) -> bool:
    """After a refused recipient or a refused DATA smtplib resets the session; anything else (or 421,
    which closes it) needs a new one."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return True
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(
        error, smtplib.SMTPServerDisconnected
    ):
        return error.smtp_code != 421
    return False


def build_message(
    rendered, *, to: str, from_header: str, reply_to: list[str], message_id: str, unsubscribe: str
) -> EmailMultiAlternatives:
    message = OneShapeEmail(
        subject=rendered.subject,
        body=rendered.text,
        from_email=from_header,
        to=[to],
        reply_to=reply_to,
        headers={
            "Message-ID": message_id,
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(rendered.html, "text/html")
    return message
