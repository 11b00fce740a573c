"""The browser harness itself: Chromium starts, a signed-in page loads, and the audit runs."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import accessibility_violations, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_signed_in_marketer_sees_the_distributions_list(signed_in, marketer, live_server):
    page = signed_in(marketer)
    page.goto("/distributions/")
    assert page.get_by_role("heading", name="Distributions").first.is_visible()
    assert screenshot(page, "smoke-distributions-list").stat().st_size > 0


def test_the_audit_finds_a_missing_form_label(signed_in, marketer, live_server):
    page = signed_in(marketer)
    page.goto("/distributions/")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input id=unlabelled>')")
    assert "label" in {v["id"] for v in accessibility_violations(page)}
