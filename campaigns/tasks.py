from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from campaigns import tallies
from campaigns.models import CodeGenerationJob
from campaigns.services import code_generation_run

LEASE = timedelta(minutes=15)


@shared_task(name="campaigns.tasks.generate_campaign_codes")
def generate_campaign_codes(job_id: int) -> None:
    """Generate the codes of a code-generation job. A job is claimed with a conditional UPDATE (a lease),
    so a second delivery while it runs does nothing, and a run after it finished generates nothing more."""
    now = timezone.now()
    claimed = (
        CodeGenerationJob.objects.unscoped()
        .filter(pk=job_id, status=CodeGenerationJob.Status.IN_PROGRESS)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )
    if not claimed:
        return
    job = CodeGenerationJob.objects.unscoped().select_related("project").get(pk=job_id)
    code_generation_run(job=job)


@shared_task(name="campaigns.tasks.compact_publication_tallies")
def compact_publication_tallies() -> int:
    return tallies.publication_tallies_compact()
