"""`X-App-Id` + `X-App-Token`: every refused key gets Voucherify's 401 body and changes nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenancy.models import ApiKey
from tests.api.support import assert_error, nothing_changes
from tests.factories import make_api_key

BODY = {"source_id": "c1", "name": "Ada"}


def client_with(**headers: str) -> APIClient:
    client = APIClient()
    client.credentials(**headers)
    return client


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/v1/customers"),
        ("get", "/v1/customers"),
        ("get", "/v1/customers/c1"),
        ("delete", "/v1/customers/c1"),
    ],
)
def test_missing_keys_are_401(db, method, url):
    with nothing_changes():
        response = getattr(APIClient(), method)(url, BODY, format="json")

    assert_error(
        response,
        401,
        "unauthorized",
        message="Unauthorized",
        details="Missing X-App-Id and X-App-Token headers.",
    )
    assert response["WWW-Authenticate"] == 'X-App-Token realm="api"'


@pytest.mark.parametrize("header", ["HTTP_X_APP_ID", "HTTP_X_APP_TOKEN"])
def test_only_one_of_the_two_headers_is_401(project, header):
    api_key, token = make_api_key(project)
    value = api_key.app_id if header == "HTTP_X_APP_ID" else token

    with nothing_changes():
        response = client_with(**{header: value}).post("/v1/customers", BODY, format="json")

    assert_error(response, 401, "unauthorized", details="Both X-App-Id and X-App-Token headers are required.")


def test_wrong_token_is_401_and_does_not_touch_the_key(project):
    api_key, _ = make_api_key(project)

    with nothing_changes():
        response = client_with(HTTP_X_APP_ID=api_key.app_id, HTTP_X_APP_TOKEN="0" * 48).post(
            "/v1/customers", BODY, format="json"
        )

    assert_error(response, 401, "unauthorized", details="Invalid X-App-Id or X-App-Token.")
    api_key.refresh_from_db()
    assert api_key.last_used_at is None


def test_unknown_app_id_is_401(project):
    _, token = make_api_key(project)

    with nothing_changes():
        response = client_with(HTTP_X_APP_ID="unknown", HTTP_X_APP_TOKEN=token).get("/v1/customers")

    assert_error(response, 401, "unauthorized", details="Invalid X-App-Id or X-App-Token.")


def test_another_projects_token_with_our_app_id_is_401(project, other_project):
    our_key, _ = make_api_key(project)
    _, their_token = make_api_key(other_project)

    with nothing_changes():
        response = client_with(HTTP_X_APP_ID=our_key.app_id, HTTP_X_APP_TOKEN=their_token).post(
            "/v1/customers", BODY, format="json"
        )

    assert_error(response, 401, "unauthorized", details="Invalid X-App-Id or X-App-Token.")


def test_revoked_key_is_401_and_changes_nothing(project):
    api_key, token = make_api_key(project)
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())

    with nothing_changes():
        response = client_with(HTTP_X_APP_ID=api_key.app_id, HTTP_X_APP_TOKEN=token).post(
            "/v1/customers", BODY, format="json"
        )

    assert_error(response, 401, "unauthorized", details="This API key has been revoked.")
    api_key.refresh_from_db()
    assert api_key.last_used_at is None


def test_a_valid_key_is_accepted_and_its_last_use_recorded(api):
    response = api.get("/v1/customers")

    assert response.status_code == 200
    api.api_key.refresh_from_db()
    assert api.api_key.last_used_at is not None
