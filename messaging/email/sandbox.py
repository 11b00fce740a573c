"""The sandbox's SMTP sink: a local SMTP server (aiosmtpd) that keeps every email it receives in the
sandbox inbox, so the demo's email channel delivers somewhere visible with no outside mail service.
The run command starts it (`manage.py sandbox_smtp`) and points EMAIL_HOST / EMAIL_PORT at it.

An email belongs to the project named by its `List-Unsubscribe` link: every email we send carries
one, signed with our secret key (`messaging.unsubscribe`), so the sink trusts no header a sender could
make up. Mail without such a link (not ours) is accepted and dropped, with a log line.
"""

from __future__ import annotations

import asyncio
import logging
import re
from email import message_from_bytes, policy
from email.message import EmailMessage

from django.db import close_old_connections

from messaging.unsubscribe import unsubscribe_token_read
from tenancy.models import Project
from webhooks_out.models import SandboxDelivery
from webhooks_out.services import sandbox_delivery_record

logger = logging.getLogger(__name__)

_UNSUBSCRIBE_TOKEN = re.compile(r"/u/([^/>\s]+)/?>")


def project_of(email: EmailMessage) -> Project | None:
    """The project whose signed unsubscribe link the email carries, if any."""
    found = _UNSUBSCRIBE_TOKEN.search(str(email.get("List-Unsubscribe", "")))
    payload = unsubscribe_token_read(found[1]) if found else None
    return Project.objects.filter(pk=payload["p"]).first() if payload else None


def readable_body(email: EmailMessage) -> str:
    """What a person reads: the plain-text part, else the HTML part."""
    part = email.get_body(("plain", "html"))
    return part.get_content() if part is not None else ""


def sandbox_email_record(content: bytes, *, recipients: list[str]) -> SandboxDelivery | None:
    """Keep a received email in its project's sandbox inbox; None when it names no project of ours."""
    email = message_from_bytes(content, policy=policy.default)
    project = project_of(email)
    if project is None:
        logger.warning("Sandbox SMTP: dropped an email with no unsubscribe link of ours (to %s)", recipients)
        return None
    return sandbox_delivery_record(
        project=project,
        kind="email",
        request_line=f"To {', '.join(recipients)}: {email.get('Subject', '')}",
        headers={name: str(value) for name, value in email.items()},
        body=readable_body(email).encode(),
    )


class SandboxSmtpHandler:
    """aiosmtpd's handler: every DATA is recorded (outside the event loop: the ORM is synchronous)."""

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self._record, envelope.content, list(envelope.rcpt_tos))
        except Exception:
            # A 4xx: the sender keeps the email and tries again later (the database may be restarting).
            logger.exception("Sandbox SMTP: could not keep an email")
            return "451 4.3.0 The sandbox could not store the message; try again later"
        return "250 OK"

    @staticmethod
    def _record(content: bytes, recipients: list[str]) -> None:
        close_old_connections()  # a long-lived process: never reuse a connection the server dropped
        sandbox_email_record(content, recipients=recipients)
