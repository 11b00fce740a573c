"""Tiers: points ranges, the member's tier under the program's `loyalty_tiers_expiration`, and one
event per change (joined, left, upgraded, downgraded, prolonged)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from campaigns.loyalty.ledger import balance_update, expire_due_points
from campaigns.loyalty.tiers import TIER_EVENTS, settle_due_tiers, tiers_create
from campaigns.models import LoyaltyCard, LoyaltyTier
from tests.api.support import assert_error
from tests.campaigns.loyalty.support import api_join, event_types, join, make_program, nothing_changes

pytestmark = pytest.mark.django_db

THREE_TIERS = [("Bronze", 0, 99), ("Silver", 100, 499), ("Gold", 500, None)]


def _tier_events(project) -> list[tuple[str, dict]]:
    from eventbus.models import DomainEvent

    return [
        (event.type.rsplit(".", 1)[-1], event.refs)
        for event in DomainEvent.objects.for_project(project).filter(type__in=TIER_EVENTS).order_by("pk")
    ]


def _tier_names(project) -> dict[str, str]:
    return dict(LoyaltyTier.objects.for_project(project).values_list("public_id", "name"))


def _moves(project) -> list[tuple[str, ...]]:
    names = _tier_names(project)
    moves = []
    for kind, refs in _tier_events(project):
        if kind in ("upgraded", "downgraded"):
            moves.append((kind, names[refs["loyalty_tier_from"]], names[refs["loyalty_tier_to"]]))
        else:
            moves.append((kind, names[refs["loyalty_tier"]]))
    return moves


def _points(project, card, points, **fields):
    return balance_update(project=project, card_id=card.pk, points=points, **fields)


def _tier_of(card) -> str | None:
    card.refresh_from_db()
    return card.tier.name if card.tier else None


def test_by_balance_a_member_joins_moves_up_and_down_and_leaves_each_once(project):
    program = make_program(project, tiers=[("Silver", 100, 499), ("Gold", 500, None)])
    card = join(project, program)

    _points(project, card, 50)  # below the lowest tier: no tier yet
    _points(project, card, 60)  # 110: Silver
    _points(project, card, 10)  # 120: still Silver, no event
    _points(project, card, 400)  # 520: Gold
    _points(project, card, -300)  # 220: Silver
    _points(project, card, -200)  # 20: below the lowest tier

    assert _moves(project) == [
        ("joined", "Silver"),
        ("upgraded", "Silver", "Gold"),
        ("downgraded", "Gold", "Silver"),
        ("left", "Silver"),
    ]
    assert _tier_of(card) is None


def test_tier_events_name_campaign_tier_and_customer(project):
    program = make_program(project, tiers=THREE_TIERS)
    card = join(project, program)

    _points(project, card, 150)

    from eventbus.models import DomainEvent

    joined, upgraded = DomainEvent.objects.for_project(project).filter(type__in=TIER_EVENTS).order_by("pk")
    assert joined.type == "customer.loyalty.tier.joined"  # Bronze, on joining with 0 points
    assert joined.customer_id == card.customer_id
    assert joined.refs["campaign"] == program.public_id
    assert (
        joined.refs["loyalty_tier"] == LoyaltyTier.objects.for_project(project).get(name="Bronze").public_id
    )
    assert (
        upgraded.refs["loyalty_tier_to"]
        == LoyaltyTier.objects.for_project(project).get(name="Silver").public_id
    )


def test_a_jump_over_a_tier_is_one_upgrade(project):
    program = make_program(project, tiers=THREE_TIERS)
    card = join(project, program)

    _points(project, card, 1000)

    assert _moves(project) == [("joined", "Bronze"), ("upgraded", "Bronze", "Gold")]


def test_expiry_that_drops_the_points_moves_the_tier_down(project):
    program = make_program(project, tiers=THREE_TIERS)
    card = join(project, program)
    _points(project, card, 150, expiration_type="CUSTOM_DATE", expiration_date=date(2026, 3, 1))

    with time_machine.travel(datetime(2026, 3, 2, tzinfo=UTC), tick=False):
        expire_due_points(project=project)
        expire_due_points(project=project)

    assert _moves(project) == [
        ("joined", "Bronze"),
        ("upgraded", "Bronze", "Silver"),
        ("downgraded", "Silver", "Bronze"),
    ]


def test_creating_tiers_places_the_existing_members(project):
    program = make_program(project)
    rich, poor = join(project, program), join(project, program)
    _points(project, rich, 600)
    _points(project, poor, 5)

    tiers_create(
        project=project,
        campaign=program,
        items=[
            {"name": "Silver", "points": {"from": 100, "to": 499}},
            {"name": "Gold", "points": {"from": 500}},
        ],
    )

    assert _moves(project) == [("joined", "Gold")]
    assert _tier_of(rich) == "Gold" and _tier_of(poor) is None


MONTHLY_GUARANTEE = {
    "qualification_type": "BALANCE",
    "qualification_period": "MONTH",
    "start_date": {"type": "IMMEDIATE"},
    "expiration_date": {"type": "END_OF_PERIOD"},
}


def test_a_tier_held_to_the_end_of_the_period_survives_a_drop_until_then(project):
    program = make_program(project, tiers=THREE_TIERS, loyalty_tiers_expiration=MONTHLY_GUARANTEE)
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=UTC), tick=False):
        card = join(project, program)
        _points(project, card, 200)
        _points(project, card, -150)
        assert _tier_of(card) == "Silver"
        assert card.tier_expires_at == date(2026, 1, 31)

    with time_machine.travel(datetime(2026, 2, 1, 1, 0, tzinfo=UTC), tick=False):
        settle_due_tiers(project=project)
        settle_due_tiers(project=project)

    assert _moves(project) == [
        ("joined", "Bronze"),
        ("upgraded", "Bronze", "Silver"),
        ("downgraded", "Silver", "Bronze"),
    ]
    card.refresh_from_db()
    assert card.tier_expires_at == date(2026, 2, 28)


def test_a_member_still_qualifying_at_the_end_of_the_period_is_prolonged_once(project):
    program = make_program(project, tiers=THREE_TIERS, loyalty_tiers_expiration=MONTHLY_GUARANTEE)
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=UTC), tick=False):
        card = join(project, program)
        _points(project, card, 200)

    with time_machine.travel(datetime(2026, 2, 1, tzinfo=UTC), tick=False):
        settle_due_tiers(project=project)
        settle_due_tiers(project=project)

    assert _moves(project)[-1] == ("prolonged", "Silver")
    assert event_types(project).count("customer.loyalty.tier.prolonged") == 1
    assert _tier_of(card) == "Silver" and card.tier_expires_at == date(2026, 2, 28)


def test_by_points_collected_in_a_quarter_the_tier_follows_the_quarters_collection(project):
    spec = {
        "qualification_type": "POINTS_IN_PERIOD",
        "qualification_period": "QUARTER",
        "expiration_date": {"type": "END_OF_PERIOD"},
    }
    program = make_program(
        project, tiers=[("Silver", 100, 499), ("Gold", 500, None)], loyalty_tiers_expiration=spec
    )
    with time_machine.travel(datetime(2026, 2, 10, tzinfo=UTC), tick=False):
        card = join(project, program)
        _points(project, card, 80)
        _points(project, card, 40)  # 120 collected in Q1: Silver
        _points(project, card, -120)  # spending does not undo what was collected
        assert _tier_of(card) == "Silver" and card.tier_expires_at == date(2026, 3, 31)

    with time_machine.travel(datetime(2026, 4, 2, tzinfo=UTC), tick=False):
        settle_due_tiers(project=project)  # Q1's 120 keep Silver for Q2
    assert _tier_of(card) == "Silver" and card.tier_expires_at == date(2026, 6, 30)

    with time_machine.travel(datetime(2026, 7, 1, tzinfo=UTC), tick=False):
        settle_due_tiers(project=project)  # nothing collected in Q2

    assert _moves(project) == [("joined", "Silver"), ("prolonged", "Silver"), ("left", "Silver")]


# --- API ----------------------------------------------------------------------------------------------


def test_tiers_are_created_in_bulk_listed_and_got(api, project):
    program = make_program(project)

    created = api.post(
        f"/v1/loyalties/{program.public_id}/tiers",
        [{"name": "Bronze", "points": {"from": 0, "to": 99}}, {"name": "Gold", "points": {"from": 100}}],
        format="json",
    )

    assert created.status_code == 200, created.content
    bronze, gold = created.json()
    assert bronze["object"] == "loyalty_tier" and bronze["points"] == {"from": 0, "to": 99}
    assert gold["points"] == {"from": 100, "to": None} and gold["campaign_id"] == program.public_id
    listed = api.get(f"/v1/loyalties/{program.public_id}/tiers").json()
    assert listed["data_ref"] == "data" and [t["name"] for t in listed["data"]] == ["Bronze", "Gold"]
    got = api.get(f"/v1/loyalties/{program.public_id}/tiers/{gold['id']}").json()
    assert got["id"] == gold["id"] and got["name"] == "Gold"


def test_the_members_tier_is_listed_with_its_period(api, project):
    program = make_program(project, tiers=THREE_TIERS, loyalty_tiers_expiration=MONTHLY_GUARANTEE)
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=UTC), tick=False):
        code = api_join(api, program, "ann")["code"]
        body = api.get(f"/v1/loyalties/members/{code}/tiers").json()

    assert body["data_ref"] == "data" and body["total"] == 1
    (tier,) = body["data"]
    assert tier["name"] == "Bronze"
    assert tier["expiration"]["start_date"] == "2026-01-10"
    assert tier["expiration"]["expiration_date"] == "2026-01-31"


@pytest.mark.parametrize(
    "body",
    [
        [{"name": "Overlap", "points": {"from": 50, "to": 150}}],
        [{"name": "Backwards", "points": {"from": 300, "to": 200}}],
        [{"name": "No points"}],
        [{"name": "Float", "points": {"from": 1.5}}],
        {"name": "Not an array", "points": {"from": 1000}},
        [],
    ],
    ids=["overlap", "backwards", "no-points", "float", "object", "empty"],
)
def test_bad_tiers_are_refused_and_nothing_changes(api, project, body):
    program = make_program(project, tiers=[("Bronze", 0, 99)])

    with nothing_changes():
        response = api.post(f"/v1/loyalties/{program.public_id}/tiers", body, format="json")

    assert_error(response, 400, "invalid_payload")


def test_an_unknown_tier_is_a_404(api, project):
    program = make_program(project)

    assert_error(api.get(f"/v1/loyalties/{program.public_id}/tiers/ltr_nope"), 404, "not_found")


@pytest.mark.parametrize(
    "spec",
    [
        {"qualification_type": "SPEND"},
        {"qualification_type": "POINTS_IN_PERIOD"},
        {"qualification_type": "BALANCE", "expiration_date": {"type": "END_OF_PERIOD"}},
        {"qualification_type": "BALANCE", "qualification_period": "WEEK"},
    ],
    ids=["unknown-type", "period-missing", "end-of-period-without-period", "unknown-period"],
)
def test_a_loyalty_campaign_with_bad_tier_rules_is_refused(api, project, spec):
    body = {
        "name": "Bad",
        "campaign_type": "LOYALTY_PROGRAM",
        "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 0}},
        "loyalty_tiers_expiration": spec,
    }

    with nothing_changes():
        response = api.post("/v1/campaigns", body, format="json")

    assert_error(response, 400, "invalid_campaign_params")


@pytest.mark.parametrize(
    "rules",
    [
        {"period_type": "WEEK", "period_value": 1},
        {"period_type": "MONTH"},
        {"period_type": "MONTH", "period_value": 2, "rounding_type": "END_OF_DECADE"},
        {"period_type": "FIXED_DAY_OF_YEAR", "fixed_month": 13, "fixed_day": 1},
    ],
    ids=["unknown-period", "no-value", "unknown-rounding", "bad-month"],
)
def test_a_loyalty_campaign_with_bad_points_expiration_rules_is_refused(api, project, rules):
    body = {
        "name": "Bad",
        "campaign_type": "LOYALTY_PROGRAM",
        "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 0, "expiration_rules": rules}},
    }

    with nothing_changes():
        response = api.post("/v1/campaigns", body, format="json")

    assert_error(response, 400, "invalid_campaign_params")


def test_cards_keep_their_tier_in_one_row_each(project):
    program = make_program(project, tiers=THREE_TIERS)
    join(project, program)
    join(project, program)

    assert LoyaltyCard.objects.for_project(project).filter(tier__name="Bronze").count() == 2
