"""POST /v1/redemptions (Voucherify's stacking body), GET one, the list, and a code's redemptions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Redemption, Voucher
from campaigns.redemptions import redemption_count_per_customer
from customers.models import Customer, Order
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import nothing_changes_at_all, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def welcome(project):
    """A 10% off campaign whose codes can be used once."""
    return make_campaign(
        project,
        name="Welcome",
        codes_count=3,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 1},
        },
    )


def _code(project, campaign, index=0) -> str:
    return Voucher.objects.for_project(project).filter(campaign=campaign).order_by("sequence")[index].code


def test_redeeming_a_code_uses_it_stores_the_order_and_customer_and_publishes_once(api, project, welcome):
    code = _code(project, welcome)

    response = redeem(
        api,
        code,
        customer={"source_id": "alice", "email": "alice@example.com"},
        order={"source_id": "order-1", "amount": 20000, "status": "PAID"},
        metadata={"till": "3"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    (redemption,) = body["redemptions"]
    assert "parent_redemption" not in body
    assert redemption["id"].startswith("r_")
    assert (redemption["object"], redemption["result"], redemption["status"]) == (
        "redemption",
        "SUCCESS",
        "SUCCEEDED",
    )
    assert (redemption["related_object_type"], redemption["voucher"]["code"]) == ("voucher", code)
    assert redemption["voucher"]["redemption"]["redeemed_quantity"] == 1
    assert redemption["metadata"] == {"till": "3"}
    assert redemption["channel"] == {"channel_id": None, "channel_type": "API"}
    customer = Customer.objects.for_project(project).get(source_id="alice")
    assert redemption["customer_id"] == customer.public_id
    assert redemption["customer"]["email"] == "alice@example.com"
    order = Order.objects.for_project(project).get(source_id="order-1")
    assert (order.amount, order.discount_amount, order.customer_id) == (20000, 2000, customer.pk)
    assert body["order"]["id"] == order.public_id and body["order"]["total_amount"] == 18000
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 1
    (event,) = DomainEvent.objects.for_project(project).filter(type="customer.redemption.succeeded")
    assert event.customer_id == customer.pk
    assert event.refs == {
        "voucher": redemption["voucher"]["id"],
        "campaign": welcome.public_id,
        "redemption": redemption["id"],
        "order": order.public_id,
    }


def test_a_code_can_be_redeemed_without_customer_or_order(api, project, welcome):
    response = redeem(api, _code(project, welcome))

    assert response.status_code == 200, response.content
    (redemption,) = response.json()["redemptions"]
    assert (redemption["customer"], redemption["order"]) == (None, None)
    assert DomainEvent.objects.for_project(project).filter(type="customer.redemption.succeeded").count() == 1


def test_get_redemption_returns_what_the_redeem_returned(api, project, welcome):
    redeemed = redeem(api, _code(project, welcome), customer={"source_id": "alice"}).json()["redemptions"][0]

    response = api.get(f"/v1/redemptions/{redeemed['id']}")

    assert response.status_code == 200
    assert response.json() == redeemed


def test_get_an_unknown_redemption_is_404(api):
    assert_error(api.get("/v1/redemptions/r_missing"), 404, "not_found")


def test_stacked_redemption_has_a_parent_and_one_child_and_one_event_per_code(api, project, welcome):
    first, second = _code(project, welcome, 0), _code(project, welcome, 1)

    response = api.post(
        "/v1/redemptions",
        {
            "redeemables": [{"object": "voucher", "id": first}, {"object": "voucher", "id": second}],
            "customer": {"source_id": "alice"},
            "order": {"amount": 10000},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    parent = body["parent_redemption"]
    assert parent["related_object_type"] == "redemption"
    assert [child["voucher"]["code"] for child in body["redemptions"]] == [first, second]
    assert {child["redemption"] for child in body["redemptions"]} == {parent["id"]}
    assert [row["id"] for row in parent["related_redemptions"]["redemptions"]] == [
        child["id"] for child in body["redemptions"]
    ]
    # 10% of 10000, then 10% of what is left: 1000 + 900.
    assert body["order"]["discount_amount"] == 1900
    events = DomainEvent.objects.for_project(project).filter(type="customer.redemption.succeeded")
    assert sorted(event.refs["redemption"] for event in events) == sorted(
        c["id"] for c in body["redemptions"]
    )


def test_a_stack_with_one_refused_code_redeems_none_of_them(api, project, welcome):
    first, second = _code(project, welcome, 0), _code(project, welcome, 1)
    Voucher.objects.for_project(project).filter(code=second).update(active=False)

    response = api.post(
        "/v1/redemptions",
        {"redeemables": [{"object": "voucher", "id": first}, {"object": "voucher", "id": second}]},
        format="json",
    )

    assert_error(response, 400, "voucher_disabled")
    assert Voucher.objects.for_project(project).get(code=first).redeemed_quantity == 0
    assert not Redemption.objects.for_project(project).filter(result="SUCCESS").exists()


def test_promotion_stacks_are_refused_clearly_until_they_are_supported(api, project):
    with nothing_changes_at_all():
        response = api.post(
            "/v1/redemptions",
            {"redeemables": [{"object": "promotion_stack", "id": "stack_1"}]},
            format="json",
        )

    body = assert_error(response, 400, "invalid_payload")
    assert "promotion_stack" in body["details"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"redeemables": []},
        {"redeemables": [{"object": "coupon", "id": "X"}]},
        {"redeemables": [{"object": "voucher", "id": 1}]},
        {"redeemables": [{"object": "voucher", "id": "X", "gift": {"credits": 10.0}}]},
        {"redeemables": [{"object": "voucher", "id": "X"}], "order": {"amount": 10.5}},
        {"redeemables": [{"object": "voucher", "id": "X"}], "order": {"status": "paid"}},
        {"redeemables": [{"object": "voucher", "id": "X"}], "unknown": 1},
        {"redeemables": [{"object": "voucher", "id": "X"}], "customer": {"name": "no id"}},
    ],
)
def test_malformed_bodies_are_invalid_payload_and_change_nothing(api, body):
    with nothing_changes_at_all():
        response = api.post("/v1/redemptions", body, format="json")

    assert_error(response, 400, "invalid_payload")


def test_the_list_filters_by_result_customer_campaign_voucher_and_date(api, project, welcome):
    first, second = _code(project, welcome, 0), _code(project, welcome, 1)
    ok = redeem(api, first, customer={"source_id": "alice"}).json()["redemptions"][0]
    failed_id = redeem(api, first, customer={"source_id": "alice"}).json()["resource_id"]
    other = redeem(api, second, customer={"source_id": "bob"}).json()["redemptions"][0]

    def ids(query=""):
        response = api.get(f"/v1/redemptions{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["object"], body["data_ref"]) == ("list", "redemptions")
        if "limit" not in query:
            assert body["total"] == len(body["redemptions"])
        return [row["id"] for row in body["redemptions"]]

    assert ids() == [other["id"], failed_id, ok["id"]]
    assert ids("?result=SUCCESS") == [other["id"], ok["id"]]
    assert ids("?result=FAILURE") == [failed_id]
    assert ids("?customer=alice") == [failed_id, ok["id"]]
    assert ids(f"?customer={other['customer_id']}") == [other["id"]]
    assert ids("?campaign=Welcome&order=created_at") == [ok["id"], failed_id, other["id"]]
    assert ids(f"?voucher={second}") == [other["id"]]
    later = (timezone.now() + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%f%z")
    assert ids(f"?created_at[after]={later.replace('+', '%2B')}") == []
    assert ids(f"?created_at[before]={later.replace('+', '%2B')}&limit=1") == [other["id"]]
    assert ids("?customer=nobody") == []
    assert_error(api.get("/v1/redemptions?result=MAYBE"), 400, "invalid_query_params")
    assert_error(api.get("/v1/redemptions?order=amount"), 400, "invalid_query_params")


def test_the_list_reads_a_page_in_a_fixed_number_of_queries(
    api, project, welcome, django_assert_max_num_queries
):
    for index in range(3):
        redeem(
            api, _code(project, welcome, index), customer={"source_id": f"c{index}"}, order={"amount": 100}
        )

    # auth + rate limit bookkeeping, the page, holders, related rows: never one per redemption.
    with django_assert_max_num_queries(8):
        response = api.get("/v1/redemptions?limit=100")

    assert len(response.json()["redemptions"]) == 3


def test_a_codes_redemptions_list_its_quantities_and_entries(api, project, welcome):
    code = _code(project, welcome)
    ok = redeem(api, code).json()["redemptions"][0]
    failed_id = redeem(api, code).json()["resource_id"]

    response = api.get(f"/v1/vouchers/{code}/redemption")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["quantity"], body["redeemed_quantity"], body["total"]) == (1, 1, 2)
    assert (body["object"], body["data_ref"]) == ("list", "redemption_entries")
    assert [entry["id"] for entry in body["redemption_entries"]] == [failed_id, ok["id"]]
    assert_error(api.get("/v1/vouchers/NOPE/redemption"), 404, "not_found")


def test_the_per_customer_count_counts_successful_redemptions_of_the_campaign(api, project):
    campaign = make_campaign(project, name="Many", codes_count=2)
    first, second = _code(project, campaign, 0), _code(project, campaign, 1)
    redeem(api, first, customer={"source_id": "alice"})
    redeem(api, second, customer={"source_id": "alice"})
    rolled = redeem(api, second, customer={"source_id": "alice"}).json()["redemptions"][0]
    api.post(f"/v1/redemptions/{rolled['id']}/rollback")
    alice = Customer.objects.for_project(project).get(source_id="alice")

    assert redemption_count_per_customer(project=project, customer_id=alice.pk, campaign_id=campaign.pk) == 2
    assert (
        redemption_count_per_customer(
            project=project, customer_id=alice.pk, voucher_id=Voucher.objects.get(code=first).pk
        )
        == 1
    )


def test_a_check_added_to_the_voucher_checks_refuses_with_its_own_key(api, project, welcome, monkeypatch):
    """The extension point validation rules will use: one more `(context, target)` function."""
    from campaigns.redemptions import REDEEMABLE_TYPES, VOUCHER_CHECKS, RedemptionRefused

    def check_order_is_not_flagged(context, target):
        if (context.order_fields.get("metadata") or {}).get("flagged"):
            raise RedemptionRefused("order_rules_violated", f"Order rules of {target.code} are violated.")

    monkeypatch.setattr(REDEEMABLE_TYPES["voucher"], "checks", [*VOUCHER_CHECKS, check_order_is_not_flagged])
    code = _code(project, welcome)

    refused = redeem(api, code, order={"amount": 100, "metadata": {"flagged": True}})
    accepted = redeem(api, code, order={"amount": 100, "metadata": {"flagged": False}})

    assert_error(refused, 400, "order_rules_violated")
    assert accepted.status_code == 200
