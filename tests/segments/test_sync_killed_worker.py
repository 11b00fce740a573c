"""A sync worker killed (SIGKILL) in the middle of a range: the range rolls back in PostgreSQL, the
job is claimed again once the dead worker's lease runs out, and every change is announced once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from segments import sync
from segments.models import SegmentSyncJob
from segments.services import segment_create, segment_update
from tests.segments.support import make_customer, members, segment_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]

WORKER = textwrap.dedent(
    """
    import os, signal, sys
    import django
    django.setup()
    from segments import sync

    ranges = []

    def die_in_the_second_range(job):
        ranges.append(job.next_customer_id)
        if len(ranges) == 2:  # changes of this range written, not committed
            os.kill(os.getpid(), signal.SIGKILL)

    sync.sync_job_run(int(sys.argv[1]), range_size=5, on_range_applied=die_in_the_second_range)
    """
)


def run_worker_process(job_id: int) -> int:
    database = connection.settings_dict
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    }
    finished = subprocess.run(
        [sys.executable, "-c", WORKER, str(job_id)], env=environment, timeout=60, capture_output=True
    )
    return finished.returncode


def test_a_killed_worker_loses_only_its_uncommitted_range_and_the_rerun_announces_each_change_once(project):
    for i in range(12):
        make_customer(project, f"c{i:02d}", metadata={"level": "gold" if i < 4 else "silver"})
    segment = segment_create(
        project=project,
        name="Gold",
        type="auto-update",
        filter={"metadata.level": {"conditions": {"$is": ["gold"]}}},
    )
    sync.sync_job_run(SegmentSyncJob.objects.for_project(project).get(segment=segment).pk)
    segment_update(
        project=project, segment=segment, filter={"metadata.level": {"conditions": {"$is": ["silver"]}}}
    )
    job = SegmentSyncJob.objects.for_project(project).filter(segment=segment).latest("pk")

    assert run_worker_process(job.pk) == -9

    job.refresh_from_db()
    assert job.status == "running"
    assert job.next_customer_id == job.first_customer_id + 5  # only the first range committed
    with time_machine.travel(timezone.now() + sync.LEASE + timedelta(seconds=1), tick=False):
        assert sync.sync_job_run(job.pk, range_size=5)

    assert members(project, segment) == {f"c{i:02d}" for i in range(4, 12)}
    assert segment_events(project, "customer.segment.entered") == [f"c{i:02d}" for i in range(4, 12)]
    assert segment_events(project, "customer.segment.left") == ["c00", "c01", "c02", "c03"]
