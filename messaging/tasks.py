"""Delivery tasks (one per channel queue, routed by name in config/celery.py) and the beat sweeps."""

from celery import shared_task

from messaging import delivery, sweeps, tallies


def _deliver(project_id: int, channel: str, message_ids: list[int]) -> dict[str, int]:
    report = delivery.messages_deliver_turn(project_id=project_id, channel=channel, message_ids=message_ids)
    return vars(report)


@shared_task(name="messaging.tasks.deliver_webhook")
def deliver_webhook(project_id: int, channel: str, message_ids: list[int]) -> dict[str, int]:
    return _deliver(project_id, channel, message_ids)


@shared_task(name="messaging.tasks.deliver_email")
def deliver_email(project_id: int, channel: str, message_ids: list[int]) -> dict[str, int]:
    return _deliver(project_id, channel, message_ids)


@shared_task(name="messaging.tasks.deliver_sms")
def deliver_sms(project_id: int, channel: str, message_ids: list[int]) -> dict[str, int]:
    return _deliver(project_id, channel, message_ids)


@shared_task(name="messaging.tasks.deliver_integration")
def deliver_integration(project_id: int, channel: str, message_ids: list[int]) -> dict[str, int]:
    return _deliver(project_id, channel, message_ids)


@shared_task(name="messaging.tasks.sweep_messages")
def sweep_messages() -> dict[str, int]:
    return sweeps.messages_sweep()


@shared_task(name="messaging.tasks.compact_tallies")
def compact_tallies() -> dict[str, int]:
    return tallies.tallies_compact()
