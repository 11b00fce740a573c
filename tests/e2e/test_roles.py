"""Roles in a real browser: a viewer walks every page and finds nothing that changes anything; a
marketer finds no API keys or member management. The home and settings pages pass the audit."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible
from tests.e2e.showcase import build_showcase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What would change something: none of these may be on a viewer's page, as a button or a link.
CONTROLS = (
    "Create distribution",
    "Edit",
    "Delete",
    "Pause",
    "Resume",
    "Set live",
    "Save & Send",
    "Cancel sending",
    "New segment",
    "Re-sync",
    "Add from CSV",
)


def assert_no_controls(page) -> None:
    for name in CONTROLS:
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
    expect(page.locator("main form[method=post]")).to_have_count(0)


def test_a_viewer_reads_the_list_every_tab_the_campaign_and_the_segment_but_changes_nothing(
    signed_in, viewer, marketer, project
):
    showcase = build_showcase(project, by=marketer)
    page = signed_in(viewer)

    page.goto("/distributions/")
    expect(page.locator(f"#row-{showcase.live.public_id}")).to_contain_text("Live")
    assert_no_controls(page)
    assert_accessible(page)

    page.get_by_role("link", name="Overview of Thank you for your order").click()
    for tab in ("Details", "Audience", "Analytics", "Activity"):
        page.get_by_role("link", name=tab, exact=True).click()
        expect(page.get_by_role("link", name=tab, exact=True)).to_have_attribute("aria-current", "page")
        assert_no_controls(page)
        assert_accessible(page)

    page.goto(f"/campaigns/{showcase.campaign.public_id}/")
    expect(page.locator("#campaign-distributions")).to_contain_text("Thank you for your order")
    assert_no_controls(page)

    page.goto("/segments/")
    page.get_by_role("link", name="New customers").click()
    expect(page.locator("#segment-sync")).to_contain_text("SYNCED")
    assert_no_controls(page)
    assert_accessible(page)


def test_a_marketer_finds_no_api_keys_or_member_management(signed_in, marketer):
    page = signed_in(marketer)
    page.goto("/")

    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="API keys")).to_have_count(0)
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    expect(page.get_by_role("heading", name="Add a member")).to_have_count(0)
    expect(page.get_by_role("button", name="Change")).to_have_count(0)
    response = page.goto("/api-keys/")
    assert response.status == 403


@pytest.mark.parametrize("path", ["/", "/settings/"])
def test_the_home_and_settings_pages_pass_the_audit_with_links_told_apart_from_text(signed_in, owner, path):
    page = signed_in(owner)
    page.goto(path)

    assert_accessible(page)
