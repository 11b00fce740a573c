"""Gift cards: POST /v1/vouchers/{code}/balance, and redeeming credits from them."""

from __future__ import annotations

import pytest

from campaigns.models import Voucher
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import nothing_changes_at_all, only_a_failed_redemption, redeem

pytestmark = pytest.mark.django_db

BALANCE_ADDED = "customer.voucher.gift.balance_added"


@pytest.fixture
def card(project, api) -> str:
    """A $10 gift card published to alice."""
    make_campaign(project, name="Gift cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    response = api.post(
        "/v1/publications",
        {"customer": {"source_id": "alice"}, "campaign": {"name": "Gift cards"}},
        format="json",
    )
    return response.json()["voucher"]["code"]


def _gift(project, code):
    voucher = Voucher.objects.for_project(project).get(code=code)
    return voucher.gift_amount, voucher.gift_balance


def test_adding_credits_raises_balance_and_total_and_publishes_for_the_holder(api, project, card):
    response = api.post(f"/v1/vouchers/{card}/balance", {"amount": 2500, "reason": "top-up"}, format="json")

    assert response.status_code == 200, response.content
    voucher = Voucher.objects.for_project(project).get(code=card)
    assert response.json() == {
        "amount": 2500,
        "total": 3500,
        "balance": 3500,
        "type": "gift_voucher",
        "operation_type": "MANUAL",
        "object": "balance",
        "related_object": {"type": "voucher", "id": voucher.public_id},
    }
    (event,) = DomainEvent.objects.for_project(project).filter(type=BALANCE_ADDED)
    assert event.customer.source_id == "alice"
    assert event.refs == {"voucher": voucher.public_id, "campaign": voucher.campaign.public_id}
    assert (event.data["amount"], event.data["balance"], event.data["reason"]) == (2500, 3500, "top-up")
    assert api.get(f"/v1/vouchers/{card}").json()["gift"]["balance"] == 3500


def test_removing_credits_lowers_the_balance_only_and_publishes_nothing(api, project, card):
    response = api.post(f"/v1/vouchers/{card}/balance", {"amount": -400}, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["total"], response.json()["balance"]) == (1000, 600)
    assert _gift(project, card) == (1000, 600)
    assert not DomainEvent.objects.for_project(project).filter(type=BALANCE_ADDED).exists()


def test_a_removal_below_zero_is_refused_and_changes_nothing(api, project, card):
    with nothing_changes_at_all():
        response = api.post(f"/v1/vouchers/{card}/balance", {"amount": -1001}, format="json")

    assert_error(response, 400, "gift_amount_exceeded")
    assert _gift(project, card) == (1000, 1000)


def test_a_card_can_be_emptied_exactly(api, project, card):
    response = api.post(f"/v1/vouchers/{card}/balance", {"amount": -1000}, format="json")

    assert response.json()["balance"] == 0


@pytest.mark.parametrize("body", [{"amount": 10.0}, {"amount": "10"}, {}, {"amount": 5, "extra": 1}])
def test_malformed_balance_bodies_are_refused(api, card, body):
    with nothing_changes_at_all():
        assert_error(api.post(f"/v1/vouchers/{card}/balance", body, format="json"), 400, "invalid_payload")


def test_a_zero_amount_is_refused(api, card):
    with nothing_changes_at_all():
        response = api.post(f"/v1/vouchers/{card}/balance", {"amount": 0}, format="json")

    assert_error(response, 400, "invalid_add_balance_params")


def test_a_discount_code_has_no_balance(api, project):
    make_campaign(project, name="Welcome", codes_count=1)
    code = Voucher.objects.for_project(project).get().code

    with nothing_changes_at_all():
        response = api.post(f"/v1/vouchers/{code}/balance", {"amount": 100}, format="json")

    assert_error(response, 400, "invalid_add_balance_params")


def test_an_unknown_code_is_404(api):
    with nothing_changes_at_all():
        assert_error(api.post("/v1/vouchers/NOPE/balance", {"amount": 100}, format="json"), 404, "not_found")


# --- Redeeming credits ---------------------------------------------------------------------------


def test_redeeming_takes_the_order_amount_from_the_balance(api, project, card):
    response = redeem(api, card, customer={"source_id": "bob"}, order={"amount": 300})

    assert response.status_code == 200, response.content
    redemption = response.json()["redemptions"][0]
    assert (redemption["amount"], redemption["gift"]) == (300, {"amount": 300})
    assert redemption["voucher"]["gift"]["balance"] == 700
    assert _gift(project, card) == (1000, 700)
    assert response.json()["order"]["total_amount"] == 0


def test_redeeming_an_order_larger_than_the_balance_takes_what_is_left(api, project, card):
    response = redeem(api, card, order={"amount": 5000})

    assert response.json()["redemptions"][0]["amount"] == 1000
    assert _gift(project, card) == (1000, 0)
    assert response.json()["order"]["total_amount"] == 4000


def test_redeeming_the_requested_credits(api, project, card):
    response = redeem(api, card, credits=250, order={"amount": 5000})

    assert response.json()["redemptions"][0]["amount"] == 250
    assert _gift(project, card) == (1000, 750)


def test_requesting_more_credits_than_the_balance_is_refused(api, project, card):
    with only_a_failed_redemption() as outcome:
        response = redeem(api, card, credits=1001)

    assert_error(response, 400, "gift_amount_exceeded")
    assert outcome["failed"]["amount"] == 1001
    assert _gift(project, card) == (1000, 1000)


def test_an_empty_card_is_refused(api, project, card):
    api.post(f"/v1/vouchers/{card}/balance", {"amount": -1000}, format="json")

    with only_a_failed_redemption():
        response = redeem(api, card, order={"amount": 100})

    assert_error(response, 400, "gift_amount_exceeded")


def test_a_card_needs_an_amount_to_take(api, card):
    with only_a_failed_redemption():
        assert_error(redeem(api, card), 400, "missing_amount")
    with only_a_failed_redemption():
        assert_error(redeem(api, card, credits=-5), 400, "invalid_amount")


def test_rollback_gives_the_credits_back(api, project, card):
    redemption = redeem(api, card, credits=400).json()["redemptions"][0]

    response = api.post(f"/v1/redemptions/{redemption['id']}/rollback")

    assert response.status_code == 200, response.content
    assert response.json()["amount"] == 400
    assert _gift(project, card) == (1000, 1000)
