"""The analytics' counts read from the tallies equal a direct count over the messages and attempts:
through retries, recovery, final failures, skips, cancels and deletions, across quarter hours and
hours, in time zones whose offsets are not whole hours, before and after compaction, and for two
projects side by side (neither ever sees the other's counts)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connections
from django.db.models import Count, Q
from django.db.models.functions import Trunc

from customers.models import Customer
from messaging.delivery import messages_deliver
from messaging.models import AttemptTally, Message, MessageAttempt, MessageStateTally, MessageStream
from messaging.selectors import (
    delivery_series,
    message_counts,
    skipped_reason_counts,
    skipped_series,
    stream_state_counts,
)
from messaging.services import message_stream_close, message_stream_open
from messaging.tallies import COMPACTION_LOCK, tallies_compact
from tests.support.messaging import customers, enqueue, reload, webhook_template
from webhooks_out.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 8, 52, 30, tzinfo=UTC)  # inside a quarter hour, a few minutes before an hour


# --- The direct counts: what the analytics read before the tallies, kept here as the oracle --------


def counted_states(project, stream) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = (
        Message.objects.for_project(project)
        .filter(stream=stream)
        .values("channel", "state")
        .annotate(count=Count("id"), recovered=Count("id", filter=Q(recovered=True)))
        .order_by()
    )
    for row in rows:
        channel = counts.setdefault(row["channel"], {"recovered": 0})
        channel[row["state"]] = row["count"]
        channel["recovered"] += row["recovered"]
    return counts


def counted_series(project, stream, since, until, bucket) -> list[dict]:
    return list(
        MessageAttempt.objects.for_project(project)
        .filter(stream=stream, attempted_at__gte=since, attempted_at__lt=until)
        .annotate(bucket=Trunc("attempted_at", bucket, tzinfo=zoneinfo.ZoneInfo(project.timezone)))
        .values("bucket", "channel")
        .annotate(
            sent=Count("id", filter=Q(outcome="sent")),
            failed=Count("id", filter=Q(is_final=True)),
            recovered=Count("id", filter=Q(outcome="sent", number__gt=1)),
        )
        .order_by("bucket", "channel")
    )


def counted_skips(project, stream, since, until, bucket) -> list[dict]:
    return list(
        Message.objects.for_project(project)
        .filter(stream=stream, state="skipped", created_at__gte=since, created_at__lt=until)
        .annotate(bucket=Trunc("created_at", bucket, tzinfo=zoneinfo.ZoneInfo(project.timezone)))
        .values("bucket", "channel")
        .annotate(skipped=Count("id"))
        .order_by("bucket", "channel")
    )


def counted_reasons(project, stream) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    rows = (
        Message.objects.for_project(project)
        .filter(stream=stream, state="skipped")
        .values("channel", "last_error")
        .annotate(count=Count("id"))
        .order_by()
    )
    for row in rows:
        counts.setdefault(row["channel"], {})[row["last_error"] or "skipped"] = row["count"]
    return counts


# Ranges that start and end inside quarter hours, on them, and shorter than one.
RANGES = [
    (T0 - timedelta(days=2), T0 + timedelta(days=2)),
    (T0 - timedelta(minutes=7, seconds=3), T0 + timedelta(hours=3, minutes=4)),
    (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 2, 10, 15, tzinfo=UTC)),
    (T0 + timedelta(minutes=61), T0 + timedelta(minutes=64)),
]


def assert_tallies_equal_counts(project, stream) -> None:
    assert message_counts(project=project, stream=stream) == counted_states(project, stream)
    assert skipped_reason_counts(project=project, stream=stream) == counted_reasons(project, stream)
    states = {
        state: count
        for channel in counted_states(project, stream).values()
        for state, count in channel.items()
        if state != "recovered"
    }
    assert stream_state_counts(project=project, stream_ids=[stream.pk]).get(stream.pk, {}) == states
    for since, until in RANGES:
        for bucket in ("hour", "day"):
            assert delivery_series(
                project=project, stream=stream, since=since, until=until, bucket=bucket
            ) == counted_series(project, stream, since, until, bucket), (since, until, bucket)
            assert skipped_series(
                project=project, stream=stream, since=since, until=until, bucket=bucket
            ) == counted_skips(project, stream, since, until, bucket), (since, until, bucket)


def assert_equal_before_and_after_compaction(*pairs) -> None:
    for project, stream in pairs:
        assert_tallies_equal_counts(project, stream)
    tallies_compact()
    assert not MessageStateTally.objects.unscoped().filter(is_compact=False).exists()
    assert not AttemptTally.objects.unscoped().filter(is_compact=False).exists()
    for project, stream in pairs:
        assert_tallies_equal_counts(project, stream)


def deliver(project, messages):
    return messages_deliver(project=project, channel="webhook", message_ids=[m.pk for m in messages])


def a_sending_stream(project, receiver, owner="distribution:distr_spring"):
    project.allow_private_webhook_targets = True
    project.save(update_fields=["allow_private_webhook_targets"])
    endpoint = webhook_endpoint_create(project=project, url=receiver.url, name="Shop", headers={})
    stream = message_stream_open(project=project, owner=owner)
    return stream, webhook_template(project, endpoint)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns"])
def test_counts_from_the_tallies_equal_a_direct_count_through_a_distributions_life(
    project, other_project, receiver, zone
):
    # Given two projects sending on the same receiver, one in a time zone whose offset is not whole hours
    project.timezone = zone
    project.save(update_fields=["timezone"])
    ours, our_template = a_sending_stream(project, receiver)
    theirs, their_template = a_sending_stream(other_project, receiver)
    with time_machine.travel(T0, tick=False):
        mine = enqueue(project, ours, our_template, customers(project, 9))
        others = enqueue(other_project, theirs, their_template, customers(other_project, 4))
    assert_equal_before_and_after_compaction((project, ours), (other_project, theirs))

    # When the first attempts fail for some, succeed for others, in one quarter hour and the next hour
    with time_machine.travel(T0, tick=False):
        receiver.always(500)
        deliver(project, mine[:4])
        deliver(other_project, others[:1])
    with time_machine.travel(T0 + timedelta(minutes=9), tick=False):
        receiver.always(200)
        deliver(project, mine[4:6])
    assert [reload(m).state for m in mine[:6]] == ["deferred"] * 4 + ["sent"] * 2
    assert_equal_before_and_after_compaction((project, ours), (other_project, theirs))

    # ... and retries recover three of them an hour later, one fails for good, the rest are canceled
    with time_machine.travel(T0 + timedelta(hours=1, minutes=3), tick=False):
        deliver(project, mine[:3])
        deliver(other_project, others[:2])
    project.allow_private_webhook_targets = False  # the target is refused: a final failure at once
    project.save(update_fields=["allow_private_webhook_targets"])
    with time_machine.travel(T0 + timedelta(hours=1, minutes=20), tick=False):
        deliver(project, mine[3:4])
        message_stream_close(project=project, stream=ours, reason="campaign over")
    states = [reload(m).state for m in mine]
    assert states == ["sent"] * 3 + ["failed"] + ["sent"] * 2 + ["skipped"] * 3
    assert [reload(m).recovered for m in mine[:4]] == [True, True, True, False]

    # Then every count read from the tallies is the direct count, compacted or not
    assert_equal_before_and_after_compaction((project, ours), (other_project, theirs))
    assert message_counts(project=project, stream=ours) == {
        "webhook": {"recovered": 3, "sent": 5, "failed": 1, "skipped": 3}
    }
    assert message_counts(project=other_project, stream=theirs) == {
        "webhook": {"recovered": 1, "sent": 2, "queued": 2}
    }
    assert skipped_reason_counts(project=project, stream=ours) == {"webhook": {"Canceled: campaign over": 3}}


def test_a_deleted_customer_leaves_the_counts_with_their_messages_and_attempts(
    project, other_project, receiver
):
    stream, template = a_sending_stream(project, receiver)
    with time_machine.travel(T0, tick=False):
        messages = enqueue(project, stream, template, customers(project, 3))
        deliver(project, messages[:2])
    tallies_compact()

    Customer.objects.for_project(project).filter(pk=messages[0].customer_id).delete()

    assert Message.objects.for_project(project).filter(stream=stream).count() == 2
    assert_equal_before_and_after_compaction((project, stream))
    assert message_counts(project=project, stream=stream) == {
        "webhook": {"recovered": 0, "sent": 1, "queued": 1}
    }


def test_an_update_that_moves_no_message_between_groups_writes_no_tally_row(project, receiver):
    stream, template = a_sending_stream(project, receiver)
    with time_machine.travel(T0, tick=False):
        enqueue(project, stream, template, customers(project, 5))
    tallies_compact()

    Message.objects.for_project(project).filter(stream=stream).update(next_attempt_at=T0)

    assert not MessageStateTally.objects.for_project(project).filter(is_compact=False).exists()
    assert list(MessageStateTally.objects.for_project(project).values_list("state", "count")) == [
        ("queued", 5)
    ]


def test_one_statement_over_many_messages_writes_one_tally_row_per_group(project, receiver):
    stream, template = a_sending_stream(project, receiver)
    with time_machine.travel(T0, tick=False):
        enqueue(project, stream, template, customers(project, 40))
    tallies_compact()

    Message.objects.for_project(project).filter(stream=stream).update(state="skipped", last_error="no_url")

    fresh = MessageStateTally.objects.for_project(project).filter(is_compact=False)
    assert sorted(fresh.values_list("state", "reason", "count")) == [
        ("queued", "", -40),
        ("skipped", "no_url", 40),
    ]


def test_compaction_drops_the_rows_of_a_deleted_stream_and_keeps_the_rest(project, other_project, receiver):
    gone, template = a_sending_stream(project, receiver)
    kept, their_template = a_sending_stream(other_project, receiver)
    with time_machine.travel(T0, tick=False):
        enqueue(project, gone, template, customers(project, 2))
        enqueue(other_project, kept, their_template, customers(other_project, 3))
        deliver(other_project, Message.objects.for_project(other_project).filter(stream=kept))

    MessageStream.objects.for_project(project).filter(pk=gone.pk).delete()
    moved = tallies_compact()

    assert moved["messages"] >= 3
    assert not MessageStateTally.objects.unscoped().filter(stream_id=gone.pk).exists()
    assert_tallies_equal_counts(other_project, kept)
    assert tallies_compact() == {"messages": 0, "attempts": 0}


def test_a_compaction_that_finds_another_running_leaves_the_rows_to_it(project, receiver):
    stream, template = a_sending_stream(project, receiver)
    with time_machine.travel(T0, tick=False):
        enqueue(project, stream, template, customers(project, 2))
    running = connections.create_connection("default")  # another process's compaction, holding the lock
    try:
        with running.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [COMPACTION_LOCK])
        assert tallies_compact() == {"messages": 0, "attempts": 0}
        assert MessageStateTally.objects.for_project(project).filter(is_compact=False).count() == 1
    finally:
        with running.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [COMPACTION_LOCK])
        running.close()

    assert tallies_compact()["messages"] == 1
    assert_tallies_equal_counts(project, stream)


def test_the_open_quarter_hour_is_read_live_and_counted_once(project, receiver):
    stream, template = a_sending_stream(project, receiver)
    with time_machine.travel(T0 - timedelta(minutes=12), tick=False):  # 08:40:30, a closed quarter hour
        messages = enqueue(project, stream, template, customers(project, 4))
        deliver(project, messages[:2])
    tallies_compact()
    with time_machine.travel(T0, tick=False):  # 08:52:30, the open one
        deliver(project, messages[2:])

    until = T0 + timedelta(seconds=21)
    series = delivery_series(project=project, stream=stream, since=T0 - timedelta(days=1), until=until)
    assert series == [
        {
            "bucket": datetime(2026, 3, 2, 8, tzinfo=UTC),
            "channel": "webhook",
            "sent": 4,
            "failed": 0,
            "recovered": 0,
        }
    ]
