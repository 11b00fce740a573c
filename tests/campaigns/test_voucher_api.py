"""GET/POST /v1/vouchers/{code}, the voucher list and the QR / barcode assets."""

from __future__ import annotations

import pytest
import segno
from rest_framework.test import APIClient

from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.support import nothing_changes
from tests.support.png import qr_modules

pytestmark = pytest.mark.django_db


def test_create_standalone_voucher_and_get_it(api, project):
    response = api.post(
        "/v1/vouchers/SPRING-10",
        {
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "AMOUNT", "amount_off": 1000},
            "redemption": {"quantity": 1},
            "metadata": {"k": "v"},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = api.get("/v1/vouchers/SPRING-10").json()
    assert body == response.json()
    assert body["id"].startswith("v_") and body["code"] == "SPRING-10"
    assert (body["campaign"], body["campaign_id"], body["holder_id"]) == (None, None, None)
    assert body["discount"] == {"type": "AMOUNT", "amount_off": 1000}
    assert body["redemption"] == {
        "quantity": 1,
        "redeemed_quantity": 0,
        "redeemed_points": 0,
        "object": "list",
        "url": "/v1/vouchers/SPRING-10/redemptions?page=1&limit=10",
    }
    assert body["publish"]["count"] == 0
    assert body["assets"]["qr"]["url"].startswith("http") and body["assets"]["barcode"]["url"].startswith(
        "http"
    )


def test_create_standalone_gift_card(api, project):
    response = api.post(
        "/v1/vouchers/GIFT-1", {"type": "GIFT_VOUCHER", "gift": {"amount": 2500}}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["gift"] == {
        "amount": 2500,
        "subtracted_amount": 0,
        "balance": 2500,
        "effect": None,
    }


def test_create_voucher_into_a_campaign_takes_its_template(api, project):
    campaign = make_campaign(project, name="Gifts", campaign_type="GIFT_VOUCHERS")

    response = api.post("/v1/vouchers/G-1", {"campaign": "Gifts"}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["campaign"], body["type"], body["gift"]["balance"]) == ("Gifts", "GIFT_VOUCHER", 1000)
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 1


def test_a_code_in_use_is_a_conflict(api, project):
    api.post("/v1/vouchers/X", {"type": "GIFT_VOUCHER", "gift": {"amount": 1}}, format="json")

    with nothing_changes():
        response = api.post("/v1/vouchers/X", {"type": "GIFT_VOUCHER", "gift": {"amount": 1}}, format="json")

    assert_error(response, 409, "duplicate_found")


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"type": "GIFT_VOUCHER", "gift": {"amount": 10.0}}, "Property .gift.amount: must be an integer"),
        ({"type": "GIFT_VOUCHER"}, "Property .gift: is required for a standalone GIFT_VOUCHER"),
        (
            {"type": "gift_voucher", "gift": {"amount": 1}},
            "Property .type: must be one of DISCOUNT_VOUCHER, GIFT_VOUCHER, LOYALTY_CARD",
        ),
        (
            {"discount": {"type": "PERCENT"}},
            "Property .discount.percent_off: is required for a PERCENT discount",
        ),
    ],
)
def test_create_voucher_refuses_bad_shapes(api, body, details):
    with nothing_changes():
        response = api.post("/v1/vouchers/BAD", body, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


def test_unknown_voucher_is_404(api):
    assert_error(api.get("/v1/vouchers/NOPE"), 404, "not_found", details="Cannot find voucher with id NOPE")


def test_list_vouchers_by_campaign_and_by_holder(api, project, django_assert_num_queries):
    make_campaign(project, name="A", codes_count=3)
    make_campaign(project, name="B", codes_count=2)
    published = api.post(
        "/v1/publications", {"customer": {"source_id": "c1"}, "campaign": {"name": "A"}}, format="json"
    ).json()

    with django_assert_num_queries(4):  # api key, campaign, page, holders
        by_campaign = api.get("/v1/vouchers?campaign=A").json()
    by_customer = api.get("/v1/vouchers?customer=c1").json()

    assert (by_campaign["object"], by_campaign["data_ref"], by_campaign["total"]) == ("list", "vouchers", 3)
    holders = {v["code"]: v["holder_id"] for v in by_campaign["vouchers"]}
    assert holders[published["voucher"]["code"]] == published["customer_id"]
    assert sum(holder is not None for holder in holders.values()) == 1
    assert [v["code"] for v in by_customer["vouchers"]] == [published["voucher"]["code"]]


def test_qr_and_barcode_assets_are_served_from_signed_urls_without_keys(api, project):
    api.post("/v1/vouchers/QR-1", {"type": "GIFT_VOUCHER", "gift": {"amount": 1}}, format="json")
    assets = api.get("/v1/vouchers/QR-1").json()["assets"]
    anonymous = APIClient()

    qr_png = anonymous.get(assets["qr"]["url"].split("8000", 1)[-1])
    qr_svg = anonymous.get(assets["qr"]["url"].split("8000", 1)[-1] + "?format=svg")
    barcode = anonymous.get(assets["barcode"]["url"].split("8000", 1)[-1])
    forged = anonymous.get("/v1/vouchers/assets/" + assets["qr"]["id"][:-2] + "xx")

    assert qr_png.status_code == 200 and qr_png["Content-Type"] == "image/png"
    # A full QR code of the code: a Micro QR (what "QR-1" alone would get) is unreadable to phones.
    assert qr_modules(qr_png.content) == [list(row) for row in segno.make_qr("QR-1", error="m").matrix]
    assert qr_svg["Content-Type"] == "image/svg+xml" and b"<svg" in qr_svg.content
    assert barcode["Content-Type"] == "image/svg+xml" and b"<title>QR-1</title>" in barcode.content
    assert forged.status_code == 404


def test_code128_checksum_matches_the_standard_example():
    from campaigns.barcode import code128_values

    # "PJJ123C": (104 + 48*1 + 42*2 + 42*3 + 17*4 + 18*5 + 19*6 + 35*7) % 103 = 55 with Start B
    # (the spec's worked example gives 54 with Start A, value 103).
    assert code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55]
