"""Across processes: a real Celery worker consuming `events` and `bulk` from real Redis. A paid order
earns points through the handler; the expiry job, routed to `bulk`, expires them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest

from campaigns.loyalty.ledger import balance_update
from campaigns.loyalty.tasks import expire_loyalty_points
from campaigns.models import LoyaltyCard
from config.celery import app
from eventbus.models import DomainEvent
from tests.campaigns.loyalty.support import api_join, make_program
from tests.eventbus.conftest import wait_until
from tests.support.workers import running_worker as shared_running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextmanager
def running_worker(queues: list[str]) -> Iterator[None]:
    with shared_running_worker(queues, concurrency=1):
        yield


def test_beat_runs_the_expiry_task_on_the_bulk_queue():
    entry = app.conf.beat_schedule["expire-loyalty-points"]
    assert entry["task"] == expire_loyalty_points.name
    assert entry["options"]["queue"] == expire_loyalty_points.queue == "bulk"


def test_a_paid_order_earns_points_through_the_worker_and_the_expiry_job_expires_them(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    api.post(
        f"/v1/loyalties/{program.public_id}/earning-rules",
        [{"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 30}}],
        format="json",
    )
    card = LoyaltyCard.objects.for_project(project).get(voucher__code=code)
    balance_update(
        project=project,
        card_id=card.pk,
        points=5,
        expiration_type="CUSTOM_DATE",
        expiration_date=date(2000, 1, 1),
    )

    with running_worker(["events", "bulk"]):
        api.post(
            "/v1/orders", {"status": "PAID", "amount": 100, "customer": {"source_id": "ann"}}, format="json"
        )
        rewarded = wait_until(
            lambda: (
                DomainEvent.objects.for_project(project)
                .filter(type="customer.rewarded.loyalty_points")
                .first()
            ),
            timeout=20,
            what="the earning rule's reward",
        )
        expire_loyalty_points.delay()
        expired = wait_until(
            lambda: (
                DomainEvent.objects.for_project(project)
                .filter(type="customer.voucher.loyalty_card.points_expired")
                .first()
            ),
            timeout=20,
            what="the expiry job",
        )

    assert rewarded.data["points"] == 30
    assert expired.data["points"] == 5
    card.voucher.refresh_from_db()
    assert card.voucher.loyalty_balance == 30 and card.voucher.loyalty_points == 35
