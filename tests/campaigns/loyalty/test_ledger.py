"""The points ledger: balance changes in buckets, soonest-expiring first, never below zero; expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from campaigns.loyalty.ledger import expire_due_points
from campaigns.models import LoyaltyCard, LoyaltyPointsBucket, LoyaltyTransaction, Voucher
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import MONTHLY_EXPIRY, api_join, events_of, make_program, nothing_changes

pytestmark = pytest.mark.django_db

JAN_15 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def _balance(api, program, code, body):
    return api.post(f"/v1/loyalties/{program.public_id}/members/{code}/balance", body, format="json")


def _card(project, code) -> LoyaltyCard:
    return LoyaltyCard.objects.for_project(project).select_related("voucher").get(voucher__code=code)


def _buckets(project, code) -> list[tuple[int, date | None]]:
    return list(
        LoyaltyPointsBucket.objects.for_project(project)
        .filter(card__voucher__code=code)
        .order_by("pk")
        .values_list("remaining_points", "expires_at")
    )


@time_machine.travel(JAN_15, tick=False)
def test_adding_points_fills_a_bucket_expiring_by_the_program_rules(api, project):
    program = make_program(project, expiration_rules=MONTHLY_EXPIRY)
    code = api_join(api, program, "ann")["code"]

    response = _balance(api, program, code, {"points": 120, "reason": "welcome"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "points": 120,
        "total": 120,
        "balance": 120,
        "type": "loyalty_card",
        "object": "balance",
        "operation_type": "MANUAL",
        "related_object": {"type": "voucher", "id": _card(project, code).voucher.public_id},
    }
    # Three months after January 15, rounded to the end of that month.
    assert _buckets(project, code) == [(120, date(2026, 4, 30))]
    member = api.get(f"/v1/loyalties/members/{code}").json()
    assert member["loyalty_card"]["points"] == member["loyalty_card"]["balance"] == 120
    assert member["loyalty_card"]["next_expiration_date"] == "2026-04-30"
    assert member["loyalty_card"]["next_expiration_points"] == 120
    (event,) = events_of(project, "customer.voucher.loyalty_card.points_added")
    card = _card(project, code)
    assert event.customer_id == card.customer_id
    assert event.refs["campaign"] == program.public_id
    assert event.refs["voucher"] == card.voucher.public_id
    assert event.data["points"] == 120 and event.data["balance"] == 120


def test_the_voucher_api_shows_the_same_points(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, {"points": 70})
    _balance(api, program, code, {"points": -20})

    voucher = api.get(f"/v1/vouchers/{code}").json()

    assert voucher["loyalty_card"]["points"] == 70
    assert voucher["loyalty_card"]["balance"] == 50


@time_machine.travel(JAN_15, tick=False)
def test_subtracting_takes_the_soonest_expiring_points_first(api, project):
    program = make_program(project, expiration_rules=MONTHLY_EXPIRY)
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, {"points": 100, "expiration_type": "NON_EXPIRING"})
    _balance(
        api, program, code, {"points": 30, "expiration_type": "CUSTOM_DATE", "expiration_date": "2026-06-01"}
    )
    _balance(
        api,
        program,
        code,
        {"points": 40, "expiration_type": "CUSTOM_DATE", "expiration_date": "2026-02-01T00:00:00"},
    )

    response = _balance(api, program, code, {"points": -50})

    assert response.json()["balance"] == 120
    assert response.json()["points"] == -50
    assert _buckets(project, code) == [(100, None), (20, date(2026, 6, 1)), (0, date(2026, 2, 1))]
    card = _card(project, code)
    assert card.subtracted_points == 50
    assert card.voucher.loyalty_balance == 120 and card.voucher.loyalty_points == 170
    # Subtracting publishes no points_added.
    assert len(events_of(project, "customer.voucher.loyalty_card.points_added")) == 3


def test_going_below_zero_is_refused_and_nothing_moves(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, {"points": 40})

    with nothing_changes():
        response = _balance(api, program, code, {"points": -41})

    assert_error(response, 400, "loyalty_card_points_exceeded")


def test_points_on_a_code_that_is_not_a_loyalty_card_are_refused(api, project):
    make_campaign(project, name="Coupons", codes_count=1)
    code = Voucher.objects.for_project(project).get().code

    with nothing_changes():
        without_campaign = api.post(f"/v1/loyalties/members/{code}/balance", {"points": 10}, format="json")
        with_campaign = api.post(
            f"/v1/loyalties/Coupons/members/{code}/balance", {"points": 10}, format="json"
        )

    assert_error(without_campaign, 400, "invalid_voucher")
    assert_error(with_campaign, 400, "invalid_campaign_params")


def test_an_unknown_card_is_a_404(api, project):
    program = make_program(project)

    with nothing_changes():
        response = _balance(api, program, "NO-SUCH-CARD", {"points": 10})

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "body",
    [{"points": 10.0}, {"points": "10"}, {"points": 0}, {"points": 5, "expiration_type": "CUSTOM_DATE"}, {}],
    ids=["float", "string", "zero", "custom-date-without-date", "missing"],
)
def test_malformed_balance_changes_are_refused(api, project, body):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]

    with nothing_changes():
        response = _balance(api, program, code, body)

    assert response.status_code == 400
    assert response.json()["key"] in ("invalid_payload", "invalid_add_balance_params")


def test_the_same_source_id_moves_points_once(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]

    first = _balance(api, program, code, {"points": 25, "source_id": "bonus-1"})
    again = _balance(api, program, code, {"points": 25, "source_id": "bonus-1"})

    assert first.json()["balance"] == again.json()["balance"] == 25
    assert len(events_of(project, "customer.voucher.loyalty_card.points_added")) == 1


def test_the_balance_endpoint_without_a_campaign_works_too(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]

    response = api.post(f"/v1/loyalties/members/{code}/balance", {"points": 9}, format="json")

    assert response.status_code == 200 and response.json()["balance"] == 9


# --- Expiry ----------------------------------------------------------------------------------------------


def test_the_sweep_expires_due_buckets_once_with_one_event_per_card(api, project):
    program = make_program(project, expiration_rules=MONTHLY_EXPIRY)
    with time_machine.travel(JAN_15, tick=False):
        ann = api_join(api, program, "ann")["code"]
        bob = api_join(api, program, "bob")["code"]
        _balance(api, program, ann, {"points": 100})
        _balance(
            api,
            program,
            ann,
            {"points": 10, "expiration_type": "CUSTOM_DATE", "expiration_date": "2026-03-01"},
        )
        _balance(api, program, ann, {"points": 5, "expiration_type": "NON_EXPIRING"})
        _balance(api, program, bob, {"points": 7})

    with time_machine.travel(datetime(2026, 5, 1, 3, 0, tzinfo=UTC), tick=False):
        expired = expire_due_points(project=project)
        again = expire_due_points(project=project)

    assert (expired, again) == (117, 0)
    events = events_of(project, "customer.voucher.loyalty_card.points_expired")
    assert sorted(event.data["points"] for event in events) == [7, 110]
    ann_event = next(event for event in events if event.data["points"] == 110)
    assert ann_event.refs["voucher"] == _card(project, ann).voucher.public_id
    assert ann_event.data["balance"] == 5
    assert sorted(bucket["points"] for bucket in ann_event.data["buckets"]) == [10, 100]
    card = _card(project, ann)
    assert card.voucher.loyalty_balance == 5 and card.voucher.loyalty_points == 115
    assert card.expired_points == 110
    assert _card(project, bob).voucher.loyalty_balance == 0
    expired_rows = LoyaltyTransaction.objects.for_project(project).filter(kind="POINTS_EXPIRED")
    assert sorted(expired_rows.values_list("points", flat=True)) == [-110, -7]


def test_nothing_expires_on_its_expiry_day_itself(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _balance(
        api, program, code, {"points": 10, "expiration_type": "CUSTOM_DATE", "expiration_date": "2026-03-01"}
    )

    with time_machine.travel(datetime(2026, 3, 1, 23, 0, tzinfo=UTC), tick=False):
        assert expire_due_points(project=project) == 0
    with time_machine.travel(datetime(2026, 3, 2, 0, 1, tzinfo=UTC), tick=False):
        assert expire_due_points(project=project) == 10


def test_points_past_their_expiry_cannot_be_spent_before_the_sweep_runs(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _balance(
        api, program, code, {"points": 10, "expiration_type": "CUSTOM_DATE", "expiration_date": "2026-03-01"}
    )

    with time_machine.travel(datetime(2026, 3, 5, tzinfo=UTC), tick=False):
        response = _balance(api, program, code, {"points": -5})

    assert_error(response, 400, "loyalty_card_points_exceeded")
    # The refusal rolled the card's own expiry back too; the sweep still finds it.
    assert _card(project, code).voucher.loyalty_balance == 10


def test_points_expiration_lists_the_members_buckets(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _balance(
        api, program, code, {"points": 10, "expiration_type": "CUSTOM_DATE", "expiration_date": "2099-03-01"}
    )
    _balance(api, program, code, {"points": 4, "expiration_type": "NON_EXPIRING"})

    body = api.get(f"/v1/loyalties/{program.public_id}/members/{code}/points-expiration").json()

    assert body["object"] == "list" and body["data_ref"] == "data" and body["total"] == 1
    (bucket,) = body["data"]
    assert bucket["expires_at"] == "2099-03-01" and bucket["bucket"] == {"total_points": 10}
    assert bucket["object"] == "loyalty_points_bucket" and bucket["status"] == "ACTIVE"


def test_the_cards_transactions_are_listed_newest_first(api, project):
    program = make_program(project)
    code = api_join(api, program, "ann")["code"]
    _balance(api, program, code, {"points": 30, "source_id": "s-1", "reason": "welcome"})
    _balance(api, program, code, {"points": -12})

    body = api.get(f"/v1/loyalties/{program.public_id}/members/{code}/transactions").json()
    same = api.get(f"/v1/loyalties/members/{code}/transactions").json()

    assert body == same
    assert body["object"] == "list" and body["data_ref"] == "data" and body["has_more"] is False
    removal, addition = body["data"]
    assert removal["type"] == "POINTS_REMOVAL"
    assert removal["details"]["balance"]["points"] == -12 and removal["details"]["balance"]["balance"] == 18
    assert addition["type"] == "POINTS_ADDITION"
    assert addition["source_id"] == "s-1" and addition["reason"] == "welcome"
