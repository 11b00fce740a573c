"""`seed_redemptions`: demo history for redemptions, gift cards and referrals, written once."""

from __future__ import annotations

import pytest

from campaigns.demo_redemptions import seed_redemptions
from campaigns.models import Campaign, Redemption, Referral, Voucher
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(project):
    """What seed_demo leaves: its customers and its two campaigns (with fewer codes)."""
    for number in range(1, 21):
        CustomerFactory(project=project, source_id=f"demo-customer-{number:05d}")
    make_campaign(
        project,
        name="Welcome 10% off",
        codes_count=20,
        type="AUTO_UPDATE",
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 1},
        },
    )
    make_campaign(
        project,
        name="Gift cards $25",
        campaign_type="GIFT_VOUCHERS",
        codes_count=10,
        voucher={"type": "GIFT_VOUCHER", "gift": {"amount": 2500}},
    )
    return project


def test_seed_redemptions_writes_the_demo_history_once(demo):
    added = seed_redemptions(demo)
    state = (
        list(Redemption.objects.for_project(demo).order_by("pk").values_list("public_id", "status")),
        list(
            Voucher.objects.for_project(demo)
            .order_by("pk")
            .values_list("code", "redeemed_quantity", "gift_balance")
        ),
    )

    again = seed_redemptions(demo)

    assert added == {"redemptions": 10, "rollbacks": 1, "balance_moves": 2, "referrals": 2}
    assert again == {"redemptions": 0, "rollbacks": 0, "balance_moves": 0, "referrals": 0}
    assert state == (
        list(Redemption.objects.for_project(demo).order_by("pk").values_list("public_id", "status")),
        list(
            Voucher.objects.for_project(demo)
            .order_by("pk")
            .values_list("code", "redeemed_quantity", "gift_balance")
        ),
    )
    assert Campaign.objects.for_project(demo).filter(name="Refer a friend").count() == 1
    assert Referral.objects.for_project(demo).count() == 2
    balances = sorted(
        Voucher.objects.for_project(demo)
        .filter(type="GIFT_VOUCHER", gift_balance__lt=2500)
        .values_list("gift_balance", flat=True)
    )
    # 2,500 − 1,200 spent; 2,500 + 1,000 − 1,800 spent; 2,500 − 500 corrected.
    assert balances == [1300, 1700, 2000]
    statuses = (
        Redemption.objects.for_project(demo).filter(object="redemption").values_list("status", flat=True)
    )
    assert sorted(statuses).count("ROLLED_BACK") == 1


def test_seed_redemptions_waits_for_the_demo_campaigns(project):
    assert seed_redemptions(project) == {"redemptions": 0, "rollbacks": 0, "balance_moves": 0, "referrals": 0}
    assert not Redemption.objects.for_project(project).exists()
