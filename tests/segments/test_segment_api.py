"""`/v1/segments` and `/v1/customers/{id}/segments`: Voucherify's shapes, and bad input refused
with Voucherify's error naming what is wrong, changing nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from segments.models import Segment, SegmentSyncJob
from segments.services import segment_create
from tests.api.support import assert_error
from tests.segments.support import make_customer, members, nothing_changes

pytestmark = pytest.mark.django_db

GOLD = {"junction": "and", "metadata.club_level": {"conditions": {"$in": ["Gold"]}}}


def test_a_static_segment_lists_its_customers_and_is_done_at_once(api, project):
    ada = make_customer(project, "ada")
    make_customer(project, "bob")

    response = api.post(
        "/v1/segments", {"name": "VIPs", "type": "static", "customers": [ada.public_id, "bob"]}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("seg_")
    assert body["object"] == "segment"
    assert body["type"] == "static"
    assert body["filter"] is None
    assert body["initial_sync_status"] == "DONE"
    assert body["sync"]["members_count"] == 2
    segment = Segment.objects.for_project(project).get(public_id=body["id"])
    assert members(project, segment) == {"ada", "bob"}


def test_a_filter_segment_starts_in_progress_with_a_sync_job(api, project):
    response = api.post(
        "/v1/segments", {"name": "Gold", "type": "auto-update", "filter": GOLD}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["initial_sync_status"] == "IN_PROGRESS"
    assert body["filter"] == GOLD
    assert body["sync"]["status"] == "syncing"
    segment = Segment.objects.for_project(project).get(public_id=body["id"])
    job = SegmentSyncJob.objects.for_project(project).get(segment=segment)
    assert job.is_initial and job.status == SegmentSyncJob.Status.PENDING


def test_get_list_and_delete(api, project):
    gold = segment_create(project=project, name="Gold", type="passive", filter=GOLD)
    draft = segment_create(project=project, name="Draft", type="passive", filter=GOLD, is_draft=True)

    assert api.get(f"/v1/segments/{gold.public_id}").json()["name"] == "Gold"
    listed = api.get("/v1/segments").json()
    assert listed["object"] == "list" and listed["data_ref"] == "data"
    assert [item["id"] for item in listed["data"]] == [gold.public_id]  # drafts stay hidden
    assert listed["total"] == 1

    response = api.delete(f"/v1/segments/{gold.public_id}")

    assert response.status_code == 204
    assert not Segment.objects.for_project(project).filter(pk=gold.pk).exists()
    assert Segment.objects.for_project(project).filter(pk=draft.pk).exists()
    assert_error(api.get(f"/v1/segments/{gold.public_id}"), 404, "not_found")


def test_a_customers_segments(api, project):
    ada = make_customer(project, "ada")
    vips = segment_create(project=project, name="VIPs", type="static", customers=["ada"])
    segment_create(project=project, name="Others", type="static", customers=[])

    body = api.get(f"/v1/customers/{ada.public_id}/segments").json()

    assert body == {
        "object": "list",
        "data_ref": "data",
        "data": [{"id": vips.public_id, "name": "VIPs", "object": "segment"}],
        "total": 1,
    }
    assert api.get("/v1/customers/ada/segments").json()["total"] == 1
    assert_error(api.get("/v1/customers/nobody/segments"), 404, "not_found")


def test_static_members_are_added_and_removed_by_hand(api, project):
    make_customer(project, "ada")
    make_customer(project, "bob")
    vips = segment_create(project=project, name="VIPs", type="static", customers=["ada"])

    added = api.post(f"/v1/segments/{vips.public_id}/customers", {"customers": ["bob"]}, format="json")
    assert added.json()["sync"]["members_count"] == 2
    removed = api.delete(f"/v1/segments/{vips.public_id}/customers/ada")

    assert removed.status_code == 204
    assert members(project, vips) == {"bob"}


def test_editing_a_filter_bumps_its_version_and_starts_a_sync(api, project):
    gold = segment_create(project=project, name="Gold", type="auto-update", filter=GOLD)
    silver = {"metadata.club_level": {"conditions": {"$is": ["Silver"]}}}

    response = api.put(f"/v1/segments/{gold.public_id}", {"filter": silver, "name": "Silver"}, format="json")

    assert response.status_code == 200
    gold.refresh_from_db()
    assert (gold.name, gold.filter, gold.filter_version) == ("Silver", silver, 2)
    jobs = SegmentSyncJob.objects.for_project(project).filter(segment=gold).order_by("pk")
    assert [job.status for job in jobs] == ["superseded", "pending"]


BAD_CREATES = [
    ({"name": "X", "type": "dynamic", "filter": GOLD}, "Property .type: must be one of"),
    ({"name": "X", "type": "auto-update", "filter": GOLD, "color": "red"}, "Property .color: is not allowed"),
    ({"name": "X", "type": "auto-update"}, "Property .filter: is required for auto-update segments"),
    ({"name": "X", "type": "static", "filter": GOLD}, "Property .filter: is only for auto-update"),
    ({"name": 5, "type": "static"}, "Property .name: must be a string"),
    (
        {"name": "X", "type": "passive", "filter": {"nickname": {"conditions": {"$is": ["x"]}}}},
        "Property .filter.nickname: is not a field a filter can use",
    ),
    (
        {"name": "X", "type": "passive", "filter": {"name": {"conditions": {"$more_than": [1]}}}},
        "Property .filter.name.conditions.$more_than: is not an operator of this field",
    ),
    (
        {
            "name": "X",
            "type": "passive",
            "filter": {"summary.orders.total_count": {"conditions": {"$is": ["many"]}}},
        },
        "Property .filter.summary.orders.total_count.conditions.$is: needs a number value",
    ),
    (
        {"name": "X", "type": "passive", "filter": {"email": {"conditions": {"$in": []}}}},
        "Property .filter.email.conditions.$in: needs at least one value",
    ),
    (
        {"name": "X", "type": "passive", "filter": {"junction": "xor", "name": {"conditions": {"$is": "a"}}}},
        "Property .filter: junction must be 'and' or 'or'",
    ),
    (
        {
            "name": "X",
            "type": "passive",
            "filter": {
                "groups": [{"groups": [{"groups": [{"groups": [{"name": {"conditions": {"$is": "a"}}}]}]}]}]
            },
        },
        "Property .filter: groups may be nested at most 3 levels deep",
    ),
    (
        {"name": "X", "type": "passive", "filter": {"name": {"conditions": {"$in": ["x" * 900] * 30}}}},
        "Property .filter: a filter may have at most 20000 bytes",
    ),
    ({"name": "X", "type": "static", "customers": "ada"}, "Property .customers: must be an array"),
    ({"name": "X", "type": "static", "customers": [1]}, "Property .customers"),
    (
        {"name": "X", "type": "auto-update", "filter": GOLD, "reentry_cooldown_seconds": 1.5},
        "Property .reentry_cooldown_seconds: must be an integer",
    ),
]


@pytest.mark.parametrize(("body", "details"), BAD_CREATES, ids=[d[:50] for _, d in BAD_CREATES])
def test_bad_input_is_refused_naming_the_problem_and_changes_nothing(api, project, body, details):
    make_customer(project, "ada")

    with nothing_changes():
        response = api.post("/v1/segments", body, format="json")

    error = assert_error(response, 400, "invalid_payload")
    assert error["details"].startswith(details), error["details"]


def test_another_projects_customer_in_a_static_segment_is_not_found_and_changes_nothing(
    api, project, other_project
):
    make_customer(project, "ada")
    theirs = make_customer(other_project, "theirs")

    with nothing_changes():
        response = api.post(
            "/v1/segments",
            {"name": "X", "type": "static", "customers": ["ada", theirs.public_id]},
            format="json",
        )

    error = assert_error(response, 404, "not_found")
    assert (error["resource_type"], error["resource_id"]) == ("customer", theirs.public_id)


def test_customers_cannot_be_added_to_a_filter_segment(api, project):
    make_customer(project, "ada")
    gold = segment_create(project=project, name="Gold", type="passive", filter=GOLD)

    with nothing_changes():
        response = api.post(f"/v1/segments/{gold.public_id}/customers", {"customers": ["ada"]}, format="json")

    assert_error(response, 400, "invalid_payload")


def test_lists_take_a_fixed_number_of_queries(api, project):
    ada = make_customer(project, "ada")
    api.get("/v1/segments")  # warm the key's caches, as any earlier request would
    counts = {}
    for size in (1, 5):
        for number in range(size):
            segment_create(project=project, name=f"S{size}-{number}", type="static", customers=["ada"])
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/v1/segments").status_code == 200
            assert api.get(f"/v1/customers/{ada.public_id}/segments").status_code == 200
        counts[size] = len(captured.captured_queries)

    assert counts[1] == counts[5] <= 16
