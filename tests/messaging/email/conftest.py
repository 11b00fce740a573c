import pytest

from messaging.email.starters import starter
from messaging.services import message_stream_open, message_template_create
from tests.support.smtp import SmtpSink


@pytest.fixture
def sink():
    with SmtpSink() as running, running.as_email_backend():
        yield running


@pytest.fixture
def sender_project(project):
    project.email_from_name = "Acme Shop"
    project.email_from_address = "offers@acme.example"
    project.email_reply_to = "help@acme.example"
    project.save(update_fields=["email_from_name", "email_from_address", "email_reply_to"])
    return project


@pytest.fixture
def email_stream(sender_project):
    return message_stream_open(project=sender_project, owner="distribution:distr_mail")


@pytest.fixture
def email_template(sender_project):
    return message_template_create(project=sender_project, channel="email", content=starter("simple"))
