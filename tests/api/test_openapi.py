"""The OpenAPI 3 document at /v1/openapi.json and the browsable docs at /v1/docs."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

CUSTOMER_OPERATIONS = {
    ("/v1/customers", "post"): "create_customer",
    ("/v1/customers", "get"): "list_customers",
    ("/v1/customers/{identifier}", "get"): "get_customer",
    ("/v1/customers/{identifier}", "put"): "update_customer",
    ("/v1/customers/{identifier}", "delete"): "delete_customer",
    ("/v1/customers/bulk/async", "post"): "import_customers_bulk",
    ("/v1/async-actions/{identifier}", "get"): "get_async_action",
    ("/v1/customers/{identifier}/segments", "get"): "list_customer_segments",
    ("/v1/customers/{identifier}/consents", "get"): "get_customer_consents",
    ("/v1/customers/{identifier}/consents", "put"): "update_customer_consents",
}


@pytest.fixture
def document(db) -> dict:
    response = Client().get("/v1/openapi.json", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_openapi_json_is_json_without_an_accept_header(db):
    response = Client().get("/v1/openapi.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["openapi"].startswith("3.")


def test_openapi_document_is_a_valid_openapi_3_document(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Distribution Manager API"
    validate_schema(document)  # raises on anything the OpenAPI 3 JSON schema refuses


def test_openapi_document_lists_every_customer_operation(document):
    operations = {
        (path, method): operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method in {"get", "post", "put", "patch", "delete"}
        and path.startswith(("/v1/customers", "/v1/async-actions"))
    }

    assert operations == CUSTOMER_OPERATIONS


def test_openapi_document_declares_the_app_key_headers(document):
    schemes = document["components"]["securitySchemes"]

    assert schemes["AppId"] == {"type": "apiKey", "in": "header", "name": "X-App-Id"}
    assert schemes["AppToken"] == {"type": "apiKey", "in": "header", "name": "X-App-Token"}
    for path, method in CUSTOMER_OPERATIONS:
        assert document["paths"][path][method]["security"] == [{"AppId": [], "AppToken": []}]


def test_operations_do_not_publish_the_base_views_internal_docstring(document):
    descriptions = [
        operation.get("description", "")
        for methods in document["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict)
    ]

    assert not [description for description in descriptions if "self.project" in description]


def test_openapi_document_lists_the_customer_list_filters(document):
    parameters = {parameter["name"] for parameter in document["paths"]["/v1/customers"]["get"]["parameters"]}

    assert {
        "limit",
        "page",
        "email",
        "city",
        "name",
        "order",
        "created_at[before]",
        "created_at[after]",
        "updated_at[before]",
        "updated_at[after]",
    } <= parameters


def test_docs_page_is_served_without_keys(db):
    response = Client().get("/v1/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"/v1/openapi.json" in response.content
