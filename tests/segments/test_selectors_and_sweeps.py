"""What other apps read (membership for validation rules and audiences) and the beat sweeps."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from customers.models import Customer
from segments import sync
from segments.models import Segment, SegmentSyncJob
from segments.selectors import segment_ids_of_customer, segment_member_ids, segments_listed
from segments.services import segment_create, segment_keep_draft
from segments.tasks import purge_abandoned_drafts, resume_stalled_syncs
from tests.segments.support import make_customer

pytestmark = pytest.mark.django_db


def test_segment_ids_of_customer_reads_membership(project, other_project):
    ada = make_customer(project, "ada")
    make_customer(project, "bob")
    vips = segment_create(project=project, name="VIPs", type="static", customers=["ada"])
    both = segment_create(project=project, name="Both", type="static", customers=["ada", "bob"])
    segment_create(project=project, name="Bob only", type="static", customers=["bob"])
    twin = make_customer(other_project, "ada")
    segment_create(project=other_project, name="Theirs", type="static", customers=[twin.public_id])

    assert segment_ids_of_customer(project=project, customer=ada) == {vips.public_id, both.public_id}


def test_segment_member_ids_is_a_subquery_for_audiences(project):
    for name in ("ada", "bob", "cyd"):
        make_customer(project, name)
    vips = segment_create(project=project, name="VIPs", type="static", customers=["ada", "cyd"])

    audience = Customer.objects.for_project(project).filter(
        pk__in=segment_member_ids(project=project, segment=vips)
    )

    assert sorted(audience.values_list("source_id", flat=True)) == ["ada", "cyd"]


def test_drafts_stay_hidden_until_kept_and_are_purged_after_a_day(project):
    make_customer(project, "ada")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        kept = segment_create(project=project, name="Kept", type="static", customers=["ada"], is_draft=True)
        abandoned = segment_create(project=project, name="Abandoned", type="static", is_draft=True)
    assert list(segments_listed(project=project)) == []

    segment_keep_draft(project=project, segment=kept)
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert purge_abandoned_drafts() == 0
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        assert purge_abandoned_drafts() == 1

    assert list(segments_listed(project=project)) == [kept]
    assert not Segment.objects.for_project(project).filter(pk=abandoned.pk).exists()


def test_the_sweep_re_enqueues_jobs_whose_enqueue_was_lost_or_whose_worker_died(project, monkeypatch):
    from segments import tasks

    make_customer(project, "ada")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        segment = segment_create(
            project=project, name="Gold", type="passive", filter={"name": {"conditions": {"$is": "Ada"}}}
        )
    job = SegmentSyncJob.objects.for_project(project).get(segment=segment)
    enqueued: list[list[int]] = []
    monkeypatch.setattr(tasks.sync_segment, "apply_async", lambda args, **kwargs: enqueued.append(args))

    with time_machine.travel(start + timedelta(seconds=10), tick=False):
        assert resume_stalled_syncs() == 0  # too fresh: its own enqueue may still be on the way
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert resume_stalled_syncs() == 1
    assert enqueued == [[job.pk]]

    assert sync.sync_job_run(job.pk)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert resume_stalled_syncs() == 0  # done
