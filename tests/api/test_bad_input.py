"""Bad input gets a 400 (or 413) naming what is wrong, and changes nothing."""

from __future__ import annotations

import json

import pytest
from django.conf import settings

from tests.api.support import assert_error, nothing_changes
from tests.factories import CustomerFactory


def nested(depth: int) -> dict:
    """A metadata object `depth` objects deep: nested(1) == {"level": 1}."""
    value: object = 1
    for _ in range(depth):
        value = {"level": value}
    return value  # type: ignore[return-value]


@pytest.fixture
def ada(project):
    return CustomerFactory(project=project, source_id="ada", name="Ada", email="ada@example.com")


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"source_id": "c1", "shoe_size": 42}, "Property .shoe_size: is not allowed"),
        (
            {"source_id": "c1", "zzz": 1, "aaa": 2},
            "Property .aaa: is not allowed; Property .zzz: is not allowed",
        ),
        ({"source_id": "c1", "address": {"zip": "00-001"}}, "Property .address.zip: is not allowed"),
        ({"object": "customer"}, "Property .object: is not allowed"),
    ],
)
def test_unknown_fields_are_400_naming_each_field(api, body, details):
    with nothing_changes():
        response = api.post("/v1/customers", body, format="json")

    assert_error(response, 400, "invalid_payload", message="Invalid payload", details=details)


@pytest.mark.parametrize(
    ("body", "details"),
    [
        # An int (or any non-string) where a string belongs; the SDK's StrictStr would refuse it too.
        ({"source_id": 123}, "Property .source_id: must be a string"),
        ({"id": 7}, "Property .id: must be a string"),
        ({"name": 5}, "Property .name: must be a string"),
        ({"email": True}, "Property .email: must be a string"),
        ({"phone": 48600100200}, "Property .phone: must be a string"),
        ({"address": {"city": 1}}, "Property .address.city: must be a string"),
        ({"address": "Warsaw"}, "Property .address: Invalid data. Expected a dictionary, but got str."),
        ({"metadata": "vip"}, "Property .metadata: must be a JSON object"),
        ({"metadata": ["vip"]}, "Property .metadata: must be a JSON object"),
        (
            {"birthdate": 19901210},
            "Property .birthdate: Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        ),
        (
            {"birthdate": "10/12/1990"},
            "Property .birthdate: Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
        ),
        ({"name": "x" * 256}, "Property .name: Ensure this field has no more than 255 characters."),
    ],
)
def test_wrong_types_are_400_naming_the_field(api, body, details):
    with nothing_changes():
        response = api.post("/v1/customers", body, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


@pytest.mark.parametrize(
    ("query", "details"),
    [
        # A string where an int belongs.
        ({"limit": "ten"}, "Query parameter limit must be an integer, got 'ten'."),
        ({"page": "2.0"}, "Query parameter page must be an integer, got '2.0'."),
        # Page size over 100.
        ({"limit": 101}, "Query parameter limit must be between 1 and 100, got 101."),
    ],
)
def test_bad_paging_parameters_are_400_invalid_query_params(api, ada, query, details):
    with nothing_changes():
        response = api.get("/v1/customers", query)

    assert_error(response, 400, "invalid_query_params", message="Invalid query params", details=details)


@pytest.mark.parametrize(
    ("field", "value", "details"),
    [
        ("email", "not-an-email", "Property .email: must be a valid email address"),
        ("email", "ada@", "Property .email: must be a valid email address"),
        ("email", "", "Property .email: This field may not be blank."),
        ("phone", "call me", "Property .phone: must be a phone number of digits, optionally starting with +"),
        ("phone", "+48", "Property .phone: must be a phone number of digits, optionally starting with +"),
        ("phone", "12-34", "Property .phone: must be a phone number of digits, optionally starting with +"),
    ],
)
def test_invalid_email_or_phone_is_400_on_create_and_update(api, ada, field, value, details):
    with nothing_changes():
        created = api.post("/v1/customers", {"source_id": "new", field: value}, format="json")
        updated = api.put("/v1/customers/ada", {field: value}, format="json")

    assert_error(created, 400, "invalid_payload", details=details)
    assert_error(updated, 400, "invalid_payload", details=details)


@pytest.mark.parametrize("phone", ["+48 600 100 200", "600-100-200", "(415) 555-0100", "+1.415.555.0100"])
def test_common_phone_formats_are_accepted(api, phone):
    response = api.post("/v1/customers", {"phone": phone}, format="json")

    assert response.status_code == 201
    assert response.json()["phone"] == phone


def test_metadata_at_the_depth_limit_is_accepted(api):
    response = api.post("/v1/customers", {"metadata": nested(settings.METADATA_MAX_DEPTH)}, format="json")

    assert response.status_code == 201


def test_metadata_too_deep_is_400_and_changes_nothing(api, ada):
    too_deep = {"metadata": nested(settings.METADATA_MAX_DEPTH + 1)}

    with nothing_changes():
        created = api.post("/v1/customers", {"source_id": "new", **too_deep}, format="json")
        updated = api.put("/v1/customers/ada", too_deep, format="json")

    details = f"Property .metadata: must not nest deeper than {settings.METADATA_MAX_DEPTH} levels"
    assert_error(created, 400, "invalid_payload", details=details)
    assert_error(updated, 400, "invalid_payload", details=details)


def test_metadata_nesting_through_lists_counts_too(api):
    deep_in_lists = {"a": [[[[[1]]]]]}  # an object and five lists: six levels

    with nothing_changes():
        response = api.post("/v1/customers", {"metadata": deep_in_lists}, format="json")

    assert_error(
        response, 400, "invalid_payload", details="Property .metadata: must not nest deeper than 5 levels"
    )


def test_metadata_too_large_is_400_and_changes_nothing(api, ada):
    metadata = {"notes": "x" * settings.METADATA_MAX_BYTES}
    size = len(json.dumps(metadata, separators=(",", ":")).encode())

    with nothing_changes():
        response = api.put("/v1/customers/ada", {"metadata": metadata}, format="json")

    assert_error(
        response,
        400,
        "invalid_payload",
        details=f"Property .metadata: must be at most {settings.METADATA_MAX_BYTES} bytes as JSON, "
        f"got {size}",
    )


def test_metadata_at_the_size_limit_is_accepted(api):
    overhead = len(json.dumps({"notes": ""}, separators=(",", ":")).encode())
    metadata = {"notes": "x" * (settings.METADATA_MAX_BYTES - overhead)}

    response = api.post("/v1/customers", {"metadata": metadata}, format="json")

    assert response.status_code == 201


def test_an_oversized_body_is_413_and_changes_nothing(api):
    body = json.dumps({"source_id": "c1", "description": "x" * settings.API_MAX_BODY_BYTES})
    length = len(body.encode())

    with nothing_changes():
        response = api.post("/v1/customers", data=body, content_type="application/json")

    assert_error(
        response,
        413,
        "request_too_large",
        message="Request too large",
        details=f"The request body is {length} bytes; the limit is {settings.API_MAX_BODY_BYTES}.",
    )


def test_an_oversized_body_is_413_even_without_keys(db):
    from rest_framework.test import APIClient

    body = "[" + " " * settings.API_MAX_BODY_BYTES + "]"

    with nothing_changes():
        response = APIClient().post("/v1/customers", data=body, content_type="application/json")

    assert_error(response, 413, "request_too_large")


def test_the_bulk_import_takes_bodies_larger_than_the_general_limit(api, project):
    rows = [{"source_id": f"c{number:05d}", "description": "x" * 200} for number in range(6000)]
    body = json.dumps(rows)
    assert settings.API_MAX_BODY_BYTES < len(body.encode()) < settings.API_BULK_MAX_BODY_BYTES

    response = api.post("/v1/customers/bulk/async", data=body, content_type="application/json")

    assert response.status_code == 202


def test_an_unknown_customer_is_404_with_its_resource_type(api, ada):
    with nothing_changes():
        response = api.put("/v1/customers/cust_ffffffffffffffffffffffff", {"name": "X"}, format="json")

    body = assert_error(
        response,
        404,
        "not_found",
        message="Resource not found",
        details="Cannot find customer with id cust_ffffffffffffffffffffffff",
    )
    assert (body["resource_id"], body["resource_type"]) == ("cust_ffffffffffffffffffffffff", "customer")


# Bodies as the client sends them: `\u0000` is JSON's only way to carry a null character, which
# PostgreSQL stores neither in text nor in jsonb.
@pytest.mark.parametrize(
    ("path", "body", "details"),
    [
        (
            "/v1/customers",
            '{"source_id": "c1", "metadata": {"note": "a\\u0000b"}}',
            "Property .metadata.note",
        ),
        ("/v1/customers", '{"source_id": "c1", "metadata": {"k\\u0000": 1}}', "Property .metadata"),
        (
            "/v1/customers",
            '{"source_id": "c1", "metadata": {"list": [1, {"x": "\\u0000"}]}}',
            "Property .metadata.list[1].x",
        ),
        (
            "/v1/orders",
            '{"amount": 100, "status": "PAID", "customer": {"source_id": "c1"},'
            ' "metadata": {"m": "\\u0000"}}',
            "Property .metadata.m",
        ),
        (
            "/v1/events",
            '{"event": "signed_up", "customer": {"source_id": "c1"}, "metadata": {"m": "\\u0000"}}',
            "Property .metadata.m",
        ),
        (
            "/v1/customers/bulk/async",
            '[{"source_id": "c1"}, {"source_id": "c2", "metadata": {"m": "x\\u0000"}}]',
            "Property [1].metadata.m",
        ),
    ],
)
def test_a_null_character_anywhere_is_400_naming_where_it_is(api, path, body, details):
    with nothing_changes():
        response = api.post(path, body, content_type="application/json")

    assert_error(response, 400, "invalid_payload", details=f"{details}: Null characters are not allowed.")


def test_an_escaped_backslash_before_u0000_is_plain_text_and_accepted(api):
    response = api.post(
        "/v1/customers",
        '{"source_id": "c1", "metadata": {"path": "C:\\\\u0000"}}',
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["metadata"] == {"path": "C:\\u0000"}
