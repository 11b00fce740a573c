import io

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, LoyaltyCard, Voucher
from customers.models import Customer, Order
from eventbus.models import DomainEvent
from segments.models import Segment, SegmentMember
from tenancy.models import ApiKey, Project


def seed(customers: int = 20) -> str:
    out = io.StringIO()
    call_command("seed_demo", customers=customers, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_builds_a_ready_demo_and_a_second_run_only_rotates_the_key():
    first = seed()
    project = Project.objects.get(slug="demo")
    counts = (
        Customer.objects.for_project(project).count(),
        Order.objects.for_project(project).count(),
        DomainEvent.objects.for_project(project).count(),
        Voucher.objects.for_project(project).count(),
    )

    second = seed()

    assert "Login: owner@demo.example / demo-owner-password" in first
    assert counts[0] == 20
    assert {c.name: c.vouchers_count for c in Campaign.objects.for_project(project)} == {
        "Welcome 10% off": 10_000,
        "Gift cards $25": 500,
        "Spend more, save more": 0,  # a promotion: tiers, no codes
        "Demo Rewards": 20,  # one loyalty card per member (every demo customer, here)
        "Demo Rewards coupons": 200,  # the pool a CAMPAIGN reward publishes from
        "Refer a friend": 20,
    }
    assert counts[3] == 10_740
    # The segments are synced by the seed itself, no worker needed; Gold club follows the loyalty tier.
    segments = {s.name: s for s in Segment.objects.for_project(project)}
    assert sorted(segments) == ["Almost Silver", "Big spenders", "Cart abandoners", "Gold club"]
    assert {s.status for s in segments.values()} == {Segment.Status.SYNCED}
    gold_members = set(
        LoyaltyCard.objects.for_project(project)
        .filter(tier__name="Gold")
        .values_list("customer_id", flat=True)
    )
    assert gold_members
    assert (
        set(
            SegmentMember.objects.for_project(project)
            .filter(segment=segments["Gold club"])
            .values_list("customer_id", flat=True)
        )
        == gold_members
    )
    assert "Segments: Gold club (" in first
    assert (
        Customer.objects.for_project(project).count(),
        Order.objects.for_project(project).count(),
        DomainEvent.objects.for_project(project).count(),
        Voucher.objects.for_project(project).count(),
    ) == counts
    assert "Campaigns added: none" in second
    printed_app_ids = [
        line.split(": ")[1] for line in (first + second).splitlines() if line.startswith("X-App-Id")
    ]
    active = ApiKey.objects.filter(project=project, revoked_at__isnull=True)
    assert [key.app_id for key in active] == [printed_app_ids[1]]
