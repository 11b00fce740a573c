"""Promotion tiers as redeemables: `{"object": "promotion_tier", "id": "promo_…"}` in POST
/v1/redemptions is checked (tier and campaign active, dates, validation rules), moves the tier's
summary, publishes `customer.redemption.succeeded` once, and rolls back with its summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import PromotionTier, Redemption, Voucher
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import only_a_failed_redemption, redeem
from tests.campaigns.rules_support import order_over

pytestmark = pytest.mark.django_db


def redeem_tier(api, tier_id: str, **body: Any):
    return api.post(
        "/v1/redemptions",
        {"redeemables": [{"object": "promotion_tier", "id": tier_id}], **body},
        format="json",
    )


def _a_code(project) -> str:
    """A 10%-off code, usable any number of times."""
    campaign = make_campaign(project, name="Codes", codes_count=1)
    return Voucher.objects.for_project(project).get(campaign=campaign).code


def summary_of(project, tier_id: str) -> tuple[int, int, int]:
    tier = PromotionTier.objects.for_project(project).get(public_id=tier_id)
    return (tier.redeemed_count, tier.orders_total_amount, tier.orders_total_discount_amount)


@pytest.fixture
def over_50(api) -> str:
    return api.post(
        "/v1/validation-rules",
        {"name": "Over $50", "rules": order_over(5_000), "error": {"message": "Spend $50 to get 10% off"}},
        format="json",
    ).json()["id"]


@pytest.fixture
def promotion(api, over_50) -> dict:
    response = api.post(
        "/v1/campaigns",
        {
            "name": "Spring deals",
            "campaign_type": "PROMOTION",
            "type": "STATIC",
            "promotion": {
                "tiers": [
                    {
                        "name": "10% over $50",
                        "banner": "Spend $50, save 10%",
                        "action": {
                            "discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}
                        },
                        "validation_rules": [over_50],
                    },
                    {
                        "name": "$5 off",
                        "action": {
                            "discount": {"type": "AMOUNT", "amount_off": 500, "effect": "APPLY_TO_ORDER"}
                        },
                    },
                ]
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def ten_percent(promotion) -> str:
    return promotion["promotion"]["tiers"][0]["id"]


@pytest.fixture
def five_off(promotion) -> str:
    return promotion["promotion"]["tiers"][1]["id"]


def test_redeeming_a_tier_discounts_the_order_and_moves_its_summary(api, project, promotion, ten_percent):
    response = redeem_tier(
        api,
        ten_percent,
        customer={"source_id": "alice"},
        order={"source_id": "order-1", "amount": 8_000, "status": "PAID"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    (redemption,) = body["redemptions"]
    assert (redemption["related_object_type"], redemption["related_object_id"]) == (
        "promotion_tier",
        ten_percent,
    )
    assert (redemption["result"], redemption["status"], redemption["voucher"]) == (
        "SUCCESS",
        "SUCCEEDED",
        None,
    )
    tier = redemption["promotion_tier"]
    assert (tier["id"], tier["object"], tier["name"], tier["campaign_id"]) == (
        ten_percent,
        "promotion_tier",
        "10% over $50",
        promotion["id"],
    )
    assert tier["summary"] == {
        "redemptions": {"total_redeemed": 1},
        "orders": {"total_amount": 8_000, "total_discount_amount": 800},
    }
    assert body["order"]["discount_amount"] == 800 and body["order"]["total_amount"] == 7_200
    assert summary_of(project, ten_percent) == (1, 8_000, 800)
    stored = Redemption.objects.for_project(project).get(public_id=redemption["id"])
    assert (stored.campaign.public_id, stored.discount_amount, stored.voucher_id) == (
        promotion["id"],
        800,
        None,
    )


def test_a_tier_redemption_reads_back_with_its_tier(api, ten_percent):
    redeemed = redeem_tier(api, ten_percent, order={"amount": 6_000}).json()["redemptions"][0]

    fetched = api.get(f"/v1/redemptions/{redeemed['id']}").json()
    listed = api.get("/v1/redemptions").json()["redemptions"]

    assert fetched["promotion_tier"]["id"] == ten_percent
    assert fetched["promotion_tier"]["summary"]["redemptions"] == {"total_redeemed": 1}
    assert [item["promotion_tier"]["id"] for item in listed] == [ten_percent]


def test_a_tier_redemption_publishes_customer_redemption_succeeded_once(api, project, promotion, five_off):
    redemption = redeem_tier(api, five_off, customer={"source_id": "alice"}, order={"amount": 3_000}).json()[
        "redemptions"
    ][0]

    (event,) = DomainEvent.objects.for_project(project).filter(type="customer.redemption.succeeded")
    assert event.customer.source_id == "alice"
    assert event.refs == {
        "promotion_tier": five_off,
        "campaign": promotion["id"],
        "redemption": redemption["id"],
        "order": redemption["order"]["id"],
    }
    assert event.data["related_object_type"] == "promotion_tier"
    assert event.data["discount_amount"] == 500


def test_rolling_back_a_tier_redemption_moves_its_summary_back(api, project, ten_percent):
    kept = redeem_tier(api, ten_percent, order={"amount": 10_000}).json()["redemptions"][0]
    undone = redeem_tier(api, ten_percent, customer={"source_id": "alice"}, order={"amount": 6_000}).json()[
        "redemptions"
    ][0]
    assert summary_of(project, ten_percent) == (2, 16_000, 1_600)

    response = api.post(f"/v1/redemptions/{undone['id']}/rollback?reason=returned", {}, format="json")

    assert response.status_code == 200, response.content
    rollback = response.json()
    assert (rollback["object"], rollback["related_object_type"], rollback["related_object_id"]) == (
        "redemption_rollback",
        "promotion_tier",
        ten_percent,
    )
    assert rollback["promotion_tier"]["summary"]["redemptions"] == {"total_redeemed": 1}
    assert summary_of(project, ten_percent) == (1, 10_000, 1_000)
    assert api.get(f"/v1/redemptions/{undone['id']}").json()["status"] == "ROLLED_BACK"
    assert api.get(f"/v1/redemptions/{kept['id']}").json()["status"] == "SUCCEEDED"
    (event,) = DomainEvent.objects.for_project(project).filter(type="customer.redemption.rollback.succeeded")
    assert event.refs["promotion_tier"] == ten_percent and event.refs["redemption"] == undone["id"]
    again = api.post(f"/v1/redemptions/{undone['id']}/rollback", {}, format="json")
    assert_error(again, 400, "already_rolled_back")
    assert summary_of(project, ten_percent) == (1, 10_000, 1_000)


def test_a_tiers_rule_refuses_a_small_order_and_accepts_a_big_one(api, project, promotion, ten_percent):
    with only_a_failed_redemption() as outcome:
        small = redeem_tier(api, ten_percent, customer={"source_id": "alice"}, order={"amount": 4_999})
    assert summary_of(project, ten_percent) == (0, 0, 0)
    big = redeem_tier(api, ten_percent, customer={"source_id": "alice"}, order={"amount": 5_000})

    body = assert_error(small, 400, "order_rules_violated")
    assert body["error"] == {"message": "Spend $50 to get 10% off"}
    failed = Redemption.objects.for_project(project).get(public_id=body["resource_id"])
    assert (failed.related_object_type, failed.related_object_id, failed.campaign.public_id) == (
        "promotion_tier",
        ten_percent,
        promotion["id"],
    )
    assert outcome["failed"]["failure_code"] == "order_rules_violated"
    assert big.status_code == 200, big.content
    assert summary_of(project, ten_percent) == (1, 5_000, 500)


def test_a_tier_with_a_count_rule_counts_that_tiers_redemptions_only(api, project, promotion, five_off):
    rule = api.post(
        "/v1/validation-rules",
        {
            "name": "Once per customer",
            "rules": {
                "1": {"name": "redemption.count.per_customer", "conditions": {"$less_than": [1]}},
                "logic": "1",
            },
        },
        format="json",
    ).json()["id"]
    api.post(
        f"/v1/validation-rules/{rule}/assignments",
        {"related_object_type": "promotion_tier", "related_object_id": five_off},
        format="json",
    )
    other_tier = promotion["promotion"]["tiers"][0]["id"]
    assert (
        redeem_tier(api, other_tier, customer={"source_id": "alice"}, order={"amount": 9_000}).status_code
        == 200
    )

    first = redeem_tier(api, five_off, customer={"source_id": "alice"}, order={"amount": 9_000})
    second = redeem_tier(api, five_off, customer={"source_id": "alice"}, order={"amount": 9_000})

    assert first.status_code == 200, first.content
    assert_error(second, 400, "redemption_rules_violated")
    assert summary_of(project, five_off) == (1, 9_000, 500)


def test_a_promotions_campaign_rule_guards_its_tiers(api, project, over_50):
    response = api.post(
        "/v1/campaigns",
        {
            "name": "Guarded promo",
            "campaign_type": "PROMOTION",
            "validation_rules": [over_50],
            "promotion": {"tiers": [{"name": "Free shipping"}]},
        },
        format="json",
    )
    tier = response.json()["promotion"]["tiers"][0]["id"]

    refused = redeem_tier(api, tier, order={"amount": 1_000})
    accepted = redeem_tier(api, tier, order={"amount": 5_000})

    assert_error(refused, 400, "order_rules_violated")
    assert accepted.status_code == 200, accepted.content


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ("tier_disabled", "promotion_inactive"),
        ("campaign_disabled", "promotion_inactive"),
        ("tier_not_started", "promotion_not_active_now"),
        ("tier_expired", "promotion_not_active_now"),
        ("campaign_expired", "promotion_not_active_now"),
    ],
)
def test_an_unavailable_tier_is_refused_and_only_the_failure_is_recorded(
    api, project, promotion, five_off, change, key
):
    now = timezone.now()
    if change == "tier_disabled":
        assert api.post(f"/v1/promotions/tiers/{five_off}/disable").status_code == 200
    elif change == "campaign_disabled":
        assert api.post(f"/v1/campaigns/{promotion['id']}/disable").status_code == 200
    elif change == "tier_not_started":
        PromotionTier.objects.for_project(project).filter(public_id=five_off).update(
            start_date=now + timedelta(days=1)
        )
    elif change == "tier_expired":
        PromotionTier.objects.for_project(project).filter(public_id=five_off).update(
            expiration_date=now - timedelta(days=1)
        )
    else:
        api.put(
            f"/v1/campaigns/{promotion['id']}", {"expiration_date": "2020-01-01T00:00:00Z"}, format="json"
        )

    with only_a_failed_redemption() as outcome:
        response = redeem_tier(api, five_off, customer={"source_id": "alice"}, order={"amount": 9_000})

    assert_error(response, 400, key)
    assert outcome["failed"]["failure_code"] == key
    assert summary_of(project, five_off) == (0, 0, 0)


def test_a_tier_valid_on_some_days_only_is_refused_on_the_others(api, project, five_off):
    PromotionTier.objects.for_project(project).filter(public_id=five_off).update(validity_day_of_week=[1])

    with time_machine.travel("2026-03-03T12:00:00Z"):  # a Tuesday
        tuesday = redeem_tier(api, five_off, order={"amount": 9_000})
    with time_machine.travel("2026-03-02T12:00:00Z"):  # a Monday
        monday = redeem_tier(api, five_off, order={"amount": 9_000})

    assert_error(tuesday, 400, "promotion_not_active_now")
    assert monday.status_code == 200, monday.content


def test_a_code_and_a_tier_stack_the_tier_discounting_what_the_code_left(api, project, five_off):
    code = _a_code(project)

    response = api.post(
        "/v1/redemptions",
        {
            "redeemables": [{"object": "voucher", "id": code}, {"object": "promotion_tier", "id": five_off}],
            "order": {"amount": 10_000},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert [child["related_object_type"] for child in body["redemptions"]] == ["voucher", "promotion_tier"]
    assert body["parent_redemption"]["related_object_type"] == "redemption"
    assert body["order"]["discount_amount"] == 1_000 + 500
    assert summary_of(project, five_off) == (1, 10_000, 500)
    rollback = api.post(f"/v1/redemptions/{body['parent_redemption']['id']}/rollback", {}, format="json")
    assert rollback.status_code == 200, rollback.content
    assert summary_of(project, five_off) == (0, 0, 0)


def test_an_unknown_tier_is_404_and_records_the_failure(api, project):
    with only_a_failed_redemption() as outcome:
        response = redeem_tier(api, "promo_missing", order={"amount": 9_000})

    assert_error(response, 404, "not_found", details="Cannot find promotion_tier with id promo_missing")
    assert (outcome["failed"]["failure_code"], outcome["failed"]["related_object_type"]) == (
        "resource_not_found",
        "promotion_tier",
    )


def test_a_tier_of_another_project_is_404_and_nothing_of_theirs_changes(
    outsider_api, project, other_project, five_off
):
    tiers_before = list(PromotionTier.objects.unscoped().order_by("pk").values())

    with only_a_failed_redemption():
        response = redeem_tier(
            outsider_api, five_off, customer={"source_id": "alice"}, order={"amount": 9_000}
        )

    assert_error(response, 404, "not_found")
    assert list(PromotionTier.objects.unscoped().order_by("pk").values()) == tiers_before
    failed = Redemption.objects.for_project(other_project).get()
    assert (failed.failure_code, failed.campaign_id) == ("resource_not_found", None)
    assert not Redemption.objects.for_project(project).exists()
    assert not DomainEvent.objects.unscoped().filter(type="customer.redemption.succeeded").exists()


def test_an_outsider_cannot_roll_back_our_tier_redemption(api, outsider_api, project, five_off):
    redemption = redeem_tier(api, five_off, order={"amount": 9_000}).json()["redemptions"][0]["id"]

    response = outsider_api.post(f"/v1/redemptions/{redemption}/rollback", {}, format="json")

    assert_error(response, 404, "not_found")
    assert summary_of(project, five_off) == (1, 9_000, 500)


def test_redeeming_a_code_as_a_tier_or_a_tier_as_a_code_finds_nothing(api, project, five_off):
    code = _a_code(project)

    as_tier = redeem_tier(api, code, order={"amount": 9_000})
    as_code = redeem(api, five_off, order={"amount": 9_000})

    assert_error(as_tier, 404, "not_found")
    assert_error(as_code, 404, "not_found")
    assert summary_of(project, five_off) == (0, 0, 0)
