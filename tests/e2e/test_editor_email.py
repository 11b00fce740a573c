"""The message editor in a real browser: build an email from every block type and see it in the preview;
the SMS segment counter; the webhook payload designer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from distributions import services
from distributions.models import DistributionChannel
from tests.e2e.conftest import assert_accessible, htmx_settled, screenshot
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def draft(project, marketer):
    return services.distribution_create(
        project=project,
        fields={
            "name": "Spring news",
            "trigger": {"key": "order_paid"},
            "action": {"key": "plain_message"},
            "channels": [{"kind": "email"}, {"kind": "sms"}, {"kind": "webhook"}],
        },
        by=marketer,
    )


@pytest.fixture
def grace(project):
    return CustomerFactory(project=project, name="Grace Hopper", email="grace@example.com")


def add_block(page, label: str) -> None:
    before = page.locator("#block-list > li").count()
    page.locator(".add-block summary").click()
    page.get_by_role("menuitem", name=label, exact=True).click()
    expect(page.locator("#block-list > li")).to_have_count(before + 1)
    # The new block's first field takes the focus once htmx settles the swap; typing before that
    # would go wherever the focus was and be lost, for a test as for a fast typist.
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.closest('#block-list > li:last-child')"
    )


def block_types(page) -> list[str]:
    return page.locator("#block-list > li input[name$='-type']").evaluate_all("els => els.map(e => e.value)")


def test_build_an_email_with_each_block_type_and_see_it_in_the_preview(
    signed_in, marketer, draft, grace, project
):
    # Tall enough that dragging the last block to the first needs no scrolling mid-drag.
    page = signed_in(marketer, viewport={"width": 1400, "height": 4200})
    page.goto(f"/distributions/{draft.public_id}/channels/email/editor/")
    preview = page.frame_locator("#email-preview")
    # Given the simple letter, previewed for the sample customer
    expect(preview.get_by_text("Here is your personal code:")).to_be_visible()
    assert block_types(page) == ["text", "text", "variable", "text"]

    # When the marketer previews as Grace, found by search
    page.get_by_label("Preview as customer").fill("Grace")
    page.get_by_role("radio", name=re.compile("Grace Hopper")).check()
    expect(preview.get_by_text("Hi Grace,")).to_be_visible()

    # ... puts her full name in the subject from the variables menu
    page.locator("#f-subject").press("End")
    page.locator("#f-subject").type(" ")
    page.get_by_text("Insert variable", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Customer name customer\.name")).click()
    expect(page.locator("#f-subject")).to_have_value(
        "A code for you, {{ customer.first_name | friend }} {{ customer.name }}"
    )
    expect(page.locator("#preview-subject")).to_have_text("A code for you, Grace Grace Hopper")

    # ... removes the letter's last paragraph
    page.get_by_role("button", name="Remove block 4 (Text)").click()
    expect(page.locator("#block-list > li")).to_have_count(3)
    expect(preview.get_by_text("See you soon.")).to_have_count(0)

    # ... adds one block of every type and edits each
    add_block(page, "Text")
    expect(page.locator("#f-b3-text")).to_be_focused()
    page.locator("#f-b3-text").fill("Spring is here, {{ customer.name }}!")
    expect(preview.get_by_text("Spring is here, Grace Hopper!")).to_be_visible()

    add_block(page, "Variable")
    page.locator("#f-b4-name").select_option("customer.email")
    expect(preview.get_by_text("grace@example.com")).to_be_visible()

    add_block(page, "Image")
    page.locator("#f-b5-alt").fill("Spring banner")
    expect(preview.locator("img[alt='Spring banner']")).to_have_count(1)

    add_block(page, "Button")
    page.locator("#f-b6-label").fill("Shop now, {{ customer.first_name }}")
    expect(preview.get_by_text("Shop now, Grace")).to_be_visible()

    add_block(page, "Divider")
    page.locator("#f-b7-thickness").fill("4")
    page.locator("#f-b7-thickness").blur()
    expect(preview.locator("p[style*='border-top:solid 4px']")).to_have_count(1)

    add_block(page, "Social buttons")
    page.locator("#f-b8-linkedin").fill("https://www.linkedin.com/company/acme")
    expect(preview.locator("a[href='https://www.linkedin.com/company/acme']").first).to_be_attached()

    # ... and the header (a folded section) and footer
    page.get_by_text("Header & background").click()
    page.locator("#f-header-logo").fill("https://example.com/logo.png")
    page.locator("#f-header-logo_alt").fill("Acme logo")
    expect(preview.locator("img[alt='Acme logo']")).to_have_count(1)
    page.locator("#f-footer-text").fill("Acme Inc, 1 Main Street")
    expect(preview.get_by_text("Acme Inc, 1 Main Street")).to_be_visible()

    # A bad link is named next to its field, and the preview keeps its last version
    page.locator("#f-b6-link").fill("javascript:alert(1)")
    expect(page.locator("#e-b6-link")).to_contain_text("Unsafe link")
    expect(preview.get_by_text("Shop now, Grace")).to_be_visible()
    page.locator("#f-b6-link").fill("https://shop.example.com")
    expect(page.locator("#e-b6-link")).to_be_empty()

    # Reorder: the social buttons one up with the keyboard's button, the divider to the top by drag
    assert block_types(page) == [
        "text",
        "text",
        "variable",
        "text",
        "variable",
        "image",
        "button",
        "divider",
        "social",
    ]
    page.get_by_role("button", name="Move block 9 (Social buttons) up").click()
    expect(page.get_by_role("button", name="Move block 8 (Social buttons) up")).to_be_focused()
    assert block_types(page) == [
        "text",
        "text",
        "variable",
        "text",
        "variable",
        "image",
        "button",
        "social",
        "divider",
    ]
    page.locator("#block-list > li").nth(8).locator(".drag-handle").drag_to(
        page.locator("#block-list > li").nth(0)
    )
    expect(page.locator("#block-list > li").first.locator("input[name$='-type']")).to_have_value("divider")
    assert block_types(page) == [
        "divider",
        "text",
        "text",
        "variable",
        "text",
        "variable",
        "image",
        "button",
        "social",
    ]
    # The preview follows the new order: the divider comes before the greeting
    page.wait_for_load_state("networkidle")  # the reordered preview has replaced the frame
    order = preview.locator("body").evaluate(
        "b => [b.innerHTML.indexOf('border-top:solid 4px'), b.innerHTML.indexOf('Hi ')]"
    )
    assert 0 <= order[0] < order[1]

    # Every block's content is in the preview, as Grace gets it
    for text in (
        "Hi Grace,",
        "Spring is here, Grace Hopper!",
        "grace@example.com",
        "Shop now, Grace",
        "LinkedIn",
    ):
        expect(preview.get_by_text(text).first).to_be_attached()
    screenshot(page, "editor-email")
    assert_accessible(page)

    # The mobile width
    page.get_by_text("Mobile", exact=True).click()
    expect(page.locator("#email-preview")).to_have_css("max-width", "375px")
    page.wait_for_function("document.querySelector('#email-preview').getBoundingClientRect().width <= 375")
    screenshot(page, "editor-email-mobile")

    # Save stores the design in the order shown
    expect(page.locator("[data-save-state]")).to_have_text("Unsaved changes")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Email message saved.")).to_be_visible()
    expect(page.locator("[data-save-state]")).to_be_empty()
    saved = DistributionChannel.objects.for_project(project).get(distribution=draft, kind="email").template
    assert [block["type"] for block in saved["design"]["body"]] == [
        "divider",
        "text",
        "text",
        "variable",
        "text",
        "variable",
        "image",
        "button",
        "social",
    ]
    assert (
        saved["footer"]
        if "footer" in saved
        else saved["design"]["footer"]["text"] == "Acme Inc, 1 Main Street"
    )


def test_the_sms_counter_follows_the_encoding(signed_in, marketer, draft):
    page = signed_in(marketer)
    page.goto(f"/distributions/{draft.public_id}/channels/sms/editor/")
    text = page.get_by_role("textbox", name="Text message")

    text.fill("a" * 100)
    expect(page.locator("#sms-counter")).to_contain_text("1 segment · 100 characters")
    expect(page.locator("#sms-counter")).to_contain_text("GSM-7")
    text.press("End")
    text.type("é😀")

    expect(page.locator("#sms-counter")).to_contain_text("2 segments")
    expect(page.locator("#sms-counter")).to_contain_text("UCS-2")
    expect(page.locator("#sms-preview")).to_contain_text("é😀")
    screenshot(page, "editor-sms")
    assert_accessible(page)


def test_the_webhook_designer_shows_what_the_receiver_gets(signed_in, marketer, draft, grace):
    page = signed_in(marketer)
    page.goto(f"/distributions/{draft.public_id}/channels/webhook/editor/")

    page.get_by_label("Endpoint URL").fill("https://hooks.example.com/in")
    page.get_by_label("Event name (the envelope's type)").fill("spring.news")
    page.get_by_label(re.compile("Payload design")).fill(
        '{"who": "{{ customer.name }}", "code": "{{ voucher.code }}"}'
    )
    # Leaving the payload box posts the form and redraws the preview: choose the customer after it.
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.get_by_label(re.compile("Payload design")).dispatch_event("change")
    htmx_settled(page)
    page.get_by_role("radio", name=re.compile("Grace Hopper")).check()

    payload = page.locator("#payload-preview")
    expect(payload).to_contain_text('"type": "spring.news"')
    expect(payload).to_contain_text('"who": "Grace Hopper"')
    expect(payload).to_contain_text('"target_url": "https://hooks.example.com/in"')
    screenshot(page, "editor-webhook")
    assert_accessible(page)

    page.get_by_label(re.compile("Payload design")).fill('{"who": ')
    expect(page.locator("#e-payload")).to_contain_text("Not valid JSON")


def test_a_viewer_sees_the_preview_without_controls(signed_in, viewer, draft):
    page = signed_in(viewer)
    page.goto(f"/distributions/{draft.public_id}/channels/email/editor/")

    expect(page.frame_locator("#email-preview").get_by_text("Here is your personal code:")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_text("Add block")).to_have_count(0)
    expect(page.locator("#f-subject")).to_be_disabled()
    assert_accessible(page)
