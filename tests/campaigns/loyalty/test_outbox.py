"""Each loyalty event type is published exactly once by the action that causes it, read from the
outbox: the events one action adds, in order, with the API request as their cause."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.loyalty.tasks import expire_loyalty_points
from eventbus.dispatch import dispatch
from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import api_join, make_program

pytestmark = pytest.mark.django_db


@contextmanager
def new_events(project):
    """Yields a list that, after the block, holds the types of the events the block published."""
    last = DomainEvent.objects.for_project(project).order_by("-pk").values_list("pk", flat=True).first() or 0
    added: list[str] = []
    yield added
    added.extend(
        DomainEvent.objects.for_project(project)
        .filter(pk__gt=last)
        .order_by("pk")
        .values_list("type", flat=True)
    )


def _balance(api, program, code, points, **fields):
    response = api.post(
        f"/v1/loyalties/{program.public_id}/members/{code}/balance",
        {"points": points, **fields},
        format="json",
    )
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def program(project):
    return make_program(project, tiers=[("Bronze", 0, 99), ("Silver", 100, 499), ("Gold", 500, None)])


def test_joining_publishes_the_code_and_joins_the_lowest_tier(api, project, program):
    with new_events(project) as added:
        api_join(api, program, "ann")

    assert added == ["customer.created", "customer.publication.succeeded", "customer.loyalty.tier.joined"]


def test_adding_points_publishes_points_added_and_the_upgrade(api, project, program):
    code = api_join(api, program, "ann")["code"]

    with new_events(project) as added:
        response = _balance(api, program, code, 150)

    assert added == ["customer.voucher.loyalty_card.points_added", "customer.loyalty.tier.upgraded"]
    event = DomainEvent.objects.for_project(project).get(type="customer.voucher.loyalty_card.points_added")
    assert event.cause["channel"] == "API" and event.cause["request_id"] == response["X-Request-Id"]


def test_subtracting_points_publishes_only_the_downgrade(api, project, program):
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, 600)

    with new_events(project) as added:
        _balance(api, program, code, -200)

    assert added == ["customer.loyalty.tier.downgraded"]


def test_falling_out_of_every_tier_publishes_left(api, project):
    program = make_program(project, tiers=[("Silver", 100, None)])
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, 100)

    with new_events(project) as added:
        _balance(api, program, code, -1)

    assert added == ["customer.loyalty.tier.left"]


def test_the_expiry_job_publishes_points_expired_and_the_tier_change_once(api, project, program):
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, 150, expiration_type="CUSTOM_DATE", expiration_date="2026-03-01")

    with (
        time_machine.travel(datetime(2026, 3, 2, tzinfo=UTC), tick=False),
        new_events(project) as added,
    ):
        expire_loyalty_points()
        expire_loyalty_points()

    assert added == ["customer.voucher.loyalty_card.points_expired", "customer.loyalty.tier.downgraded"]


def test_the_expiry_job_prolongs_a_tier_into_a_new_period_once(api, project):
    spec = {
        "qualification_type": "BALANCE",
        "qualification_period": "MONTH",
        "expiration_date": {"type": "END_OF_PERIOD"},
    }
    program = make_program(project, tiers=[("Silver", 100, None)], loyalty_tiers_expiration=spec)
    with time_machine.travel(datetime(2026, 1, 5, tzinfo=UTC), tick=False):
        code = api_join(api, program, "ann")["code"]
        _balance(api, program, code, 100)

    with (
        time_machine.travel(datetime(2026, 2, 1, tzinfo=UTC), tick=False),
        new_events(project) as added,
    ):
        expire_loyalty_points()
        expire_loyalty_points()

    assert added == ["customer.loyalty.tier.prolonged"]


def test_an_earning_rule_publishes_rewarded_points_once_per_event(api, project, program):
    api_join(api, program, "ann")
    api.post(
        f"/v1/loyalties/{program.public_id}/earning-rules",
        [{"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 120}}],
        format="json",
    )
    api.post("/v1/orders", {"status": "PAID", "amount": 100, "customer": {"source_id": "ann"}}, format="json")
    paid = DomainEvent.objects.for_project(project).get(type="customer.order.paid")

    with new_events(project) as added:
        dispatch(paid.pk)
        dispatch(paid.pk)

    assert added == ["customer.loyalty.tier.upgraded", "customer.rewarded.loyalty_points"]


def test_redeeming_a_reward_publishes_the_code_and_the_completed_redemption(api, project, program):
    coupons = make_campaign(project, name="Coupons", codes_count=2)
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, 50)
    reward = api.post(
        "/v1/rewards", {"name": "5 off", "parameters": {"campaign": {"id": coupons.public_id}}}, format="json"
    )
    reward_id = reward.json()["id"]
    api.post(
        f"/v1/rewards/{reward_id}/assignments",
        {"campaign": program.public_id, "parameters": {"loyalty": {"points": 20}}},
        format="json",
    )

    with new_events(project) as added:
        response = api.post(
            f"/v1/loyalties/{program.public_id}/members/{code}/redemption",
            {"reward": {"id": reward_id}},
            format="json",
        )

    assert response.status_code == 200, response.content
    assert added == ["customer.publication.succeeded", "customer.reward_redemptions.completed"]


def test_a_refused_change_publishes_nothing(api, project, program):
    code = api_join(api, program, "ann")["code"]

    with new_events(project) as added:
        api.post(f"/v1/loyalties/{program.public_id}/members/{code}/balance", {"points": -1}, format="json")

    assert added == []
