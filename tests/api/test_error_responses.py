"""Voucherify's error body (`code`, `key`, `message`, `details`, `request_id`) for every kind of error."""

from __future__ import annotations

import pytest
from django.test import Client

from tenancy.models import IdempotencyRecord
from tests.api.support import assert_error, nothing_changes


def test_error_request_id_is_unique_and_echoed_in_the_header(api):
    first = api.get("/v1/customers/nobody")
    second = api.get("/v1/customers/nobody")

    first_id = assert_error(first, 404, "not_found")["request_id"]
    second_id = assert_error(second, 404, "not_found")["request_id"]
    assert first_id != second_id
    assert first["X-Request-Id"] == first_id


def test_malformed_json_is_400_invalid_payload(api):
    with nothing_changes():
        response = api.post("/v1/customers", data='{"source_id": "c1",', content_type="application/json")

    assert_error(
        response,
        400,
        "invalid_payload",
        message="Invalid payload",
        details="JSON parse error - Expecting property name enclosed in double quotes: "
        "line 1 column 20 (char 19)",
    )


def test_a_json_array_where_an_object_belongs_is_400(api):
    with nothing_changes():
        response = api.post("/v1/customers", data='[{"source_id": "c1"}]', content_type="application/json")

    assert_error(
        response, 400, "invalid_payload", details="Invalid data. Expected a dictionary, but got list."
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", '{"source_id": "c1"}'),
        ("application/x-www-form-urlencoded", "source_id=c1"),
        ("application/xml", "<customer><source_id>c1</source_id></customer>"),
    ],
)
def test_a_body_that_is_not_json_is_415(api, content_type, body):
    with nothing_changes():
        response = api.post("/v1/customers", data=body, content_type=content_type)

    assert_error(
        response,
        415,
        "unsupported_media_type",
        message="Unsupported media type",
        details=f'Unsupported media type "{content_type}" in request.',
    )


def test_a_body_without_a_content_type_is_415(api):
    with nothing_changes():
        response = api.generic("POST", "/v1/customers", data=b'{"source_id": "c1"}', content_type="")

    assert_error(response, 415, "unsupported_media_type", details='Unsupported media type "" in request.')


def test_json_with_a_charset_is_accepted(api):
    response = api.post(
        "/v1/customers", data='{"source_id": "c1"}', content_type="application/json; charset=utf-8"
    )

    assert response.status_code == 201


def test_a_put_with_a_wrong_content_type_is_415_and_changes_nothing(api, project):
    customer_id = api.post("/v1/customers", {"source_id": "c1", "name": "Ada"}, format="json").json()["id"]

    with nothing_changes():
        response = api.put(f"/v1/customers/{customer_id}", data="name=Grace", content_type="text/plain")

    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", ["/v1/nothing-here", "/v1/customers/c1/unknown", "/v1/customers/", "/v1/"])
def test_an_unknown_url_under_v1_is_a_json_404(api, path):
    with nothing_changes():
        response = api.get(path)

    assert_error(
        response, 404, "not_found", message="Resource not found", details=f"No API endpoint at {path}."
    )


def test_an_unknown_url_is_a_json_404_without_keys_too(db):
    with nothing_changes():
        response = Client().post("/v1/nothing-here", data="{}", content_type="application/json")

    assert_error(response, 404, "not_found", details="No API endpoint at /v1/nothing-here.")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("patch", "/v1/customers", "GET, POST, HEAD, OPTIONS"),
        ("delete", "/v1/customers", "GET, POST, HEAD, OPTIONS"),
        ("post", "/v1/customers/c1", "GET, PUT, DELETE, HEAD, OPTIONS"),
        ("patch", "/v1/customers/c1", "GET, PUT, DELETE, HEAD, OPTIONS"),
        ("get", "/v1/customers/bulk/async", "POST, OPTIONS"),
        ("delete", "/v1/async-actions/aa_1", "GET, HEAD, OPTIONS"),
    ],
)
def test_a_wrong_method_is_405_naming_the_allowed_ones(api, method, path, allowed):
    with nothing_changes():
        response = getattr(api, method)(path, {"name": "X"}, format="json")

    assert_error(
        response,
        405,
        "method_not_allowed",
        message="Method not allowed",
        details=f'Method "{method.upper()}" not allowed.',
    )
    assert response["Allow"] == allowed


@pytest.mark.urls("tests.api.crash_urls")
def test_an_unhandled_exception_in_an_api_view_is_a_json_500(api):
    response = api.get("/v1/test-crash")

    assert_error(
        response,
        500,
        "internal_error",
        message="Internal error",
        details="An unexpected error occurred.",
    )
    assert "boom" not in response.content.decode()


@pytest.mark.urls("tests.api.crash_urls")
def test_a_500_releases_the_idempotency_key_so_the_client_may_retry(api):
    response = api.post("/v1/test-crash", {}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me")

    assert_error(response, 500, "internal_error")
    assert not IdempotencyRecord.objects.filter(key="retry-me").exists()
    assert_error(
        api.post("/v1/test-crash", {}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me"), 500, "internal_error"
    )


@pytest.mark.urls("tests.api.crash_urls")
def test_an_unhandled_exception_outside_drf_under_v1_is_a_json_500(db):
    response = Client(raise_request_exception=False).get("/v1/test-crash-plain")

    assert_error(
        response,
        500,
        "internal_error",
        message="Internal error",
        details="An unexpected error occurred.",
    )


def test_an_accept_header_we_cannot_serve_is_a_json_406(api):
    with nothing_changes():
        response = api.post(
            "/v1/customers", {"source_id": "c1"}, format="json", HTTP_ACCEPT="application/xml"
        )

    assert_error(
        response,
        406,
        "not_acceptable",
        message="Not acceptable",
        details="Could not satisfy the request Accept header.",
    )


@pytest.mark.parametrize(
    "accept", ["application/json", "*/*", "application/*", "text/html, application/json;q=0.9"]
)
def test_accept_headers_that_allow_json_get_json(api, accept):
    response = api.get("/v1/customers", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
