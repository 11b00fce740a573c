"""POST /v1/redemptions/{id}/rollback: the code gets its use and its gift credits back, once."""

from __future__ import annotations

import pytest

from campaigns.models import Redemption, Voucher
from eventbus.models import DomainEvent
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import nothing_changes_at_all, redeem

pytestmark = pytest.mark.django_db

ROLLBACK = "customer.redemption.rollback.succeeded"


@pytest.fixture
def code(project) -> str:
    campaign = make_campaign(
        project,
        name="Welcome",
        codes_count=1,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "AMOUNT", "amount_off": 500},
            "redemption": {"quantity": 1},
        },
    )
    return Voucher.objects.for_project(project).get(campaign=campaign).code


def test_rollback_gives_the_use_back_and_publishes_once(api, project, code):
    redeemed = redeem(api, code, customer={"source_id": "alice"}, order={"amount": 2000}).json()
    redemption = redeemed["redemptions"][0]

    response = api.post(f"/v1/redemptions/{redemption['id']}/rollback?reason=returned&tracking_id=t-1")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("rr_")
    assert (body["object"], body["result"], body["status"]) == ("redemption_rollback", "SUCCESS", "SUCCEEDED")
    assert (body["redemption"], body["reason"], body["tracking_id"]) == (redemption["id"], "returned", "t-1")
    assert body["voucher"]["redemption"]["redeemed_quantity"] == 0
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 0
    original = api.get(f"/v1/redemptions/{redemption['id']}").json()
    assert original["status"] == "ROLLED_BACK"
    assert [row["id"] for row in original["related_redemptions"]["rollbacks"]] == [body["id"]]
    assert api.get(f"/v1/redemptions/{body['id']}").json()["object"] == "redemption_rollback"
    (event,) = DomainEvent.objects.for_project(project).filter(type=ROLLBACK)
    assert event.refs == {
        "voucher": redemption["voucher"]["id"],
        "campaign": redemption["voucher"]["campaign_id"],
        "redemption": redemption["id"],
        "rollback": body["id"],
        "order": redeemed["order"]["id"],
    }
    assert event.customer.source_id == "alice"
    # The code can be redeemed again.
    assert redeem(api, code).status_code == 200


def test_the_rollback_body_is_accepted_too(api, code):
    redemption = redeem(api, code).json()["redemptions"][0]

    response = api.post(
        f"/v1/redemptions/{redemption['id']}/rollback",
        {"reason": "damaged", "metadata": {"ticket": 7}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["reason"], response.json()["metadata"]) == ("damaged", {"ticket": 7})


def test_a_second_rollback_is_refused_and_changes_nothing(api, project, code):
    redemption = redeem(api, code).json()["redemptions"][0]
    assert api.post(f"/v1/redemptions/{redemption['id']}/rollback").status_code == 200

    with nothing_changes_at_all():
        response = api.post(f"/v1/redemptions/{redemption['id']}/rollback")

    assert_error(response, 400, "already_rolled_back")
    assert DomainEvent.objects.for_project(project).filter(type=ROLLBACK).count() == 1


def test_a_failed_redemption_or_a_rollback_cannot_be_rolled_back(api, project, code):
    redemption = redeem(api, code).json()["redemptions"][0]
    failed_id = redeem(api, code).json()["resource_id"]
    rollback_id = api.post(f"/v1/redemptions/{redemption['id']}/rollback").json()["id"]

    for identifier in (failed_id, rollback_id):
        with nothing_changes_at_all():
            response = api.post(f"/v1/redemptions/{identifier}/rollback")
        assert_error(response, 400, "invalid_redemption")


def test_a_stacked_parent_rolls_back_with_its_codes_and_a_child_alone_is_refused(api, project):
    campaign = make_campaign(project, name="Two", codes_count=2)
    first, second = (
        Voucher.objects.for_project(project).filter(campaign=campaign).values_list("code", flat=True)
    )
    body = api.post(
        "/v1/redemptions",
        {"redeemables": [{"object": "voucher", "id": first}, {"object": "voucher", "id": second}]},
        format="json",
    ).json()
    parent, child = body["parent_redemption"], body["redemptions"][0]

    with nothing_changes_at_all():
        refused = api.post(f"/v1/redemptions/{child['id']}/rollback")
    response = api.post(f"/v1/redemptions/{parent['id']}/rollback")

    assert_error(refused, 400, "invalid_redemption_parent")
    assert response.status_code == 200, response.content
    assert set(Voucher.objects.for_project(project).values_list("redeemed_quantity", flat=True)) == {0}
    assert set(
        Redemption.objects.for_project(project).filter(object="redemption").values_list("status", flat=True)
    ) == {"ROLLED_BACK"}
    assert DomainEvent.objects.for_project(project).filter(type=ROLLBACK).count() == 2


def test_rollback_of_an_unknown_redemption_is_404(api):
    with nothing_changes_at_all():
        assert_error(api.post("/v1/redemptions/r_missing/rollback"), 404, "not_found")
