"""The customer object carries what the customer redeemed and who they referred: `summary.redemptions`,
`referrals` and `loyalty.referred_customers`, in GET, PUT, an upsert, and the list (where the summaries
of a whole page cost a fixed number of queries)."""

from __future__ import annotations

import pytest
from voucherify.models import CustomersGetResponseBody, CustomersListResponseBody

from campaigns.models import Voucher
from customers.models import Customer
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import redeem
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _publish(api, campaign: str, customer: str) -> str:
    body = {"customer": {"source_id": customer}, "campaign": {"name": campaign}}
    response = api.post("/v1/publications", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["voucher"]["code"]


@pytest.fixture
def history(api, project) -> None:
    """Bob: three successful redemptions (one rolled back), one refused, 300 gift credits of 1,000,
    referred by Alice; Carol redeemed nothing."""
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
    first, second = (
        Voucher.objects.for_project(project).filter(campaign__name="Welcome").values_list("code", flat=True)
    )
    card = _publish(api, "Cards", "bob")
    referral = _publish(api, "Friends", "alice")
    redeem(api, first, customer={"source_id": "bob"})
    assert redeem(api, first, customer={"source_id": "bob"}).status_code == 400  # used up
    rolled = redeem(api, second, customer={"source_id": "bob"}).json()["redemptions"][0]["id"]
    assert api.post(f"/v1/redemptions/{rolled}/rollback", {}, format="json").status_code == 200
    redeem(api, card, customer={"source_id": "bob"}, credits=300)
    assert redeem(api, referral, customer={"source_id": "bob"}).status_code == 200
    CustomerFactory(project=project, source_id="carol")


BOBS_REDEMPTIONS = {
    "total_redeemed": 5,
    "total_failed": 1,
    "total_succeeded": 4,
    "total_rolled_back": 1,
    "total_rollback_failed": 0,
    "total_rollback_succeeded": 1,
    "gift": {"redeemed_amount": 300, "amount_to_go": 700},
    "loyalty_card": {"redeemed_points": 0, "points_to_go": 0},
}


def test_get_shows_the_customers_redemption_summary_and_referral(api, project, history):
    body = api.get("/v1/customers/bob").json()

    assert body["summary"]["redemptions"] == BOBS_REDEMPTIONS
    assert body["summary"]["orders"]["total_count"] == 0
    alice = Customer.objects.for_project(project).get(source_id="alice")
    (referral,) = body["referrals"]["campaigns"]
    assert (body["referrals"]["total"], referral["referrer_id"], referral["related_object_type"]) == (
        1,
        alice.public_id,
        "redemption",
    )
    assert api.get("/v1/customers/alice").json()["loyalty"]["referred_customers"] == 1
    assert CustomersGetResponseBody.from_dict(body).summary.redemptions.total_redeemed == 5


def test_update_and_upsert_return_the_same_summary(api, history):
    updated = api.put("/v1/customers/bob", {"name": "Bob"}, format="json").json()
    upserted = api.post("/v1/customers", {"source_id": "bob", "email": "bob@example.com"}, format="json")

    assert updated["summary"]["redemptions"] == BOBS_REDEMPTIONS
    assert upserted.status_code == 200
    assert upserted.json()["summary"]["redemptions"] == BOBS_REDEMPTIONS


def test_a_new_customer_has_an_empty_summary(api, history):
    created = api.post("/v1/customers", {"source_id": "dave"}, format="json")

    assert created.status_code == 201
    body = created.json()
    assert body["summary"]["redemptions"]["total_redeemed"] == 0
    assert body["referrals"] == {"total": 0, "campaigns": []}
    assert body["loyalty"]["referred_customers"] == 0


def test_the_list_shows_each_customers_own_summary(api, history):
    body = api.get("/v1/customers", {"order": "source_id"}).json()

    by_source_id = {customer["source_id"]: customer for customer in body["customers"]}
    assert by_source_id["bob"]["summary"]["redemptions"] == BOBS_REDEMPTIONS
    assert by_source_id["carol"]["summary"]["redemptions"]["total_redeemed"] == 0
    assert by_source_id["alice"]["loyalty"]["referred_customers"] == 1
    assert by_source_id["alice"]["referrals"]["total"] == 0
    CustomersListResponseBody.from_dict(body)


def test_a_promotion_tier_redemption_counts_in_the_summary(api, project):
    make_campaign(project, name="Deals", campaign_type="PROMOTION")
    tier = api.get("/v1/campaigns/Deals").json()["promotion"]["tiers"][0]["id"]

    api.post(
        "/v1/redemptions",
        {"redeemables": [{"object": "promotion_tier", "id": tier}], "customer": {"source_id": "erin"}},
        format="json",
    )

    redemptions = api.get("/v1/customers/erin").json()["summary"]["redemptions"]
    assert (redemptions["total_redeemed"], redemptions["total_succeeded"]) == (1, 1)


def test_another_projects_redemptions_do_not_count(api, outsider_api, project, other_project):
    make_campaign(other_project, name="Theirs", codes_count=1)
    code = Voucher.objects.for_project(other_project).get().code
    assert redeem(outsider_api, code, customer={"source_id": "bob"}).status_code == 200
    CustomerFactory(project=project, source_id="bob")

    ours = api.get("/v1/customers/bob").json()

    assert ours["summary"]["redemptions"]["total_redeemed"] == 0
    assert outsider_api.get("/v1/customers/bob").json()["summary"]["redemptions"]["total_redeemed"] == 1
