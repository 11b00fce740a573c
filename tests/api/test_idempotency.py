"""`Idempotency-Key` on POST: replay within 24 hours, 422 for a different body, 409 while in progress."""

from __future__ import annotations

import datetime as dt
import json

import time_machine

from customers.models import Customer
from tenancy.api.idempotency import fingerprint
from tenancy.models import IdempotencyRecord
from tests.api.support import assert_error, nothing_changes
from tests.customers.support import events_of

BODY = json.dumps({"source_id": "c1", "name": "Ada"})
OTHER_BODY = json.dumps({"source_id": "c1", "name": "Grace"})
START = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)


def post(client, body: str = BODY, key: str | None = "key-1", path: str = "/v1/customers"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, data=body, content_type="application/json", **headers)


def test_same_key_and_body_replays_the_first_response(api, project):
    first = post(api)

    replayed = post(api)

    assert (first.status_code, replayed.status_code) == (201, 201)
    assert replayed.json() == first.json()
    assert replayed["Content-Type"] == "application/json"
    assert replayed["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Customer.objects.for_project(project).count() == 1
    assert events_of(project) == [("customer.created", first.json()["id"])]


def test_a_replay_returns_the_first_response_even_after_the_customer_changed(api, project):
    first = post(api)
    api.put("/v1/customers/c1", {"name": "Changed"}, format="json")

    replayed = post(api)

    assert replayed.json() == first.json()
    assert replayed.json()["name"] == "Ada"
    assert Customer.objects.for_project(project).get().name == "Changed"


def test_an_error_response_is_replayed_too(api, project):
    bad = json.dumps({"email": "not-an-email"})
    first = post(api, bad)

    with nothing_changes():
        replayed = post(api, bad)

    assert_error(replayed, 400, "invalid_payload", details="Property .email: must be a valid email address")
    assert replayed.json() == first.json()


def test_same_key_with_a_different_body_is_422_and_changes_nothing(api, project):
    post(api)

    with nothing_changes():
        response = post(api, OTHER_BODY)

    assert_error(
        response,
        422,
        "idempotency_key_reused",
        message="Idempotency key reused",
        details="This Idempotency-Key was already used with a different request body.",
    )
    assert Customer.objects.for_project(project).get().name == "Ada"


def test_same_key_on_another_endpoint_is_422(api, project):
    post(api)

    with nothing_changes():
        response = post(api, json.dumps([{"source_id": "c1"}]), path="/v1/customers/bulk/async")

    assert_error(response, 422, "idempotency_key_reused")


def test_a_concurrent_duplicate_is_409_and_changes_nothing(api, project):
    # Given a first request holding the key, still being processed
    IdempotencyRecord.objects.create(
        project=project, key="key-1", request_fingerprint=fingerprint("POST", "/v1/customers", BODY.encode())
    )

    # When the same request arrives again
    with nothing_changes():
        response = post(api)

    # Then it is refused until the first one completes
    assert_error(
        response,
        409,
        "idempotency_key_in_use",
        message="Request in progress",
        details="A request with this Idempotency-Key is still being processed.",
    )
    assert not Customer.objects.for_project(project).exists()


def test_keys_are_per_project(api, outsider_api, project, other_project):
    ours = post(api)

    theirs = post(outsider_api)

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert theirs.json()["id"] != ours.json()["id"]
    assert Customer.objects.for_project(other_project).get().public_id == theirs.json()["id"]
    assert Customer.objects.for_project(project).get().public_id == ours.json()["id"]


def test_requests_without_a_key_are_not_recorded(api, project):
    post(api, key=None)
    second = post(api, key=None)

    assert second.status_code == 200  # an upsert of the same source_id, not a replay
    assert "Idempotent-Replayed" not in second
    assert not IdempotencyRecord.objects.exists()


def test_the_key_is_ignored_on_other_methods(api, project):
    post(api, key=None)

    response = api.put("/v1/customers/c1", {"name": "Grace"}, format="json", HTTP_IDEMPOTENCY_KEY="key-put")

    assert response.status_code == 200
    assert not IdempotencyRecord.objects.exists()


def test_a_key_longer_than_255_characters_is_400(api, project):
    with nothing_changes():
        response = post(api, key="k" * 256)

    assert_error(
        response,
        400,
        "invalid_idempotency_key",
        details="Idempotency-Key must be 1 to 255 characters.",
    )


def test_a_key_is_replayed_for_24_hours(api, project):
    with time_machine.travel(START, tick=False):
        first = post(api)

    with time_machine.travel(START + dt.timedelta(hours=23, minutes=59), tick=False):
        replayed = post(api)
        different = post(api, OTHER_BODY)

    assert replayed.json() == first.json()
    assert replayed["Idempotent-Replayed"] == "true"
    assert_error(different, 422, "idempotency_key_reused")


def test_a_key_expires_after_24_hours(api, project):
    with time_machine.travel(START, tick=False):
        first = post(api, json.dumps({"name": "Ada"}))

    with time_machine.travel(START + dt.timedelta(hours=24, seconds=1), tick=False):
        again = post(api, json.dumps({"name": "Ada"}))
        reused = post(api, OTHER_BODY, key="key-1")

    # The same request runs again (a second anonymous customer), then the key is bound to it anew.
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"]
    assert Customer.objects.for_project(project).count() == 2
    assert_error(reused, 422, "idempotency_key_reused")
