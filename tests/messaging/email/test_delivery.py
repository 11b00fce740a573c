"""Email delivery into a real aiosmtpd sink: headers, sender identity, one SMTP session per batch,
4xx retried and recovered, 5xx permanent, customers without an address skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client

from messaging.channels.email import NO_ADDRESS, NO_ADDRESS_SQL, no_address_reason
from messaging.delivery import messages_deliver
from messaging.email import compiler
from messaging.links import read_unsubscribe_token
from messaging.models import CustomerConsent, Message, MessageAttempt
from messaging.services import MessageRow, messages_enqueue, messages_enqueue_select
from tests.factories import CustomerFactory
from tests.support.messaging import reload

pytestmark = pytest.mark.django_db

# An owner's materialising SELECT, with the channel's skip reason as its last column.
SELECT_ALL_CUSTOMERS = (
    "SELECT customer.id, 'manual:sql', '{}'::jsonb, "  # noqa: S608 (our constant, no input)
    + NO_ADDRESS_SQL
    + " FROM customers_customer customer WHERE customer.project_id = %s"
)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def enqueue(project, stream, template, people, **variables):
    messages_enqueue(
        project=project,
        stream=stream,
        channel="email",
        template=template,
        rows=[
            MessageRow(
                customer_id=person.pk,
                cause_key="manual:distr_mail",
                variables={"voucher.code": f"CODE-{person.pk}", **variables},
                skip_reason=no_address_reason(person),
            )
            for person in people
        ],
    )
    return list(Message.objects.for_project(project).filter(stream=stream).order_by("pk"))


def deliver(project, messages):
    return messages_deliver(project=project, channel="email", message_ids=[m.pk for m in messages])


def test_an_email_arrives_with_the_stable_key_the_unsubscribe_headers_and_the_sender(
    sender_project, email_stream, email_template, sink
):
    ada = CustomerFactory(project=sender_project, name="Ada Lovelace", email="ada@example.com")
    [message] = enqueue(sender_project, email_stream, email_template, [ada])

    report = deliver(sender_project, [message])

    assert report.sent == 1
    [email] = sink.wait_for(1)
    assert email["Message-ID"] == f"<{message.public_id}@acme.example>"
    assert email["From"] == "Acme Shop <offers@acme.example>"
    assert email["Reply-To"] == "help@acme.example"
    assert email["To"] == "ada@example.com"
    assert email["Subject"] == "A code for you, Ada"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = "".join(email["List-Unsubscribe"].split()).strip("<>")  # unfolded
    assert unsubscribe.startswith("http") and "/u/" in unsubscribe
    token = unsubscribe.rsplit("/u/", 1)[1]
    assert read_unsubscribe_token(token) == {"p": sender_project.pk, "c": ada.pk, "ch": "email"}
    with pytest.raises(signing.BadSignature):
        read_unsubscribe_token(token[:-2] + "xx")
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert f"CODE-{ada.pk}" in text and f"CODE-{ada.pk}" in html
    assert unsubscribe in text and unsubscribe in html  # the link in the body is the header's link
    # The mail client's one-click POST to the header's link unsubscribes Ada from email.
    path = "/u/" + token
    response = Client(enforce_csrf_checks=True).post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert CustomerConsent.objects.for_project(sender_project).get(customer=ada).state == "unsubscribed"
    message = reload(message)
    assert message.state == Message.State.SENT
    attempt = MessageAttempt.objects.for_project(sender_project).get(message=message)
    assert attempt.provider_id == email["Message-ID"]


def test_a_batch_goes_through_one_smtp_session_and_no_mjml_compile(
    sender_project, email_stream, email_template, sink
):
    people = [CustomerFactory(project=sender_project) for _ in range(25)]
    messages = enqueue(sender_project, email_stream, email_template, people)
    compiles_before = compiler.mjml_compile_count

    report = deliver(sender_project, messages)

    assert report.sent == 25
    received = sink.wait_for(25)
    assert sink.sessions == 1
    assert compiler.mjml_compile_count == compiles_before
    assert sorted(str(e["To"]) for e in received) == sorted(p.email for p in people)
    assert {str(e["Message-ID"]) for e in received} == {f"<{m.public_id}@acme.example>" for m in messages}


def test_a_4xx_answer_is_retried_and_the_message_counts_as_recovered(
    sender_project, email_stream, email_template, sink
):
    ada = CustomerFactory(project=sender_project)
    [message] = enqueue(sender_project, email_stream, email_template, [ada])
    sink.fail_next(1, "451 4.3.0 Mailbox busy, try again later")

    with time_machine.travel(T0, tick=False):
        report = deliver(sender_project, [message])
    assert report.deferred == 1
    deferred = reload(message)
    assert deferred.state == Message.State.DEFERRED and deferred.next_attempt_at == T0 + timedelta(minutes=1)
    assert "451" in deferred.last_error

    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        report = deliver(sender_project, [message])

    assert report.sent == 1
    sent = reload(message)
    assert (sent.state, sent.attempts, sent.recovered) == (Message.State.SENT, 2, True)
    assert list(
        MessageAttempt.objects.for_project(sender_project)
        .filter(message=message)
        .order_by("number")
        .values_list("outcome", "status_code")
    ) == [("transient", 451), ("sent", None)]
    # Both attempts went out under the same key.
    assert {str(d.message["Message-ID"]) for d in sink.deliveries} == {f"<{message.public_id}@acme.example>"}


def test_a_5xx_answer_fails_at_once_and_the_batch_goes_on(sender_project, email_stream, email_template, sink):
    people = [CustomerFactory(project=sender_project) for _ in range(3)]
    messages = enqueue(sender_project, email_stream, email_template, people)
    sink.fail_next(1, "550 5.1.1 No such mailbox")

    report = deliver(sender_project, messages)

    assert (report.failed, report.sent) == (1, 2)
    failed = reload(messages[0])
    assert failed.state == Message.State.FAILED and "550" in failed.last_error
    assert MessageAttempt.objects.for_project(sender_project).get(message=failed).outcome == "permanent"
    assert sink.sessions == 1  # a refused DATA leaves the session usable
    email_stream.refresh_from_db()
    assert email_stream.state == "open"  # one bad mailbox does not pause the stream


def test_a_refused_connection_is_transient(sender_project, email_stream, email_template, sink):
    ada = CustomerFactory(project=sender_project)
    [message] = enqueue(sender_project, email_stream, email_template, [ada])
    sink.stop()

    report = deliver(sender_project, [message])

    assert report.deferred == 1
    deferred = reload(message)
    assert deferred.state == Message.State.DEFERRED and "connection" in deferred.last_error.lower()


def test_a_421_closes_the_session_and_the_next_message_opens_a_new_one(
    sender_project, email_stream, email_template, sink
):
    people = [CustomerFactory(project=sender_project) for _ in range(3)]
    messages = enqueue(sender_project, email_stream, email_template, people)
    sink.fail_next(1, "421 4.7.0 Too many messages, closing")

    report = deliver(sender_project, messages)

    assert (report.deferred, report.sent) == (1, 2)
    assert sink.sessions == 2
    assert reload(messages[0]).state == Message.State.DEFERRED


def test_customers_without_email_are_skipped_at_materialisation_and_at_delivery(
    sender_project, email_stream, email_template, sink
):
    nobody = CustomerFactory(project=sender_project, email=None)
    ada = CustomerFactory(project=sender_project)
    skipped_up_front, queued = enqueue(sender_project, email_stream, email_template, [nobody, ada])
    assert (skipped_up_front.state, skipped_up_front.last_error) == (Message.State.SKIPPED, NO_ADDRESS)

    ada.email = ""
    ada.save(update_fields=["email"])  # the address went away after materialisation
    report = deliver(sender_project, [queued])

    assert report.skipped == 1
    assert (reload(queued).state, reload(queued).last_error) == (Message.State.SKIPPED, NO_ADDRESS)
    assert sink.deliveries == []


def test_the_sql_skip_reason_serves_owners_that_materialise_in_sql(
    sender_project, email_stream, email_template
):
    nobody = CustomerFactory(project=sender_project, email="")
    ada = CustomerFactory(project=sender_project)

    result = messages_enqueue_select(
        project=sender_project,
        stream=email_stream,
        channel="email",
        template=email_template,
        select_sql=SELECT_ALL_CUSTOMERS,
        params=[sender_project.pk],
    )

    assert (result.created, result.skipped, len(result.queued_ids)) == (2, 1, 1)
    states = dict(Message.objects.for_project(sender_project).values_list("customer_id", "last_error"))
    assert states == {nobody.pk: NO_ADDRESS, ada.pk: ""}
