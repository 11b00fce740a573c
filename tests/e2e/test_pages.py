"""The distributions list and pages in a real browser: pause and resume in place, every tab, the
campaign page's Distributions tab; each page audited for accessibility and screenshotted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, assert_accessible, screenshot
from tests.e2e.showcase import build_showcase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def showcase(project, marketer):
    return build_showcase(project, by=marketer)


def test_a_marketer_pauses_and_resumes_a_live_distribution_from_the_list(signed_in, marketer, showcase):
    page = signed_in(marketer)
    page.goto("/distributions/")
    row = page.locator(f"#row-{showcase.live.public_id}")
    expect(row.locator(".status-cell")).to_contain_text("Live")
    countdown = page.locator(f"#row-{showcase.scheduled.public_id} [data-countdown]")
    expect(countdown).to_have_text(re.compile(r"^(9|10):[0-5]\d$"))  # ticking each second, in the browser
    screenshot(page, "list")
    assert_accessible(page)

    row.get_by_role("button", name="Pause").click()

    expect(row.locator(".status-cell")).to_contain_text("Paused")
    expect(page.locator("#toasts")).to_contain_text("“Thank you for your order” paused.")
    expect(row.get_by_role("button", name="Resume")).to_be_focused()  # focus follows the swapped row
    page.keyboard.press("Enter")
    expect(row.locator(".status-cell")).to_contain_text("Live")
    expect(row.get_by_role("button", name="Pause")).to_be_visible()
    assert page.url.endswith("/distributions/")  # in place: no navigation happened
    showcase.live.refresh_from_db()
    assert showcase.live.status == "live"


def test_every_tab_of_a_distribution_page_reads_well_and_passes_the_audit(signed_in, marketer, showcase):
    page = signed_in(marketer)
    page.goto(f"/distributions/{showcase.live.public_id}/")

    expect(page.locator("#distribution-details")).to_contain_text("Order paid over $99")
    screenshot(page, "distribution-details")
    assert_accessible(page)

    page.get_by_role("link", name="Audience").click()
    expect(page.locator("#distribution-audience-counts")).to_be_visible()
    screenshot(page, "distribution-audience")
    assert_accessible(page)

    page.get_by_role("link", name="Analytics").click()
    expect(page.locator("#chart-email")).to_be_visible()
    page.get_by_role("link", name="30 days").click()
    expect(page.get_by_role("link", name="30 days")).to_have_attribute("aria-current", "page")
    expect(page.locator("#chart-webhook")).to_be_visible()
    screenshot(page, "distribution-analytics")
    assert_accessible(page)

    page.get_by_role("link", name="Activity").click()
    expect(page.locator("#activity-lines")).to_contain_text("Set live")
    assert_accessible(page)
    page.get_by_label("Time range").select_option("24h")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_label("Time range")).to_have_value("24h")
    expect(page.locator("#activity-lines li").first).to_be_visible()
    screenshot(page, "distribution-activity")
    # The README shows the top of it: the newest lines are the point.
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "distribution-activity-top.png"))


def test_the_campaign_page_lists_the_distributions_publishing_its_codes(signed_in, marketer, showcase):
    page = signed_in(marketer)
    page.goto(f"/campaigns/{showcase.campaign.public_id}/")

    section = page.locator("#campaign-distributions")
    expect(section).to_contain_text("Thank you for your order")
    screenshot(page, "campaign-distributions")
    assert_accessible(page)
