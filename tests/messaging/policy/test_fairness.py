"""Fair sharing: while project A's 2,000-message send is in flight, project B's single automatic
message is delivered before A's send finishes, and well before its second half (a real worker, the
order read at the receiver; no timers). In arrival order, B's batch would wait behind all of A's."""

from __future__ import annotations

import pytest
from django.db import transaction

from messaging.fairness import fair_push, fair_take
from messaging.services import message_stream_open
from tests.messaging.test_delivery_worker import running_worker
from tests.support.messaging import customers, enqueue, wait_until, webhook_template
from webhooks_out.services import webhook_endpoint_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BIG_SEND = 2000


def test_batches_are_taken_round_robin_across_projects(db):
    fair_push(1, "webhook", [[1], [2], [3]])
    fair_push(2, "webhook", [[10]])
    fair_push(3, "webhook", [[20], [21]])
    taken = [fair_take("webhook") for _ in range(7)]
    assert taken == [(1, [1]), (2, [10]), (3, [20]), (1, [2]), (3, [21]), (1, [3]), None]


def test_a_small_automatic_send_is_not_starved_by_a_large_one(
    local_project, other_project, stream, template, receiver
):
    other_project.allow_private_webhook_targets = True
    other_project.save(update_fields=["allow_private_webhook_targets"])
    b_endpoint = webhook_endpoint_create(project=other_project, url=receiver.url, name="B shop")
    b_template = webhook_template(other_project, b_endpoint)
    b_stream = message_stream_open(project=other_project, owner="distribution:distr_welcome")
    [b_customer] = customers(other_project, 1)
    a_people = customers(local_project, BIG_SEND)

    with running_worker(concurrency=2):
        with transaction.atomic():
            enqueue(local_project, stream, template, a_people)
        receiver.wait_for(1, timeout=30)  # A's send is in flight
        with transaction.atomic():
            [b_message] = enqueue(other_project, b_stream, b_template, [b_customer], cause_key="evt_signup_1")
        receiver.wait_for(BIG_SEND + 1, timeout=180)

    arrivals = [request.headers["webhook-id"] for request in receiver.requests]
    position = arrivals.index(b_message.public_id)
    a_after_b = len(arrivals) - position - 1
    assert a_after_b > 0, "B's message arrived after A's whole send"
    # At most the batches already running, and one more, go before it.
    assert position < BIG_SEND // 2, position
    wait_until(lambda: len(set(arrivals)) == BIG_SEND + 1, what="each message once")
