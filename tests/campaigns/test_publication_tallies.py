"""Codes published and redeemed read from the publication tallies equal a direct count over the
publications and redemptions: across quarter hours and ranges that cut through them, when a code is
redeemed twice, before it was published, or its redemption is undone, compacted or not, and for two
projects side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.db.models import Count, Exists, OuterRef

from campaigns.models import Campaign, Publication, PublicationTally, Redemption, Voucher
from campaigns.tallies import campaign_published_counts, code_counts, publication_tallies_compact
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 52, 30, tzinfo=UTC)
FIRST, SECOND = 101, 102  # distribution ids (publications keep a plain id)
serial = count()


def counted(project, distribution_ids, since=None, until=None) -> dict[int, dict[str, int]]:
    """The direct count: what `code_counts` answered before the tallies."""
    publications = Publication.objects.for_project(project).filter(distribution_id__in=distribution_ids)
    if since is not None:
        publications = publications.filter(created_at__gte=since)
    if until is not None:
        publications = publications.filter(created_at__lt=until)
    redeemed = Redemption.objects.for_project(project).filter(
        voucher=OuterRef("voucher"), object="redemption", result="SUCCESS"
    )
    published = dict(
        publications.values("distribution_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("distribution_id", "n")
    )
    redeemed_counts = dict(
        publications.filter(Exists(redeemed))
        .values("distribution_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("distribution_id", "n")
    )
    return {d: {"published": n, "redeemed": redeemed_counts.get(d, 0)} for d, n in published.items()}


RANGES = [
    (None, None),
    (T0 - timedelta(days=1), T0 + timedelta(days=1)),
    (T0 - timedelta(minutes=3), T0 + timedelta(hours=1, minutes=1)),
    (T0 + timedelta(minutes=20), T0 + timedelta(minutes=24)),
    (T0 + timedelta(minutes=10), None),
]


def assert_tallies_equal_counts(project) -> None:
    for since, until in RANGES:
        assert code_counts(
            project=project, distribution_ids=[FIRST, SECOND], since=since, until=until
        ) == counted(project, [FIRST, SECOND], since, until), (since, until)
    campaigns = list(Campaign.objects.for_project(project).values_list("pk", flat=True))
    direct = dict(
        Publication.objects.for_project(project)
        .values("campaign_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("campaign_id", "n")
    )
    assert campaign_published_counts(project=project, campaign_ids=campaigns) == direct


def assert_equal_before_and_after_compaction(*projects) -> None:
    for project in projects:
        assert_tallies_equal_counts(project)
    publication_tallies_compact()
    assert not PublicationTally.objects.unscoped().filter(is_compact=False).exists()
    for project in projects:
        assert_tallies_equal_counts(project)


def publish(project, vouchers, distribution_id, at) -> None:
    Publication.objects.bulk_create(
        Publication(
            project=project,
            public_id=f"pub_t{next(serial)}",
            voucher=voucher,
            campaign_id=voucher.campaign_id,
            customer=CustomerFactory(project=project),
            distribution_id=distribution_id,
            cause_key=f"manual:{voucher.code}",
            created_at=at,
        )
        for voucher in vouchers
    )


def redeem(project, voucher, *, result="SUCCESS", at=T0) -> Redemption:
    return Redemption.objects.create(
        project=project,
        public_id=f"r_t{next(serial)}",
        result=result,
        status="SUCCEEDED" if result == "SUCCESS" else "FAILED",
        related_object_type="voucher",
        voucher=voucher,
        voucher_code=voucher.code,
        campaign_id=voucher.campaign_id,
        created_at=at,
    )


def codes(project, number) -> list[Voucher]:
    campaign = make_campaign(project, codes_count=number)
    return list(Voucher.objects.for_project(project).filter(campaign=campaign).order_by("pk"))


def test_published_and_redeemed_from_the_tallies_equal_a_direct_count(project, other_project):
    ours, theirs = codes(project, 8), codes(other_project, 3)
    # Given codes published over several quarter hours by two distributions, in two projects
    publish(project, ours[:3], FIRST, T0)
    publish(project, ours[3:5], FIRST, T0 + timedelta(minutes=22))
    publish(project, ours[5:7], SECOND, T0 + timedelta(hours=1))
    publish(other_project, theirs, FIRST, T0)
    assert_equal_before_and_after_compaction(project, other_project)

    # When codes are redeemed: one twice, one refused, one never published, one of the other project
    redeem(project, ours[0])
    redeem(project, ours[0])
    redeem(project, ours[1], result="FAILURE")
    redeem(project, ours[3])
    redeem(project, ours[7])
    redeem(other_project, theirs[2])

    # Then the tallies count each published code redeemed once, whatever the range
    assert_equal_before_and_after_compaction(project, other_project)
    assert code_counts(project=project, distribution_ids=[FIRST, SECOND]) == {
        FIRST: {"published": 5, "redeemed": 2},
        SECOND: {"published": 2, "redeemed": 0},
    }
    assert code_counts(project=other_project, distribution_ids=[FIRST, SECOND]) == {
        FIRST: {"published": 3, "redeemed": 1}
    }


def test_a_code_redeemed_before_it_was_published_counts_redeemed_once_published(project):
    [voucher] = codes(project, 1)
    redeem(project, voucher)

    publish(project, [voucher], FIRST, T0)

    assert code_counts(project=project, distribution_ids=[FIRST]) == {FIRST: {"published": 1, "redeemed": 1}}
    assert_equal_before_and_after_compaction(project)


def test_removing_or_refusing_the_last_successful_redemption_makes_the_code_unredeemed(project):
    first, second = codes(project, 2)
    publish(project, [first, second], FIRST, T0)
    one, two = redeem(project, first), redeem(project, first)
    only = redeem(project, second)
    publication_tallies_compact()

    Redemption.objects.for_project(project).filter(pk=one.pk).delete()  # the code keeps another
    assert code_counts(project=project, distribution_ids=[FIRST]) == {FIRST: {"published": 2, "redeemed": 2}}
    Redemption.objects.for_project(project).filter(pk__in=[two.pk, only.pk]).update(result="FAILURE")

    assert code_counts(project=project, distribution_ids=[FIRST]) == {FIRST: {"published": 2, "redeemed": 0}}
    assert_equal_before_and_after_compaction(project)


def test_a_deleted_code_leaves_the_counts_with_its_publication(project):
    vouchers = codes(project, 3)
    publish(project, vouchers, FIRST, T0)
    redeem(project, vouchers[0])
    publication_tallies_compact()

    Voucher.objects.for_project(project).filter(pk=vouchers[0].pk).delete()

    assert code_counts(project=project, distribution_ids=[FIRST]) == {FIRST: {"published": 2, "redeemed": 0}}
    assert_equal_before_and_after_compaction(project)
