"""The distributions list and page as a marketer and an ops person use them: columns, filters,
statuses refreshed in place, actions with toasts, tabs; and what a viewer may not do."""

from __future__ import annotations

import json
import re

import pytest

from distributions.models import Distribution
from tests.dashboard.conftest import signed_in
from tests.distributions.support import nothing_changes
from tests.e2e.showcase import build_showcase

pytestmark = pytest.mark.django_db

LINK = re.compile(r'class="row-title" href="/distributions/(distr_[0-9a-f]+)/"')


def listed(response) -> list[str]:
    return LINK.findall(response.content.decode())


@pytest.fixture
def showcase(project, owner):
    return build_showcase(project, by=owner)


def test_the_list_shows_title_trigger_conditions_channels_status_and_dates(showcase, owner):
    html = signed_in(owner).get("/distributions/").content.decode()

    row = html[html.index(f'id="row-{showcase.live.public_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Thank you for your order" in row
    assert "Order paid → send and publish unique codes" in row.lower() or "Order paid" in row
    assert "Validation rule: Order paid over $99" in row
    assert "Campaign: Black Friday 20% off" in row
    assert 'aria-label="Email"' in row and 'aria-label="Webhook"' in row
    assert ">Live</span>" in row
    assert ">Pause</button>" in row
