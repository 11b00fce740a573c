"""`/v1/validation-rules/{id}/assignments`: which objects a rule set guards; promotion tiers for now."""

from __future__ import annotations

import pytest

from campaigns.models import ValidationRuleAssignment
from tests.api.support import assert_error
from tests.campaigns.rules_support import nothing_changes, order_over

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(api):
    return api.post(
        "/v1/validation-rules", {"name": "Over 50", "rules": order_over(5_000)}, format="json"
    ).json()


@pytest.fixture
def tiers(api):
    campaign = api.post(
        "/v1/campaigns",
        {
            "name": "Promo",
            "campaign_type": "PROMOTION",
            "promotion": {"tiers": [{"name": "A"}, {"name": "B"}]},
        },
        format="json",
    ).json()
    return [tier["id"] for tier in campaign["promotion"]["tiers"]]


def test_assign_a_rule_to_tiers_and_list_its_assignments(api, project, rule, tiers):
    created = [
        api.post(
            f"/v1/validation-rules/{rule['id']}/assignments",
            {"related_object_type": "promotion_tier", "related_object_id": tier_id},
            format="json",
        )
        for tier_id in tiers
    ]
    listed = api.get(f"/v1/validation-rules/{rule['id']}/assignments?order=created_at").json()

    assert [response.status_code for response in created] == [200, 200]
    first = created[0].json()
    assignment = ValidationRuleAssignment.objects.for_project(project).get(public_id=first["id"])
    assert first == {
        "id": assignment.public_id,
        "rule_id": rule["id"],
        "related_object_id": tiers[0],
        "related_object_type": "promotion_tier",
        "created_at": first["created_at"],
        "object": "validation_rules_assignment",
    }
    assert (listed["object"], listed["data_ref"], listed["total"]) == ("list", "data", 2)
    assert [item["related_object_id"] for item in listed["data"]] == tiers
    assert api.get(f"/v1/validation-rules/{rule['id']}").json()["assignments_count"] == 2
    tier = api.get(f"/v1/promotions/tiers/{tiers[0]}").json()
    assert tier["validation_rule_assignments"]["data"] == [first]


def test_unassign_removes_only_that_assignment(api, rule, tiers):
    assignment = api.post(
        f"/v1/validation-rules/{rule['id']}/assignments",
        {"related_object_type": "promotion_tier", "related_object_id": tiers[0]},
        format="json",
    ).json()

    response = api.delete(f"/v1/validation-rules/{rule['id']}/assignments/{assignment['id']}")

    assert response.status_code == 204
    assert api.get(f"/v1/validation-rules/{rule['id']}/assignments").json()["total"] == 0
    assert api.get(f"/v1/validation-rules/{rule['id']}").status_code == 200
    assert_error(
        api.delete(f"/v1/validation-rules/{rule['id']}/assignments/{assignment['id']}"), 404, "not_found"
    )


@pytest.mark.parametrize(
    ("body", "status", "key"),
    [
        ({"related_object_type": "promotion_tier", "related_object_id": "promo_missing"}, 404, "not_found"),
        ({"related_object_type": "voucher", "related_object_id": "CODE"}, 400, "invalid_payload"),
        ({"related_object_type": "tier", "related_object_id": "x"}, 400, "invalid_payload"),
        ({"related_object_type": "promotion_tier"}, 400, "invalid_payload"),
    ],
)
def test_a_bad_assignment_is_refused_and_nothing_changes(api, rule, tiers, body, status, key):
    with nothing_changes():
        response = api.post(f"/v1/validation-rules/{rule['id']}/assignments", body, format="json")

    assert_error(response, status, key)


def test_assigning_twice_is_a_conflict(api, rule, tiers):
    body = {"related_object_type": "promotion_tier", "related_object_id": tiers[0]}
    api.post(f"/v1/validation-rules/{rule['id']}/assignments", body, format="json")

    with nothing_changes():
        response = api.post(f"/v1/validation-rules/{rule['id']}/assignments", body, format="json")

    assert_error(response, 409, "duplicate_found")


def test_an_assignment_of_another_rule_is_404_under_this_one(api, rule, tiers):
    other = api.post("/v1/validation-rules", {"name": "Other"}, format="json").json()
    assignment = api.post(
        f"/v1/validation-rules/{rule['id']}/assignments",
        {"related_object_type": "promotion_tier", "related_object_id": tiers[0]},
        format="json",
    ).json()

    with nothing_changes():
        response = api.delete(f"/v1/validation-rules/{other['id']}/assignments/{assignment['id']}")

    assert_error(response, 404, "not_found")


def test_force_replaces_an_identical_assignment_and_anything_else_is_a_bad_query(api, rule, tiers):
    body = {"related_object_type": "promotion_tier", "related_object_id": tiers[0]}
    first = api.post(f"/v1/validation-rules/{rule['id']}/assignments", body, format="json").json()

    replaced = api.post(
        f"/v1/validation-rules/{rule['id']}/assignments?force=true", body, format="json"
    ).json()
    with nothing_changes():
        refused = api.post(f"/v1/validation-rules/{rule['id']}/assignments?force=yes", body, format="json")

    assert replaced["id"] != first["id"]
    assert [a["id"] for a in api.get(f"/v1/validation-rules/{rule['id']}/assignments").json()["data"]] == [
        replaced["id"]
    ]
    assert_error(refused, 400, "invalid_query_params")
