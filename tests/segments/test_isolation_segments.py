"""Another project's keys never reach our segments or our customers' memberships: 404 and nothing
changes; lists never show ours."""

from __future__ import annotations

import pytest

from segments.services import segment_create
from tests.api.support import assert_error
from tests.segments.support import make_customer, nothing_changes

pytestmark = pytest.mark.django_db

ISOLATION_ROUTES = [
    ("GET", "/v1/segments/seg_x"),
    ("PUT", "/v1/segments/seg_x"),
    ("DELETE", "/v1/segments/seg_x"),
    ("GET", "/v1/segments"),
    ("POST", "/v1/segments"),
    ("POST", "/v1/segments/seg_x/customers"),
    ("DELETE", "/v1/segments/seg_x/customers/cust_x"),
    ("GET", "/v1/customers/cust_x/segments"),
]

GOLD = {"metadata.club_level": {"conditions": {"$is": ["Gold"]}}}


@pytest.fixture
def ours(project):
    ada = make_customer(project, "ada")
    static = segment_create(project=project, name="VIPs", type="static", customers=["ada"])
    gold = segment_create(project=project, name="Gold", type="auto-update", filter=GOLD)
    return {"static": static.public_id, "gold": gold.public_id, "customer": ada.public_id}


ATTEMPTS = [
    ("get", "/v1/segments/{gold}", None, "segment"),
    ("put", "/v1/segments/{gold}", {"name": "Mine"}, "segment"),
    ("put", "/v1/segments/{gold}", {"filter": GOLD}, "segment"),
    ("delete", "/v1/segments/{gold}", None, "segment"),
    ("delete", "/v1/segments/{static}", None, "segment"),
    ("post", "/v1/segments/{static}/customers", {"customers": ["{customer}"]}, "segment"),
    ("delete", "/v1/segments/{static}/customers/{customer}", None, "segment"),
    ("get", "/v1/customers/{customer}/segments", None, "customer"),
    ("get", "/v1/customers/ada/segments", None, "customer"),
    # Their own static segment cannot take our customer.
    ("post", "/v1/segments", {"name": "X", "type": "static", "customers": ["{customer}"]}, "customer"),
]


def fill(value, ours):
    if isinstance(value, str):
        return value.format(**ours)
    if isinstance(value, dict):
        return {key: fill(inner, ours) for key, inner in value.items()}
    if isinstance(value, list):
        return [fill(inner, ours) for inner in value]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "resource_type"), ATTEMPTS, ids=[f"{m} {p}" for m, p, *_ in ATTEMPTS]
)
def test_an_outsider_gets_404_and_changes_nothing(outsider_api, api, ours, method, path, body, resource_type):
    with nothing_changes():
        response = getattr(outsider_api, method)(fill(path, ours), fill(body, ours), format="json")

    error = assert_error(response, 404, "not_found")
    assert error["resource_type"] == resource_type


@pytest.mark.parametrize(
    ("method", "path", "body", "resource_type"), ATTEMPTS[:-1], ids=[f"{m} {p}" for m, p, *_ in ATTEMPTS[:-1]]
)
def test_the_same_request_with_our_keys_works(api, ours, method, path, body, resource_type):
    response = getattr(api, method)(fill(path, ours), fill(body, ours), format="json")

    assert response.status_code in (200, 204)


def test_an_outsider_lists_only_their_own_segments(outsider_api, api, ours, other_project):
    theirs = segment_create(project=other_project, name="Theirs", type="static")

    with nothing_changes():
        listed = outsider_api.get("/v1/segments").json()

    assert [item["id"] for item in listed["data"]] == [theirs.public_id]
    assert listed["total"] == 1
    assert {ours["gold"], ours["static"]} <= {item["id"] for item in api.get("/v1/segments").json()["data"]}
