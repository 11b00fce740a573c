"""One distribution on all five channels at once, end to end: a real Celery worker on the event,
distribution and every delivery queue (real Redis), an aiosmtpd sink for email, and real local HTTP
receivers standing in for Twilio, Mailchimp, Braze and the webhook endpoint.

Every customer gets exactly one message per channel, under that message's key, carrying their own
code and details; the analytics and the activity log count them per channel; the email's one-click
unsubscribe holds for the next send, and its QR image is a QR code of the customer's code.

Beat is played by the test: it claims the due send and runs the sending sweep when it chooses."""

from __future__ import annotations

import re
from collections import defaultdict
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from django.test import Client

from campaigns.models import Publication
from distributions.models import Distribution, DistributionStatus
from distributions.sending import distributions_sweep_sending
from distributions.tasks import claim_due_distributions
from messaging.consent import UNSUBSCRIBED_REASON
from messaging.email.starters import starter
from messaging.models import Message
from segments.services import segment_create
from tests.campaigns.factories import make_campaign
from tests.distributions.engine_support import create_and_send, make_due, messages_of, webhook_channel
from tests.factories import CustomerFactory
from tests.support.messaging import wait_until
from tests.support.png import qr_modules
from tests.support.providers import BRAZE_CREDENTIALS, MAILCHIMP_CREDENTIALS, SMS_CREDENTIALS, provider_at
from tests.support.receivers import RecordingReceiver
from tests.support.smtp import SmtpSink
from tests.support.workers import running_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 20
CHANNELS = ("email", "sms", "webhook", "mailchimp", "braze")
QUEUES = [
    "events",
    "distributions",
    "delivery.email",
    "delivery.sms",
    "delivery.webhook",
    "delivery.integrations",
]
LIFECYCLE = ["sent", "materialised", "sending", "scheduled", "created"]  # newest first


@pytest.fixture
def sink():
    with SmtpSink() as running, running.as_email_backend():
        yield running


@pytest.fixture
def stand_ins(local_project):
    """Twilio, Mailchimp and Braze: a receiver each, and the project's provider account at it."""
    credentials = {"sms": SMS_CREDENTIALS, "mailchimp": MAILCHIMP_CREDENTIALS, "braze": BRAZE_CREDENTIALS}
    with RecordingReceiver() as sms, RecordingReceiver() as mailchimp, RecordingReceiver() as braze:
        receivers = {"sms": sms, "mailchimp": mailchimp, "braze": braze}
        for kind, receiver in receivers.items():
            provider_at(local_project, receiver, kind, credentials[kind])
        yield receivers


@pytest.fixture
def shop(local_project):
    local_project.email_from_name = "Acme Shop"
    local_project.email_from_address = "offers@acme.example"
    local_project.save(update_fields=["email_from_name", "email_from_address"])
    return local_project


@pytest.fixture
def people(shop):
    return [
        CustomerFactory(
            project=shop,
            source_id=f"shopper-{n:02d}",
            name=f"Shopper{n:02d} Example",
            email=f"shopper{n:02d}@example.com",
            phone=f"+4915100000{n:02d}",
        )
        for n in range(CUSTOMERS)
    ]


@pytest.fixture
def everyone(shop, people):
    return segment_create(
        project=shop, name="Everyone", type="static", customers=[p.source_id for p in people]
    )


def email_design() -> dict:
    content = starter("simple")
    content["design"]["body"].append(
        {"type": "image", "src": "{{ voucher.qr_url }}", "alt": "Your code as a QR code", "width": 160}
    )
    return content


def all_channels(endpoint) -> list[dict]:
    first_name = "{{customer.first_name | there}}"
    return [
        {"kind": "email", "template": email_design()},
        {"kind": "sms", "template": {"body": f"Hi {first_name}, your code is {{{{voucher.code}}}}."}},
        webhook_channel(
            endpoint, {"customer": "{{customer.id}}", "name": first_name, "code": "{{voucher.code}}"}
        ),
        {
            "kind": "mailchimp",
            "template": {"merge_fields": {"CODE": "{{voucher.code}}", "FNAME": first_name}},
        },
        {
            "kind": "braze",
            "template": {"attributes": {"voucher_code": "{{voucher.code}}", "first_name": first_name}},
        },
    ]


def send_now(project, fields: dict) -> Distribution:
    """Save & Send, skip the 10-minute wait, and let beat claim it (the worker materialises it)."""
    distribution = create_and_send(project, fields)
    make_due(project, distribution)
    assert claim_due_distributions() == [distribution.public_id]
    return distribution


def all_attempted(project, distribution: Distribution, count: int) -> bool:
    messages = messages_of(project, distribution)
    return (
        messages.count() == count
        and not messages.filter(
            state__in=[Message.State.QUEUED, Message.State.SENDING, Message.State.DEFERRED]
        ).exists()
    )


def email_text(email: EmailMessage) -> str:
    return email.get_body(("plain",)).get_content()


def key_of(message: Message) -> str:
    """The delivery key a receiver sees: the email's Message-ID, the other channels' header."""
    return f"<{message.public_id}@acme.example>" if message.channel == "email" else message.public_id


def by_customer_and_channel(project, distribution: Distribution) -> dict[tuple[str, str], Message]:
    messages = messages_of(project, distribution).select_related("customer")
    return {(message.customer.source_id, message.channel): message for message in messages}


def test_one_distribution_on_all_five_channels_reaches_every_customer_once_per_channel(
    api, shop, people, everyone, endpoint, receiver, stand_ins, sink
):
    campaign = make_campaign(shop, codes_count=2 * CUSTOMERS)
    with running_worker(QUEUES):
        distribution = send_now(
            shop,
            {
                "name": "A code on every channel",
                "trigger": {"key": "manual"},
                "audience": {"type": "segment", "segment": everyone.public_id},
                "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
                "channels": all_channels(endpoint),
            },
        )
        wait_until(
            lambda: all_attempted(shop, distribution, CUSTOMERS * len(CHANNELS)),
            timeout=120,
            what="every message of every channel attempted",
        )
        assert distributions_sweep_sending()["sent"] == [distribution.public_id]

    # Who received what, under which key, per channel: the customer read from what each receiver got.
    phone_of = {p.phone: p.source_id for p in people}
    email_of = {p.email: p.source_id for p in people}
    id_of = {p.public_id: p.source_id for p in people}
    arrived: dict[str, dict[str, list[str]]] = {channel: defaultdict(list) for channel in CHANNELS}
    content: dict[tuple[str, str], str] = {}
    for email in sink.messages:
        who = email_of[str(email["To"])]
        arrived["email"][who].append(str(email["Message-ID"]))
        content[who, "email"] = f"{email['Subject']}\n{email_text(email)}"
    for request in stand_ins["sms"].requests:
        form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
        who = phone_of[form["To"]]
        arrived["sms"][who].append(request.headers["idempotency-key"])
        content[who, "sms"] = form["Body"]
    for request in receiver.requests:
        data = request.json()["data"]
        who = id_of[data["customer"]]
        arrived["webhook"][who].append(request.headers["webhook-id"])
        content[who, "webhook"] = f"{data['name']} {data['code']}"
    for request in stand_ins["mailchimp"].requests:
        member = request.json()
        who = email_of[member["email_address"]]
        arrived["mailchimp"][who].append(request.headers["idempotency-key"])
        content[who, "mailchimp"] = f"{member['merge_fields']['FNAME']} {member['merge_fields']['CODE']}"
    for request in stand_ins["braze"].requests:
        [attributes] = request.json()["attributes"]
        who = attributes["external_id"]
        arrived["braze"][who].append(request.headers["idempotency-key"])
        content[who, "braze"] = f"{attributes['first_name']} {attributes['voucher_code']}"

    messages = by_customer_and_channel(shop, distribution)
    codes = {
        publication.customer.source_id: publication.voucher.code
        for publication in Publication.objects.for_project(shop)
        .filter(distribution_id=distribution.pk)
        .select_related("customer", "voucher")
    }
    assert len(codes) == CUSTOMERS and len(set(codes.values())) == CUSTOMERS  # one code each, all distinct
    for channel in CHANNELS:
        expected = {p.source_id: [key_of(messages[p.source_id, channel])] for p in people}
        assert dict(arrived[channel]) == expected, channel  # each customer once, under the message's key
    for person in people:
        first_name, code = person.name.split()[0], codes[person.source_id]
        for channel in CHANNELS:
            assert first_name in content[person.source_id, channel], (channel, person.source_id)
            assert code in content[person.source_id, channel], (channel, person.source_id)

    # The analytics count every channel's messages; the activity log has a line for each, and the lifecycle.
    report = api.get(f"/v1/distributions/{distribution.public_id}/analytics", {"interval": "day"}).json()
    delivered = {"sent": CUSTOMERS, "failed": 0, "recovered": 0, "skipped": 0}
    assert report["channels"] == {channel: delivered for channel in CHANNELS}
    assert {channel: report["messages"][channel]["sent"] for channel in CHANNELS} == dict.fromkeys(
        CHANNELS, CUSTOMERS
    )
    assert report["codes_published"] == CUSTOMERS
    lines = activity(api, distribution)
    outcomes = defaultdict(set)
    for line in lines:
        if line["kind"] == "message":
            assert line["data"]["outcome"] == "sent"
            outcomes[line["data"]["channel"]].add(line["data"]["customer_id"])
    assert outcomes == {channel: {p.public_id for p in people} for channel in CHANNELS}
    assert sum(line["kind"] == "message" for line in lines) == CUSTOMERS * len(CHANNELS)
    assert [line["kind"] for line in lines if line["kind"] != "message"] == LIFECYCLE
    assert Distribution.objects.for_project(shop).get(pk=distribution.pk).status == DistributionStatus.SENT

    # The email carries RFC 8058's headers, and its QR image is a QR code of the customer's own code.
    first = next(email for email in sink.messages if str(email["To"]) == people[0].email)
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = re.fullmatch(r"<(https?://\S+)>", str(first["List-Unsubscribe"]).strip())[1]
    [qr_url] = re.findall(r'src="([^"]*/v1/vouchers/assets/[^"]+)"', first.get_body(("html",)).get_content())
    image = Client().get(urlsplit(qr_url).path)
    assert (image.status_code, image["Content-Type"]) == (200, "image/png")
    expected_qr = segno.make_qr(codes[people[0].source_id], error="m")
    assert qr_modules(image.content) == [list(row) for row in expected_qr.matrix]

    # A one-click unsubscribe (what a mail client POSTs, no CSRF token) stops that customer's email
    # only: the next send skips it with the reason and still texts them.
    one_click = Client(enforce_csrf_checks=True).post(
        urlsplit(unsubscribe).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    emails_before, texts_before = len(sink.messages), len(stand_ins["sms"].requests)
    with running_worker(QUEUES):
        second = send_now(
            shop,
            {
                "name": "Another code",
                "trigger": {"key": "manual"},
                "audience": {"type": "segment", "segment": everyone.public_id},
                "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
                "channels": all_channels(endpoint)[:2],  # email and SMS
            },
        )
        wait_until(
            lambda: all_attempted(shop, second, CUSTOMERS * 2), timeout=120, what="the second send attempted"
        )

    later = by_customer_and_channel(shop, second)
    skipped = later[people[0].source_id, "email"]
    assert (skipped.state, skipped.last_error) == (Message.State.SKIPPED, UNSUBSCRIBED_REASON)
    assert later[people[0].source_id, "sms"].state == Message.State.SENT
    new_emails = sink.messages[emails_before:]
    assert sorted(str(email["To"]) for email in new_emails) == sorted(p.email for p in people[1:])
    assert len(stand_ins["sms"].requests) - texts_before == CUSTOMERS


def activity(api, distribution: Distribution) -> list[dict]:
    """Every line of the distribution's activity log, newest first, page by page."""
    lines, cursor = [], None
    while True:
        params = {"limit": 100, **({"starting_after": cursor} if cursor else {})}
        page = api.get(f"/v1/distributions/{distribution.public_id}/activity", params).json()
        lines += page["activities"]
        if not page["has_more"]:
            return lines
        cursor = page["next_cursor"]
