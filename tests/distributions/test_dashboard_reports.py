"""The dashboard's Analytics tab (a chart and a table per channel), the campaign page's Distributions
tab, and setting a paused distribution live again with the replay of what failed."""

from __future__ import annotations

import pytest

from distributions import services
from distributions.models import DistributionActivity
from tests.dashboard.conftest import signed_in
from tests.distributions.engine_support import automatic, create_and_send

pytestmark = pytest.mark.django_db


def test_the_analytics_tab_draws_sent_failed_and_recovered_per_channel(delivered, owner):
    page = f"/distributions/{delivered['distribution'].public_id}/"

    html = signed_in(owner).get(page, {"tab": "analytics", "range": "24h"}).content.decode()

    assert 'id="chart-webhook"' in html
    assert "<svg" in html and ": 1 sent</title>" in html
    table = html[html.index('id="distribution-analytics-table"') :]
    assert "<td>webhook</td><td>1</td><td>0</td><td>0</td><td>0</td>" in table
    assert '<span class="stat-value">100%</span><span class="stat-label">Redemption rate</span>' in html


def test_the_analytics_tab_of_a_distribution_that_sent_nothing_says_so(owner, local_project, endpoint):
    distribution = create_and_send(local_project, automatic("order_paid", endpoint))

    html = (
        signed_in(owner)
        .get(f"/distributions/{distribution.public_id}/", {"tab": "analytics"})
        .content.decode()
    )

    assert "No messages in this range" in html


def test_the_campaign_page_lists_its_distributions_with_their_counts(delivered, owner):
    distribution = delivered["distribution"]

    html = signed_in(owner).get(f"/campaigns/{delivered['campaign'].public_id}/").content.decode()

    section = html[html.index('id="campaign-distributions"') :]
    assert f'href="/distributions/{distribution.public_id}/"' in section
    assert ">Sent</span>" in section and '<td class="num">100%</td>' in section


def test_setting_live_again_from_the_page_can_replay_what_failed(owner, local_project, endpoint):
    distribution = create_and_send(local_project, automatic("order_paid", endpoint))
    services.distribution_pause(project=local_project, distribution=distribution, reason="HTTP 500")
    client = signed_in(owner)

    assert (
        "Send again what failed" in client.get(f"/distributions/{distribution.public_id}/").content.decode()
    )
    client.post(f"/distributions/{distribution.public_id}/resume/", {"replay_failed": "1"})

    distribution.refresh_from_db()
    line = (
        DistributionActivity.objects.for_project(local_project).filter(distribution=distribution).latest("pk")
    )
    assert distribution.status == "live"
    assert line.message == "Resumed: live again. 0 failed messages sent again."


def test_the_activity_tab_lists_message_outcomes_with_the_lifecycle(delivered, owner):
    page = f"/distributions/{delivered['distribution'].public_id}/"
    client = signed_in(owner)

    everything = client.get(page, {"tab": "activity"}).content.decode()
    outcomes = client.get(page, {"tab": "activity", "kind": "message"}).content.decode()

    assert "<strong>Message sent</strong> · webhook message to ada@example.com: sent" in everything
    assert everything.index("<strong>Message sent</strong>") < everything.index("<strong>Created</strong>")
    assert "<strong>Message sent</strong>" in outcomes and "<strong>Created</strong>" not in outcomes
