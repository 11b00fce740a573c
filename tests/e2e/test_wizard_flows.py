"""The Create distribution wizard in a real browser, end to end.

A marketer builds an automatic "order paid above $99 → publish a code → email + webhook" distribution
(finding the trigger by search, saving a draft midway, reloading, finishing), sets it live, and a
qualifying order posted through the REST API reaches the customer: a real Celery worker sends the
email into an SMTP sink and the webhook into the project's sandbox inbox, and both show in the
distribution's Activity tab. A manual segment distribution shows its countdown and stops with
nothing sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from distributions.models import Distribution, DistributionStatus
from distributions.tasks import claim_due_distributions
from messaging.models import Message
from segments.services import segment_create
from tests.campaigns.factories import make_campaign
from tests.e2e.conftest import assert_accessible, htmx_settled, screenshot
from tests.factories import CustomerFactory, make_api_key
from tests.support.messaging import wait_until
from tests.support.smtp import SmtpSink
from tests.support.workers import running_worker
from webhooks_out.models import SandboxDelivery
from webhooks_out.services import sandbox_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

QUEUES = ["events", "distributions", "delivery.webhook", "delivery.email"]


@pytest.fixture
def sink():
    with SmtpSink() as running, running.as_email_backend():
        yield running


@pytest.fixture
def shop(project):
    """The project may call local targets (its own sandbox receiver runs on the live server)."""
    project.allow_private_webhook_targets = True
    project.email_from_address = "offers@acme.example"
    project.save(update_fields=["allow_private_webhook_targets", "email_from_address"])
    return project


def wizard_step(page, number: int, name: str) -> None:
    expect(page.locator("#step-heading")).to_contain_text(f"{number}. {name}")
    expect(page.locator(".stepper [aria-current=step]")).to_contain_text(name)


def test_a_marketer_builds_an_order_paid_distribution_that_sends_a_code_by_email_and_webhook(
    signed_in, live_server, shop, marketer, sink
):
    ada = CustomerFactory(project=shop, source_id="ada", email="ada@example.com", name="Ada")
    campaign = make_campaign(shop, name="Black Friday", codes_count=5)
    make_campaign(shop, name="Spring", codes_count=1)
    page = signed_in(marketer)

    # Given the list, the marketer starts the wizard and finds the trigger by typing.
    page.goto("/distributions/")
    page.get_by_role("link", name="Create distribution").click()
    wizard_step(page, 1, "Trigger")
    page.get_by_label("Search triggers").press_sequentially("paid", delay=30)
    expect(page.locator("#trigger-list .choice")).to_have_count(1)
    page.get_by_role("radio", name=re.compile("^Order paid")).check()
    expect(page).to_have_url(re.compile(r"/distributions/distr_\w+/wizard/trigger/$"))
    distribution = Distribution.objects.for_project(shop).get()
    assert distribution.trigger_key == "order_paid"

    # The condition "above $99" is a validation rule made inline.
    page.locator("#id_name").fill("Thanks for a big order")
    page.get_by_text("New validation rule").click()
    page.get_by_label("Rule name").fill("Over $99")
    page.get_by_label("Rule 1 field").select_option("order.amount")
    page.get_by_label("Rule 1 operator").select_option("$more_than")
    page.get_by_label("Rule 1 value").fill("9900")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#id_validation_rule option:checked")).to_have_text("Over $99")
    screenshot(page, "wizard-trigger")
    assert_accessible(page)

    # Saved midway, reloaded: the draft comes back as it was.
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#wizard-notice")).to_contain_text("Draft saved")
    page.reload()
    expect(page.locator("#id_name")).to_have_value("Thanks for a big order")
    expect(page.locator("#id_validation_rule option:checked")).to_have_text("Over $99")
    expect(page.locator("#trigger-order_paid")).to_be_checked()

    # Action: publish a code from the campaign found by search.
    page.get_by_role("button", name="Next: Action").click()
    wizard_step(page, 2, "Action")
    expect(page).to_have_url(re.compile(r"/wizard/action/$"))
    expect(page.locator("#step-heading")).to_be_focused()
    # Choosing an action redraws the step: type into the search box of the redrawn one.
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.get_by_role("radio", name=re.compile("^Send and publish unique codes")).check()
    htmx_settled(page)
    expect(page.get_by_role("radio", name=re.compile("^Send and publish unique codes"))).to_be_focused()
    page.get_by_label("Search campaign").press_sequentially("Black", delay=30)
    expect(page.locator("#id_campaign option")).to_have_count(2)  # "Choose" and Black Friday
    page.locator("#id_campaign").select_option(campaign.public_id)
    screenshot(page, "wizard-action")
    assert_accessible(page)
    page.get_by_role("button", name="Next: Channels").click()

    # Channels: email and webhook, each with its own settings and an Edit message link.
    wizard_step(page, 3, "Channels")
    page.get_by_role("button", name="+ Email").click()
    expect(page.locator("#channel-email")).to_be_visible()
    page.get_by_role("button", name="+ Webhook").click()
    expect(page.locator("#channel-webhook")).to_be_visible()
    expect(page.get_by_role("button", name="+ Email")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit message for Email")).to_have_attribute(
        "href", f"/distributions/{distribution.public_id}/channels/email/editor/"
    )
    page.get_by_label("Webhook URL").fill(sandbox_url(shop, base_url=live_server.url))
    screenshot(page, "wizard-channels")
    assert_accessible(page)
    page.get_by_role("button", name="Next: Summary").click()

    # Summary: the configuration in words, the preflight, Save & Send.
    wizard_step(page, 4, "Summary")
    expect(page.locator("#summary-sentence")).to_have_text(
        "When a customer pays an order and the order amount is above $99, publish a code from "
        "“Black Friday” and send it by email and webhook."
    )
    expect(page.locator("#preflight")).to_contain_text("5 free codes")
    screenshot(page, "wizard-summary")
    assert_accessible(page)
    page.get_by_role("button", name="Save & Send").click()
    expect(page.locator("#gone-live")).to_contain_text("Live")
    assert Distribution.objects.for_project(shop).get().status == DistributionStatus.LIVE

    # Then a qualifying order, through the REST API, reaches Ada by email and webhook.
    api_key, token = make_api_key(shop)
    with running_worker(QUEUES):
        for order_id, amount in (("small", 5000), ("big", 15000)):
            response = requests.post(
                f"{live_server.url}/v1/orders",
                json={
                    "source_id": order_id,
                    "status": "PAID",
                    "amount": amount,
                    "customer": {"source_id": "ada"},
                },
                headers={"X-App-Id": api_key.app_id, "X-App-Token": token},
                timeout=15,
            )
            assert response.status_code in (200, 201), response.text
        [email] = sink.wait_for(1, timeout=60)
        wait_until(lambda: SandboxDelivery.objects.for_project(shop).exists(), timeout=60, what="the webhook")
        wait_until(
            lambda: Message.objects.for_project(shop).filter(state=Message.State.SENT).count() == 2,
            timeout=30,
            what="both messages recorded as sent",
        )

    code = Message.objects.for_project(shop).get(channel="email").variables["voucher.code"]
    assert str(email["To"]) == ada.email
    assert code in email.get_body(("plain",)).get_content()
    page.goto(f"/distributions/{distribution.public_id}/?tab=activity")
    expect(page.locator("#distribution-activity")).to_contain_text("email message to ada@example.com: sent")
    expect(page.locator("#distribution-activity")).to_contain_text("webhook message to ada@example.com: sent")
    page.goto("/sandbox/")
    expect(page.get_by_text(code).first).to_be_attached()


def test_a_manual_segment_distribution_counts_down_and_stopping_it_sends_nothing(signed_in, shop, marketer):
    people = [
        CustomerFactory(project=shop, source_id=f"friend-{n}", email=f"f{n}@example.com") for n in range(3)
    ]
    segment_create(project=shop, name="Friends", type="static", customers=[p.source_id for p in people])
    page = signed_in(marketer)

    page.goto("/distributions/new/")
    page.get_by_label("Manual message").check()
    expect(page.locator("#trigger-list .choice")).to_have_count(1)
    page.get_by_role("radio", name=re.compile("^Send a message now")).check()
    expect(page).to_have_url(re.compile(r"/wizard/trigger/$"))
    page.locator("#id_name").fill("Hello friends")
    page.get_by_label("A segment", exact=True).check()
    page.locator("#id_segment").select_option(label="Friends")
    expect(page.locator("#id_segment option:checked")).to_have_text("Friends")
    page.get_by_role("button", name="Next: Action").click()
    wizard_step(page, 2, "Action")
    page.get_by_role("radio", name=re.compile("^Send a plain message")).check()
    page.get_by_role("button", name="Next: Channels").click()
    wizard_step(page, 3, "Channels")
    expect(page.get_by_role("button", name="+ Webhook")).to_have_count(0)  # not for a manual plain message
    page.get_by_role("button", name="+ Email").click()
    expect(page.locator("#channel-email")).to_be_visible()
    page.get_by_role("button", name="Next: Summary").click()
    wizard_step(page, 4, "Summary")
    expect(page.locator("#summary-sentence")).to_contain_text(
        "Ten minutes after Save & Send, for everyone in “Friends”"
    )
    expect(page.locator("#preflight")).to_contain_text("3 customers")

    page.get_by_role("button", name="Save & Send").click()
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(9:[0-5]\d|10:00)$"))
    assert_accessible(page)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#stopped")).to_have_text("Stopped before sending: nothing was sent.")

    distribution = Distribution.objects.for_project(shop).get()
    assert distribution.status == DistributionStatus.CANCELED
    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=False):
        assert claim_due_distributions() == []
    assert not Message.objects.for_project(shop).exists()
    page.goto(f"/distributions/{distribution.public_id}/?tab=activity")
    expect(page.locator("#distribution-activity")).to_contain_text("Canceled before sending.")


def test_a_viewer_finds_no_create_control_and_the_wizard_refuses_them(signed_in, project, viewer, marketer):
    from distributions import services

    draft = services.distribution_create(project=project, fields={"name": "Draft"}, by=marketer)
    page = signed_in(viewer)

    page.goto("/distributions/")
    expect(page.get_by_role("heading", name="Distributions")).to_be_visible()
    expect(page.get_by_role("link", name="Create distribution")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    assert page.goto("/distributions/new/").status == 403
    assert page.goto(f"/distributions/{draft.public_id}/wizard/summary/").status == 403


def test_save_and_send_on_an_incomplete_draft_lists_what_is_missing_and_links_to_the_step(
    signed_in, project, marketer
):
    from distributions import services

    draft = services.distribution_create(project=project, fields={"name": "Half done"}, by=marketer)
    page = signed_in(marketer)

    page.goto(f"/distributions/{draft.public_id}/wizard/summary/")
    page.get_by_role("button", name="Save & Send").click()

    missing = page.locator("#missing")
    expect(missing).to_contain_text("Not sent: finish these first.")
    expect(missing.get_by_role("link", name="Channels")).to_be_visible()
    assert_accessible(page)
    missing.get_by_role("link", name="Trigger").click()
    wizard_step(page, 1, "Trigger")
    expect(page).to_have_url(re.compile(r"/wizard/trigger/$"))
    expect(page.locator("#step-heading")).to_be_focused()
