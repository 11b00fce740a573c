"""The beat entries reach a real worker: the sweep task is registered, routed to queue
`distributions`, and claims a due distribution there."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import setup_logging

from config.celery import app
from distributions import services
from distributions.models import Distribution
from tests.campaigns.factories import make_campaign
from tests.distributions.support import manual_publish_codes
from tests.eventbus.conftest import wait_until
from tests.factories import CustomerFactory

DISTRIBUTION_TASKS = {
    entry["task"] for entry in app.conf.beat_schedule.values() if entry["task"].startswith("distributions.")
}


def _leave_logging_alone(**kwargs) -> None:
    """Its presence stops Celery from reconfiguring the root logger."""


def test_the_beat_schedule_names_registered_distribution_tasks_on_the_distributions_queue():
    app.loader.import_default_modules()

    assert DISTRIBUTION_TASKS == {
        "distributions.tasks.claim_due_distributions",
        "distributions.tasks.end_closed_distributions",
        "distributions.tasks.sweep_sending_distributions",
    }
    for name in DISTRIBUTION_TASKS:
        assert name in app.tasks
        assert app.amqp.router.route({}, name)["queue"].name == "distributions"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_worker_running_the_beat_task_claims_the_due_distribution(project):
    CustomerFactory(project=project, source_id="ada")
    make_campaign(project, name="Summer", codes_count=1)
    distribution = services.distribution_create(project=project, fields=manual_publish_codes("ada", "Summer"))
    services.distribution_send(project=project, distribution=distribution)
    Distribution.objects.for_project(project).filter(pk=distribution.pk).update(
        send_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    setup_logging.connect(_leave_logging_alone, weak=False)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("distributions")
    try:
        with start_worker(
            app, pool="threads", concurrency=1, queues=["distributions"], perform_ping_check=False
        ):
            # what beat does: send the task by name; routing picks the queue
            app.send_task("distributions.tasks.claim_due_distributions")

            # Until the materialisation the claim starts is done too: a worker stopped in the middle
            # of it would hold locks that the test database's flush then deadlocks on.
            claimed = wait_until(
                lambda: (
                    Distribution.objects.for_project(project)
                    .filter(pk=distribution.pk, status="sending", materialised_at__isnull=False)
                    .first()
                ),
                what="the worker to claim and materialise the distribution",
            )
    finally:
        setup_logging.disconnect(_leave_logging_alone)

    assert claimed.sending_started_at is not None
