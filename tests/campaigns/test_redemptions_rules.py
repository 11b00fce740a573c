"""Validation rules guarding codes at redemption: a campaign's `validation_rules` (given on create, or
assigned later) are evaluated against the order, the customer and their earlier redemptions; a
failing rule refuses with Voucherify's key and the rule's message, records a FAILED redemption and
changes nothing else."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from campaigns.models import Campaign, ValidationRuleAssignment, Voucher
from campaigns.redemptions import (
    Redeemable,
    RedemptionRefused,
    redemption_count_per_customer,
    redemption_redeem,
)
from customers.models import Customer
from tests.api.support import assert_error
from tests.campaigns.redemption_support import only_a_failed_redemption, redeem
from tests.campaigns.rules_support import nothing_changes, order_over

pytestmark = pytest.mark.django_db


def _rule(api, name: str, rules: dict[str, Any], message: str | None = None) -> str:
    body: dict[str, Any] = {"name": name, "rules": rules}
    if message:
        body["error"] = {"message": message}
    response = api.post("/v1/validation-rules", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["id"]


def _campaign(
    api, name: str, rule_ids: list[str] | None = None, quantity: int | None = None, count: int = 3
) -> dict:
    voucher: dict[str, Any] = {"type": "DISCOUNT_VOUCHER", "discount": {"type": "PERCENT", "percent_off": 10}}
    if quantity is not None:
        voucher["redemption"] = {"quantity": quantity}
    body: dict[str, Any] = {
        "name": name,
        "campaign_type": "DISCOUNT_COUPONS",
        "type": "STATIC",
        "vouchers_count": count,
        "voucher": voucher,
    }
    if rule_ids is not None:
        body["validation_rules"] = rule_ids
    response = api.post("/v1/campaigns", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _codes(project, campaign_id: str) -> list[str]:
    return list(
        Voucher.objects.for_project(project)
        .filter(campaign__public_id=campaign_id)
        .order_by("sequence")
        .values_list("code", flat=True)
    )


@pytest.fixture
def over_100(api) -> str:
    return _rule(api, "Over $100", order_over(10_000), message="Spend $100 first")


@pytest.fixture
def big_spenders(api, over_100) -> dict:
    return _campaign(api, "Big spenders", [over_100])


def test_a_campaigns_rules_given_on_create_are_stored_as_an_assignment(api, project, over_100, big_spenders):
    campaign = Campaign.objects.for_project(project).get(public_id=big_spenders["id"])

    (assignment,) = ValidationRuleAssignment.objects.for_project(project).filter(rule__public_id=over_100)
    assert (assignment.related_object_type, assignment.related_object_id, assignment.campaign_id) == (
        "campaign",
        campaign.public_id,
        campaign.pk,
    )
    listed = api.get(f"/v1/validation-rules/{over_100}/assignments").json()
    assert [(item["related_object_type"], item["related_object_id"]) for item in listed["data"]] == [
        ("campaign", campaign.public_id)
    ]
    assert api.get(f"/v1/validation-rules/{over_100}").json()["assignments_count"] == 1


def test_a_rule_on_order_amount_refuses_a_small_order_and_accepts_a_big_one(api, project, big_spenders):
    code, _, _ = _codes(project, big_spenders["id"])

    with only_a_failed_redemption() as outcome:
        small = redeem(
            api, code, customer={"source_id": "alice"}, order={"source_id": "o-1", "amount": 9_999}
        )
    big = redeem(api, code, customer={"source_id": "alice"}, order={"source_id": "o-2", "amount": 10_000})

    body = assert_error(small, 400, "order_rules_violated", message="Order does not match validation rules")
    assert body["error"] == {"message": "Spend $100 first"}
    assert body["resource_type"] == "redemption"
    assert outcome["failed"]["public_id"] == body["resource_id"]
    assert outcome["failed"]["failure_code"] == "order_rules_violated"
    assert "Spend $100 first" in outcome["failed"]["failure_message"]
    assert big.status_code == 200, big.content
    assert big.json()["order"]["discount_amount"] == 1_000
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 1


def test_the_rule_reads_an_order_named_by_id_at_its_stored_amount(api, project, big_spenders):
    code, _, _ = _codes(project, big_spenders["id"])
    small = api.post("/v1/orders", {"source_id": "small", "amount": 5_000}, format="json").json()
    big = api.post("/v1/orders", {"source_id": "big", "amount": 50_000}, format="json").json()

    refused = redeem(api, code, order={"id": small["id"]})
    accepted = redeem(api, code, order={"id": big["id"]})

    assert_error(refused, 400, "order_rules_violated")
    assert accepted.status_code == 200, accepted.content


def test_without_an_order_an_order_rule_cannot_hold(api, project, big_spenders):
    code, _, _ = _codes(project, big_spenders["id"])

    with only_a_failed_redemption():
        response = redeem(api, code, customer={"source_id": "alice"})

    assert_error(response, 400, "order_rules_violated")


def test_a_rule_failing_in_a_stack_refuses_the_whole_request(api, project, big_spenders):
    guarded, _, _ = _codes(project, big_spenders["id"])
    free, _, _ = _codes(project, _campaign(api, "Free for all")["id"])

    with only_a_failed_redemption():
        response = api.post(
            "/v1/redemptions",
            {
                "redeemables": [{"object": "voucher", "id": free}, {"object": "voucher", "id": guarded}],
                "order": {"amount": 2_000},
            },
            format="json",
        )

    assert_error(response, 400, "order_rules_violated")
    assert Voucher.objects.for_project(project).get(code=free).redeemed_quantity == 0


def test_a_rule_assigned_to_a_campaign_later_guards_its_codes(api, project):
    campaign = _campaign(api, "Members")
    rule = _rule(
        api,
        "Members only",
        {
            "1": {
                "name": "customer.metadata",
                "property": "tier",
                "conditions": {"$is": ["gold"]},
                "rules": {},
            },
            "logic": "1",
        },
    )
    first, second, _ = _codes(project, campaign["id"])
    assert redeem(api, first, customer={"source_id": "alice"}).status_code == 200

    assigned = api.post(
        f"/v1/validation-rules/{rule}/assignments",
        {"related_object_type": "campaign", "related_object_id": campaign["id"]},
        format="json",
    )
    refused = redeem(api, second, customer={"source_id": "bob", "metadata": {"tier": "silver"}})
    accepted = redeem(api, second, customer={"source_id": "carol", "metadata": {"tier": "gold"}})

    assert assigned.status_code == 200, assigned.content
    assert assigned.json()["related_object_type"] == "campaign"
    body = assert_error(refused, 400, "customer_rules_violated")
    assert body["error"] == {"message": "Customer does not match validation rules"}
    assert not Customer.objects.for_project(project).filter(source_id="bob").exists()
    assert accepted.status_code == 200, accepted.content


def test_assigning_to_a_campaign_of_another_project_is_404_and_changes_nothing(
    api, outsider_api, other_project
):
    theirs = _campaign(outsider_api, "Theirs")
    rule = _rule(api, "Ours", order_over(100))

    with nothing_changes():
        response = api.post(
            f"/v1/validation-rules/{rule}/assignments",
            {"related_object_type": "campaign", "related_object_id": theirs["id"]},
            format="json",
        )

    assert_error(response, 404, "not_found")


def test_a_campaign_naming_an_unknown_rule_is_404_and_creates_nothing(api, outsider_api):
    theirs = _rule(outsider_api, "Theirs", order_over(100))

    with nothing_changes():
        missing = api.post(
            "/v1/campaigns",
            {
                "name": "Guarded",
                "campaign_type": "DISCOUNT_COUPONS",
                "vouchers_count": 2,
                "voucher": {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 100}},
                "validation_rules": [theirs],
            },
            format="json",
        )

    assert_error(missing, 404, "not_found", details=f"Cannot find validation_rule with id {theirs}")


def test_deleting_the_campaign_deletes_its_assignments_but_keeps_the_rule(
    api, project, over_100, big_spenders
):
    response = api.delete(f"/v1/campaigns/{big_spenders['id']}")

    assert response.status_code == 202, response.content
    assert not ValidationRuleAssignment.objects.for_project(project).exists()
    assert api.get(f"/v1/validation-rules/{over_100}").json()["assignments_count"] == 0


# --- redemption.count.per_customer --------------------------------------------------------------------


@pytest.fixture
def once_per_customer(api) -> dict:
    rule = _rule(
        api,
        "Once per customer",
        {
            "1": {"name": "redemption.count.per_customer", "conditions": {"$less_than": [1]}, "rules": {}},
            "logic": "1",
        },
    )
    return _campaign(api, "Once each", [rule])


def test_redemption_count_per_customer_limits_a_second_redemption(api, project, once_per_customer):
    first, second, third = _codes(project, once_per_customer["id"])
    assert redeem(api, first, customer={"source_id": "alice"}).status_code == 200

    with only_a_failed_redemption() as outcome:
        again = redeem(api, second, customer={"source_id": "alice"})
    other = redeem(api, third, customer={"source_id": "bob"})

    assert_error(again, 400, "redemption_rules_violated")
    assert outcome["failed"]["failure_code"] == "redemption_rules_violated"
    assert other.status_code == 200, other.content
    alice = Customer.objects.for_project(project).get(source_id="alice")
    campaign = Campaign.objects.for_project(project).get(public_id=once_per_customer["id"])
    assert redemption_count_per_customer(project=project, customer_id=alice.pk, campaign_id=campaign.pk) == 1


def test_a_rolled_back_redemption_no_longer_counts_for_the_customer(api, project, once_per_customer):
    first, second, _ = _codes(project, once_per_customer["id"])
    redemption = redeem(api, first, customer={"source_id": "alice"}).json()["redemptions"][0]["id"]
    assert api.post(f"/v1/redemptions/{redemption}/rollback", {}, format="json").status_code == 200

    again = redeem(api, second, customer={"source_id": "alice"})

    assert again.status_code == 200, again.content


def test_a_count_rule_refuses_an_anonymous_redemption(api, project, once_per_customer):
    first, _, _ = _codes(project, once_per_customer["id"])

    with only_a_failed_redemption():
        response = redeem(api, first, order={"amount": 1_000})

    assert_error(response, 400, "redemption_rules_violated")


def test_the_count_is_per_campaign(api, project, once_per_customer):
    elsewhere, _, _ = _codes(project, _campaign(api, "Elsewhere")["id"])
    first, _, _ = _codes(project, once_per_customer["id"])
    assert redeem(api, elsewhere, customer={"source_id": "alice"}).status_code == 200

    response = redeem(api, first, customer={"source_id": "alice"})

    assert response.status_code == 200, response.content


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_by_one_customer_let_one_through_a_once_per_customer_rule(api, project):
    # given a known customer and six codes of a campaign allowing one redemption per customer
    rule = _rule(
        api,
        "Once",
        {"1": {"name": "redemption.count.per_customer", "conditions": {"$less_than": [1]}}, "logic": "1"},
    )
    codes = _codes(project, _campaign(api, "Once each", [rule], count=6)["id"])
    api.post("/v1/customers", {"source_id": "alice"}, format="json")
    start = threading.Barrier(len(codes))

    def attempt(code: str) -> str:
        try:
            start.wait()
            redemption_redeem(
                project=project,
                redeemables=[Redeemable(object="voucher", id=code)],
                customer_fields={"source_id": "alice"},
            )
            return "ok"
        except RedemptionRefused as refusal:
            return refusal.key
        finally:
            connection.close()

    # when she redeems all six at once, each on its own connection
    with ThreadPoolExecutor(len(codes)) as pool:
        outcomes = list(pool.map(attempt, codes))

    # then the customer row lock orders them: the first counts, the others see it
    assert Counter(outcomes) == {"ok": 1, "redemption_rules_violated": 5}
