"""Another project's validation rules do not exist for an outsider: 404 and nothing changes; lists
never show them; a rule set of the same name is the outsider's own."""

from __future__ import annotations

import pytest

from campaigns.models import ValidationRule
from tests.api.support import assert_error
from tests.campaigns.rules_support import nothing_changes, order_over

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/validation-rules/val_example"),
    ("PUT", "/v1/validation-rules/val_example"),
    ("DELETE", "/v1/validation-rules/val_example"),
    ("GET", "/v1/validation-rules"),
    ("POST", "/v1/validation-rules"),
    ("GET", "/v1/validation-rules/val_example/assignments"),
    ("POST", "/v1/validation-rules/val_example/assignments"),
    ("DELETE", "/v1/validation-rules/val_example/assignments/asgm_example"),
]


@pytest.fixture
def ours(api):
    return api.post(
        "/v1/validation-rules", {"name": "Ours", "rules": order_over(5_000)}, format="json"
    ).json()


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("put", {"name": "Mine now"}), ("put", {"rules": order_over(1)}), ("delete", None)],
)
def test_an_outsider_gets_404_for_our_rule_and_changes_nothing(outsider_api, ours, method, body):
    with nothing_changes():
        response = getattr(outsider_api, method)(f"/v1/validation-rules/{ours['id']}", body, format="json")

    assert_error(response, 404, "not_found")


def test_an_outsiders_list_does_not_show_our_rules(outsider_api, ours):
    body = outsider_api.get("/v1/validation-rules?limit=100").json()

    assert (body["data"], body["total"]) == ([], 0)


def test_an_outsider_creating_a_rule_of_our_name_makes_their_own(outsider_api, ours, project, other_project):
    before = list(ValidationRule.objects.for_project(project).values())

    response = outsider_api.post("/v1/validation-rules", {"name": "Ours"}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] != ours["id"]
    assert list(ValidationRule.objects.for_project(project).values()) == before
    assert ValidationRule.objects.for_project(other_project).get().name == "Ours"


@pytest.fixture
def our_assignment(api, ours):
    campaign = api.post(
        "/v1/campaigns",
        {"name": "Promo", "campaign_type": "PROMOTION", "promotion": {"tiers": [{"name": "A"}]}},
        format="json",
    ).json()
    tier_id = campaign["promotion"]["tiers"][0]["id"]
    assignment = api.post(
        f"/v1/validation-rules/{ours['id']}/assignments",
        {"related_object_type": "promotion_tier", "related_object_id": tier_id},
        format="json",
    ).json()
    return {"rule": ours["id"], "tier": tier_id, "assignment": assignment["id"]}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/validation-rules/{rule}/assignments"),
        ("post", "/v1/validation-rules/{rule}/assignments"),
        ("delete", "/v1/validation-rules/{rule}/assignments/{assignment}"),
    ],
)
def test_an_outsider_gets_404_for_our_rules_assignments_and_changes_nothing(
    outsider_api, our_assignment, method, path
):
    body = {"related_object_type": "promotion_tier", "related_object_id": our_assignment["tier"]}

    with nothing_changes():
        response = getattr(outsider_api, method)(path.format(**our_assignment), body, format="json")

    assert_error(response, 404, "not_found")


def test_an_outsider_cannot_assign_their_rule_to_our_tier(outsider_api, our_assignment):
    theirs = outsider_api.post("/v1/validation-rules", {"name": "Theirs"}, format="json").json()

    with nothing_changes():
        response = outsider_api.post(
            f"/v1/validation-rules/{theirs['id']}/assignments",
            {"related_object_type": "promotion_tier", "related_object_id": our_assignment["tier"]},
            format="json",
        )

    assert assert_error(response, 404, "not_found")["resource_type"] == "promotion_tier"
