"""Demo data for email: the project's sender identity and the two starting templates (idempotent)."""

from __future__ import annotations

from messaging.email.services import project_email_sender_update
from messaging.email.starters import starter
from messaging.models import MessageTemplate
from messaging.services import message_template_create
from tenancy.models import Project


def seed_email(project: Project) -> list[MessageTemplate]:
    """Give the demo project a sender and one simple and one flier email template, once."""
    if not project.email_from_address:
        project_email_sender_update(
            project=project,
            from_name=project.company_name or project.name,
            from_address=f"offers@{project.slug}.example.com",
            reply_to=f"help@{project.slug}.example.com",
        )
    existing = list(MessageTemplate.objects.for_project(project).filter(channel="email").order_by("pk"))
    if existing:
        return existing
    return [
        message_template_create(project=project, channel="email", content=starter("simple")),
        message_template_create(
            project=project,
            channel="email",
            content=starter(
                "flier",
                headline="Spring sale: 20% off",
                social=[{"network": "instagram", "url": "https://instagram.com/example"}],
                footer_text=project.company_address or "",
            ),
        ),
    ]
