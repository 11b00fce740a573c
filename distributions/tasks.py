from celery import shared_task

from distributions import services


@shared_task(name="distributions.tasks.claim_due_distributions")
def claim_due_distributions() -> list[str]:
    """Beat: scheduled manual distributions whose send time has come move to `sending`.

    Materialisation plugs in here after the merge: for each claimed distribution, enqueue the
    messaging app's materialisation (audience resolved now, messages inserted in batches) on
    commit of the claim, which `distributions_claim_due` has already done when it returns.
    """
    return [distribution.public_id for distribution in services.distributions_claim_due()]


@shared_task(name="distributions.tasks.end_closed_distributions")
def end_closed_distributions() -> list[str]:
    """Beat: live and paused automatic distributions whose time frame closed become `ended`."""
    return [distribution.public_id for distribution in services.distributions_end_closed()]
