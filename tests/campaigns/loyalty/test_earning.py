"""Earning rules: points for paid orders and custom events, awarded by the event-bus handler, once
per (card, event, rule) however often the event is delivered."""

from __future__ import annotations

from datetime import UTC

import pytest
import time_machine

from campaigns.loyalty.earning import apply_earning_rules
from campaigns.models import EarningRule, LoyaltyCard, LoyaltyTransaction
from eventbus.dispatch import dispatch
from eventbus.models import DomainEvent, HandlerRun
from tests.api.support import assert_error
from tests.campaigns.loyalty.support import api_join, events_of, make_program, nothing_changes

EARNING_HANDLER = "campaigns.loyalty.earning"

pytestmark = pytest.mark.django_db

FIXED_ON_ORDER = {"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 25}}
PER_TEN_EUROS = {
    "event": "customer.order.paid",
    "loyalty": {
        "type": "PROPORTIONAL",
        "calculation_type": "ORDER_AMOUNT",
        "order": {"amount": {"every": 1000, "points": 3}},
    },
}
ON_REVIEW = {
    "event": "review_written",
    "custom_event": {"schema_id": "ms_review"},
    "loyalty": {"type": "FIXED", "points": 10},
}


def _rules(api, program, *rules):
    response = api.post(f"/v1/loyalties/{program.public_id}/earning-rules", list(rules), format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _paid_order(api, source_id, amount, customer="ann"):
    response = api.post(
        "/v1/orders",
        {"source_id": source_id, "status": "PAID", "amount": amount, "customer": {"source_id": customer}},
        format="json",
    )
    assert response.status_code == 201, response.content
    return DomainEvent.objects.filter(type="customer.order.paid").order_by("-pk").first()


def _balance(project, code):
    return LoyaltyCard.objects.for_project(project).select_related("voucher").get(voucher__code=code).voucher


def test_a_paid_order_earns_fixed_and_proportional_points_once(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _rules(api, program, FIXED_ON_ORDER, PER_TEN_EUROS)

    event = _paid_order(api, "o-1", 4_550)  # 45.50: four full tens
    assert dispatch(event.pk) is True
    apply_earning_rules(event)  # a redelivery awards nothing more

    voucher = _balance(project, code)
    assert voucher.loyalty_balance == voucher.loyalty_points == 25 + 12
    rewarded = events_of(project, "customer.rewarded.loyalty_points")
    assert sorted(e.data["points"] for e in rewarded) == [12, 25]
    assert {e.refs["order"] for e in rewarded} == {event.refs["order"]}
    assert all(
        e.refs["campaign"] == program.public_id and e.refs["event"] == event.public_id for e in rewarded
    )
    assert (
        HandlerRun.objects.for_project(project).get(event=event, handler=EARNING_HANDLER).status
        == "succeeded"
    )
    assert LoyaltyTransaction.objects.for_project(project).filter(kind="POINTS_ACCRUED").count() == 2


def test_a_custom_event_earns_the_points_of_its_rule(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _rules(api, program, ON_REVIEW)

    api.post("/v1/events", {"event": "review_written", "customer": {"source_id": "ann"}}, format="json")
    api.post("/v1/events", {"event": "other_event", "customer": {"source_id": "ann"}}, format="json")
    for event in DomainEvent.objects.filter(type="customer.custom_event").order_by("pk"):
        dispatch(event.pk)

    assert _balance(project, code).loyalty_balance == 10
    (rewarded,) = events_of(project, "customer.rewarded.loyalty_points")
    assert rewarded.refs["earning_rule"] == EarningRule.objects.for_project(project).get().public_id
    assert "custom_event" in rewarded.refs


def test_custom_event_metadata_earns_proportional_points(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    rule = {
        "event": "km_run",
        "loyalty": {
            "type": "PROPORTIONAL",
            "calculation_type": "CUSTOM_EVENT_METADATA",
            "custom_event": {"metadata": {"every": 5, "points": 2, "property": "km"}},
        },
    }
    _rules(api, program, rule)

    api.post(
        "/v1/events", {"event": "km_run", "customer": {"source_id": "ann"}, "metadata": {"km": 21}}, "json"
    )
    dispatch(DomainEvent.objects.get(type="customer.custom_event").pk)

    assert _balance(project, code).loyalty_balance == 8


def test_a_customer_without_a_card_earns_nothing_unless_the_program_auto_joins(api, project):
    closed = make_program(project, name="Closed")
    open_program = make_program(project, name="Open", auto_join=True)
    _rules(api, closed, FIXED_ON_ORDER)
    _rules(api, open_program, FIXED_ON_ORDER)

    dispatch(_paid_order(api, "o-1", 1000, customer="newcomer").pk)

    (card,) = LoyaltyCard.objects.for_project(project).select_related("voucher", "campaign")
    assert card.campaign.name == "Open" and card.voucher.loyalty_balance == 25


def test_disabled_and_expired_rules_award_nothing(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    disabled, expired = _rules(
        api, program, FIXED_ON_ORDER, {**PER_TEN_EUROS, "expiration_date": "2000-01-01T00:00:00Z"}
    )
    api.post(f"/v1/loyalties/{program.public_id}/earning-rules/{disabled['id']}/disable")

    dispatch(_paid_order(api, "o-1", 5000).pk)

    assert _balance(project, code).loyalty_balance == 0
    assert expired["expiration_date"] == "2000-01-01T00:00:00.000Z"


def test_a_rule_applies_only_on_its_days_and_hours(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    weekdays_office_hours = {
        **FIXED_ON_ORDER,
        "validity_day_of_week": [1, 2, 3, 4, 5],
        "validity_hours": {"daily": [{"start_time": "09:00", "expiration_time": "17:00"}]},
    }
    _rules(api, program, weekdays_office_hours)

    # 2026-03-07 is a Saturday; 2026-03-09 a Monday.
    for moment, source_id in [
        ("2026-03-07T10:00:00Z", "sat"),
        ("2026-03-09T08:59:00Z", "early"),
        ("2026-03-09T12:00:00Z", "noon"),
    ]:
        with time_machine.travel(moment, tick=False):
            dispatch(_paid_order(api, source_id, 1000).pk)

    assert _balance(project, code).loyalty_balance == 25


def test_earning_rules_are_listed_got_updated_and_deleted(api, project):
    program = make_program(project)
    (rule,) = _rules(api, program, FIXED_ON_ORDER)
    base = f"/v1/loyalties/{program.public_id}/earning-rules"

    listed = api.get(base).json()
    got = api.get(f"{base}/{rule['id']}").json()
    updated = api.put(
        f"{base}/{rule['id']}", {"loyalty": {"type": "FIXED", "points": 40}}, format="json"
    ).json()
    deleted = api.delete(f"{base}/{rule['id']}")

    assert listed["total"] == 1 and listed["data"][0]["id"] == rule["id"]
    assert got["object"] == "earning_rule" and got["event"] == "customer.order.paid"
    assert got["source"]["object_id"] == program.public_id
    assert updated["loyalty"] == {"type": "FIXED", "points": 40}
    assert deleted.status_code == 204
    assert_error(api.get(f"{base}/{rule['id']}"), 404, "not_found")


PROPORTIONAL_ON_AMOUNT = {"type": "PROPORTIONAL", "calculation_type": "ORDER_AMOUNT"}
BAD_RULES = {
    "unsupported-event": {"event": "customer.segment.entered", "loyalty": {"type": "FIXED", "points": 1}},
    "no-points": {"event": "customer.order.paid", "loyalty": {"type": "FIXED"}},
    "float-points": {"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 2.5}},
    "no-amount": {"event": "customer.order.paid", "loyalty": PROPORTIONAL_ON_AMOUNT},
    "order-rule-on-custom": {
        "event": "custom",
        "loyalty": {**PROPORTIONAL_ON_AMOUNT, "order": {"amount": {"every": 1, "points": 1}}},
    },
    "no-event": {"loyalty": {"type": "FIXED", "points": 1}},
    "bad-hours": {
        **FIXED_ON_ORDER,
        "validity_hours": {"daily": [{"start_time": "9am", "expiration_time": "17:00"}]},
    },
    "timeframe": {**FIXED_ON_ORDER, "validity_timeframe": {"interval": "P1D", "duration": "PT1H"}},
    "unknown": {"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 1}, "unknown": 1},
}


@pytest.mark.parametrize("rule", BAD_RULES.values(), ids=BAD_RULES.keys())
def test_bad_earning_rules_are_refused_and_nothing_changes(api, project, rule):
    program = make_program(project)

    with nothing_changes():
        response = api.post(f"/v1/loyalties/{program.public_id}/earning-rules", [rule], format="json")

    assert_error(response, 400, "invalid_payload")


def test_an_auto_join_program_that_takes_no_members_now_awards_nothing_and_does_not_fail(api, project):
    from datetime import datetime

    from campaigns.services import campaign_update

    program = make_program(project, name="Ended", auto_join=True)
    _rules(api, program, FIXED_ON_ORDER)
    campaign_update(
        project=project,
        campaign=program,
        fields={"expiration_date": datetime(2000, 1, 1, tzinfo=UTC)},
    )

    event = _paid_order(api, "o-1", 1000, customer="newcomer")

    assert dispatch(event.pk) is True
    assert (
        HandlerRun.objects.for_project(project).get(event=event, handler=EARNING_HANDLER).status
        == "succeeded"
    )
    assert not LoyaltyCard.objects.for_project(project).exists()
