"""GET / PUT / DELETE /v1/customers/{id or source_id}."""

from __future__ import annotations

import datetime as dt

import pytest

from customers.models import Customer
from eventbus.models import DomainEvent
from tests.api.support import assert_error, nothing_changes
from tests.customers.support import events_of, expected_customer
from tests.factories import CustomerFactory


@pytest.fixture
def ada(project):
    return CustomerFactory(
        project=project,
        source_id="ada@example.com",
        name="Ada Lovelace",
        description="Early adopter",
        email="ada@example.com",
        phone="+48600100200",
        birthdate=dt.date(1990, 12, 10),
        address_city="Warsaw",
        address_country="PL",
        metadata={"club_level": "Gold"},
    )


def test_get_by_id_returns_the_customer(api, ada):
    response = api.get(f"/v1/customers/{ada.public_id}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == expected_customer(ada)


def test_get_by_source_id_returns_the_customer(api, project):
    customer = CustomerFactory(project=project, source_id="crm-42")

    response = api.get("/v1/customers/crm-42")

    assert response.status_code == 200
    assert response.json() == expected_customer(customer)


def test_get_by_url_encoded_source_id_returns_the_customer(api, ada):
    # The SDK URL-encodes path parameters: `ada@example.com` arrives as `ada%40example.com`.
    response = api.get("/v1/customers/ada%40example.com")

    assert response.status_code == 200
    assert response.json()["id"] == ada.public_id


def test_get_by_source_id_that_looks_like_an_id(api, project):
    customer = CustomerFactory(project=project, source_id="cust_from_another_system")

    response = api.get("/v1/customers/cust_from_another_system")

    assert response.status_code == 200
    assert response.json()["id"] == customer.public_id


def test_get_unknown_customer_is_404_naming_it(api, ada):
    with nothing_changes():
        response = api.get("/v1/customers/nobody%40example.com")

    body = assert_error(
        response,
        404,
        "not_found",
        message="Resource not found",
        details="Cannot find customer with id nobody@example.com",
    )
    assert (body["resource_id"], body["resource_type"]) == ("nobody@example.com", "customer")


def test_update_changes_only_the_fields_sent(api, project, ada):
    response = api.put(
        f"/v1/customers/{ada.public_id}", {"name": "Ada King", "metadata": {"vip": True}}, format="json"
    )

    assert response.status_code == 200
    ada.refresh_from_db()
    assert response.json() == expected_customer(ada)
    assert (ada.name, ada.metadata) == ("Ada King", {"vip": True})
    # Not sent, so unchanged:
    assert (ada.source_id, ada.description, ada.email, ada.phone, ada.birthdate) == (
        "ada@example.com",
        "Early adopter",
        "ada@example.com",
        "+48600100200",
        dt.date(1990, 12, 10),
    )
    assert (ada.address_city, ada.address_country) == ("Warsaw", "PL")
    assert ada.updated_at is not None


def test_update_publishes_customer_updated_with_the_changed_fields(api, project, ada):
    api.put(
        "/v1/customers/ada%40example.com", {"name": "Ada King", "email": "ada@example.com"}, format="json"
    )

    assert events_of(project) == [("customer.updated", ada.public_id)]
    assert DomainEvent.objects.for_project(project).get().data == {"changed_fields": ["name"]}


def test_update_with_null_clears_a_field(api, ada):
    response = api.put(f"/v1/customers/{ada.public_id}", {"email": None, "name": None}, format="json")

    assert response.status_code == 200
    assert (response.json()["email"], response.json()["name"]) == (None, None)
    ada.refresh_from_db()
    assert (ada.email, ada.name) == (None, "")


def test_update_without_changes_publishes_nothing(api, ada):
    with nothing_changes():
        response = api.put(f"/v1/customers/{ada.public_id}", {"name": "Ada Lovelace"}, format="json")

    assert response.status_code == 200
    assert response.json()["updated_at"] is None


def test_update_refuses_id_and_source_id_in_the_body(api, ada):
    with nothing_changes():
        response = api.put(f"/v1/customers/{ada.public_id}", {"source_id": "other"}, format="json")

    assert_error(response, 400, "invalid_payload", details="Property .source_id: is not allowed")


def test_update_unknown_customer_is_404_and_changes_nothing(api, ada):
    with nothing_changes():
        response = api.put("/v1/customers/cust_000000000000000000000000", {"name": "X"}, format="json")

    assert_error(
        response, 404, "not_found", details="Cannot find customer with id cust_000000000000000000000000"
    )


def test_delete_returns_204_with_no_body_and_removes_the_customer(api, project, ada):
    response = api.delete(f"/v1/customers/{ada.public_id}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Customer.objects.for_project(project).exists()


def test_delete_publishes_customer_deleted_with_a_snapshot(api, project, ada):
    snapshot = api.get(f"/v1/customers/{ada.public_id}").json()

    api.delete("/v1/customers/ada%40example.com")

    event = DomainEvent.objects.for_project(project).get()
    assert event.type == "customer.deleted"
    assert event.customer is None  # the row is gone; the snapshot is what remains
    assert event.data == {"customer": snapshot}


def test_delete_frees_the_source_id_for_a_new_customer(api, project, ada):
    api.delete(f"/v1/customers/{ada.public_id}")

    response = api.post("/v1/customers", {"source_id": "ada@example.com"}, format="json")

    assert response.status_code == 201
    assert response.json()["id"] != ada.public_id


def test_delete_unknown_customer_is_404_and_changes_nothing(api, ada):
    with nothing_changes():
        response = api.delete("/v1/customers/nobody")

    assert_error(response, 404, "not_found", details="Cannot find customer with id nobody")


def test_get_after_delete_is_404(api, ada):
    api.delete(f"/v1/customers/{ada.public_id}")

    response = api.get(f"/v1/customers/{ada.public_id}")

    assert_error(response, 404, "not_found")
