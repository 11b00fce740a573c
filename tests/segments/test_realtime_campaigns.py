"""Real-time membership on the campaigns' events: loyalty points and tiers moved by the loyalty
services, redemptions and rollbacks by the redemption services, each re-checking the customer through
the real event bus dispatch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.loyalty.ledger import balance_update, expire_due_points
from campaigns.models import LoyaltyTier, Voucher
from campaigns.redeemables import Redeemable
from campaigns.redemptions import redemption_redeem, redemption_rollback
from customers.models import Customer
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import MONTHLY_EXPIRY, join, make_program
from tests.segments.support import make_customer, members, segment_events
from tests.segments.test_realtime import _dispatch_pending, synced_segment

pytestmark = pytest.mark.django_db

ENTERED, LEFT = "customer.segment.entered", "customer.segment.left"


@pytest.fixture
def dispatch_pending(django_capture_on_commit_callbacks):
    def run(project) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            _dispatch_pending(project)

    return run


def test_crossing_a_points_threshold_enters_once_and_a_tier_change_is_seen(dispatch_pending, project):
    club = make_program(project, name="Club", tiers=[("Silver", 0, 999), ("Gold", 1000, None)])
    gold = LoyaltyTier.objects.for_project(project).get(campaign=club, name="Gold")
    card = join(project, club, make_customer(project, "ada"))
    dispatch_pending(project)
    rich = synced_segment(
        project,
        name="Rich",
        type="auto-update",
        filter={"loyalty_points.campaigns.Club.points": {"conditions": {"$more_than_equal": [500]}}},
    )
    gold_club = synced_segment(
        project,
        name="Gold club",
        type="auto-update",
        filter={"loyalty_tier.campaigns.Club.tier": {"conditions": {"$is": [gold.public_id]}}},
    )

    balance_update(project=project, card_id=card.pk, points=300)
    dispatch_pending(project)
    assert members(project, rich) == set()

    balance_update(project=project, card_id=card.pk, points=300)  # 600: over the threshold
    dispatch_pending(project)
    balance_update(project=project, card_id=card.pk, points=100)  # still over it
    dispatch_pending(project)

    assert members(project, rich) == {"ada"}
    assert segment_events(project, ENTERED, rich) == ["ada"]
    assert members(project, gold_club) == set()

    balance_update(project=project, card_id=card.pk, points=400)  # 1,100: tier Gold
    dispatch_pending(project)

    assert members(project, gold_club) == {"ada"}
    assert segment_events(project, ENTERED, gold_club) == ["ada"]

    # Taking points publishes no points event of its own; the tier move it causes re-checks her.
    balance_update(project=project, card_id=card.pk, points=-1000)  # 100: back to Silver
    dispatch_pending(project)

    assert members(project, gold_club) == set()
    assert members(project, rich) == set()
    assert segment_events(project, LEFT, gold_club) == ["ada"]
    assert segment_events(project, LEFT, rich) == ["ada"]
    assert segment_events(project, ENTERED, rich) == ["ada"]


def test_joining_a_program_with_tiers_is_seen_by_filters_on_its_points(dispatch_pending, project):
    club = make_program(project, name="Club", points=50, tiers=[("Bronze", 0, 999)])
    ada = make_customer(project, "ada")
    members_segment = synced_segment(
        project,
        name="Members",
        type="auto-update",
        filter={"loyalty_points.campaigns.Club.points": {"conditions": {"$has_value": []}}},
    )

    join(project, club, ada)
    dispatch_pending(project)

    assert members(project, members_segment) == {"ada"}
    assert segment_events(project, ENTERED, members_segment) == ["ada"]


def test_redemptions_and_their_rollback_re_check_the_customer(dispatch_pending, project):
    make_campaign(
        project,
        name="Twice",
        codes_count=1,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 5},
        },
    )
    code = Voucher.objects.for_project(project).get().code
    make_customer(project, "ada")
    loyal = synced_segment(
        project,
        name="Redeemed twice",
        type="auto-update",
        filter={"summary.redemptions.total_redeemed": {"conditions": {"$more_than_equal": [2]}}},
    )
    regretful = synced_segment(
        project,
        name="Rolled back",
        type="auto-update",
        filter={"summary.redemptions.total_rolled_back": {"conditions": {"$more_than": [0]}}},
    )

    def redeem():
        return redemption_redeem(
            project=project, redeemables=[Redeemable("voucher", code)], customer_fields={"source_id": "ada"}
        ).redemptions[0]

    redeem()
    dispatch_pending(project)
    assert members(project, loyal) == set()
    second = redeem()
    dispatch_pending(project)
    redeem()
    dispatch_pending(project)

    assert members(project, loyal) == {"ada"}
    assert segment_events(project, ENTERED, loyal) == ["ada"]

    redemption_rollback(project=project, redemption=second)
    dispatch_pending(project)

    assert members(project, regretful) == {"ada"}
    assert segment_events(project, ENTERED, regretful) == ["ada"]
    assert members(project, loyal) == {"ada"}  # a rolled back redemption was still redeemed
    assert Customer.objects.for_project(project).count() == 1


def test_points_expiring_below_the_threshold_publish_one_left(dispatch_pending, project):
    club = make_program(project, name="Club", expiration_rules=MONTHLY_EXPIRY)
    with time_machine.travel(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), tick=False):
        card = join(project, club, make_customer(project, "ada"))
        balance_update(project=project, card_id=card.pk, points=600)
        balance_update(project=project, card_id=card.pk, points=50, expiration_type="NON_EXPIRING")
        rich = synced_segment(
            project,
            name="Rich",
            type="auto-update",
            filter={"loyalty_points.campaigns.Club.points": {"conditions": {"$more_than_equal": [500]}}},
        )
        dispatch_pending(project)
        assert members(project, rich) == {"ada"}

    with time_machine.travel(datetime(2026, 6, 1, 3, 0, tzinfo=UTC), tick=False):
        assert expire_due_points(project=project) == 600
        dispatch_pending(project)

    assert members(project, rich) == set()
    assert segment_events(project, LEFT, rich) == ["ada"]
