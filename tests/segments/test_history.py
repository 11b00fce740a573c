"""Members over time: beat samples every segment's member count each hour, in one statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from segments.history import KEPT_FOR, segment_sizes, segment_sizes_record
from segments.models import Segment, SegmentSize
from tenancy.ids import new_public_id

pytestmark = pytest.mark.django_db


def make_segment(project, name: str, members: int, *, is_draft: bool = False) -> Segment:
    return Segment.objects.create(
        project=project,
        public_id=new_public_id("seg", 24),
        name=name,
        type=Segment.Type.STATIC,
        member_count=members,
        is_draft=is_draft,
    )


def test_each_hour_records_every_segments_count_and_the_chart_reads_them_back(
    project, other_project, django_assert_num_queries
):
    gold = make_segment(project, "Gold club", 40)
    make_segment(project, "Unsaved", 3, is_draft=True)
    rival = make_segment(other_project, "Rival's", 7)
    start = timezone.now() - timedelta(hours=2)

    with django_assert_num_queries(2):  # the samples, and the pruning of old ones
        assert segment_sizes_record(now=start) == 2
    Segment.objects.filter(pk=gold.pk).update(member_count=55)
    segment_sizes_record(now=start + timedelta(hours=1))
    gold.refresh_from_db()

    points = segment_sizes(project=project, segment=gold, since=start)
    assert [members for _, members in points] == [40, 55, 55]  # the last point is the count now
    assert [at for at, _ in points][:2] == [start, start + timedelta(hours=1)]
    # Another project's segment is sampled too, but never read through ours.
    assert segment_sizes(project=project, segment=rival, since=start)[:-1] == []
    assert not SegmentSize.objects.filter(segment__is_draft=True).exists()


def test_samples_older_than_a_year_are_dropped(project):
    gold = make_segment(project, "Gold club", 40)
    now = timezone.now()
    segment_sizes_record(now=now - KEPT_FOR - timedelta(hours=1))

    segment_sizes_record(now=now)

    assert list(SegmentSize.objects.filter(segment=gold).values_list("taken_at", flat=True)) == [now]
