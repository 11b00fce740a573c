"""Promotion tiers: rows of a PROMOTION campaign, created with it or under `/v1/promotions`, each with
its discount, dates, hierarchy and validation rules of the same project."""

from __future__ import annotations

import pytest
import time_machine

from campaigns.models import Campaign, PromotionTier, ValidationRuleAssignment
from campaigns.promotions import promotion_tier_count_redemption
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.rules_support import nothing_changes, order_over

pytestmark = pytest.mark.django_db

TEN_OFF = {"discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"}}
TWENTY_OFF = {"discount": {"type": "PERCENT", "percent_off": 20, "effect": "APPLY_TO_ORDER"}}


@pytest.fixture
def over_50(api):
    return api.post(
        "/v1/validation-rules", {"name": "Over $50", "rules": order_over(5_000)}, format="json"
    ).json()


@pytest.fixture
def over_100(api):
    return api.post(
        "/v1/validation-rules", {"name": "Over $100", "rules": order_over(10_000)}, format="json"
    ).json()


@pytest.fixture
def promotion(api, over_50, over_100):
    response = api.post(
        "/v1/campaigns",
        {
            "name": "Spring",
            "campaign_type": "PROMOTION",
            "type": "STATIC",
            "promotion": {
                "tiers": [
                    {
                        "name": "10% over $50",
                        "banner": "Spend $50, get 10% off",
                        "action": TEN_OFF,
                        "validation_rules": [over_50["id"]],
                        "metadata": {"level": 1},
                    },
                    {"name": "20% over $100", "action": TWENTY_OFF, "validation_rules": [over_100["id"]]},
                ]
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def test_a_promotion_campaign_creates_its_tiers_as_rows_with_their_rules(
    promotion, project, over_50, over_100
):
    tiers = list(PromotionTier.objects.for_project(project).order_by("hierarchy"))

    assert [(t.name, t.hierarchy, t.action, t.active) for t in tiers] == [
        ("10% over $50", 1, TEN_OFF, True),
        ("20% over $100", 2, TWENTY_OFF, True),
    ]
    listed = promotion["promotion"]
    assert (listed["object"], listed["data_ref"], listed["total"], listed["has_more"]) == (
        "list",
        "tiers",
        2,
        False,
    )
    assert [t["id"] for t in listed["tiers"]] == [t.public_id for t in tiers]
    assert all(t.public_id.startswith("promo_") for t in tiers)
    first = listed["tiers"][0]
    assert first["validation_rule_assignments"]["data"][0]["rule_id"] == over_50["id"]
    assert first["validation_rule_assignments"]["data"][0]["related_object_id"] == tiers[0].public_id
    assert listed["tiers"][1]["validation_rule_assignments"]["data"][0]["rule_id"] == over_100["id"]


def test_a_tier_is_voucherifys_promotion_tier_object(api, promotion):
    tier_id = promotion["promotion"]["tiers"][0]["id"]
    tier = PromotionTier.objects.unscoped().get(public_id=tier_id)
    assignment = ValidationRuleAssignment.objects.unscoped().get(promotion_tier=tier)

    body = api.get(f"/v1/promotions/tiers/{tier_id}").json()

    campaign = promotion
    assert body == {
        "id": tier_id,
        "created_at": body["created_at"],
        "updated_at": None,
        "name": "10% over $50",
        "banner": "Spend $50, get 10% off",
        "action": TEN_OFF,
        "metadata": {"level": 1},
        "hierarchy": 1,
        "promotion_id": campaign["id"],
        "campaign": {
            "id": campaign["id"],
            "start_date": None,
            "expiration_date": None,
            "validity_timeframe": None,
            "validity_day_of_week": None,
            "validity_hours": None,
            "active": True,
            "category_id": None,
            "object": "campaign",
        },
        "campaign_id": campaign["id"],
        "active": True,
        "start_date": None,
        "expiration_date": None,
        "validity_timeframe": None,
        "validity_day_of_week": None,
        "validity_hours": None,
        "summary": {
            "redemptions": {"total_redeemed": 0},
            "orders": {"total_amount": 0, "total_discount_amount": 0},
        },
        "object": "promotion_tier",
        "validation_rule_assignments": {
            "object": "list",
            "data_ref": "data",
            "data": [
                {
                    "id": assignment.public_id,
                    "rule_id": assignment.rule.public_id,
                    "related_object_id": tier_id,
                    "related_object_type": "promotion_tier",
                    "created_at": body["validation_rule_assignments"]["data"][0]["created_at"],
                    "object": "validation_rules_assignment",
                }
            ],
            "total": 1,
        },
        "category_id": None,
        "categories": [],
    }
    assert body == promotion["promotion"]["tiers"][0]


def test_the_summary_counts_redemptions_the_redemption_service_records(api, project, promotion):
    tier = PromotionTier.objects.for_project(project).get(hierarchy=1)

    promotion_tier_count_redemption(project=project, tier=tier, order_amount=6_000, discount_amount=600)
    promotion_tier_count_redemption(project=project, tier=tier, order_amount=9_000, discount_amount=900)
    promotion_tier_count_redemption(
        project=project, tier=tier, order_amount=-6_000, discount_amount=-600, redemptions=-1
    )

    assert api.get(f"/v1/promotions/tiers/{tier.public_id}").json()["summary"] == {
        "redemptions": {"total_redeemed": 1},
        "orders": {"total_amount": 9_000, "total_discount_amount": 900},
    }


def test_add_a_tier_to_a_campaign_by_id_or_name_after_the_last(api, promotion, over_50):
    with time_machine.travel("2025-05-01T00:00:00Z", tick=False):
        response = api.post(
            f"/v1/promotions/{promotion['id']}/tiers",
            {
                "name": "30% over $200",
                "action": {"discount": {"type": "PERCENT", "percent_off": 30}},
                "start_date": "2025-06-01T00:00:00Z",
                "expiration_date": "2025-07-01T00:00:00Z",
                "validity_day_of_week": [1, 2],
                "validation_rule_assignments": {"data": [{"rule_id": over_50["id"]}]},
            },
            format="json",
        )
    by_name = api.post("/v1/promotions/Spring/tiers", {"name": "Named", "hierarchy": 9}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["hierarchy"], body["created_at"], body["start_date"], body["expiration_date"]) == (
        3,
        "2025-05-01T00:00:00.000Z",
        "2025-06-01T00:00:00.000Z",
        "2025-07-01T00:00:00.000Z",
    )
    assert body["validity_day_of_week"] == [1, 2]
    assert [a["rule_id"] for a in body["validation_rule_assignments"]["data"]] == [over_50["id"]]
    assert by_name.json()["hierarchy"] == 9
    tiers = api.get(f"/v1/promotions/{promotion['id']}/tiers").json()
    assert [t["name"] for t in tiers["tiers"]] == ["10% over $50", "20% over $100", "30% over $200", "Named"]
    assert (tiers["object"], tiers["data_ref"], tiers["total"], tiers["has_more"]) == (
        "list",
        "tiers",
        4,
        False,
    )


def test_update_changes_the_fields_given_and_replaces_rules_when_given(api, promotion, over_100):
    tier_id = promotion["promotion"]["tiers"][0]["id"]

    with time_machine.travel("2025-05-02T00:00:00Z", tick=False):
        renamed = api.put(f"/v1/promotions/tiers/{tier_id}", {"banner": "New banner"}, format="json").json()
    rules_replaced = api.put(
        f"/v1/promotions/tiers/{tier_id}", {"validation_rules": [over_100["id"]]}, format="json"
    ).json()
    rules_cleared = api.put(f"/v1/promotions/tiers/{tier_id}", {"validation_rules": []}, format="json").json()

    assert (renamed["name"], renamed["banner"], renamed["updated_at"]) == (
        "10% over $50",
        "New banner",
        "2025-05-02T00:00:00.000Z",
    )
    assert renamed["validation_rule_assignments"]["total"] == 1
    assert [a["rule_id"] for a in rules_replaced["validation_rule_assignments"]["data"]] == [over_100["id"]]
    assert rules_cleared["validation_rule_assignments"] == {
        "object": "list",
        "data_ref": "data",
        "data": [],
        "total": 0,
    }
    assert rules_cleared["banner"] == "New banner"


def test_disable_and_enable(api, promotion):
    tier_id = promotion["promotion"]["tiers"][1]["id"]

    disabled = api.post(f"/v1/promotions/tiers/{tier_id}/disable")
    enabled_list = api.get("/v1/promotions/tiers?is_available=true").json()
    enabled = api.post(f"/v1/promotions/tiers/{tier_id}/enable")

    assert (disabled.status_code, disabled.json()["active"]) == (200, False)
    assert tier_id not in [t["id"] for t in enabled_list["tiers"]]
    assert enabled.json()["active"] is True


def test_delete_removes_the_tier_and_its_assignments_but_keeps_the_rule(api, project, promotion, over_50):
    tier_id = promotion["promotion"]["tiers"][0]["id"]

    response = api.delete(f"/v1/promotions/tiers/{tier_id}")

    assert response.status_code == 204
    assert_error(api.get(f"/v1/promotions/tiers/{tier_id}"), 404, "not_found")
    assert (
        not ValidationRuleAssignment.objects.for_project(project).filter(related_object_id=tier_id).exists()
    )
    assert api.get(f"/v1/validation-rules/{over_50['id']}").json()["assignments_count"] == 0
    assert [t["name"] for t in api.get("/v1/campaigns/Spring").json()["promotion"]["tiers"]] == [
        "20% over $100"
    ]


def test_deleting_the_campaign_deletes_its_tiers_and_their_assignments(api, project, promotion):
    response = api.delete(f"/v1/campaigns/{promotion['id']}")

    assert response.status_code == 202
    assert not PromotionTier.objects.for_project(project).exists()
    assert not ValidationRuleAssignment.objects.for_project(project).exists()


def test_list_all_tiers_pages_filters_availability_and_orders(api, project, promotion):
    make_campaign(project, name="Autumn", campaign_type="PROMOTION", promotion={"tiers": [{"name": "Later"}]})
    future = PromotionTier.objects.for_project(project).get(name="Later")
    with time_machine.travel("2025-01-01T00:00:00Z", tick=False):
        api.put(
            f"/v1/promotions/tiers/{future.public_id}", {"start_date": "2099-01-01T00:00:00Z"}, format="json"
        )
    Campaign.objects.for_project(project).filter(name="Spring").update(active=False)

    first = api.get("/v1/promotions/tiers?limit=2&order=created_at").json()
    second = api.get("/v1/promotions/tiers?limit=2&page=2&order=created_at").json()
    available = api.get("/v1/promotions/tiers?is_available=true").json()

    assert (first["object"], first["data_ref"], first["total"], first["has_more"]) == (
        "list",
        "tiers",
        3,
        True,
    )
    assert [t["name"] for t in first["tiers"] + second["tiers"]] == ["10% over $50", "20% over $100", "Later"]
    assert second["has_more"] is False
    assert available["tiers"] == []  # Spring's campaign is off, Later has not started


def test_listing_campaigns_loads_promotion_tiers_in_a_fixed_number_of_queries(
    api, project, promotion, django_assert_num_queries
):
    make_campaign(
        project, name="Autumn", campaign_type="PROMOTION", promotion={"tiers": [{"name": "A"}, {"name": "B"}]}
    )
    make_campaign(project, name="Codes")

    with django_assert_num_queries(
        6
    ):  # api key, page (+1 probe), total, tiers with campaigns, tier and campaign assignments
        body = api.get("/v1/campaigns?limit=2&order=created_at").json()

    assert [len(c["promotion"]["tiers"]) for c in body["campaigns"]] == [2, 2]


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, "Property .name: This field is required."),
        ({"name": 1}, "Property .name: must be a string"),
        ({"name": "X", "hierarchy": 1.0}, "Property .hierarchy: must be an integer"),
        ({"name": "X", "hierarchy": 0}, "Property .hierarchy"),
        ({"name": "X", "active": "yes"}, "Property .active: must be a boolean"),
        ({"name": "X", "action": {"discount": {"type": "PERCENTAGE"}}}, "Property .action.discount.type"),
        ({"name": "X", "action": {"discount": {"type": "PERCENT"}}}, "Property .action.discount.percent_off"),
        ({"name": "X", "validity_day_of_week": [7]}, "Property .validity_day_of_week"),
        (
            {"name": "X", "start_date": "2025-02-01T00:00:00Z", "expiration_date": "2025-01-01T00:00:00Z"},
            "Property .expiration_date: must be after start_date",
        ),
        ({"name": "X", "colour": "red"}, "Property .colour: is not allowed"),
        ({"name": "X", "validation_rules": "val_1"}, "Property .validation_rules"),
        (
            {"name": "X", "validation_rule_assignments": {"data": [{"id": "x"}]}},
            "rule_id: This field is required",
        ),
    ],
)
def test_a_malformed_tier_is_refused_and_nothing_changes(api, promotion, body, details):
    with nothing_changes():
        response = api.post(f"/v1/promotions/{promotion['id']}/tiers", body, format="json")

    assert details in assert_error(response, 400, "invalid_payload")["details"]


def test_a_rule_of_another_project_or_none_is_404_and_nothing_changes(api, outsider_api, promotion):
    theirs = outsider_api.post("/v1/validation-rules", {"name": "Theirs"}, format="json").json()
    tier_id = promotion["promotion"]["tiers"][0]["id"]

    for rule_id in (theirs["id"], "val_missing"):
        with nothing_changes():
            created = api.post(
                f"/v1/promotions/{promotion['id']}/tiers",
                {"name": "X", "validation_rules": [rule_id]},
                format="json",
            )
            updated = api.put(
                f"/v1/promotions/tiers/{tier_id}", {"validation_rules": [rule_id]}, format="json"
            )
            campaign = api.post(
                "/v1/campaigns",
                {
                    "name": "Another",
                    "campaign_type": "PROMOTION",
                    "promotion": {"tiers": [{"name": "A"}, {"name": "B", "validation_rules": [rule_id]}]},
                },
                format="json",
            )

        for response in (created, updated):
            body = assert_error(response, 404, "not_found")
            assert (body["resource_type"], body["resource_id"]) == ("validation_rule", rule_id)
        assert_error(campaign, 404, "not_found", details=f"Cannot find validation_rule with id {rule_id}")


def test_a_malformed_tier_in_a_campaign_create_is_refused_naming_it(api):
    with nothing_changes():
        response = api.post(
            "/v1/campaigns",
            {
                "name": "P",
                "campaign_type": "PROMOTION",
                "promotion": {"tiers": [{"name": "A"}, {"name": "B", "hierarchy": "1"}]},
            },
            format="json",
        )

    assert (
        "Property .promotion.tiers[1].hierarchy: must be an integer"
        in assert_error(response, 400, "invalid_payload")["details"]
    )


def test_tiers_belong_to_promotion_campaigns_only(api, project):
    campaign = make_campaign(project, name="Codes")

    with nothing_changes():
        response = api.post(f"/v1/promotions/{campaign.public_id}/tiers", {"name": "X"}, format="json")

    assert_error(response, 400, "invalid_campaign_params")
    assert api.get(f"/v1/promotions/{campaign.public_id}/tiers").json()["tiers"] == []


@pytest.mark.parametrize("path", ["/v1/promotions/camp_missing/tiers", "/v1/promotions/tiers/promo_missing"])
def test_unknown_campaign_or_tier_is_404(api, path):
    assert_error(api.get(path), 404, "not_found")


@pytest.mark.parametrize("query", ["is_available=yes", "order=name", "limit=500"])
def test_the_tier_list_refuses_bad_query_params(api, query):
    assert_error(api.get(f"/v1/promotions/tiers?{query}"), 400, "invalid_query_params")


def test_null_fields_mean_not_given_as_the_sdk_sends_them(api, promotion):
    tier_id = promotion["promotion"]["tiers"][0]["id"]

    response = api.put(
        f"/v1/promotions/tiers/{tier_id}",
        {"name": None, "banner": "Only the banner", "validation_rules": None, "action": None},
        format="json",
    )

    body = response.json()
    assert (body["name"], body["banner"], body["action"]) == ("10% over $50", "Only the banner", TEN_OFF)
    assert body["validation_rule_assignments"]["total"] == 1


@pytest.mark.parametrize(
    ("fields", "available"),
    [
        ({}, True),
        ({"active": False}, False),
        ({"start_date": "2025-06-02T00:00:00Z"}, False),
        ({"start_date": "2025-06-01T00:00:00Z"}, True),
        ({"expiration_date": "2025-06-01T12:00:00Z"}, True),
        ({"expiration_date": "2025-06-01T00:00:00Z"}, False),
    ],
)
def test_a_tier_is_available_when_active_and_inside_its_dates(api, project, promotion, fields, available):
    tier_id = promotion["promotion"]["tiers"][0]["id"]
    api.put(f"/v1/promotions/tiers/{tier_id}", fields, format="json")
    tier = PromotionTier.objects.for_project(project).get(public_id=tier_id)

    with time_machine.travel("2025-06-01T00:00:00Z", tick=False):
        assert tier.is_available() is available
