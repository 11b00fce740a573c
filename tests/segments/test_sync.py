"""The set-based sync: statuses and progress, the baseline, differences announced exactly once, and
a sync interrupted mid-range that resumes without duplicate events."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from eventbus.models import DomainEvent
from segments import sync
from segments.models import Segment, SegmentSyncChange, SegmentSyncJob
from segments.services import segment_create, segment_update
from tests.segments.support import make_customer, members, segment_events

pytestmark = pytest.mark.django_db

ENTERED, LEFT = "customer.segment.entered", "customer.segment.left"


def level(value: str) -> dict:
    return {"metadata.level": {"conditions": {"$is": [value]}}}


@pytest.fixture
def people(project):
    """Twelve customers, so that a range size of 5 cuts a change of all twelve into three ranges of
    changes: c00..c03 are gold."""
    return [
        make_customer(project, f"c{i:02d}", metadata={"level": "gold" if i < 4 else "silver"})
        for i in range(12)
    ]


def latest_job(project, segment) -> SegmentSyncJob:
    return SegmentSyncJob.objects.for_project(project).filter(segment=segment).latest("pk")


def run(project, segment, **options) -> bool:
    return sync.sync_job_run(latest_job(project, segment).pk, range_size=5, **options)


def test_the_initial_sync_moves_in_progress_to_done_and_publishes_no_entered(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    assert (segment.initial_sync_status, segment.status, segment.sync_progress) == (
        "IN_PROGRESS",
        "syncing",
        0,
    )
    progress_seen = []

    finished = run(project, segment, on_range_applied=lambda job: progress_seen.append(job.progress))

    assert finished
    segment.refresh_from_db()
    assert (segment.initial_sync_status, segment.status, segment.sync_progress) == ("DONE", "synced", 100)
    assert segment.member_count == 4
    assert segment.synced_at is not None and segment.first_synced_at == segment.synced_at
    assert members(project, segment) == {"c00", "c01", "c02", "c03"}
    assert progress_seen == sorted(progress_seen) and 0 < progress_seen[0] < 100
    assert segment_events(project, ENTERED) == []  # the baseline
    synced = DomainEvent.objects.for_project(project).get(type="segment.synced")
    assert synced.data["is_initial"] is True and synced.data["member_count"] == 4


def test_a_resync_after_an_edit_announces_each_difference_once(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    run(project, segment)
    # c02, c03 stay; c00, c01 leave; c04, c05 enter.
    new_filter = {
        "metadata.level": {"conditions": {"$is": ["gold"]}},
        "source_id": {"conditions": {"$not_in": ["c00", "c01"]}},
    }
    for customer in people[4:6]:
        customer.metadata = {"level": "gold"}
        customer.save()

    segment_update(project=project, segment=segment, filter=new_filter)
    assert run(project, segment)

    assert members(project, segment) == {"c02", "c03", "c04", "c05"}
    assert segment_events(project, ENTERED, segment) == ["c04", "c05"]
    assert segment_events(project, LEFT, segment) == ["c00", "c01"]
    segment.refresh_from_db()
    assert segment.member_count == 4
    entered = DomainEvent.objects.for_project(project).filter(type=ENTERED).first()
    assert entered.refs == {"segment": segment.public_id}
    assert entered.data["segment"] == {"id": segment.public_id, "name": "Gold", "type": "auto-update"}

    # A finished job cannot be claimed again, and a fresh re-sync finds nothing to announce.
    assert not sync.sync_job_run(latest_job(project, segment).pk)
    sync.sync_job_create(project=project, segment=segment)
    assert run(project, segment)
    assert len(segment_events(project, ENTERED)) == 2 and len(segment_events(project, LEFT)) == 2


def test_a_passive_segment_keeps_members_but_announces_nothing(project, people):
    segment = segment_create(project=project, name="Gold", type="passive", filter=level("gold"))
    run(project, segment)
    segment_update(project=project, segment=segment, filter=level("silver"))
    run(project, segment)

    assert members(project, segment) == {f"c{i:02d}" for i in range(4, 12)}
    assert segment_events(project, ENTERED) == [] and segment_events(project, LEFT) == []


class WorkerDied(BaseException):
    """Raised inside a range's transaction, as a killed worker would stop: nothing after it runs."""


def test_a_sync_interrupted_mid_range_resumes_without_duplicate_events(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    run(project, segment)
    segment_update(project=project, segment=segment, filter=level("silver"))
    ranges = []

    def die_in_the_second_range(job):
        ranges.append(job.next_customer_id)
        if len(ranges) == 2:
            raise WorkerDied

    start = timezone.now()
    with time_machine.travel(start, tick=False), pytest.raises(WorkerDied):
        run(project, segment, on_range_applied=die_in_the_second_range)

    job = latest_job(project, segment)
    assert job.status == "running"
    # The first range committed with its events; the second rolled back with its cursor.
    assert job.next_customer_id == ranges[0]
    announced_before = segment_events(project, ENTERED) + segment_events(project, LEFT)
    assert announced_before and len(announced_before) < 12
    # While the dead worker's lease lasts nobody else takes the job; after it runs out, one does.
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert not run(project, segment)
    with time_machine.travel(start + sync.LEASE + timedelta(seconds=1), tick=False):
        assert sync.stalled_job_ids() == [job.pk]
        assert run(project, segment)

    assert members(project, segment) == {f"c{i:02d}" for i in range(4, 12)}
    assert segment_events(project, ENTERED) == [f"c{i:02d}" for i in range(4, 12)]
    assert segment_events(project, LEFT) == ["c00", "c01", "c02", "c03"]


def test_a_resync_works_through_only_the_customers_whose_membership_differs(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    assert run(project, segment)
    segment.refresh_from_db()
    people[0].metadata = {"level": "silver"}
    people[5].metadata = {"level": "gold"}
    for person in (people[0], people[5]):
        person.save(update_fields=["metadata"])

    with transaction.atomic():
        sync.sync_job_create(project=project, segment=segment)
    assert run(project, segment)

    job = latest_job(project, segment)
    assert (job.range_ends, job.entered_count, job.left_count) == ([people[5].pk], 1, 1)
    assert segment_events(project, ENTERED) == ["c05"]
    assert segment_events(project, LEFT) == ["c00"]
    assert not SegmentSyncChange.objects.for_project(project).exists()  # the work list is gone


def test_a_change_undone_before_its_range_is_applied_is_neither_applied_nor_announced(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    assert run(project, segment)
    segment.refresh_from_db()
    people[0].metadata = {"level": "silver"}
    people[5].metadata = {"level": "gold"}
    for person in (people[0], people[5]):
        person.save(update_fields=["metadata"])
    with transaction.atomic():
        sync.sync_job_create(project=project, segment=segment)

    def c05_changes_back(job):  # after the diff, while the range of c00 is applied
        if job.next_customer_id == people[0].pk + 1:
            Customer.objects.filter(pk=people[5].pk).update(metadata={"level": "silver"})

    assert sync.sync_job_run(latest_job(project, segment).pk, range_size=1, on_range_applied=c05_changes_back)

    assert members(project, segment) == {"c01", "c02", "c03"}
    assert segment_events(project, ENTERED) == []
    assert segment_events(project, LEFT) == ["c00"]


def test_an_edit_supersedes_a_running_sync(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    first_job = latest_job(project, segment)

    def edit_midway(job):  # the four gold customers enter in two ranges of two
        if job.next_customer_id - job.first_customer_id == 2:
            segment_update(
                project=project, segment=Segment.objects.get(pk=segment.pk), filter=level("silver")
            )

    assert not sync.sync_job_run(first_job.pk, range_size=2, on_range_applied=edit_midway)
    first_job.refresh_from_db()
    assert first_job.status == "superseded"
    assert run(project, segment)
    segment.refresh_from_db()
    assert segment.initial_sync_status == "DONE"
    assert members(project, segment) == {f"c{i:02d}" for i in range(4, 12)}
    assert segment_events(project, ENTERED) == []  # both jobs were the baseline


def test_time_dependent_segments_are_resynced_by_the_beat_task(project, people):
    from segments.tasks import resync_time_dependent_segments

    recent = {"created_at": {"conditions": {"$less_than_ago": [1]}}}
    segment = segment_create(project=project, name="New", type="auto-update", filter=recent)
    static = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    run(project, segment)
    run(project, static)

    assert resync_time_dependent_segments() == 1
    assert latest_job(project, segment).status == "pending"
    assert latest_job(project, static).status == "done"


def test_a_filter_that_no_longer_compiles_stops_its_sync_and_is_flagged(project, people):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))
    # As if the app that registered a field family were removed after the segment was saved.
    Segment.objects.for_project(project).filter(pk=segment.pk).update(
        filter={"retired_family.points": {"conditions": {"$more_than": [1]}}}
    )

    assert not run(project, segment)

    segment.refresh_from_db()
    assert segment.is_filter_valid is False
    assert latest_job(project, segment).status == "done"
    assert members(project, segment) == set()


def test_ranges_hold_the_projects_customers_only_however_they_interleave_with_others(project, other_project):
    for i in range(6):
        make_customer(project, f"ours{i}", metadata={"level": "gold"})
        make_customer(other_project, f"theirs{i}", metadata={"level": "gold"})
    segment = segment_create(project=project, name="Gold", type="passive", filter=level("gold"))

    assert sync.sync_job_run(latest_job(project, segment).pk, range_size=2)

    job = latest_job(project, segment)
    assert len(job.range_ends) == 3
    assert members(project, segment) == {f"ours{i}" for i in range(6)}


def test_a_project_without_customers_syncs_to_an_empty_segment(project):
    segment = segment_create(project=project, name="Gold", type="auto-update", filter=level("gold"))

    assert run(project, segment)

    segment.refresh_from_db()
    assert (segment.initial_sync_status, segment.member_count, latest_job(project, segment).range_ends) == (
        "DONE",
        0,
        [],
    )
