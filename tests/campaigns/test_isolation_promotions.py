"""Another project's promotion tiers and campaigns do not exist for an outsider: 404 and nothing
changes; lists never show them."""

from __future__ import annotations

import pytest

from tests.api.support import assert_error
from tests.campaigns.rules_support import nothing_changes, order_over

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/promotions/camp_example/tiers"),
    ("POST", "/v1/promotions/camp_example/tiers"),
    ("GET", "/v1/promotions/tiers"),
    ("GET", "/v1/promotions/tiers/promo_example"),
    ("PUT", "/v1/promotions/tiers/promo_example"),
    ("DELETE", "/v1/promotions/tiers/promo_example"),
    ("POST", "/v1/promotions/tiers/promo_example/enable"),
    ("POST", "/v1/promotions/tiers/promo_example/disable"),
]


@pytest.fixture
def ours(api):
    rule = api.post(
        "/v1/validation-rules", {"name": "Over 50", "rules": order_over(5_000)}, format="json"
    ).json()
    campaign = api.post(
        "/v1/campaigns",
        {
            "name": "Our promotion",
            "campaign_type": "PROMOTION",
            "promotion": {"tiers": [{"name": "Ten", "validation_rules": [rule["id"]]}]},
        },
        format="json",
    ).json()
    return {
        "campaign": campaign["id"],
        "name": campaign["name"],
        "tier": campaign["promotion"]["tiers"][0]["id"],
        "rule": rule["id"],
    }


ENDPOINTS = [
    ("get", "/v1/promotions/{campaign}/tiers", None),
    ("get", "/v1/promotions/{name}/tiers", None),
    ("post", "/v1/promotions/{campaign}/tiers", {"name": "Mine"}),
    ("post", "/v1/promotions/{name}/tiers", {"name": "Mine"}),
    ("get", "/v1/promotions/tiers/{tier}", None),
    ("put", "/v1/promotions/tiers/{tier}", {"name": "Mine"}),
    ("delete", "/v1/promotions/tiers/{tier}", None),
    ("post", "/v1/promotions/tiers/{tier}/enable", None),
    ("post", "/v1/promotions/tiers/{tier}/disable", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_an_outsider_gets_404_for_our_promotion_and_tiers_and_changes_nothing(
    outsider_api, ours, method, path, body
):
    with nothing_changes():
        response = getattr(outsider_api, method)(path.format(**ours), body, format="json")

    assert_error(response, 404, "not_found")


def test_an_outsider_cannot_attach_our_rule_to_their_tier(outsider_api, ours):
    campaign = outsider_api.post(
        "/v1/campaigns",
        {"name": "Theirs", "campaign_type": "PROMOTION", "promotion": {"tiers": [{"name": "T"}]}},
        format="json",
    ).json()
    their_tier = campaign["promotion"]["tiers"][0]["id"]

    with nothing_changes():
        created = outsider_api.post(
            f"/v1/promotions/{campaign['id']}/tiers",
            {"name": "X", "validation_rules": [ours["rule"]]},
            format="json",
        )
        updated = outsider_api.put(
            f"/v1/promotions/tiers/{their_tier}", {"validation_rules": [ours["rule"]]}, format="json"
        )

    assert assert_error(created, 404, "not_found")["resource_type"] == "validation_rule"
    assert assert_error(updated, 404, "not_found")["resource_type"] == "validation_rule"


@pytest.mark.parametrize("query", ["", "?is_available=true", "?limit=100&order=created_at"])
def test_an_outsiders_tier_list_does_not_show_our_tiers(outsider_api, ours, query):
    body = outsider_api.get(f"/v1/promotions/tiers{query}").json()

    assert (body["tiers"], body["total"]) == ([], 0)
