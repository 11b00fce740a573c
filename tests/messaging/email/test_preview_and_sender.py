"""Preview and test send (services), the project's sender identity, and the link variables."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError

from campaigns.models import Voucher
from campaigns.representation import read_asset_token
from eventbus.models import DomainEvent
from messaging.channels.base import PermanentFailure, Sent
from messaging.email.services import (
    message_template_preview,
    message_template_test_send,
    project_email_sender_update,
)
from messaging.email.starters import starter
from messaging.links import read_cockpit_token
from messaging.models import MessageTemplate
from tenancy.models import Project
from tests.campaigns.factories import make_campaign
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_preview_renders_unsaved_content_for_a_chosen_customer_and_saves_nothing(project):
    ada = CustomerFactory(project=project, name="Ada Lovelace")

    preview = message_template_preview(project=project, template=starter("simple"), customer=ada)

    assert preview.subject == "A code for you, Ada"
    assert "SAMPLE-CODE-1234" in preview.html and "SAMPLE-CODE-1234" in preview.text
    assert "/u/" in preview.html
    assert not MessageTemplate.objects.for_project(project).exists()


def test_a_preview_without_a_customer_uses_the_sample_one(project):
    preview = message_template_preview(project=project, template=starter("flier"))

    assert "SAMPLE-CODE-1234" in preview.html and preview.subject == "Spring sale"


def test_a_preview_of_another_projects_customer_is_refused(project, other_project):
    stranger = CustomerFactory(project=other_project)

    with pytest.raises(ValidationError):
        message_template_preview(project=project, template=starter("simple"), customer=stranger)


def test_the_link_variables_are_signed_urls_for_this_customer_and_code(project):
    ada = CustomerFactory(project=project)
    content = starter("simple")
    content["design"]["body"].append(
        {"type": "text", "runs": [{"text": "[{{ voucher.qr_url }}] [{{ customer.cockpit_url }}]"}]}
    )

    preview = message_template_preview(
        project=project, template=content, customer=ada, variables={"voucher.code": "QR-7"}
    )

    qr_url, cockpit = preview.text.split("[", 2)[1].split("]")[0], preview.text.split("[", 2)[2].split("]")[0]
    assert read_asset_token(qr_url.rsplit("/", 1)[1]) == {"p": project.pk, "c": "QR-7", "k": "qr"}
    assert read_cockpit_token(cockpit.rsplit("/c/", 1)[1]) == {"p": project.pk, "c": ada.pk}


def test_the_qr_url_serves_a_png_of_the_code(project, client):
    campaign = make_campaign(project, codes_count=1)
    voucher = Voucher.objects.for_project(project).get(campaign=campaign)
    content = {"subject": "{{ voucher.qr_url }}", "design": starter("simple")["design"]}
    preview = message_template_preview(
        project=project, template=content, variables={"voucher.code": voucher.code}
    )

    response = client.get(urlsplit(preview.subject).path)

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_a_test_send_reaches_the_address_with_the_projects_sender(sender_project, email_template, sink):
    outcome = message_template_test_send(
        project=sender_project, template=email_template, to_address="me@acme.example"
    )

    assert isinstance(outcome, Sent)
    [email] = sink.wait_for(1)
    assert email["To"] == "me@acme.example" and email["Subject"] == "[Test] A code for you, Ada"
    assert email["From"] == "Acme Shop <offers@acme.example>"


def test_a_refused_test_send_says_why(sender_project, email_template, sink):
    sink.fail_next(1, "554 5.7.1 Rejected")

    outcome = message_template_test_send(
        project=sender_project, template=email_template, to_address="me@acme.example"
    )

    assert isinstance(outcome, PermanentFailure) and "554" in outcome.error


def test_a_test_send_to_a_bad_address_is_refused(project, email_template):
    with pytest.raises(ValidationError) as caught:
        message_template_test_send(project=project, template=email_template, to_address="not-an-address")
    assert "to_address" in caught.value.message_dict


def test_the_sender_identity_is_validated_and_saved_with_an_event(project):
    project_email_sender_update(
        project=project,
        from_name="Acme Shop",
        from_address="offers@acme.example",
        reply_to="help@acme.example",
    )

    saved = Project.objects.get(pk=project.pk)
    assert (saved.email_from_name, saved.email_from_address, saved.email_reply_to) == (
        "Acme Shop",
        "offers@acme.example",
        "help@acme.example",
    )
    assert DomainEvent.objects.filter(project=project, type="project.email_sender.updated").count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from_name": "Acme", "from_address": "not an address"}, "from_address"),
        ({"from_name": "Acme", "from_address": "a@acme.example", "reply_to": "nope@"}, "reply_to"),
        ({"from_name": "Acme\r\nBcc: victim@example.com", "from_address": "a@acme.example"}, "from_name"),
    ],
)
def test_an_invalid_sender_is_refused_and_nothing_changes(project, fields, field):
    with pytest.raises(ValidationError) as caught:
        project_email_sender_update(project=project, **fields)

    assert field in caught.value.message_dict
    saved = Project.objects.get(pk=project.pk)
    assert (saved.email_from_name, saved.email_from_address) == ("", "")
    assert not DomainEvent.objects.filter(project=project, type="project.email_sender.updated").exists()


def test_the_email_demo_seed_is_idempotent(project):
    from messaging.email.demo import seed_email

    first = seed_email(project)
    again = seed_email(project)

    assert [t.pk for t in first] == [t.pk for t in again] and len(first) == 2
    project.refresh_from_db()
    assert project.email_from_address == f"offers@{project.slug}.example.com"
