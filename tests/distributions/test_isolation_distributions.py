"""Another project's keys never reach our distributions: 404 and nothing changes; lists never show them."""

from __future__ import annotations

import pytest

from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.distributions.support import automatic_order_paid, manual_publish_codes, nothing_changes
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/distributions"),
    ("POST", "/v1/distributions"),
    ("GET", "/v1/distributions/catalogue"),
    ("GET", "/v1/distributions/distr_x"),
    ("PUT", "/v1/distributions/distr_x"),
    ("PATCH", "/v1/distributions/distr_x"),
    ("DELETE", "/v1/distributions/distr_x"),
    ("POST", "/v1/distributions/distr_x/send"),
    ("POST", "/v1/distributions/distr_x/pause"),
    ("POST", "/v1/distributions/distr_x/resume"),
    ("POST", "/v1/distributions/distr_x/cancel"),
    ("GET", "/v1/distributions/distr_x/activity"),
    ("GET", "/v1/distributions/distr_x/preflight"),
]


@pytest.fixture
def ours(api, project):
    CustomerFactory(project=project, source_id="ada")
    make_campaign(project, name="Summer", codes_count=2)
    draft = api.post("/v1/distributions", manual_publish_codes("ada", "Summer"), format="json").json()
    live = api.post("/v1/distributions", automatic_order_paid(), format="json").json()
    api.post(f"/v1/distributions/{live['id']}/send")
    return {"draft": draft["id"], "live": live["id"]}


ATTEMPTS = [
    ("get", "/v1/distributions/{draft}", None),
    ("put", "/v1/distributions/{draft}", {"name": "Mine now"}),
    ("patch", "/v1/distributions/{draft}", {"name": "Mine now"}),
    ("delete", "/v1/distributions/{draft}", None),
    ("post", "/v1/distributions/{draft}/send", None),
    ("post", "/v1/distributions/{live}/pause", None),
    ("post", "/v1/distributions/{live}/resume", None),
    ("post", "/v1/distributions/{draft}/cancel", None),
    ("get", "/v1/distributions/{live}/activity", None),
    ("get", "/v1/distributions/{draft}/preflight", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ATTEMPTS, ids=[f"{m} {p}" for m, p, _ in ATTEMPTS])
def test_an_outsider_gets_404_for_our_distributions_and_changes_nothing(
    outsider_api, ours, method, path, body
):
    with nothing_changes():
        response = getattr(outsider_api, method)(path.format(**ours), body, format="json")

    error = assert_error(response, 404, "not_found")
    assert (error["resource_type"], error["resource_id"]) == (
        "distribution",
        path.format(**ours).split("/")[3],
    )


@pytest.mark.parametrize(("method", "path", "body"), ATTEMPTS, ids=[f"{m} {p}" for m, p, _ in ATTEMPTS])
def test_the_same_request_with_our_keys_finds_the_distribution(api, ours, method, path, body):
    response = getattr(api, method)(path.format(**ours), body, format="json")

    # found: success, or a state refusal that proves the object was reached
    assert response.status_code in (200, 204, 400), response.content
    assert response.status_code == 204 or response.json().get("key") != "not_found"


@pytest.mark.parametrize(
    "query", [{}, {"status": "draft,live"}, {"name": "Welcome"}, {"trigger_category": "cart"}]
)
def test_an_outsider_never_sees_our_distributions_in_lists(outsider_api, api, ours, query):
    theirs = outsider_api.post("/v1/distributions", {"name": "Welcome theirs"}, format="json").json()

    listed = outsider_api.get("/v1/distributions", query).json()

    assert {d["id"] for d in listed["distributions"]} <= {theirs["id"]}
    assert listed["total"] == len(listed["distributions"])


def test_an_outsider_cannot_use_our_customer_or_campaign_in_their_distribution(outsider_api, ours):
    with nothing_changes():
        response = outsider_api.post(
            "/v1/distributions", manual_publish_codes("ada", "Summer"), format="json"
        )

    error = assert_error(response, 400, "invalid_payload")
    assert "Property .audience.customer: cannot find customer with id ada" in error["details"]
    assert "Property .action.params.campaign: cannot find campaign with id Summer" in error["details"]


def test_the_catalogue_is_the_same_for_every_project(api, outsider_api):
    assert (
        api.get("/v1/distributions/catalogue").json()
        == outsider_api.get("/v1/distributions/catalogue").json()
    )
