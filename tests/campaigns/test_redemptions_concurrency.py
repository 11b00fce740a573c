"""Concurrent redemptions on real PostgreSQL connections: a code's last use and a gift card's last
credits go to exactly one request each, and a redemption is rolled back once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from campaigns.models import Redemption, Voucher
from campaigns.redemptions import (
    Redeemable,
    RedemptionRefused,
    RollbackRefused,
    redemption_redeem,
    redemption_rollback,
)
from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.factories import make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

SUCCEEDED = "customer.redemption.succeeded"


def _in_parallel(count: int, work) -> list:
    """Run `work(number)` in `count` threads released together, each on its own connection."""
    start = threading.Barrier(count)

    def run(number: int):
        try:
            start.wait()
            return work(number)
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def _outcome(call) -> str:
    try:
        call()
    except (RedemptionRefused, RollbackRefused) as refusal:
        return refusal.key
    return "ok"


def test_concurrent_redemptions_of_a_one_use_code_let_exactly_one_win(project):
    campaign = make_campaign(
        project,
        name="Once",
        codes_count=1,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 1},
        },
    )
    code = Voucher.objects.for_project(project).get(campaign=campaign).code

    outcomes = _in_parallel(
        8,
        lambda number: _outcome(
            lambda: redemption_redeem(
                project=project,
                redeemables=[Redeemable(object="voucher", id=code)],
                customer_fields={"source_id": f"shopper-{number}"},
                order_fields={"amount": 1000},
            )
        ),
    )

    assert Counter(outcomes) == {"ok": 1, "quantity_exceeded": 7}
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 1
    results = Counter(Redemption.objects.for_project(project).values_list("status", flat=True))
    assert results == {"SUCCEEDED": 1, "FAILED": 7}
    assert DomainEvent.objects.for_project(project).filter(type=SUCCEEDED).count() == 1
    # The losers' customers and orders were rolled back with their attempt.
    assert DomainEvent.objects.for_project(project).filter(type="customer.created").count() == 1
    assert DomainEvent.objects.for_project(project).filter(type="customer.order.created").count() == 1


def test_concurrent_redemptions_never_overdraw_a_gift_card(project):
    make_campaign(project, name="Cards", campaign_type="GIFT_VOUCHERS", codes_count=1)  # 1000 cents
    code = Voucher.objects.for_project(project).get().code

    outcomes = _in_parallel(
        10,
        lambda number: _outcome(
            lambda: redemption_redeem(
                project=project, redeemables=[Redeemable("voucher", code, gift_credits=300)]
            )
        ),
    )

    assert Counter(outcomes) == {"ok": 3, "gift_amount_exceeded": 7}
    voucher = Voucher.objects.for_project(project).get(code=code)
    assert (voucher.gift_balance, voucher.redeemed_quantity) == (100, 3)


def test_concurrent_rollbacks_of_one_redemption_give_the_use_back_once(project):
    make_campaign(
        project,
        name="Twice",
        codes_count=1,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "PERCENT", "percent_off": 10},
            "redemption": {"quantity": 2},
        },
    )
    code = Voucher.objects.for_project(project).get().code
    for _ in range(2):
        result = redemption_redeem(project=project, redeemables=[Redeemable("voucher", code)])
    redemption = result.redemptions[0]

    outcomes = _in_parallel(
        6,
        lambda number: _outcome(
            lambda: redemption_rollback(
                project=project, redemption=Redemption.objects.for_project(project).get(pk=redemption.pk)
            )
        ),
    )

    assert Counter(outcomes) == {"ok": 1, "already_rolled_back": 5}
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 1
    assert Redemption.objects.for_project(project).filter(object="redemption_rollback").count() == 1


def test_concurrent_http_clients_redeem_a_five_use_code_five_times(live_server, project):
    project.api_requests_per_minute = 100_000
    project.save(update_fields=["api_requests_per_minute"])
    make_campaign(
        project,
        name="Five",
        codes_count=1,
        voucher={
            "type": "DISCOUNT_VOUCHER",
            "discount": {"type": "AMOUNT", "amount_off": 100},
            "redemption": {"quantity": 5},
        },
    )
    code = Voucher.objects.for_project(project).get().code
    api_key, token = make_api_key(project)
    headers = {"X-App-Id": api_key.app_id, "X-App-Token": token}
    start = threading.Barrier(16)

    def client(number: int) -> tuple[int, str]:
        start.wait()
        response = requests.post(
            f"{live_server.url}/v1/redemptions",
            json={
                "redeemables": [{"object": "voucher", "id": code}],
                "customer": {"source_id": f"c{number}"},
                "order": {"amount": 1000},
            },
            headers=headers,
            timeout=60,
        )
        return response.status_code, response.json().get("key", "ok")

    with ThreadPoolExecutor(16) as pool:
        outcomes = Counter(pool.map(client, range(16)))

    assert outcomes == {(200, "ok"): 5, (400, "quantity_exceeded"): 11}
    assert Voucher.objects.for_project(project).get(code=code).redeemed_quantity == 5
    assert DomainEvent.objects.for_project(project).filter(type=SUCCEEDED).count() == 5
