"""Materialising messages: set-based, idempotent on the cause key, inside the project only."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from messaging.models import Message, MessageTemplate
from messaging.services import (
    MessageRow,
    message_stream_open,
    message_template_create,
    messages_enqueue,
    messages_enqueue_select,
)
from tests.factories import CustomerFactory
from tests.support.messaging import customers, enqueue, rows_unchanged

pytestmark = pytest.mark.django_db


def rows_for(people, cause_key="manual:distr_spring"):
    return [
        MessageRow(customer_id=person.pk, cause_key=cause_key, variables={"voucher.code": "C"})
        for person in people
    ]


def test_enqueueing_the_same_rows_twice_creates_each_message_once(local_project, stream, template):
    people = customers(local_project, 3)

    first = messages_enqueue(
        project=local_project, stream=stream, channel="webhook", template=template, rows=rows_for(people)
    )
    second = messages_enqueue(
        project=local_project, stream=stream, channel="webhook", template=template, rows=rows_for(people)
    )

    assert (first.created, len(first.queued_ids), second.created, second.queued_ids) == (3, 3, 0, [])
    assert Message.objects.for_project(local_project).count() == 3


def test_another_cause_for_the_same_customer_is_another_message(local_project, stream, template):
    [ada] = customers(local_project, 1)

    enqueue(local_project, stream, template, [ada], cause_key="evt_1")
    enqueue(local_project, stream, template, [ada], cause_key="evt_2")

    assert sorted(Message.objects.for_project(local_project).values_list("cause_key", flat=True)) == [
        "evt_1",
        "evt_2",
    ]


def test_messages_are_narrow_rows_with_a_stable_public_key_and_the_template_version(
    local_project, stream, template
):
    [ada] = customers(local_project, 1)

    [message] = enqueue(local_project, stream, template, [ada])

    assert message.public_id.startswith("msg_") and len(message.public_id) == 36
    assert (message.state, message.attempts, message.template_id, message.channel) == (
        "queued",
        0,
        template.pk,
        "webhook",
    )
    assert message.variables == {"voucher.code": f"CODE-{ada.pk}"}


def test_a_row_with_a_skip_reason_is_recorded_as_skipped_and_not_queued(local_project, stream, template):
    [ada, bob] = customers(local_project, 2)

    result = messages_enqueue(
        project=local_project,
        stream=stream,
        channel="webhook",
        template=template,
        rows=[MessageRow(ada.pk, "k"), MessageRow(bob.pk, "k", skip_reason="No email address.")],
    )

    assert (result.created, result.skipped, len(result.queued_ids)) == (2, 1, 1)
    skipped = Message.objects.for_project(local_project).get(customer=bob)
    assert (skipped.state, skipped.last_error) == ("skipped", "No email address.")


def test_a_customer_of_another_project_gets_no_message(local_project, other_project, stream, template):
    stranger = CustomerFactory(project=other_project)

    result = messages_enqueue(
        project=local_project, stream=stream, channel="webhook", template=template, rows=rows_for([stranger])
    )

    assert result.created == 0
    assert not Message.objects.unscoped().filter(customer=stranger).exists()


def test_rows_can_come_from_the_callers_own_select(local_project, stream, template):
    people = customers(local_project, 4)

    result = messages_enqueue_select(
        project=local_project,
        stream=stream,
        channel="webhook",
        template=template,
        select_sql=(
            "SELECT id, 'manual:distr_spring', jsonb_build_object('voucher.code', 'CODE-' || id), ''"
            " FROM customers_customer WHERE project_id = %s AND name <> %s"
        ),
        params=[local_project.pk, "nobody's 100% name"],
    )
    again = messages_enqueue_select(
        project=local_project,
        stream=stream,
        channel="webhook",
        template=template,
        select_sql=(
            "SELECT id, 'manual:distr_spring', '{}'::jsonb, '' FROM customers_customer WHERE project_id = %s"
        ),
        params=[local_project.pk],
    )

    assert (result.created, again.created) == (4, 0)
    codes = Message.objects.for_project(local_project).values_list("customer_id", "variables")
    assert dict(codes) == {person.pk: {"voucher.code": f"CODE-{person.pk}"} for person in people}


def test_a_stream_is_opened_once_per_owner(local_project):
    first = message_stream_open(project=local_project, owner="distribution:distr_a")
    again = message_stream_open(project=local_project, owner="distribution:distr_a")

    assert first.pk == again.pk and first.state == "open"
    with pytest.raises(ValueError, match="<object>:<public id>"):
        message_stream_open(project=local_project, owner="distr_a")


def test_a_template_with_unknown_variables_or_another_projects_endpoint_is_refused_and_nothing_is_saved(
    local_project, other_project, endpoint
):
    from webhooks_out.services import webhook_endpoint_create

    other_project.allow_private_webhook_targets = True
    other_project.save()
    foreign = webhook_endpoint_create(project=other_project, url="http://127.0.0.1:9/")

    with rows_unchanged(MessageTemplate.objects.unscoped()):
        with pytest.raises(ValidationError) as caught:
            message_template_create(
                project=local_project,
                channel="webhook",
                content={
                    "endpoint": foreign.public_id,
                    "event_name": "",
                    "payload": {"x": "{{customer.pasword}}"},
                },
            )

    assert caught.value.message_dict == {
        "endpoint": [f"No webhook endpoint {foreign.public_id!r} in this project."],
        "event_name": ["An event name of 1 to 100 characters is required."],
        "payload": ["Unknown variable {{customer.pasword}} at x."],
    }


def test_an_unknown_channel_is_refused(local_project):
    with pytest.raises(ValidationError, match="Unknown channel 'pigeon'"):
        message_template_create(project=local_project, channel="pigeon", content={})
