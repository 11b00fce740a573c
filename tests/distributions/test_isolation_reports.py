"""Another project's keys never reach our distributions' analytics, messages, or a campaign's
distributions: 404, and nothing changes."""

from __future__ import annotations

import pytest

from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.distributions.support import manual_publish_codes, nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/distributions/distr_x/analytics"),
    ("GET", "/v1/distributions/distr_x/messages"),
    ("GET", "/v1/campaigns/camp_x/distributions"),
]


@pytest.fixture
def ours(api, project):
    CustomerFactory(project=project, source_id="ada")
    campaign = make_campaign(project, name="Summer", codes_count=2)
    draft = api.post("/v1/distributions", manual_publish_codes("ada", "Summer"), format="json").json()
    return {"distribution": draft["id"], "campaign": campaign.public_id}


ATTEMPTS = [
    ("/v1/distributions/{distribution}/analytics", "distribution"),
    ("/v1/distributions/{distribution}/messages", "distribution"),
    ("/v1/campaigns/{campaign}/distributions", "campaign"),
]


@pytest.mark.parametrize(("path", "resource"), ATTEMPTS, ids=[p for p, _ in ATTEMPTS])
def test_an_outsider_gets_404_and_changes_nothing(outsider_api, ours, path, resource):
    with nothing_changes():
        response = outsider_api.get(path.format(**ours))

    error = assert_error(response, 404, "not_found")
    assert error["resource_type"] == resource


@pytest.mark.parametrize(("path", "resource"), ATTEMPTS, ids=[p for p, _ in ATTEMPTS])
def test_the_same_request_with_our_keys_answers(api, ours, path, resource):
    response = api.get(path.format(**ours))

    assert response.status_code == 200, response.content


def test_a_campaigns_distributions_list_ours_with_their_counts(api, ours):
    body = api.get(f"/v1/campaigns/{ours['campaign']}/distributions").json()

    assert body["total"] == 1
    assert body["distributions"][0] == {
        "id": ours["distribution"],
        "object": "campaign_distribution",
        "name": "Welcome code",
        "status": "draft",
        "channels_count": 1,
        "codes_published": 0,
        "messages_delivered": 0,
        "codes_redeemed": 0,
        "redemption_rate": 0.0,
    }


@pytest.mark.parametrize(
    "query",
    [{"interval": "week"}, {"start_date": "yesterday"}, {"start_date": "2030-01-01T00:00:00Z"}],
)
def test_bad_analytics_queries_are_refused(api, ours, query):
    response = api.get(f"/v1/distributions/{ours['distribution']}/analytics", query)

    assert_error(response, 400, "invalid_query_params")


def test_a_bad_messages_state_filter_is_refused(api, ours):
    response = api.get(f"/v1/distributions/{ours['distribution']}/messages", {"state": "lost"})

    assert_error(response, 400, "invalid_query_params")
