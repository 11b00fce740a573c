"""End to end with a real Celery worker on queues `segments` and `events`: a segment created through
the API syncs on the worker, and an order posted afterwards moves a customer in, announced once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from segments.models import Segment
from tests.eventbus.conftest import wait_until
from tests.segments.support import make_customer, members, segment_events
from tests.support.workers import running_worker as shared_running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextmanager
def running_worker() -> Iterator[None]:
    with shared_running_worker(["segments", "events"], concurrency=1):
        yield


def test_a_segment_syncs_on_the_worker_and_then_follows_orders_in_real_time(api, project):
    make_customer(project, "ada", orders_total_amount=50000, orders_count=1)
    make_customer(project, "bob")
    big_spenders = {"summary.orders.total_amount": {"conditions": {"$more_than": [10000]}}}

    with running_worker():
        created = api.post(
            "/v1/segments",
            {"name": "Big spenders", "type": "auto-update", "filter": big_spenders},
            format="json",
        ).json()
        assert created["initial_sync_status"] == "IN_PROGRESS"
        segment = Segment.objects.for_project(project).get(public_id=created["id"])

        def synced():
            body = api.get(f"/v1/segments/{segment.public_id}").json()
            return body["initial_sync_status"] == "DONE" and body

        body = wait_until(synced, timeout=20, what="the worker to finish the initial sync")
        assert body["sync"] == {
            "status": "synced",
            "progress": 100,
            "synced_at": body["sync"]["synced_at"],
            "members_count": 1,
        }

        response = api.post(
            "/v1/orders", {"amount": 20000, "status": "PAID", "customer": {"source_id": "bob"}}, format="json"
        )
        assert response.status_code in (200, 201)
        wait_until(lambda: segment_events(project, "customer.segment.entered"), what="bob to enter")

    assert members(project, segment) == {"ada", "bob"}
    assert segment_events(project, "customer.segment.entered") == ["bob"]  # ada was the baseline
