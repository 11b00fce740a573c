"""The sandbox's SMTP sink (`manage.py sandbox_smtp`, started by the run command): an email our
channel delivers to it shows in its project's sandbox inbox; mail that carries no signed link of ours
is dropped, since nothing in it says whose inbox it belongs in."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse

from messaging.delivery import messages_deliver
from messaging.models import Message
from messaging.services import MessageRow, messages_enqueue
from messaging.unsubscribe import unsubscribe_url
from tests.factories import CustomerFactory
from tests.support.messaging import reload, wait_until
from webhooks_out.models import SandboxDelivery

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sandbox_sink(tmp_path):
    """`manage.py sandbox_smtp` as the run command starts it, on the test database; yields its port."""
    database = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
    }
    log = tmp_path / "smtp.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "sandbox_smtp", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: process.poll() is not None or "listening" in log.read_text(),
            timeout=30,
            what="the sink to listen",
        )
        assert process.poll() is None, log.read_text()
        yield port
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_an_email_the_channel_delivers_to_the_sink_shows_in_the_projects_sandbox_inbox(
    sandbox_sink, sender_project, email_stream, email_template, owner
):
    ada = CustomerFactory(project=sender_project, name="Ada Lovelace", email="ada@example.com")
    messages_enqueue(
        project=sender_project,
        stream=email_stream,
        channel="email",
        template=email_template,
        rows=[MessageRow(ada.pk, "manual:sandbox", {"voucher.code": "SPRING-42"})],
    )
    message = Message.objects.for_project(sender_project).get()

    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=sandbox_sink,
    ):
        messages_deliver(project=sender_project, channel="email", message_ids=[message.pk])

    assert reload(message).state == "sent", reload(message).last_error
    delivery = SandboxDelivery.objects.for_project(sender_project).get()
    assert delivery.kind == "email"
    assert delivery.request_line == "To ada@example.com: A code for you, Ada"
    assert "SPRING-42" in delivery.body
    assert delivery.headers["Message-ID"] == f"<{message.public_id}@acme.example>"
    assert delivery.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    client = Client()
    client.force_login(owner)
    page = client.get(reverse("sandbox_inbox")).content.decode()
    assert "To ada@example.com: A code for you, Ada" in page
    assert "SPRING-42" in page


def test_mail_without_a_signed_link_of_ours_is_dropped(sandbox_sink, sender_project):
    ada = CustomerFactory(project=sender_project, email="ada@example.com")
    forged = unsubscribe_url(sender_project, ada, "email").replace("/u/", "/u/x")
    with smtplib.SMTP("127.0.0.1", sandbox_sink, timeout=10) as smtp:
        for link in (None, forged):
            email = EmailMessage()
            email["From"], email["To"], email["Subject"] = "someone@example.com", "ada@example.com", "Hi"
            if link:
                email["List-Unsubscribe"] = f"<{link}>"
            email.set_content("Not from a distribution.")
            assert smtp.send_message(email) == {}  # accepted, and then dropped

    assert not SandboxDelivery.objects.unscoped().exists()
