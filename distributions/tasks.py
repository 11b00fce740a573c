from celery import shared_task

from distributions import sending, services
from distributions.selectors import distribution_get
from tenancy.models import Project


@shared_task(name="distributions.tasks.claim_due_distributions")
def claim_due_distributions() -> list[str]:
    """Beat: scheduled manual distributions whose send time has come move to `sending`, and each is
    handed to materialisation (the claim has committed when `distributions_claim_due` returns)."""
    claimed = services.distributions_claim_due()
    for distribution in claimed:
        materialise_distribution.delay(distribution.project_id, distribution.public_id)
    return [distribution.public_id for distribution in claimed]


@shared_task(name="distributions.tasks.materialise_distribution")
def materialise_distribution(project_id: int, public_id: str) -> dict[str, int]:
    """Resolve a claimed distribution's audience now and create its messages, in batches."""
    project = Project.objects.filter(pk=project_id).first()
    distribution = distribution_get(project=project, public_id=public_id) if project else None
    if distribution is None:
        return {}
    created = sending.distribution_materialise(project=project, distribution=distribution)
    distribution.refresh_from_db()
    sending.distribution_check_sent(project=project, distribution=distribution)
    return created


@shared_task(name="distributions.tasks.sweep_sending_distributions")
def sweep_sending_distributions() -> dict[str, list[str]]:
    """Beat: sending distributions become `sent` once every message had its first attempt; a
    materialisation that stalled (a killed worker) is handed over again."""
    return sending.distributions_sweep_sending()


@shared_task(name="distributions.tasks.end_closed_distributions")
def end_closed_distributions() -> list[str]:
    """Beat: live and paused automatic distributions whose time frame closed become `ended`."""
    return [distribution.public_id for distribution in services.distributions_end_closed()]
