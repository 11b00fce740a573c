import pytest

from segments.demo import DEMO_SEGMENTS, seed_segments
from segments.models import Segment

pytestmark = pytest.mark.django_db


def test_seed_segments_is_idempotent_and_every_demo_filter_compiles(project):
    first = seed_segments(project)
    again = seed_segments(project)

    assert [segment.pk for segment in again] == [segment.pk for segment in first]
    assert sorted(Segment.objects.for_project(project).values_list("name", flat=True)) == sorted(
        spec["name"] for spec in DEMO_SEGMENTS
    )
    assert all(segment.initial_sync_status == "IN_PROGRESS" for segment in first)
