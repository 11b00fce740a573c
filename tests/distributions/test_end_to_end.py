"""Distributions end to end: a real Celery worker (events, distributions and webhook delivery queues
on real Redis), a real HTTP receiver, and the clock moved with time_machine.

Beat is played by the test calling the sweeps at the moments it chooses, so each step happens when
the test says, not when a timer fires."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.models import Publication
from campaigns.validation_rules.services import validation_rule_create
from distributions import services
from distributions.models import Distribution, DistributionStatus
from distributions.sending import distributions_sweep_sending
from distributions.tasks import claim_due_distributions
from eventbus.models import DomainEvent
from messaging.models import Message
from messaging.sweeps import messages_sweep
from segments.services import segment_create
from tests.campaigns.factories import make_campaign
from tests.campaigns.rules_support import order_over
from tests.distributions.engine_support import automatic, create_and_send, messages_of, webhook_channel
from tests.factories import CustomerFactory
from tests.support.messaging import wait_until
from tests.support.workers import running_worker
from webhooks_out.signing import verify_voucherify

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUES = ["events", "distributions", "delivery.webhook"]


def reload(distribution: Distribution) -> Distribution:
    distribution.refresh_from_db()
    return distribution


def events_done(project) -> bool:
    return not DomainEvent.objects.for_project(project).filter(completed_at__isnull=True).exists()


def manual(segment, campaign, endpoint) -> dict:
    return {
        "name": "Welcome code",
        "trigger": {"key": "manual"},
        "audience": {"type": "segment", "segment": segment.public_id},
        "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        "channels": [webhook_channel(endpoint)],
    }


def pay(api, order_id: str, amount: int, source_id: str = "ada") -> None:
    response = api.post(
        "/v1/orders",
        {"source_id": order_id, "status": "PAID", "amount": amount, "customer": {"source_id": source_id}},
        format="json",
    )
    assert response.status_code in (200, 201), response.content


@pytest.fixture
def ada(local_project):
    return CustomerFactory(project=local_project, source_id="ada", email="ada@example.com")


@pytest.fixture
def friends(local_project):
    """A static segment of five customers."""
    people = [CustomerFactory(project=local_project, source_id=f"friend-{n}") for n in range(5)]
    return segment_create(
        project=local_project, name="Friends", type="static", customers=[p.source_id for p in people]
    )


# --- Manual ---------------------------------------------------------------------------------------


def test_a_manual_segment_distribution_canceled_inside_the_delay_sends_nothing(
    local_project, friends, endpoint, receiver
):
    campaign = make_campaign(local_project, codes_count=5)
    start = timezone.now()
    with running_worker(QUEUES):
        with time_machine.travel(start, tick=False):
            distribution = create_and_send(local_project, manual(friends, campaign, endpoint))
        with time_machine.travel(start + timedelta(minutes=9), tick=False):
            services.distribution_cancel(project=local_project, distribution=distribution)
        with time_machine.travel(start + timedelta(minutes=11), tick=False):
            assert claim_due_distributions() == []
            distributions_sweep_sending()
        wait_until(lambda: events_done(local_project), what="every event handled")

    assert reload(distribution).status == DistributionStatus.CANCELED
    assert receiver.requests == []
    assert not Publication.objects.for_project(local_project).exists()
    assert not Message.objects.for_project(local_project).exists()


def test_a_manual_segment_distribution_sends_after_the_delay_one_signed_webhook_to_each_with_their_code(
    local_project, friends, endpoint, receiver
):
    campaign = make_campaign(local_project, codes_count=6)
    start = timezone.now()
    with running_worker(QUEUES):
        with time_machine.travel(start, tick=False):
            distribution = create_and_send(local_project, manual(friends, campaign, endpoint))
        with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
            assert claim_due_distributions() == []  # still inside the delay
        with time_machine.travel(start + timedelta(minutes=10), tick=False):
            assert claim_due_distributions() == [distribution.public_id]

        requests = receiver.wait_for(5, timeout=30)
        wait_until(lambda: reload(distribution).materialised_at, what="the messages created")
        wait_until(
            lambda: distributions_sweep_sending()["sent"] == [distribution.public_id],
            what="the distribution marked sent",
        )

    codes = {
        p.customer.public_id: p.voucher.code
        for p in Publication.objects.for_project(local_project)
        .filter(distribution_id=distribution.pk)
        .select_related("customer", "voucher")
    }
    received = {}
    for request in requests:
        assert verify_voucherify(endpoint.secret, request.body, request.headers["x-voucherify-signature"])
        data = request.json()["data"]
        received[data["customer"]] = data["code"]
    assert len(codes) == 5 and received == codes  # each customer once, with their own code
    assert len(receiver.requests) == 5
    keys = {request.headers["webhook-id"] for request in requests}
    assert keys == set(messages_of(local_project, distribution).values_list("public_id", flat=True))
    assert reload(distribution).status == DistributionStatus.SENT


# --- Automatic ------------------------------------------------------------------------------------


def test_an_order_paid_distribution_with_a_rule_fires_only_for_qualifying_orders(
    api, local_project, ada, endpoint, receiver
):
    campaign = make_campaign(local_project, codes_count=5)
    rule = validation_rule_create(
        project=local_project, fields={"name": "Over $99", "rules": order_over(9901)}
    )
    distribution = create_and_send(
        local_project,
        automatic(
            "order_paid",
            endpoint,
            params={"validation_rule": rule.public_id},
            action={"key": "publish_codes", "params": {"campaign": campaign.public_id}},
        ),
    )
    with running_worker(QUEUES):
        pay(api, "small", 5000)
        pay(api, "big", 15000)
        pay(api, "exactly-99", 9900)
        [request] = receiver.wait_for(1, timeout=30)
        wait_until(lambda: events_done(local_project), what="every event handled")

    message = messages_of(local_project, distribution).get()
    publication = Publication.objects.for_project(local_project).get(distribution_id=distribution.pk)
    assert message.variables["order.amount"] == 15000
    assert request.json()["data"]["code"] == publication.voucher.code
    assert len(receiver.requests) == 1


def test_a_paused_automatic_distribution_fires_nothing(api, local_project, ada, endpoint, receiver):
    with running_worker(QUEUES):
        distribution = create_and_send(local_project, automatic("order_paid", endpoint))
        services.distribution_pause(project=local_project, distribution=distribution)
        pay(api, "while-paused", 15000)
        wait_until(lambda: events_done(local_project), what="every event handled")

    assert not messages_of(local_project, distribution).exists()
    assert receiver.requests == []


# --- The webhook failing ------------------------------------------------------------------------


def test_a_receiver_failing_then_recovering_gives_recovered_messages_and_analytics_say_so(
    api, local_project, ada, endpoint, receiver
):
    distribution = create_and_send(local_project, automatic("order_paid", endpoint))
    receiver.fail_next(2, status=503)
    with running_worker(QUEUES):
        pay(api, "ord-1", 15000)
        receiver.wait_for(1, timeout=30)
        message = wait_until(
            lambda: messages_of(local_project, distribution).filter(state=Message.State.DEFERRED).first(),
            what="the first attempt deferred",
        )
        for minutes in (1, 2):  # the retries of the schedule, swept when due
            with time_machine.travel(message.first_attempt_at + timedelta(minutes=minutes, seconds=1)):
                messages_sweep()
                receiver.wait_for(1 + minutes, timeout=30)
                wait_until(
                    lambda minutes=minutes: (
                        Message.objects.for_project(local_project)
                        .filter(pk=message.pk, attempts=1 + minutes)
                        .exists()
                    ),
                    what="the attempt recorded",
                )
        wait_until(
            lambda: messages_of(local_project, distribution).filter(state=Message.State.SENT).exists(),
            what="the message sent",
        )

    message.refresh_from_db()
    assert (message.attempts, message.recovered) == (3, True)
    # The retries ran on a clock moved minutes ahead: the range reaches past them.
    until = (timezone.now() + timedelta(hours=1)).isoformat()
    body = api.get(
        f"/v1/distributions/{distribution.public_id}/analytics", {"interval": "day", "end_date": until}
    ).json()
    assert body["channels"]["webhook"] == {"sent": 1, "failed": 0, "recovered": 1, "skipped": 0}
    assert body["messages"]["webhook"]["sent"] == 1
    assert [entry["channel"] for entry in body["series"]] == ["webhook"]
    activity = api.get(f"/v1/distributions/{distribution.public_id}/activity?kind=message").json()
    assert [a["data"]["outcome"] for a in activity["activities"]] == ["recovered", "retrying", "retrying"]


def test_a_receiver_failing_for_good_pauses_the_distribution_and_resuming_replays_what_failed(
    api, local_project, ada, endpoint, receiver
):
    distribution = create_and_send(local_project, automatic("order_paid", endpoint))
    receiver.always(500)
    with running_worker(QUEUES):
        pay(api, "ord-1", 15000)
        message = wait_until(
            lambda: messages_of(local_project, distribution).filter(state=Message.State.DEFERRED).first(),
            what="the first attempt deferred",
        )
        # Past the whole schedule: the next attempt is the last.
        with time_machine.travel(message.first_attempt_at + timedelta(hours=25)):
            messages_sweep()
            wait_until(
                lambda: reload(distribution).status == DistributionStatus.PAUSED,
                timeout=30,
                what="the distribution paused",
            )
        assert "HTTP 500" in reload(distribution).paused_reason
        assert messages_of(local_project, distribution).get().state == Message.State.FAILED

        receiver.always(200)
        response = api.post(
            f"/v1/distributions/{distribution.public_id}/resume", {"replay_failed": True}, format="json"
        )
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "live"
        wait_until(
            lambda: messages_of(local_project, distribution).filter(state=Message.State.SENT).exists(),
            what="the replayed message sent",
        )

    assert messages_of(local_project, distribution).get().recovered is True
