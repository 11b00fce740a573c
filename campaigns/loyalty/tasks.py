from celery import shared_task

from campaigns.loyalty.ledger import expire_due_points
from campaigns.loyalty.tiers import settle_due_tiers
from tenancy.models import Project


@shared_task(name="campaigns.loyalty.tasks.expire_loyalty_points", queue="bulk")
def expire_loyalty_points() -> int:
    """Beat: expire due points and settle tiers whose guaranteed period ended, project by project.
    Safe to run twice or concurrently: cards are claimed with `FOR UPDATE SKIP LOCKED`."""
    expired = 0
    for project in Project.objects.order_by("pk"):
        expired += expire_due_points(project=project)
        settle_due_tiers(project=project)
    return expired
