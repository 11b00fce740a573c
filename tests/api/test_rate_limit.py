"""Per-project request rate limit: a one-minute window counted in Redis, 429 when exceeded."""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import time_machine

from tenancy.api import ratelimit
from tests.api.support import assert_error, nothing_changes

# 10 seconds into a minute, so the window resets 50 seconds later.
NOW = dt.datetime(2030, 1, 1, 12, 0, 10, tzinfo=dt.UTC)
WINDOW_END = int(dt.datetime(2030, 1, 1, 12, 1, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def three_per_minute(project):
    project.api_requests_per_minute = 3
    project.save(update_fields=["api_requests_per_minute"])
    return project


@pytest.fixture
def frozen_clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_every_response_carries_the_rate_limit_headers(api, three_per_minute, frozen_clock):
    remaining = [api.get("/v1/customers")["X-Rate-Limit-Remaining"] for _ in range(3)]

    response = api.get("/v1/customers/nobody")  # errors count, and carry the headers, too

    assert remaining == ["2", "1", "0"]
    assert (response["X-Rate-Limit-Limit"], response["X-Rate-Limit-Remaining"]) == ("3", "0")
    assert response["X-Rate-Limit-Retry"] == str(WINDOW_END)
    assert response["X-Rate-Limit-Type"] == "api_calls"


def test_the_request_over_the_limit_is_429_with_retry_after_and_changes_nothing(
    api, three_per_minute, frozen_clock
):
    for _ in range(3):
        assert api.get("/v1/customers").status_code == 200

    with nothing_changes():
        response = api.post("/v1/customers", {"source_id": "c1"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert_error(
        response,
        429,
        "too_many_requests",
        message="API limit reached",
        details="Limit of 3 requests per minute reached.",
    )
    assert response["Retry-After"] == "50"
    assert response["X-Rate-Limit-Limit"] == "3"
    assert response["X-Rate-Limit-Remaining"] == "0"
    assert response["X-Rate-Limit-Retry"] == str(WINDOW_END)
    assert response["X-Rate-Limit-Type"] == "api_calls"


def test_responses_within_the_limit_have_no_retry_after(api, three_per_minute, frozen_clock):
    response = api.get("/v1/customers")

    assert "Retry-After" not in response


def test_another_project_is_not_limited_by_ours(api, outsider_api, three_per_minute, frozen_clock):
    for _ in range(4):
        api.get("/v1/customers")

    response = outsider_api.post("/v1/customers", {"source_id": "c1"}, format="json")

    assert response.status_code == 201
    assert response["X-Rate-Limit-Limit"] == "2000"
    assert response["X-Rate-Limit-Remaining"] == "1999"


def test_the_limit_resets_in_the_next_minute(api, three_per_minute, frozen_clock):
    for _ in range(4):
        api.get("/v1/customers")

    frozen_clock.move_to(dt.datetime(2030, 1, 1, 12, 1, 0, tzinfo=dt.UTC))
    response = api.get("/v1/customers")

    assert response.status_code == 200
    assert response["X-Rate-Limit-Remaining"] == "2"


def test_refused_keys_do_not_use_up_the_projects_limit(api, three_per_minute, frozen_clock):
    from rest_framework.test import APIClient

    intruder = APIClient()
    intruder.credentials(HTTP_X_APP_ID=api.api_key.app_id, HTTP_X_APP_TOKEN="wrong")
    for _ in range(5):
        assert intruder.get("/v1/customers").status_code == 401

    assert api.get("/v1/customers")["X-Rate-Limit-Remaining"] == "2"


def test_the_api_keeps_serving_when_redis_is_down(api, project, monkeypatch):
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    monkeypatch.setattr(ratelimit, "get_redis", lambda: unreachable)

    response = api.post("/v1/customers", {"source_id": "c1"}, format="json")

    assert response.status_code == 201
    assert "X-Rate-Limit-Limit" not in response
