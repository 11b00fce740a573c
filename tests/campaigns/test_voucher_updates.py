"""PUT and DELETE /v1/vouchers/{code}, and POST /v1/vouchers/{code}/enable and /disable."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, Publication, Redemption, Voucher
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import nothing_changes_at_all, redeem

pytestmark = pytest.mark.django_db


@pytest.fixture
def code(project) -> str:
    make_campaign(project, name="Welcome", codes_count=2)
    return Voucher.objects.for_project(project).order_by("sequence").first().code


def test_update_changes_the_fields_given_and_keeps_the_others(api, project, code):
    response = api.put(
        f"/v1/vouchers/{code}",
        {
            "metadata": {"shelf": "B"},
            "additional_info": "for VIPs",
            "expiration_date": "2031-01-01T00:00:00Z",
            "redemption": {"quantity": 5},
            "discount": {"type": "AMOUNT", "amount_off": 700},
            "type": "DISCOUNT_VOUCHER",
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["metadata"] == {"shelf": "B"} and body["additional_info"] == "for VIPs"
    assert body["expiration_date"] == "2031-01-01T00:00:00.000Z"
    assert body["redemption"]["quantity"] == 5
    assert body["discount"] == {"type": "AMOUNT", "amount_off": 700}
    assert body["updated_at"] is not None
    assert api.get(f"/v1/vouchers/{code}").json() == body
    assert body["campaign"] == "Welcome" and body["active"] is True


def test_update_of_a_gift_card_ignores_the_type_the_sdk_always_sends(api, project):
    make_campaign(project, name="Cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    card = Voucher.objects.for_project(project).get().code

    response = api.put(
        f"/v1/vouchers/{card}", {"type": "DISCOUNT_VOUCHER", "category": "gifts"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["type"], response.json()["category"]) == ("GIFT_VOUCHER", "gifts")


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"active": 1}, "invalid_payload"),
        ({"redemption": {"quantity": 1.0}}, "invalid_payload"),
        ({"code": "OTHER"}, "invalid_payload"),
        (
            {"start_date": "2031-01-02T00:00:00Z", "expiration_date": "2031-01-01T00:00:00Z"},
            "invalid_voucher",
        ),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(api, code, body, key):
    with nothing_changes_at_all():
        assert_error(api.put(f"/v1/vouchers/{code}", body, format="json"), 400, key)


def test_a_gift_card_cannot_take_a_discount(api, project):
    make_campaign(project, name="Cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    card = Voucher.objects.for_project(project).get().code

    with nothing_changes_at_all():
        response = api.put(
            f"/v1/vouchers/{card}", {"discount": {"type": "PERCENT", "percent_off": 5}}, format="json"
        )

    assert_error(response, 400, "invalid_voucher")


def test_disable_then_enable(api, project, code):
    disabled = api.post(f"/v1/vouchers/{code}/disable")

    assert disabled.status_code == 200, disabled.content
    assert disabled.json()["active"] is False
    assert_error(redeem(api, code), 400, "voucher_disabled")
    enabled = api.post(f"/v1/vouchers/{code}/enable")
    assert enabled.json()["active"] is True
    assert redeem(api, code).status_code == 200


def test_delete_removes_the_code_and_its_publication_and_keeps_its_redemptions(api, project, code):
    api.post("/v1/publications", {"customer": {"source_id": "alice"}, "voucher": code}, format="json")
    redemption = redeem(api, code).json()["redemptions"][0]

    response = api.delete(f"/v1/vouchers/{code}?force=true")

    assert response.status_code == 204
    assert not Voucher.objects.for_project(project).filter(code=code).exists()
    assert not Publication.objects.for_project(project).exists()
    assert Campaign.objects.for_project(project).get().vouchers_count == 1
    kept = Redemption.objects.for_project(project).get(public_id=redemption["id"])
    assert kept.voucher_code == code
    assert api.get(f"/v1/redemptions/{redemption['id']}").json()["voucher"] is None
    assert_error(api.get(f"/v1/vouchers/{code}"), 404, "not_found")
    # The code is free again.
    assert api.post(f"/v1/vouchers/{code}", {"campaign": "Welcome"}, format="json").status_code == 200


def test_delete_without_force_deletes_too(api, project, code):
    assert api.delete(f"/v1/vouchers/{code}").status_code == 204
    assert not Voucher.objects.for_project(project).filter(code=code).exists()


def test_delete_with_a_bad_force_or_unknown_code(api, code):
    with nothing_changes_at_all():
        assert_error(api.delete(f"/v1/vouchers/{code}?force=yes"), 400, "invalid_query_params")
        assert_error(api.delete("/v1/vouchers/NOPE"), 404, "not_found")
        assert_error(api.post("/v1/vouchers/NOPE/enable"), 404, "not_found")
        assert_error(api.put("/v1/vouchers/NOPE", {}, format="json"), 404, "not_found")


def test_a_rolled_back_redemption_of_a_deleted_code_does_not_fail(api, project, code):
    redemption = redeem(api, code).json()["redemptions"][0]
    api.delete(f"/v1/vouchers/{code}")

    response = api.post(f"/v1/redemptions/{redemption['id']}/rollback")

    assert response.status_code == 200, response.content


def test_redemptions_outlive_their_campaign_and_customer(api, project, code):
    redemption = redeem(api, code, customer={"source_id": "alice"}).json()["redemptions"][0]
    campaign_id = redemption["voucher"]["campaign_id"]

    assert api.delete(f"/v1/campaigns/{campaign_id}").status_code == 202
    assert api.delete(f"/v1/customers/{redemption['customer_id']}").status_code == 204

    body = api.get(f"/v1/redemptions/{redemption['id']}").json()
    assert (body["id"], body["voucher"], body["customer"]) == (redemption["id"], None, None)
    assert Redemption.objects.for_project(project).get(public_id=redemption["id"]).voucher_code == code
