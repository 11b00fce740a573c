"""The delivery loop's prepared claim finds messages by id. Its plan is generic, made with the
statistics the table has: a large send into a table the planner believed empty is analyzed once it
commits, or every claim of 25 scanned the whole stream or every queued message (seconds a claim at
2,000,000 messages)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from messaging import services
from messaging.delivery import _CLAIM_SQL
from messaging.models import Message
from messaging.outcome_writer import _prepared
from tests.support.messaging import customers

pytestmark = pytest.mark.django_db


def generic_plan(sql: str, params: dict) -> str:
    """The plan the writer's prepared statement gets, under a name of the test's own: the connection
    is shared with later tests, whose code keeps its own prepared statements on it."""
    prepare, execute = _prepared(sql)
    name = prepare.split()[1]
    prepare, execute = (
        prepare.replace(name, "test_generic_plan", 1),
        execute.replace(name, "test_generic_plan", 1),
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode TO force_generic_plan")
        cursor.execute(prepare)
        try:
            cursor.execute("EXPLAIN " + execute.rstrip(";"), params)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE test_generic_plan")


def test_a_large_send_into_a_table_believed_empty_leaves_claims_finding_messages_by_id(
    local_project, stream, template, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 200)  # "large", for a test
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")  # the statistics of an empty table
    customers(local_project, 300)

    with django_capture_on_commit_callbacks(execute=True):
        services.messages_enqueue_select(
            project=local_project,
            stream=stream,
            channel="webhook",
            template=template,
            select_sql="SELECT id, 'manual:distr_big', '{}'::jsonb, '' FROM customers_customer"
            " WHERE project_id = %s",
            params=[local_project.pk],
        )
    messages = list(Message.objects.for_project(local_project).order_by("pk"))
    assert len(messages) == 300

    plan = generic_plan(
        _CLAIM_SQL,
        {
            "project": local_project.pk,
            "channel": "webhook",
            "now": timezone.now(),
            "claim_ids": [m.pk for m in messages[:25]],
            "renew_ids": [],
            "renew_since": [],
        },
    )

    assert "messaging_message_pkey" in plan, plan
    assert "message_stream_state" not in plan, plan
