"""`/v1/validation-rules`: rule sets are created, read, listed, changed and deleted; a malformed rule
set is refused with Voucherify's error naming the rule at fault, and changes nothing."""

from __future__ import annotations

import pytest
import time_machine

from campaigns.models import ValidationRule
from campaigns.promotions import promotion_tier_create
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.rules_support import nothing_changes, order_over, segment_membership

pytestmark = pytest.mark.django_db

SANTORINI = {
    "name": "Santorini big orders",
    "rules": {
        "1": {"name": "order.amount", "conditions": {"$more_than": [10_000]}, "rules": {}},
        "2": {
            "name": "order.metadata",
            "property": "location",
            "conditions": {"$is": ["Santorini"]},
            "rules": {},
            "error": {"message": "Santorini only"},
        },
        "3": {"name": "customer.metadata", "property": "tier", "conditions": {"$in": ["gold", "silver"]}},
        "logic": "1 and (2 or 3)",
    },
    "error": {"message": "Not eligible"},
    "applicable_to": {"included": [{"object": "product", "id": "prod_1", "effect": "APPLY_TO_EVERY"}]},
    "type": "expression",
    "context_type": "campaign.promotion",
}


def test_create_returns_voucherifys_validation_rule_object(api, project):
    with time_machine.travel("2025-03-01T10:00:00Z", tick=False):
        response = api.post("/v1/validation-rules", SANTORINI, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    rule = ValidationRule.objects.for_project(project).get()
    assert body == {
        "id": rule.public_id,
        "name": "Santorini big orders",
        "rules": SANTORINI["rules"],
        "bundle_rules": {},
        "error": {"message": "Not eligible"},
        "applicable_to": {
            "included": [{"object": "product", "id": "prod_1", "effect": "APPLY_TO_EVERY"}],
            "excluded": [],
            "included_all": False,
        },
        "type": "expression",
        "context_type": "campaign.promotion",
        "created_at": "2025-03-01T10:00:00.000Z",
        "updated_at": None,
        "assignments_count": 0,
        "object": "validation_rules",
    }
    assert rule.public_id.startswith("val_")
    assert rule.logic == "1 and (2 or 3)"


def test_defaults_type_expression_context_global_and_logic_every_rule(api):
    body = api.post(
        "/v1/validation-rules",
        {
            "name": "Two rules",
            "rules": {
                "1": {"name": "order.amount", "conditions": {"$more_than": [1]}},
                "2": {"name": "order.items.count", "conditions": {"$more_than": [1]}},
            },
        },
        format="json",
    ).json()

    assert (body["type"], body["context_type"], body["error"]) == ("expression", "global", None)
    assert body["rules"]["logic"] == "1 and 2"


def test_get_by_id_counts_assignments(api, project):
    rule = api.post(
        "/v1/validation-rules", {"name": "Over 50", "rules": order_over(5_000)}, format="json"
    ).json()
    campaign = make_campaign(project, name="Promo", campaign_type="PROMOTION")
    promotion_tier_create(
        project=project, campaign=campaign, fields={"name": "Ten", "validation_rules": [rule["id"]]}
    )

    response = api.get(f"/v1/validation-rules/{rule['id']}")

    assert response.status_code == 200
    assert response.json() == {**rule, "assignments_count": 1}


def test_unknown_rule_is_404(api):
    assert_error(api.get("/v1/validation-rules/val_nope"), 404, "not_found")


def test_update_changes_only_the_fields_given_and_rules_replace_the_whole_set(api, project):
    created = api.post("/v1/validation-rules", SANTORINI, format="json").json()

    with time_machine.travel("2025-04-01T00:00:00Z", tick=False):
        renamed = api.put(f"/v1/validation-rules/{created['id']}", {"name": "Renamed"}, format="json")
    replaced = api.put(
        f"/v1/validation-rules/{created['id']}",
        {"rules": order_over(2_000), "error": {"message": "Spend $20"}},
        format="json",
    )

    assert renamed.status_code == 200, renamed.content
    assert renamed.json() == {**created, "name": "Renamed", "updated_at": "2025-04-01T00:00:00.000Z"}
    body = replaced.json()
    assert (body["name"], body["rules"], body["error"], body["context_type"]) == (
        "Renamed",
        order_over(2_000),
        {"message": "Spend $20"},
        "campaign.promotion",
    )
    assert ValidationRule.objects.for_project(project).get().logic == "1"


def test_delete_removes_the_rule_and_its_assignments_but_not_what_it_guarded(api, project):
    rule = api.post(
        "/v1/validation-rules", {"name": "Over 50", "rules": order_over(5_000)}, format="json"
    ).json()
    campaign = make_campaign(project, name="Promo", campaign_type="PROMOTION")
    tier = promotion_tier_create(
        project=project, campaign=campaign, fields={"name": "Ten", "validation_rules": [rule["id"]]}
    )

    response = api.delete(f"/v1/validation-rules/{rule['id']}")

    assert response.status_code == 204
    assert not ValidationRule.objects.for_project(project).exists()
    tier_body = api.get(f"/v1/promotions/tiers/{tier.public_id}").json()
    assert tier_body["validation_rule_assignments"]["data"] == []
    assert_error(api.get(f"/v1/validation-rules/{rule['id']}"), 404, "not_found")


def test_list_pages_orders_and_filters_by_creation_date(api, django_assert_num_queries):
    for day in (1, 2, 3):
        with time_machine.travel(f"2025-01-0{day}T12:00:00Z", tick=False):
            api.post("/v1/validation-rules", {"name": f"R{day}", "rules": order_over(day)}, format="json")

    with django_assert_num_queries(4):  # api key (read, last use), page (+1 probe) with counts, total
        first = api.get("/v1/validation-rules?limit=2&page=1")
    second = api.get("/v1/validation-rules?limit=2&page=2")
    by_name = api.get("/v1/validation-rules?order=name")
    since = api.get("/v1/validation-rules?start_date=2025-01-02T00:00:00.000000%2B0000")
    until = api.get("/v1/validation-rules?end_date=2025-01-02T23:00:00Z&order=created_at")

    body = first.json()
    assert (body["object"], body["data_ref"], body["total"]) == ("list", "data", 3)
    assert [r["name"] for r in body["data"]] == ["R3", "R2"]
    assert [r["name"] for r in second.json()["data"]] == ["R1"]
    assert [r["name"] for r in by_name.json()["data"]] == ["R1", "R2", "R3"]
    assert [r["name"] for r in since.json()["data"]] == ["R3", "R2"]
    assert [r["name"] for r in until.json()["data"]] == ["R1", "R2"]
    assert all(r["assignments_count"] == 0 for r in body["data"])


@pytest.mark.parametrize(
    "query",
    ["order=priority", "limit=0", "limit=101", "page=x", "start_date=yesterday"],
)
def test_list_refuses_bad_query_params(api, query):
    assert_error(api.get(f"/v1/validation-rules?{query}"), 400, "invalid_query_params")


def rules_with(rule, logic="1"):
    return {"name": "Bad", "rules": {"1": rule, "logic": logic}}


AMOUNT = {"name": "order.amount", "conditions": {"$more_than": [100]}}

BAD_RULES = [
    # the rules JSON: its keys, each rule's shape, names, operators and values
    ({"name": "Bad", "rules": {"one": AMOUNT, "logic": "1"}}, "rules: unknown key 'one'"),
    ({"name": "Bad", "rules": {"0": AMOUNT, "logic": "0"}}, "rules: unknown key '0'"),
    (rules_with("order.amount"), "Rule 1: must be an object"),
    (rules_with({"conditions": {"$is": [1]}}), "Rule 1: name is required"),
    (
        rules_with({**AMOUNT, "name": "order.colour"}),
        "Rule 1 (order.colour): unknown rule name 'order.colour'",
    ),
    (rules_with({**AMOUNT, "extra": 1}), "Rule 1 (order.amount): unknown field extra"),
    (rules_with({**AMOUNT, "conditions": {}}), "Rule 1 (order.amount): conditions must be an object"),
    (rules_with({**AMOUNT, "conditions": [100]}), "Rule 1 (order.amount): conditions must be an object"),
    (
        rules_with({**AMOUNT, "conditions": {"$around": [100]}}),
        "Rule 1 (order.amount): unknown operator $around",
    ),
    (
        rules_with({**AMOUNT, "conditions": {"$contains": ["1"]}}),
        "Rule 1 (order.amount): operator $contains is not allowed here",
    ),
    (
        rules_with({**AMOUNT, "conditions": {"$more_than": [10.5]}}),
        "Rule 1 (order.amount): every value of $more_than must be an integer, got 10.5",
    ),
    (
        rules_with({**AMOUNT, "conditions": {"$more_than": ["100"]}}),
        "Rule 1 (order.amount): every value of $more_than must be an integer, got '100'",
    ),
    (
        rules_with({**AMOUNT, "conditions": {"$more_than": [1, 2]}}),
        "Rule 1 (order.amount): $more_than takes exactly one value",
    ),
    (rules_with({**AMOUNT, "conditions": {"$is": []}}), "Rule 1 (order.amount): $is takes a non-empty array"),
    (
        rules_with({**AMOUNT, "conditions": {"$is": 100}}),
        "Rule 1 (order.amount): $is takes a non-empty array",
    ),
    (
        rules_with({"name": "order.metadata", "conditions": {"$is": ["x"]}}),
        "Rule 1 (order.metadata): property (the metadata key) is required",
    ),
    (
        rules_with({**AMOUNT, "property": "x"}),
        "Rule 1 (order.amount): property is only used by metadata rules",
    ),
    (
        rules_with({"name": "order.metadata", "property": "a", "conditions": {"$starts_with": [1]}}),
        "Rule 1 (order.metadata): every value of $starts_with must be a string",
    ),
    (
        rules_with({"name": "order.metadata", "property": "a", "conditions": {"$is": [{"x": 1}]}}),
        "Rule 1 (order.metadata): every value of $is must be a string, number or boolean",
    ),
    (
        rules_with({"name": "order.items.any", "conditions": {"$is": [{"object": "product"}]}}),
        "Rule 1 (order.items.any): every value of $is must be a product or SKU id",
    ),
    (
        rules_with({**AMOUNT, "rules": {"1": AMOUNT}}),
        "Rule 1 (order.amount): nested rules are not supported yet",
    ),
    (rules_with({**AMOUNT, "error": "no"}), "Rule 1 (order.amount): error must be"),
    (
        rules_with({"name": "customer.segment", "conditions": {"$is": ["seg_1"]}}),
        "Rule 1 (customer.segment): customer.segment rules are not available yet",
    ),
    # the logic
    (rules_with(AMOUNT, logic="1 and 2"), "logic: rule 2 is not defined"),
    (rules_with(AMOUNT, logic="1 and"), "logic: the expression ends"),
    (rules_with(AMOUNT, logic="(1"), "logic: a ( is not closed"),
    (rules_with(AMOUNT, logic=""), "logic: logic is empty"),
    (rules_with(AMOUNT, logic="1; drop table"), "logic: unexpected character ';'"),
    (rules_with(AMOUNT, logic=1), "logic: logic must be a string"),
]


@pytest.mark.parametrize(("body", "details"), BAD_RULES, ids=[d for _, d in BAD_RULES])
def test_a_malformed_rule_set_is_refused_naming_the_fault_and_nothing_changes(api, body, details):
    with segment_membership(None), nothing_changes():
        response = api.post("/v1/validation-rules", body, format="json")

    error = assert_error(response, 400, "invalid_validation_rules")
    assert details in error["details"]


@pytest.mark.parametrize(("body", "details"), BAD_RULES[:6], ids=[d for _, d in BAD_RULES[:6]])
def test_a_malformed_update_is_refused_and_the_rule_set_stays_as_it_was(api, body, details):
    created = api.post("/v1/validation-rules", SANTORINI, format="json").json()

    with nothing_changes():
        response = api.put(f"/v1/validation-rules/{created['id']}", body, format="json")

    assert details in assert_error(response, 400, "invalid_validation_rules")["details"]
    assert api.get(f"/v1/validation-rules/{created['id']}").json() == created


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"rules": order_over(1)}, "Property .name: This field is required."),
        ({"name": 5}, "Property .name: must be a string"),
        ({"name": "X", "rules": [1]}, "Property .rules: must be an object"),
        ({"name": "X", "type": "EXPRESSION"}, "Property .type: must be one of"),
        ({"name": "X", "context_type": "order"}, "Property .context_type: must be one of"),
        ({"name": "X", "colour": "red"}, "Property .colour: is not allowed"),
        ({"name": "X", "error": {"message": 1}}, "Property .error.message: must be a string"),
        (
            {"name": "X", "applicable_to": {"included": [{"object": "product", "id": "p"}]}},
            "Property .applicable_to.included[0].effect: This field is required.",
        ),
    ],
)
def test_a_body_of_the_wrong_shape_is_invalid_payload_and_nothing_changes(api, body, details):
    with nothing_changes():
        response = api.post("/v1/validation-rules", body, format="json")

    assert details in assert_error(response, 400, "invalid_payload")["details"]


def test_names_are_unique_in_a_project(api, outsider_api):
    api.post("/v1/validation-rules", {"name": "Same"}, format="json")

    with nothing_changes():
        response = api.post("/v1/validation-rules", {"name": "Same"}, format="json")

    assert_error(response, 409, "duplicate_found")
    assert outsider_api.post("/v1/validation-rules", {"name": "Same"}, format="json").status_code == 200


def test_renaming_onto_another_rules_name_is_refused(api):
    api.post("/v1/validation-rules", {"name": "Taken"}, format="json")
    other = api.post("/v1/validation-rules", {"name": "Free"}, format="json").json()

    with nothing_changes():
        response = api.put(f"/v1/validation-rules/{other['id']}", {"name": "Taken"}, format="json")

    assert_error(response, 409, "duplicate_found")


def test_segment_rules_are_accepted_once_segments_register_their_membership(api, project):
    from segments.services import segment_create

    vip = segment_create(project=project, name="VIPs", type="static").public_id
    body = {"name": "VIPs", "rules": {"1": {"name": "customer.segment", "conditions": {"$in": [vip]}}}}

    with segment_membership(lambda project, customer: set()):
        response = api.post("/v1/validation-rules", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["rules"]["1"]["name"] == "customer.segment"
