"""Concurrent changes of one card, through real parallel PostgreSQL connections: no lost update, never
below zero, one card per member, and two expiry sweeps never expire a bucket twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum

from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.ledger import balance_update, expire_due_points
from campaigns.loyalty.members import member_add
from campaigns.models import LoyaltyCard, LoyaltyPointsBucket, Voucher
from tests.campaigns.loyalty.support import events_of, join, make_program
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

WORKERS = 12


def _in_parallel(work: Callable[[int], Any], count: int) -> list[Any]:
    """Run `work(i)` for i in range(count) on WORKERS threads released together, each on its own
    database connection; returns the results (or the exceptions raised)."""
    start = threading.Barrier(min(count, WORKERS))

    def run(number: int) -> Any:
        if number < WORKERS:
            start.wait()
        try:
            return work(number)
        except Exception as error:  # the refusals are the result under test
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(run, range(count)))


def _card_totals(project, card) -> tuple[int, int, int]:
    voucher = Voucher.objects.for_project(project).get(pk=card.voucher_id)
    in_buckets = (
        LoyaltyPointsBucket.objects.for_project(project)
        .filter(card=card)
        .aggregate(total=Sum("remaining_points"))["total"]
    )
    return voucher.loyalty_balance, voucher.loyalty_points, in_buckets


def test_concurrent_additions_and_subtractions_lose_no_update(project):
    card = join(project, make_program(project))
    balance_update(project=project, card_id=card.pk, points=1_000)

    # 40 additions of 7 and 40 subtractions of 5, interleaved.
    results = _in_parallel(
        lambda n: balance_update(project=project, card_id=card.pk, points=7 if n % 2 else -5), 80
    )

    assert not [result for result in results if isinstance(result, Exception)]
    assert _card_totals(project, card) == (1_000 + 40 * 7 - 40 * 5, 1_000 + 40 * 7, 1_000 + 40 * 7 - 40 * 5)
    assert len(events_of(project, "customer.voucher.loyalty_card.points_added")) == 41


def test_concurrent_subtractions_never_go_below_zero(project):
    card = join(project, make_program(project))
    balance_update(project=project, card_id=card.pk, points=100)

    results = _in_parallel(lambda n: balance_update(project=project, card_id=card.pk, points=-30), 12)

    refusals = Counter(result.key for result in results if isinstance(result, LoyaltyRefused))
    assert sum(1 for result in results if not isinstance(result, Exception)) == 3
    assert refusals == {"loyalty_card_points_exceeded": 9}
    assert _card_totals(project, card) == (10, 100, 10)


def test_concurrent_joins_of_one_customer_make_one_card(project):
    program = make_program(project)
    customer = CustomerFactory(project=project)

    results = _in_parallel(lambda n: member_add(project=project, campaign=program, customer=customer), 12)

    assert not [result for result in results if isinstance(result, Exception)]
    assert {card.voucher_id for card, _ in results} == {
        LoyaltyCard.objects.for_project(project).get().voucher_id
    }
    assert sum(1 for _, created in results if created) == 1
    assert Voucher.objects.for_project(project).count() == 1


def test_concurrent_expiry_sweeps_expire_each_bucket_once(project):
    program = make_program(project)
    cards = [join(project, program) for _ in range(30)]
    for card in cards:
        balance_update(
            project=project,
            card_id=card.pk,
            points=10,
            expiration_type="CUSTOM_DATE",
            expiration_date=date(2026, 3, 1),
        )

    with time_machine.travel(datetime(2026, 3, 5, tzinfo=UTC), tick=False):
        results = _in_parallel(lambda n: expire_due_points(project=project, batch_size=4), 6)

    assert sum(results) == 300
    expired = events_of(project, "customer.voucher.loyalty_card.points_expired")
    assert len(expired) == 30 and {event.data["points"] for event in expired} == {10}
    assert all(_card_totals(project, card) == (0, 10, 0) for card in cards)
