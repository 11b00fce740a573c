"""Campaign CRUD, enable / disable and adding codes, over /v1/campaigns."""

from __future__ import annotations

import re

import pytest

from campaigns.models import Campaign, CodeGenerationJob, PromotionTier, Publication, Voucher
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.support import nothing_changes

pytestmark = pytest.mark.django_db

DISCOUNT_CAMPAIGN = {
    "name": "Ten off",
    "campaign_type": "DISCOUNT_COUPONS",
    "type": "AUTO_UPDATE",
    "vouchers_count": 3,
    "voucher": {
        "type": "DISCOUNT_VOUCHER",
        "discount": {"type": "PERCENT", "percent_off": 10},
        "redemption": {"quantity": 10},
        "code_config": {"pattern": "10OFF-#######"},
    },
}


def test_create_discount_campaign_generates_its_codes_and_returns_the_campaign_object(api, project):
    response = api.post("/v1/campaigns", DISCOUNT_CAMPAIGN, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"].startswith("camp_")
    assert body["object"] == "campaign"
    assert (body["name"], body["campaign_type"], body["type"]) == (
        "Ten off",
        "DISCOUNT_COUPONS",
        "AUTO_UPDATE",
    )
    assert body["voucher"] == {
        "type": "DISCOUNT_VOUCHER",
        "discount": {"type": "PERCENT", "percent_off": 10},
        "redemption": {"quantity": 10},
        "is_referral_code": False,
        "code_config": {
            "length": 7,
            "charset": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "prefix": "",
            "postfix": "",
            "pattern": "10OFF-#######",
        },
    }
    assert body["vouchers_count"] == 3
    assert body["creation_status"] == "DONE"
    assert body["active"] is True
    vouchers = Voucher.objects.for_project(project).filter(campaign__public_id=body["id"])
    assert len(vouchers) == 3
    assert all(re.fullmatch(r"10OFF-[0-9a-zA-Z]{7}", v.code) for v in vouchers)
    assert all(v.redemption_quantity == 10 for v in vouchers)


def test_create_gift_campaign_gives_each_code_its_amount_as_balance(api, project):
    response = api.post(
        "/v1/campaigns",
        {
            "name": "Gift cards",
            "campaign_type": "GIFT_VOUCHERS",
            "vouchers_count": 2,
            "voucher": {
                "type": "GIFT_VOUCHER",
                "gift": {"amount": 1000, "effect": "APPLY_TO_ORDER"},
                "code_config": {"pattern": "GIFT-####", "charset": "numbers"},
            },
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["voucher"]["gift"] == {"amount": 1000, "effect": "APPLY_TO_ORDER"}
    vouchers = Voucher.objects.for_project(project)
    assert {(v.type, v.gift_amount, v.gift_balance) for v in vouchers} == {("GIFT_VOUCHER", 1000, 1000)}
    code = vouchers[0].code
    voucher = api.get(f"/v1/vouchers/{code}").json()
    assert voucher["gift"] == {
        "amount": 1000,
        "subtracted_amount": 0,
        "balance": 1000,
        "effect": "APPLY_TO_ORDER",
    }


@pytest.mark.parametrize(
    ("campaign_type", "extra", "expected"),
    [
        (
            "LOYALTY_PROGRAM",
            {"auto_join": True, "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 1000}}},
            {"voucher_type": "LOYALTY_CARD", "auto_join": True},
        ),
        (
            "REFERRAL_PROGRAM",
            {
                "referral_program": {"conversion_event_type": "redemption"},
                "voucher": {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 500}},
            },
            {"is_referral_code": True, "referral_program": {"conversion_event_type": "redemption"}},
        ),
        (
            "PROMOTION",
            {"type": "STATIC", "promotion": {"tiers": [{"name": "Forty", "banner": "Get 40% off"}]}},
            {"voucher_type": None},
        ),
    ],
)
def test_the_other_campaign_types_are_stored_with_their_config(api, project, campaign_type, extra, expected):
    response = api.post(
        "/v1/campaigns", {"name": "X", "campaign_type": campaign_type, **extra}, format="json"
    )

    assert response.status_code == 200, response.content
    campaign = Campaign.objects.for_project(project).get(name="X")
    assert {name: getattr(campaign, name) for name in expected} == expected
    body = response.json()
    assert body["campaign_type"] == campaign_type
    assert "code_config" in body["voucher"]
    if campaign_type == "PROMOTION":
        assert body["promotion"]["tiers"][0]["name"] == "Forty"
        assert body["promotion"]["tiers"][0]["object"] == "promotion_tier"
        tiers = PromotionTier.objects.for_project(project).filter(campaign=campaign)
        assert [(t.name, t.banner, t.public_id) for t in tiers] == [
            ("Forty", "Get 40% off", body["promotion"]["tiers"][0]["id"])
        ]


def test_get_campaign_by_id_or_by_name(api, project):
    campaign = make_campaign(project, name="Summer sale")

    by_id = api.get(f"/v1/campaigns/{campaign.public_id}")
    by_name = api.get("/v1/campaigns/Summer sale")

    assert by_id.status_code == by_name.status_code == 200
    assert by_id.json() == by_name.json()
    assert by_id.json()["id"] == campaign.public_id


def test_list_campaigns_pages_and_filters_by_type(api, project, django_assert_num_queries):
    for index in range(3):
        make_campaign(project, name=f"D{index}")
    make_campaign(project, name="G", campaign_type="GIFT_VOUCHERS")

    with django_assert_num_queries(5):  # api key, page (+1 probe), count, the page's rule assignments
        everything = api.get("/v1/campaigns?limit=2&page=1")
    gifts = api.get("/v1/campaigns?campaign_type=GIFT_VOUCHERS")

    body = everything.json()
    assert (body["object"], body["data_ref"], body["total"]) == ("list", "campaigns", 4)
    assert [c["name"] for c in body["campaigns"]] == ["G", "D2"]
    assert [c["name"] for c in gifts.json()["campaigns"]] == ["G"]


def test_update_campaign_changes_only_the_fields_given(api, project):
    campaign = make_campaign(project, name="S", metadata={"a": 1})

    response = api.put(
        f"/v1/campaigns/{campaign.public_id}", {"description": "New", "join_once": True}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["description"], body["join_once"], body["metadata"]) == ("New", True, {"a": 1})
    assert body["updated_at"] is not None


def test_enable_and_disable_campaign(api, project):
    campaign = make_campaign(project, name="S")

    disabled = api.post(f"/v1/campaigns/{campaign.public_id}/disable")
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    enabled = api.post("/v1/campaigns/S/enable")
    assert enabled.status_code == 200 and enabled.json()["active"] is True


def test_delete_campaign_removes_it_and_its_codes(api, project):
    campaign = make_campaign(project, name="S", codes_count=3)

    response = api.delete(f"/v1/campaigns/{campaign.public_id}")

    assert response.status_code == 202
    assert response.json()["async_action_id"].startswith("aa_")
    assert not Campaign.objects.for_project(project).exists()
    assert not Voucher.objects.for_project(project).exists()


def test_add_one_code_to_a_campaign_returns_the_voucher(api, project):
    campaign = make_campaign(
        project,
        name="S",
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "AMOUNT", "amount_off": 500},
            "code_config": {"prefix": "PRE-", "postfix": "-POST", "length": 5, "charset": "ABC"},
        },
    )

    response = api.post(
        f"/v1/campaigns/{campaign.public_id}/vouchers?vouchers_count=1",
        {"metadata": {"batch": "b1"}},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert re.fullmatch(r"PRE-[ABC]{5}-POST", body["code"])
    assert body["campaign"] == "S" and body["campaign_id"] == campaign.public_id
    assert body["discount"] == {"type": "AMOUNT", "amount_off": 500}
    assert body["metadata"] == {"batch": "b1"}
    assert body["holder_id"] is None


def test_add_many_codes_returns_an_async_action_and_generates_them(api, project):
    campaign = make_campaign(project, name="S")

    response = api.post(f"/v1/campaigns/{campaign.public_id}/vouchers?vouchers_count=25", {}, format="json")

    assert response.status_code == 202
    job = CodeGenerationJob.objects.for_project(project).get(public_id=response.json()["async_action_id"])
    assert (job.status, job.generated) == ("DONE", 25)
    assert Voucher.objects.for_project(project).filter(campaign=campaign).count() == 25
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 25


def test_add_code_with_a_specific_code(api, project):
    campaign = make_campaign(project, name="S")

    response = api.post(f"/v1/campaigns/{campaign.public_id}/vouchers/MY-CODE", {}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["code"] == "MY-CODE"
    assert Voucher.objects.for_project(project).get(code="MY-CODE").campaign == campaign


def test_import_codes_adds_them_all(api, project):
    campaign = make_campaign(project, name="S")

    response = api.post(
        f"/v1/campaigns/{campaign.public_id}/import",
        [{"code": "IMP-1", "metadata": {"k": "v"}}, {"code": "IMP-2", "redemption": {"quantity": 2}}],
        format="json",
    )

    assert response.status_code == 202, response.content
    vouchers = {v.code: v for v in Voucher.objects.for_project(project).filter(campaign=campaign)}
    assert set(vouchers) == {"IMP-1", "IMP-2"}
    assert vouchers["IMP-1"].metadata == {"k": "v"} and vouchers["IMP-2"].redemption_quantity == 2
    campaign.refresh_from_db()
    assert campaign.vouchers_count == 2


def test_import_with_a_code_that_exists_names_it_and_imports_nothing(api, project):
    campaign = make_campaign(project, name="S")
    api.post(
        "/v1/vouchers/TAKEN",
        {"type": "DISCOUNT_VOUCHER", "discount": {"type": "AMOUNT", "amount_off": 1}},
        format="json",
    )

    with nothing_changes():
        response = api.post(
            f"/v1/campaigns/{campaign.public_id}/import",
            [{"code": "NEW-1"}, {"code": "TAKEN"}],
            format="json",
        )

    assert_error(response, 409, "duplicate_found", details="Codes already exist: TAKEN")


def test_import_with_a_code_repeated_in_the_request_names_it_and_imports_nothing(api, project):
    campaign = make_campaign(project, name="S")

    with nothing_changes():
        response = api.post(
            f"/v1/campaigns/{campaign.public_id}/import",
            [{"code": "A"}, {"code": "B"}, {"code": "A"}],
            format="json",
        )

    assert_error(response, 409, "duplicate_found", details="Codes repeated in the request: A")


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({**DISCOUNT_CAMPAIGN, "vouchers_count": 3.0}, "Property .vouchers_count: must be an integer"),
        ({**DISCOUNT_CAMPAIGN, "vouchers_count": "3"}, "Property .vouchers_count: must be an integer"),
        (
            {**DISCOUNT_CAMPAIGN, "campaign_type": "discount_coupons"},
            "Property .campaign_type: must be one of DISCOUNT_COUPONS, GIFT_VOUCHERS, LOYALTY_PROGRAM, "
            "REFERRAL_PROGRAM, PROMOTION",
        ),
        ({**DISCOUNT_CAMPAIGN, "colour": "red"}, "Property .colour: is not allowed"),
        (
            {**DISCOUNT_CAMPAIGN, "voucher": {**DISCOUNT_CAMPAIGN["voucher"], "gift": {"amount": 10.5}}},
            "Property .voucher.gift.amount: must be an integer",
        ),
        (
            {**DISCOUNT_CAMPAIGN, "voucher": {"type": "GIFT_VOUCHER", "gift": {"amount": 100}}},
            "Property .voucher.type: must be DISCOUNT_VOUCHER for a DISCOUNT_COUPONS campaign",
        ),
        (
            {**DISCOUNT_CAMPAIGN, "voucher": {"type": "DISCOUNT_VOUCHER"}},
            "Property .voucher.discount: is required for a DISCOUNT_VOUCHER",
        ),
        ({**DISCOUNT_CAMPAIGN, "join_once": 1}, "Property .join_once: must be a boolean"),
        (
            {"campaign_type": "DISCOUNT_COUPONS", "voucher": DISCOUNT_CAMPAIGN["voucher"]},
            "Property .name: This field is required.",
        ),
    ],
)
def test_create_campaign_refuses_bad_shapes_naming_the_field(api, body, details):
    with nothing_changes():
        response = api.post("/v1/campaigns", body, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


@pytest.mark.parametrize(
    ("code_config", "count", "details_start"),
    [
        ({"pattern": "AB-##", "charset": "numbers"}, 101, "code_config allows 100 distinct codes"),
        ({"pattern": "NOHASH"}, 1, "code_config.pattern must contain at least one '#'."),
        ({"length": 4, "charset": "a b"}, 1, "code_config.charset must not contain whitespace or '#'."),
    ],
)
def test_create_campaign_refuses_an_impossible_code_config(api, code_config, count, details_start):
    body = {
        **DISCOUNT_CAMPAIGN,
        "vouchers_count": count,
        "voucher": {**DISCOUNT_CAMPAIGN["voucher"], "code_config": code_config},
    }

    with nothing_changes():
        response = api.post("/v1/campaigns", body, format="json")

    error = assert_error(response, 400, "invalid_code_config")
    assert error["details"].startswith(details_start)


def test_create_campaign_with_a_name_in_use_is_a_conflict(api, project):
    make_campaign(project, name="Ten off")

    with nothing_changes():
        response = api.post("/v1/campaigns", DISCOUNT_CAMPAIGN, format="json")

    assert_error(response, 409, "duplicate_found", details="A campaign named Ten off already exists.")


def test_large_vouchers_count_is_generated_by_a_worker(api, project, django_capture_on_commit_callbacks):
    from campaigns.tasks import generate_campaign_codes

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/v1/campaigns", {**DISCOUNT_CAMPAIGN, "vouchers_count": 1500}, format="json")

    assert response.status_code == 200
    assert response.json()["creation_status"] == "IN_PROGRESS"
    job = CodeGenerationJob.objects.for_project(project).get()
    assert len(callbacks) == 1
    generate_campaign_codes.run(job.pk)
    generate_campaign_codes.run(job.pk)  # a second delivery of the task generates nothing more
    campaign = Campaign.objects.for_project(project).get()
    assert (campaign.creation_status, campaign.vouchers_count) == ("DONE", 1500)
    assert Voucher.objects.for_project(project).count() == 1500


def test_delete_campaign_removes_its_publications_and_leaves_other_campaigns(api, project):
    make_campaign(project, name="Gone", codes_count=2)
    kept = make_campaign(project, name="Kept", codes_count=2)
    for name in ("Gone", "Kept"):
        api.post(
            "/v1/publications", {"customer": {"source_id": "c1"}, "campaign": {"name": name}}, format="json"
        )

    response = api.delete("/v1/campaigns/Gone")

    assert response.status_code == 202
    assert list(Campaign.objects.for_project(project).values_list("name", flat=True)) == ["Kept"]
    assert set(Voucher.objects.for_project(project).values_list("campaign_id", flat=True)) == {kept.pk}
    assert set(Publication.objects.for_project(project).values_list("campaign_id", flat=True)) == {kept.pk}


def test_update_campaign_unsets_metadata_fields(api, project):
    campaign = make_campaign(project, name="S", metadata={"a": 1, "b": 2})

    response = api.put(f"/v1/campaigns/{campaign.public_id}", {"unset_metadata_fields": ["a"]}, format="json")

    assert response.status_code == 200
    assert response.json()["metadata"] == {"b": 2}
