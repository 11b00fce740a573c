"""`customer_summaries`: the redemption and referral parts of Voucherify's customer object."""

from __future__ import annotations

import pytest
from voucherify.models import CustomerLoyalty, CustomerReferrals, CustomerSummaryRedemptions

from campaigns.customer_summaries import customer_summaries
from customers.models import Customer
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import redeem

pytestmark = pytest.mark.django_db


def test_a_customers_redemptions_gift_credits_and_referrals_are_summarised(
    api, project, django_assert_num_queries
):
    make_campaign(
        project,
        name="Welcome",
        codes_count=2,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 1},
        },
    )
    make_campaign(project, name="Cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    make_campaign(project, name="Friends", campaign_type="REFERRAL_PROGRAM", codes_count=1)

    def publish(campaign, customer):
        return api.post(
            "/v1/publications",
            {"customer": {"source_id": customer}, "campaign": {"name": campaign}},
            format="json",
        ).json()["voucher"]["code"]

    first, second, card, referral = (
        publish("Welcome", "bob"),
        publish("Welcome", "bob"),
        publish("Cards", "bob"),
        publish("Friends", "alice"),
    )
    redeem(api, first, customer={"source_id": "bob"})
    redeem(api, first, customer={"source_id": "bob"})  # refused: used
    rolled = redeem(api, second, customer={"source_id": "bob"}).json()["redemptions"][0]["id"]
    api.post(f"/v1/redemptions/{rolled}/rollback")
    redeem(api, card, customer={"source_id": "bob"}, credits=300)
    redeem(api, referral, customer={"source_id": "bob"})
    alice, bob = (Customer.objects.for_project(project).get(source_id=s) for s in ("alice", "bob"))

    with django_assert_num_queries(1):
        summaries = customer_summaries(project=project, customer_ids=[alice.pk, bob.pk])

    assert summaries[bob.pk]["redemptions"] == {
        "total_redeemed": 5,
        "total_failed": 1,
        "total_succeeded": 4,
        "total_rolled_back": 1,
        "total_rollback_failed": 0,
        "total_rollback_succeeded": 1,
        "gift": {"redeemed_amount": 300, "amount_to_go": 700},
        "loyalty_card": {"redeemed_points": 0, "points_to_go": 0},
    }
    assert summaries[bob.pk]["referrals"]["total"] == 1
    assert summaries[alice.pk]["referred_customers"] == 1
    assert summaries[alice.pk]["redemptions"]["total_redeemed"] == 0
    # The SDK parses every part.
    CustomerSummaryRedemptions.from_dict(summaries[bob.pk]["redemptions"])
    CustomerReferrals.from_dict(summaries[bob.pk]["referrals"])
    CustomerLoyalty.from_dict({"points": 0, "referred_customers": summaries[alice.pk]["referred_customers"]})
