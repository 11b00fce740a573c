"""Two workers re-checking the same customer at once (two events of theirs dispatched in parallel)
change the membership once and announce it once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from eventbus.cause import INTERNAL
from segments import sync
from segments.models import SegmentSyncJob
from segments.realtime import customer_recheck
from segments.services import segment_create
from tests.segments.support import make_customer, members, segment_events

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_rechecks_of_one_customer_announce_one_entered(project):
    segment = segment_create(
        project=project,
        name="Gold",
        type="auto-update",
        filter={"metadata.level": {"conditions": {"$is": "gold"}}},
    )
    sync.sync_job_run(SegmentSyncJob.objects.for_project(project).get(segment=segment).pk)
    ada = make_customer(project, "ada", metadata={"level": "gold"})  # arrived after the baseline
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def recheck() -> None:
        try:
            start.wait()
            with transaction.atomic():
                customer_recheck(project=project, customer_id=ada.pk, cause=INTERNAL)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=recheck) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert members(project, segment) == {"ada"}
    assert segment_events(project, "customer.segment.entered") == ["ada"]
