"""POST /v1/customers: create, or update the customer named by `id` or `source_id` (Voucherify's upsert)."""

from __future__ import annotations

import re

from customers.models import Customer
from eventbus.models import DomainEvent
from tests.api.support import assert_error, nothing_changes
from tests.customers.support import EMPTY_ADDRESS, ZERO_SUMMARY, events_of, expected_customer
from tests.factories import CustomerFactory

FULL_BODY = {
    "source_id": "ada@example.com",
    "name": "Ada Lovelace",
    "description": "Early adopter",
    "email": "ada@example.com",
    "phone": "+48 600 100 200",
    "birthdate": "1990-12-10",
    "address": {
        "city": "Warsaw",
        "state": "Mazowieckie",
        "line_1": "1 Market Square",
        "line_2": None,
        "country": "PL",
        "postal_code": "00-001",
    },
    "metadata": {"club_level": "Gold", "newsletter": True, "orders": 3},
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_create_returns_201_and_the_full_customer_object(api, project):
    response = api.post("/v1/customers", FULL_BODY, format="json")

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    customer = Customer.objects.for_project(project).get()
    body = response.json()
    assert re.fullmatch(r"cust_[0-9a-f]{24}", body["id"])
    assert TIMESTAMP.match(body["created_at"])
    assert body == expected_customer(customer)
    assert body["updated_at"] is None
    assert body["address"] == FULL_BODY["address"]
    assert body["metadata"] == {"club_level": "Gold", "newsletter": True, "orders": 3}
    assert (customer.source_id, customer.name, customer.email, customer.phone, str(customer.birthdate)) == (
        "ada@example.com",
        "Ada Lovelace",
        "ada@example.com",
        "+48 600 100 200",
        "1990-12-10",
    )


def test_create_publishes_customer_created(api, project):
    response = api.post("/v1/customers", {"source_id": "c1"}, format="json")

    assert events_of(project) == [("customer.created", response.json()["id"])]


def test_create_with_no_fields_makes_an_anonymous_customer(api, project):
    response = api.post("/v1/customers", {}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["source_id"], body["name"], body["email"], body["address"], body["metadata"]) == (
        None,
        None,
        None,
        EMPTY_ADDRESS,
        {},
    )
    assert Customer.objects.for_project(project).count() == 1


def test_summary_has_every_sub_object_with_integer_zeros(api):
    body = api.post("/v1/customers", {"source_id": "c1"}, format="json").json()

    assert body["summary"] == ZERO_SUMMARY
    redemptions, orders = body["summary"]["redemptions"], body["summary"]["orders"]
    counters = [value for key, value in redemptions.items() if key not in ("gift", "loyalty_card")]
    counters += [*redemptions["gift"].values(), *redemptions["loyalty_card"].values()]
    counters += [value for key, value in orders.items() if key != "last_order_date"]
    assert all(type(value) is int for value in counters)
    assert body["loyalty"] == {"points": 0, "referred_customers": 0, "campaigns": {}}
    assert body["referrals"] == {"total": 0, "campaigns": []}


def test_deprecated_birthday_is_stored_as_birthdate(api, project):
    response = api.post("/v1/customers", {"source_id": "c1", "birthday": "1985-02-03"}, format="json")

    assert response.status_code == 201
    assert response.json()["birthdate"] == "1985-02-03"
    assert str(Customer.objects.for_project(project).get().birthdate) == "1985-02-03"


def test_second_post_with_the_same_source_id_updates_and_returns_200(api, project):
    # Given a customer created by source_id
    first = api.post(
        "/v1/customers", {"source_id": "c1", "name": "Ada", "email": "ada@example.com"}, format="json"
    )

    # When the same source_id is posted again with a new name
    second = api.post("/v1/customers", {"source_id": "c1", "name": "Ada L."}, format="json")

    # Then the same customer is updated; fields not sent are kept
    assert second.status_code == 200
    customer = Customer.objects.for_project(project).get()
    assert second.json() == expected_customer(customer)
    assert second.json()["id"] == first.json()["id"]
    assert (customer.name, customer.email) == ("Ada L.", "ada@example.com")
    assert TIMESTAMP.match(second.json()["updated_at"])
    assert events_of(project) == [
        ("customer.created", customer.public_id),
        ("customer.updated", customer.public_id),
    ]
    updated = DomainEvent.objects.for_project(project).get(type="customer.updated")
    assert updated.data == {"changed_fields": ["name"]}


def test_upsert_without_changes_returns_200_and_publishes_nothing(api, project):
    api.post("/v1/customers", {"source_id": "c1", "name": "Ada"}, format="json")

    with nothing_changes():
        response = api.post("/v1/customers", {"source_id": "c1", "name": "Ada"}, format="json")

    assert response.status_code == 200
    assert response.json()["updated_at"] is None
    assert [event_type for event_type, _ in events_of(project)] == ["customer.created"]


def test_upsert_by_id_updates_that_customer(api, project):
    customer = CustomerFactory(project=project, source_id="c1", name="Ada")

    response = api.post("/v1/customers", {"id": customer.public_id, "name": "Grace"}, format="json")

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.name == "Grace"
    assert response.json() == expected_customer(customer)
    assert Customer.objects.for_project(project).count() == 1
    assert events_of(project) == [("customer.updated", customer.public_id)]


def test_upsert_by_id_ignores_a_different_source_id(api, project):
    customer = CustomerFactory(project=project, source_id="c1")

    response = api.post("/v1/customers", {"id": customer.public_id, "source_id": "c2"}, format="json")

    assert response.status_code == 200
    assert response.json()["source_id"] == "c1"
    assert list(Customer.objects.for_project(project).values_list("source_id", flat=True)) == ["c1"]


def test_create_with_an_unknown_id_is_404_and_creates_nothing(api, project):
    CustomerFactory(project=project, source_id="c1")

    with nothing_changes():
        response = api.post(
            "/v1/customers",
            {"id": "cust_000000000000000000000000", "source_id": "c1", "name": "X"},
            format="json",
        )

    body = assert_error(
        response,
        404,
        "not_found",
        message="Resource not found",
        details="Cannot find customer with id cust_000000000000000000000000",
    )
    assert (body["resource_id"], body["resource_type"]) == ("cust_000000000000000000000000", "customer")


def test_source_ids_are_unique_per_project_not_globally(api, outsider_api, project, other_project):
    ours = api.post("/v1/customers", {"source_id": "shared"}, format="json")
    theirs = outsider_api.post("/v1/customers", {"source_id": "shared"}, format="json")

    assert (ours.status_code, theirs.status_code) == (201, 201)
    assert ours.json()["id"] != theirs.json()["id"]
    assert Customer.objects.for_project(project).get().public_id == ours.json()["id"]
    assert Customer.objects.for_project(other_project).get().public_id == theirs.json()["id"]
