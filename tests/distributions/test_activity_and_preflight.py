"""The activity log (newest first, keyset-paged, filtered by kind and time) and the preflight (what
sending would do, without sending)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from distributions.models import Distribution
from tests.api.support import assert_error
from tests.campaigns.factories import make_campaign
from tests.distributions.support import (
    EMAIL,
    SMS,
    automatic_order_paid,
    manual_publish_codes,
    nothing_changes,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(api):
    """A live distribution edited, paused and resumed, one step a minute."""
    with time_machine.travel(START, tick=False) as clock:
        body = api.post("/v1/distributions", automatic_order_paid(), format="json").json()
        public_id = body["id"]
        for step in (
            lambda: api.post(f"/v1/distributions/{public_id}/send"),
            lambda: api.patch(f"/v1/distributions/{public_id}", {"name": "Renamed"}, format="json"),
            lambda: api.post(f"/v1/distributions/{public_id}/pause"),
            lambda: api.post(f"/v1/distributions/{public_id}/resume"),
            lambda: api.post(f"/v1/distributions/{public_id}/pause"),
        ):
            clock.shift(timedelta(minutes=1))
            assert step().status_code == 200
    return public_id


def test_activity_is_listed_newest_first_with_who_and_what(api, history):
    body = api.get(f"/v1/distributions/{history}/activity").json()

    assert [a["kind"] for a in body["activities"]] == [
        "paused",
        "resumed",
        "paused",
        "updated",
        "live",
        "created",
    ]
    assert body["activities"][3] == {
        "object": "distribution_activity",
        "kind": "updated",
        "actor": "API key Test key",
        "message": "Edited: name.",
        "data": {"fields": ["name"]},
        "created_at": "2030-05-01T12:02:00Z",
    }
    assert (body["has_more"], body["next_cursor"]) == (False, None)


def test_activity_pages_follow_the_cursor_without_gaps_or_repeats(api, history):
    seen = []
    cursor = None
    for _ in range(4):
        query = {"limit": "2", **({"starting_after": cursor} if cursor else {})}
        page = api.get(f"/v1/distributions/{history}/activity", query).json()
        seen.extend(a["kind"] for a in page["activities"])
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break

    assert seen == ["paused", "resumed", "paused", "updated", "live", "created"]
    assert cursor is None


def test_activity_filters_by_kind_and_time_range(api, history):
    paused = api.get(f"/v1/distributions/{history}/activity", {"kind": "paused"}).json()
    window = api.get(
        f"/v1/distributions/{history}/activity",
        {"created_at[after]": "2030-05-01T12:01:30Z", "created_at[before]": "2030-05-01T12:04:30Z"},
    ).json()

    assert [a["created_at"] for a in paused["activities"]] == ["2030-05-01T12:05:00Z", "2030-05-01T12:03:00Z"]
    assert [a["kind"] for a in window["activities"]] == ["resumed", "paused", "updated"]


@pytest.mark.parametrize(
    "query", [{"kind": "exploded"}, {"starting_after": "not-a-cursor"}, {"limit": "1000"}]
)
def test_bad_activity_queries_are_refused(api, history, query):
    assert_error(api.get(f"/v1/distributions/{history}/activity", query), 400, "invalid_query_params")


# --- Preflight ------------------------------------------------------------------------------------


def test_preflight_for_one_customer_counts_them_and_who_would_be_skipped(api, project):
    CustomerFactory(project=project, source_id="ada", email="ada@example.com", phone=None)
    make_campaign(project, name="Summer", codes_count=3)
    body = api.post(
        "/v1/distributions", manual_publish_codes("ada", "Summer", channels=[EMAIL, SMS]), format="json"
    ).json()

    with nothing_changes():
        preflight = api.get(f"/v1/distributions/{body['id']}/preflight").json()

    assert preflight == {
        "object": "distribution_preflight",
        "id": body["id"],
        "ready_to_send": True,
        "problems": [],
        "audience": {"type": "customer", "size": 1, "available": True, "reason": ""},
        "skipped": [{"channel": "sms", "reason": "no_phone", "count": 1}],
        "code_pool": {
            "campaign": preflight["code_pool"]["campaign"],
            "free_codes": 3,
            "needed": 1,
            "missing": 0,
            "sufficient": True,
            "grows_on_demand": False,
        },
    }


def test_preflight_says_how_many_codes_are_missing(api, project):
    CustomerFactory(project=project, source_id="ada")
    CustomerFactory(project=project, source_id="bob")
    make_campaign(project, name="Tiny", codes_count=1)
    api.post(
        "/v1/publications", {"customer": {"source_id": "bob"}, "campaign": {"name": "Tiny"}}, format="json"
    )
    body = api.post("/v1/distributions", manual_publish_codes("ada", "Tiny"), format="json").json()

    pool = api.get(f"/v1/distributions/{body['id']}/preflight").json()["code_pool"]

    assert (pool["free_codes"], pool["needed"], pool["missing"], pool["sufficient"]) == (0, 1, 1, False)


def test_preflight_of_an_auto_update_campaign_never_runs_short(api, project):
    CustomerFactory(project=project, source_id="ada")
    make_campaign(project, name="Growing", type="AUTO_UPDATE")
    body = api.post("/v1/distributions", manual_publish_codes("ada", "Growing"), format="json").json()

    pool = api.get(f"/v1/distributions/{body['id']}/preflight").json()["code_pool"]

    assert (pool["free_codes"], pool["missing"], pool["sufficient"], pool["grows_on_demand"]) == (
        0,
        0,
        True,
        True,
    )


def test_preflight_of_a_draft_lists_its_problems(api, project):
    body = api.post("/v1/distributions", {"trigger": {"key": "manual"}}, format="json").json()

    preflight = api.get(f"/v1/distributions/{body['id']}/preflight").json()

    assert preflight["ready_to_send"] is False
    assert "Property .audience: is required: one customer or a segment" in preflight["problems"]
    assert preflight["audience"] == {
        "type": "none",
        "size": 0,
        "available": False,
        "reason": "No audience chosen yet.",
    }
    assert preflight["code_pool"] is None


def test_preflight_of_an_automatic_distribution_has_no_fixed_audience(api, project):
    make_campaign(project, name="Summer", codes_count=2)
    body = api.post(
        "/v1/distributions",
        automatic_order_paid(action={"key": "publish_codes", "params": {"campaign": "Summer"}}),
        format="json",
    ).json()

    preflight = api.get(f"/v1/distributions/{body['id']}/preflight").json()

    assert preflight["audience"]["type"] == "event"
    assert preflight["audience"]["size"] is None
    assert (preflight["code_pool"]["free_codes"], preflight["code_pool"]["needed"]) == (2, None)
    assert Distribution.objects.for_project(project).get(public_id=body["id"]).status == "draft"
