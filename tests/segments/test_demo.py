import pytest

from campaigns.demo_loyalty import seed_loyalty
from campaigns.models import LoyaltyCard, LoyaltyTier
from segments.demo import DEMO_SEGMENTS, seed_segments
from segments.models import Segment, SegmentMember, SegmentSyncJob
from tests.segments.support import make_customer

pytestmark = pytest.mark.django_db


def test_seed_segments_is_idempotent_and_leaves_every_segment_synced_without_a_worker(project):
    first = seed_segments(project)
    again = seed_segments(project)

    assert [segment.pk for segment in again] == [segment.pk for segment in first]
    assert sorted(Segment.objects.for_project(project).values_list("name", flat=True)) == sorted(
        spec["name"] for spec in DEMO_SEGMENTS
    )
    assert {(s.initial_sync_status, s.status) for s in first} == {("DONE", Segment.Status.SYNCED)}
    assert not SegmentSyncJob.objects.for_project(project).exclude(status=SegmentSyncJob.Status.DONE).exists()


def test_the_gold_club_holds_the_gold_members_of_the_demo_loyalty_program(project):
    for number in range(1, 21):
        make_customer(project, f"demo-customer-{number:05d}")
    seed_loyalty(project)

    segments = {segment.name: segment for segment in seed_segments(project)}

    gold = LoyaltyTier.objects.for_project(project).get(campaign__name="Demo Rewards", name="Gold")
    gold_members = set(
        LoyaltyCard.objects.for_project(project).filter(tier=gold).values_list("customer_id", flat=True)
    )
    assert gold_members  # the demo's points reach Gold for some members
    assert (
        set(
            SegmentMember.objects.for_project(project)
            .filter(segment=segments["Gold club"])
            .values_list("customer_id", flat=True)
        )
        == gold_members
    )
    assert segments["Gold club"].member_count == len(gold_members)
    assert segments["Almost Silver"].status == Segment.Status.SYNCED
