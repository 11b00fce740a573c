"""The unsubscribe link: a GET shows a one-click form and changes nothing (link scanners follow every
URL), a POST unsubscribes, RFC 8058's one-click POST too, and later messages to that customer on that
channel are skipped at delivery time with the reason."""

from __future__ import annotations

import pytest
from django.test import Client

from eventbus.models import DomainEvent
from messaging.consent import UNSUBSCRIBED_REASON, unsubscribed_customer_ids, unsubscribed_skips_count
from messaging.delivery import messages_deliver
from messaging.models import CustomerConsent, Message
from messaging.unsubscribe import unsubscribe_token_for, unsubscribe_token_read, unsubscribe_url
from tests.messaging.policy.support import delivered_to
from tests.support.messaging import customers, enqueue, reload

pytestmark = pytest.mark.django_db


def link(project, customer, channel="webhook") -> str:
    return "/u/" + unsubscribe_token_for(project, customer, channel)


def test_the_token_names_project_customer_and_channel_and_the_url_is_absolute(project):
    [person] = customers(project, 1)
    token = unsubscribe_token_for(project, person, "email")
    assert unsubscribe_token_read(token) == {"p": project.pk, "c": person.pk, "ch": "email"}
    assert unsubscribe_url(project, person, "email").endswith(f"/u/{token}")
    assert unsubscribe_url(project, person, "email").startswith("http")


def test_following_the_link_shows_a_form_and_unsubscribes_nobody(project):
    [person] = customers(project, 1)
    response = Client().get(link(project, person, "email"))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert b"Unsubscribe" in response.content
    assert not CustomerConsent.objects.for_project(project).exists()


def test_posting_the_form_unsubscribes_from_that_channel_only(project):
    [person] = customers(project, 1)
    response = Client(enforce_csrf_checks=True).post(link(project, person, "email"))
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    consent = CustomerConsent.objects.for_project(project).get(customer=person)
    assert (consent.channel, consent.state, consent.source) == ("email", "unsubscribed", "unsubscribe_link")
    assert unsubscribed_customer_ids(project=project, channel="sms", customer_ids=[person.pk]) == set()
    revoked = DomainEvent.objects.for_project(project).get(type="customer.consents.revoked")
    assert revoked.customer_id == person.pk and revoked.data["channels"] == ["email"]


def test_rfc_8058_one_click_post_unsubscribes_without_a_csrf_token(project):
    [person] = customers(project, 1)
    response = Client(enforce_csrf_checks=True).post(
        link(project, person, "email"),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    consent = CustomerConsent.objects.for_project(project).get(customer=person)
    assert (consent.state, consent.source) == ("unsubscribed", "one_click")


def test_posting_twice_records_one_change(project):
    [person] = customers(project, 1)
    Client().post(link(project, person, "email"))
    Client().post(link(project, person, "email"))
    assert DomainEvent.objects.for_project(project).filter(type="customer.consents.revoked").count() == 1


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_token_is_404_and_changes_nothing(project, method):
    [person] = customers(project, 1)
    token = unsubscribe_token_for(project, person, "email")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert getattr(Client(), method)(f"/u/{forged}").status_code == 404
    assert getattr(Client(), method)("/u/not-a-token").status_code == 404
    assert not CustomerConsent.objects.for_project(project).exists()


def test_a_token_of_a_deleted_customer_is_404(project):
    [person] = customers(project, 1)
    url = link(project, person)
    person.delete()
    assert Client().get(url).status_code == 404


def test_later_messages_on_that_channel_are_skipped_with_the_reason(
    local_project, stream, template, receiver
):
    unsubscribed, subscribed = customers(local_project, 2)
    messages = enqueue(local_project, stream, template, [unsubscribed, subscribed])
    # Materialised before the unsubscribe: delivery still holds to it.
    Client().post(link(local_project, unsubscribed, "webhook"))

    report = messages_deliver(project=local_project, channel="webhook", message_ids=[m.pk for m in messages])

    assert (report.sent, report.skipped, report.unsubscribed) == (1, 1, 1)
    skipped = reload(messages[0])
    assert (skipped.state, skipped.last_error, skipped.attempts) == (
        Message.State.SKIPPED,
        UNSUBSCRIBED_REASON,
        0,
    )
    assert reload(messages[1]).state == Message.State.SENT
    assert unsubscribed_skips_count(project=local_project, stream=stream) == 1
    receiver.wait_for(1)
    assert delivered_to(receiver) == [subscribed.public_id]


def test_resubscribing_lets_messages_go_again(local_project, stream, template, receiver):
    from messaging.consent import customer_consents_set

    [person] = customers(local_project, 1)
    customer_consents_set(
        project=local_project, customer=person, changes={"webhook": "unsubscribed"}, source="api"
    )
    customer_consents_set(
        project=local_project, customer=person, changes={"webhook": "subscribed"}, source="api"
    )
    messages = enqueue(local_project, stream, template, [person])
    report = messages_deliver(project=local_project, channel="webhook", message_ids=[m.pk for m in messages])
    assert report.sent == 1
