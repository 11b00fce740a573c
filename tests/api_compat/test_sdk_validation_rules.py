"""The official `voucherify` SDK (6.1.1) driving `/v1/validation-rules` on a live server: every
response parses as the SDK's typed model (enums for `type` and `context_type`, StrictInt counts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import voucherify
from voucherify.exceptions import ApiException, BadRequestException, NotFoundException
from voucherify.models import (
    CampaignsCreateRequestBody,
    CampaignsCreateRequestBodyPromotion,
    ValidationRulesAssignmentsCreateRequestBody,
    ValidationRulesAssignmentsCreateResponseBody,
    ValidationRulesAssignmentsListResponseBody,
    ValidationRulesCreateRequestBody,
    ValidationRulesCreateResponseBody,
    ValidationRulesGetResponseBody,
    ValidationRulesListResponseBody,
    ValidationRulesUpdateRequestBody,
    ValidationRulesUpdateResponseBody,
)

from tests.factories import ProjectFactory, make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

RULES = {
    "1": {"name": "order.amount", "conditions": {"$more_than": [10_000]}, "rules": {}},
    "2": {
        "name": "order.metadata",
        "property": "location",
        "conditions": {"$is": ["Santorini"]},
        "rules": {},
    },
    "logic": "1 and 2",
}


@pytest.fixture
def client(live_server) -> voucherify.ApiClient:
    project = ProjectFactory(slug="sdk-rules")
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ApiClient(configuration)


@pytest.fixture
def rules_api(client) -> voucherify.ValidationRulesApi:
    return voucherify.ValidationRulesApi(client)


def _create(rules_api, name="SDK rule", **fields) -> ValidationRulesCreateResponseBody:
    return rules_api.create_validation_rules(
        ValidationRulesCreateRequestBody.from_dict(
            {
                "name": name,
                "rules": RULES,
                "error": {"message": "Big Santorini orders only"},
                "applicable_to": {
                    "included": [{"object": "product", "id": "prod_1", "effect": "APPLY_TO_EVERY"}]
                },
                "type": "expression",
                "context_type": "campaign.promotion",
                **fields,
            }
        )
    )


def test_sdk_creates_and_gets_a_validation_rule(rules_api):
    created = _create(rules_api)
    fetched = rules_api.get_validation_rule(created.id)

    assert isinstance(created, ValidationRulesCreateResponseBody)
    assert created.id.startswith("val_")
    assert (created.name, created.rules, created.error.message) == (
        "SDK rule",
        RULES,
        "Big Santorini orders only",
    )
    assert (created.type, created.context_type, created.assignments_count, created.object) == (
        "expression",
        "campaign.promotion",
        0,
        "validation_rules",
    )
    assert created.applicable_to.included[0].effect == "APPLY_TO_EVERY"
    assert isinstance(fetched, ValidationRulesGetResponseBody)
    assert fetched.to_dict() == created.to_dict()


def test_sdk_updates_a_validation_rule(rules_api):
    created = _create(rules_api)

    updated = rules_api.update_validation_rule(
        created.id,
        ValidationRulesUpdateRequestBody.from_dict(
            {
                "name": "Renamed",
                "rules": {"1": RULES["1"], "logic": "1"},
                "context_type": "distribution.order.paid",
            }
        ),
    )

    assert isinstance(updated, ValidationRulesUpdateResponseBody)
    assert (updated.name, updated.rules["logic"], updated.context_type) == (
        "Renamed",
        "1",
        "distribution.order.paid",
    )
    assert updated.updated_at is not None


def test_sdk_lists_validation_rules_with_paging_order_and_dates(rules_api):
    for index in range(3):
        _create(rules_api, name=f"Rule {index}")

    page = rules_api.list_validation_rules(limit=2, page=1, order="name")
    rest = rules_api.list_validation_rules(limit=2, page=2, order="name")
    since = rules_api.list_validation_rules(start_date=datetime.now(UTC) - timedelta(hours=1))
    future = rules_api.list_validation_rules(start_date=datetime.now(UTC) + timedelta(hours=1))

    assert isinstance(page, ValidationRulesListResponseBody)
    assert (page.object, page.data_ref, page.total) == ("list", "data", 3)
    assert [rule.name for rule in page.data + rest.data] == ["Rule 0", "Rule 1", "Rule 2"]
    assert since.total == 3
    assert future.total == 0


def test_sdk_deletes_a_validation_rule(rules_api):
    created = _create(rules_api)

    assert rules_api.delete_validation_rules(created.id) is None
    with pytest.raises(NotFoundException):
        rules_api.get_validation_rule(created.id)


def test_sdk_sees_a_malformed_rule_set_as_a_bad_request(rules_api):
    with pytest.raises(BadRequestException) as refused:
        rules_api.create_validation_rules(
            ValidationRulesCreateRequestBody.from_dict(
                {
                    "name": "Bad",
                    "rules": {"1": {"name": "order.colour", "conditions": {"$is": ["red"]}}, "logic": "1"},
                }
            )
        )

    assert refused.value.status == 400
    assert "invalid_validation_rules" in refused.value.body
    assert "Rule 1 (order.colour)" in refused.value.body


def test_sdk_assigns_a_rule_to_a_promotion_tier_lists_and_removes_it(client, rules_api):
    rule = _create(rules_api)
    campaign = voucherify.CampaignsApi(client).create_campaign(
        CampaignsCreateRequestBody(
            name="SDK promo",
            campaign_type="PROMOTION",
            promotion=CampaignsCreateRequestBodyPromotion.from_dict({"tiers": [{"name": "Ten"}]}),
        )
    )
    tier_id = campaign.promotion.tiers[0].id

    body = ValidationRulesAssignmentsCreateRequestBody(
        related_object_type="promotion_tier", related_object_id=tier_id
    )
    first = rules_api.create_validation_rule_assignment(
        rule.id, validation_rules_assignments_create_request_body=body
    )
    with pytest.raises(ApiException, match="409"):
        rules_api.create_validation_rule_assignment(
            rule.id, validation_rules_assignments_create_request_body=body
        )
    assignment = rules_api.create_validation_rule_assignment(
        rule.id, force=True, validation_rules_assignments_create_request_body=body
    )
    listed = rules_api.list_validation_rule_assignments(rule.id, limit=10, page=1, order="-created_at")
    counted = rules_api.get_validation_rule(rule.id).assignments_count
    removed = rules_api.delete_validation_rule_assignment(rule.id, assignment.id)

    assert isinstance(assignment, ValidationRulesAssignmentsCreateResponseBody)
    assert assignment.id != first.id  # force replaced the first
    assert (
        assignment.rule_id,
        assignment.related_object_id,
        assignment.related_object_type,
        assignment.object,
    ) == (
        rule.id,
        tier_id,
        "promotion_tier",
        "validation_rules_assignment",
    )
    assert isinstance(listed, ValidationRulesAssignmentsListResponseBody)
    assert (listed.object, listed.data_ref, listed.total, [a.id for a in listed.data]) == (
        "list",
        "data",
        1,
        [assignment.id],
    )
    assert counted == 1
    assert removed is None
    assert rules_api.list_validation_rule_assignments(rule.id).total == 0
