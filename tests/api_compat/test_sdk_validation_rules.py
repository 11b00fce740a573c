"""The official `voucherify` SDK (6.1.1) driving `/v1/validation-rules` on a live server: every
response parses as the SDK's typed model (enums for `type` and `context_type`, StrictInt counts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException
from voucherify.models import (
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
def rules_api(live_server) -> voucherify.ValidationRulesApi:
    project = ProjectFactory(slug="sdk-rules")
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ValidationRulesApi(voucherify.ApiClient(configuration))


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
