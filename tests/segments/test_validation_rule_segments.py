"""The `customer.segment` validation rule, enabled by the segments app: saved only when it names the
project's segments, and evaluated against stored membership at redemption and in a distribution's
condition context."""

from __future__ import annotations

from typing import Any

import pytest

from campaigns.models import ValidationRule, Voucher
from campaigns.validation_rules import RuleContext, rules_evaluate, validation_rule_evaluate
from customers.models import Customer
from segments.services import segment_create
from tests.api.support import assert_error, nothing_changes
from tests.campaigns.redemption_support import only_a_failed_redemption, redeem
from tests.segments.support import make_customer

pytestmark = pytest.mark.django_db


def in_segment(*segment_ids: str, operator: str = "$is") -> dict[str, Any]:
    return {"1": {"name": "customer.segment", "conditions": {operator: list(segment_ids)}}, "logic": "1"}


@pytest.fixture
def vips(project):
    make_customer(project, "ada")
    make_customer(project, "bob")
    return segment_create(project=project, name="VIPs", type="static", customers=["ada"])


def test_a_rule_naming_a_segment_of_the_project_is_saved(api, vips):
    response = api.post(
        "/v1/validation-rules", {"name": "VIPs only", "rules": in_segment(vips.public_id)}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rules"]["1"]["name"] == "customer.segment"
    assert body["rules"]["1"]["conditions"] == {"$is": [vips.public_id]}


@pytest.mark.parametrize("which", ["another project's", "unknown"])
def test_a_rule_naming_a_segment_outside_the_project_is_refused_and_nothing_changes(
    api, project, other_project, vips, which
):
    make_customer(other_project, "eve")
    elsewhere = segment_create(project=other_project, name="Theirs", type="static", customers=["eve"])
    segment_id = elsewhere.public_id if which == "another project's" else "seg_nothing_here"

    with nothing_changes():
        response = api.post(
            "/v1/validation-rules",
            {"name": "Sneaky", "rules": in_segment(vips.public_id, segment_id, operator="$in")},
            format="json",
        )

    assert_error(response, 400, "invalid_validation_rules")
    assert f"Rule 1 (customer.segment): no segment {segment_id}" in response.json()["details"]


def test_an_update_naming_another_projects_segment_is_refused(api, other_project, vips):
    rule_id = api.post(
        "/v1/validation-rules", {"name": "VIPs", "rules": in_segment(vips.public_id)}, format="json"
    ).json()["id"]
    make_customer(other_project, "eve")
    elsewhere = segment_create(project=other_project, name="Theirs", type="static", customers=["eve"])

    with nothing_changes():
        response = api.put(
            f"/v1/validation-rules/{rule_id}", {"rules": in_segment(elsewhere.public_id)}, format="json"
        )

    assert_error(response, 400, "invalid_validation_rules")


def test_a_redemption_is_accepted_for_a_member_and_refused_for_anyone_else(api, project, vips):
    rule_id = api.post(
        "/v1/validation-rules",
        {"name": "VIPs only", "rules": in_segment(vips.public_id), "error": {"message": "VIPs only"}},
        format="json",
    ).json()["id"]
    created = api.post(
        "/v1/campaigns",
        {
            "name": "VIP codes",
            "campaign_type": "DISCOUNT_COUPONS",
            "type": "STATIC",
            "vouchers_count": 1,
            "voucher": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "PERCENT", "percent_off": 10},
                "redemption": {"quantity": 5},
            },
            "validation_rules": [rule_id],
        },
        format="json",
    )
    assert created.status_code == 200, created.content
    code = Voucher.objects.for_project(project).get(campaign__public_id=created.json()["id"]).code

    with only_a_failed_redemption():
        refused = redeem(api, code, customer={"source_id": "bob"})
    body = assert_error(refused, 400, "customer_rules_violated")
    assert body["error"] == {"message": "VIPs only"}

    accepted = redeem(api, code, customer={"source_id": "ada"})
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["redemptions"][0]["result"] == "SUCCESS"


def test_a_distribution_condition_reads_membership_of_the_event_customer(project, vips):
    ada = Customer.objects.for_project(project).get(source_id="ada")
    bob = Customer.objects.for_project(project).get(source_id="bob")
    paid_order = {"amount": 5000, "items": [], "metadata": {}}

    def passes(customer, rules) -> bool:
        return rules_evaluate(
            project=project, rules=rules, context=RuleContext(customer=customer, order=paid_order)
        ).passed

    assert passes(ada, in_segment(vips.public_id))
    assert not passes(bob, in_segment(vips.public_id))
    assert passes(bob, in_segment(vips.public_id, operator="$is_not"))
    assert not passes(None, in_segment(vips.public_id))  # no customer: in no segment

    stored = ValidationRule.objects.create(
        project=project, public_id="val_vips", name="VIPs", rules=in_segment(vips.public_id), logic="1"
    )
    outcome = validation_rule_evaluate(project=project, rule=stored, context=RuleContext(customer=bob))
    assert (outcome.passed, outcome.error_key, outcome.rule_name) == (
        False,
        "customer_rules_violated",
        "customer.segment",
    )
