"""/v1/orders: create (an upsert by id or source_id), get, update and list, one event per change,
and each customer's `summary.orders` kept in step."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, transaction

from customers.models import Customer, CustomEvent, EventDefinition, Order
from customers.orders import order_upsert
from eventbus.models import DomainEvent
from tenancy.formats import iso
from tests.api.support import assert_error, database_state
from tests.customers.support import events_of
from tests.factories import CustomerFactory

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ORDER_EVENTS = (
    "customer.order.created",
    "customer.order.updated",
    "customer.order.paid",
    "customer.order.canceled",
)


# --- helpers -----------------------------------------------------------------------------------


@contextmanager
def nothing_changes() -> Iterator[None]:
    """Then: no customer, order, custom event, event definition or domain event was written."""

    def state() -> dict[str, list[Any]]:
        return {
            **database_state(),
            "orders": list(Order.objects.unscoped().order_by("pk").values()),
            "custom_events": list(CustomEvent.objects.unscoped().order_by("pk").values()),
            "event_definitions": list(EventDefinition.objects.unscoped().order_by("pk").values()),
        }

    before = state()
    yield
    assert state() == before


def order_event_types(project) -> list[str]:
    return [
        event_type
        for event_type in DomainEvent.objects.for_project(project)
        .order_by("pk")
        .values_list("type", flat=True)
        if event_type in ORDER_EVENTS
    ]


def make_order(project, **fields) -> Order:
    order, _ = order_upsert(project=project, fields=fields)
    return order


def at(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp)


def the_order(project) -> Order:
    return Order.objects.for_project(project).select_related("customer", "referrer").get()


def expected_order(order: Order, **overrides: Any) -> dict[str, Any]:
    """The Voucherify order object for a stored order without discounts."""
    customer, referrer = order.customer, order.referrer
    body = {
        "id": order.public_id,
        "source_id": order.source_id,
        "object": "order",
        "status": order.status,
        "amount": order.amount,
        "initial_amount": order.initial_amount,
        "discount_amount": order.discount_amount,
        "items_discount_amount": 0,
        "total_discount_amount": 0,
        "total_amount": order.amount or 0,
        "applied_discount_amount": 0,
        "items_applied_discount_amount": 0,
        "total_applied_discount_amount": 0,
        "items": [],
        "metadata": order.metadata,
        "customer_id": customer.public_id if customer else None,
        "customer": {"id": customer.public_id, "object": "customer"} if customer else None,
        "referrer_id": referrer.public_id if referrer else None,
        "referrer": {"id": referrer.public_id, "object": "customer"} if referrer else None,
        "redemptions": {},
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }
    body.update(overrides)
    return body


def orders_summary(api, customer_source_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/customers/{customer_source_id}")
    assert response.status_code == 200
    return response.json()["summary"]["orders"]


# --- create --------------------------------------------------------------------------------------


def test_create_with_an_embedded_customer_upserts_the_customer_and_publishes_created(api, project):
    response = api.post(
        "/v1/orders",
        {
            "source_id": "ord-1",
            "amount": 2500,
            "metadata": {"channel": "web"},
            "customer": {"source_id": "ada", "name": "Ada", "email": "ada@example.com"},
        },
        format="json",
    )

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    order = the_order(project)
    customer = Customer.objects.for_project(project).get()
    body = response.json()
    assert re.fullmatch(r"ord_[0-9a-f]{24}", body["id"])
    assert TIMESTAMP.match(body["created_at"])
    assert body == expected_order(order)
    assert (body["status"], body["amount"], body["initial_amount"], body["discount_amount"]) == (
        "CREATED",
        2500,
        2500,
        None,
    )
    assert (body["customer_id"], body["customer"]) == (
        customer.public_id,
        {"id": customer.public_id, "object": "customer"},
    )
    assert body["updated_at"] is None
    assert (customer.source_id, customer.name, customer.email) == ("ada", "Ada", "ada@example.com")
    assert events_of(project) == [
        ("customer.created", customer.public_id),
        ("customer.order.created", customer.public_id),
    ]
    created = DomainEvent.objects.for_project(project).get(type="customer.order.created")
    assert created.refs == {"order": order.public_id}


def test_create_with_an_existing_customer_updates_that_customer(api, project):
    customer = CustomerFactory(project=project, source_id="ada", name="Ada")

    response = api.post(
        "/v1/orders", {"amount": 100, "customer": {"source_id": "ada", "name": "Ada L."}}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["customer_id"] == customer.public_id
    customer.refresh_from_db()
    assert customer.name == "Ada L."
    assert Customer.objects.for_project(project).count() == 1
    assert [event_type for event_type, _ in events_of(project)] == [
        "customer.updated",
        "customer.order.created",
    ]


def test_create_as_paid_publishes_created_then_paid(api, project):
    response = api.post("/v1/orders", {"source_id": "ord-1", "status": "PAID", "amount": 1000}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "PAID"
    assert list(DomainEvent.objects.for_project(project).order_by("pk").values_list("type", flat=True)) == [
        "customer.order.created",
        "customer.order.paid",
    ]


def test_create_as_canceled_publishes_created_then_canceled(api, project):
    response = api.post(
        "/v1/orders", {"source_id": "ord-1", "status": "CANCELED", "amount": 1000}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["status"] == "CANCELED"
    assert list(DomainEvent.objects.for_project(project).order_by("pk").values_list("type", flat=True)) == [
        "customer.order.created",
        "customer.order.canceled",
    ]


def test_create_as_fulfilled_publishes_only_created(api, project):
    api.post("/v1/orders", {"source_id": "ord-1", "status": "FULFILLED", "amount": 1000}, format="json")

    assert order_event_types(project) == ["customer.order.created"]


def test_create_without_status_is_created(api, project):
    response = api.post("/v1/orders", {"amount": 1000}, format="json")

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["source_id"]) == ("CREATED", None)


def test_amount_is_computed_from_items_when_absent(api, project):
    response = api.post(
        "/v1/orders",
        {
            "source_id": "ord-1",
            "items": [
                {"product_id": "prod_1", "related_object": "product", "quantity": 2, "price": 1500},
                {"sku_id": "sku_1", "related_object": "sku", "quantity": 1, "price": 999},
            ],
        },
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["initial_amount"], body["total_amount"]) == (3999, 3999, 3999)
    assert body["items"] == [
        {
            "product_id": "prod_1",
            "related_object": "product",
            "quantity": 2,
            "price": 1500,
            "amount": 3000,
            "object": "order_item",
            "applied_discount_amount": 0,
            "applied_discount_quantity": 0,
            "applied_quantity": 0,
            "applied_quantity_amount": 0,
            "subtotal_amount": 3000,
        },
        {
            "sku_id": "sku_1",
            "related_object": "sku",
            "quantity": 1,
            "price": 999,
            "amount": 999,
            "object": "order_item",
            "applied_discount_amount": 0,
            "applied_discount_quantity": 0,
            "applied_quantity": 0,
            "applied_quantity_amount": 0,
            "subtotal_amount": 999,
        },
    ]
    order = the_order(project)
    assert (order.amount, order.initial_amount) == (3999, 3999)


def test_an_amount_given_wins_over_the_items(api, project):
    response = api.post(
        "/v1/orders",
        {"amount": 500, "initial_amount": 600, "items": [{"product_id": "p", "quantity": 2, "price": 1500}]},
        format="json",
    )

    assert (response.json()["amount"], response.json()["initial_amount"]) == (500, 600)
    assert response.json()["items"][0]["amount"] == 3000


def test_discounts_are_reflected_in_the_totals(api, project):
    response = api.post(
        "/v1/orders",
        {
            "amount": 5000,
            "discount_amount": 500,
            "items": [
                {"product_id": "p", "quantity": 1, "price": 5000, "amount": 5000, "discount_amount": 200}
            ],
        },
        format="json",
    )

    body = response.json()
    assert (body["discount_amount"], body["items_discount_amount"], body["total_discount_amount"]) == (
        500,
        200,
        700,
    )
    assert body["total_amount"] == 4300
    assert body["items"][0]["subtotal_amount"] == 4800


def test_referrer_by_referrer_id(api, project):
    referrer = CustomerFactory(project=project, source_id="grace")

    response = api.post(
        "/v1/orders",
        {"amount": 1000, "customer": {"source_id": "ada"}, "referrer_id": referrer.public_id},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["referrer_id"], body["referrer"]) == (
        referrer.public_id,
        {"id": referrer.public_id, "object": "customer"},
    )
    assert the_order(project).referrer == referrer


def test_referrer_by_source_id_in_referrer_id(api, project):
    referrer = CustomerFactory(project=project, source_id="grace")

    response = api.post("/v1/orders", {"amount": 1000, "referrer_id": "grace"}, format="json")

    assert response.json()["referrer_id"] == referrer.public_id


def test_referrer_object_is_upserted(api, project):
    response = api.post(
        "/v1/orders",
        {
            "amount": 1000,
            "customer": {"source_id": "ada"},
            "referrer": {"source_id": "grace", "name": "Grace"},
        },
        format="json",
    )

    assert response.status_code == 201
    referrer = Customer.objects.for_project(project).get(source_id="grace")
    assert referrer.name == "Grace"
    assert response.json()["referrer_id"] == referrer.public_id
    assert response.json()["referrer"] == {"id": referrer.public_id, "object": "customer"}
    assert the_order(project).referrer == referrer


def test_a_referrer_does_not_get_the_order_in_their_summary(api, project):
    api.post(
        "/v1/orders",
        {"amount": 1000, "customer": {"source_id": "ada"}, "referrer": {"source_id": "grace"}},
        format="json",
    )

    assert orders_summary(api, "grace")["total_count"] == 0
    assert orders_summary(api, "ada")["total_count"] == 1


# --- upsert and update ---------------------------------------------------------------------------


def test_post_with_an_existing_source_id_updates_and_returns_200(api, project):
    first = api.post(
        "/v1/orders", {"source_id": "ord-1", "amount": 1000, "metadata": {"a": 1}}, format="json"
    )

    second = api.post("/v1/orders", {"source_id": "ord-1", "amount": 1500}, format="json")

    assert second.status_code == 200
    order = the_order(project)
    assert second.json() == expected_order(order)
    assert second.json()["id"] == first.json()["id"]
    # The initial amount is the order's first amount: an update that does not send it keeps it.
    assert (order.amount, order.initial_amount, order.metadata) == (1500, 1000, {"a": 1})
    assert TIMESTAMP.match(second.json()["updated_at"])
    assert order_event_types(project) == ["customer.order.created", "customer.order.updated"]
    updated = DomainEvent.objects.for_project(project).get(type="customer.order.updated")
    assert updated.data == {"changed_fields": ["amount"], "previous_status": "CREATED"}
    assert updated.refs == {"order": order.public_id}


def test_post_with_an_existing_id_updates_that_order(api, project):
    order = make_order(project, source_id="ord-1", amount=1000)

    response = api.post("/v1/orders", {"id": order.public_id, "status": "PAID"}, format="json")

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "PAID"
    assert order_event_types(project) == ["customer.order.created", "customer.order.paid"]


def test_post_with_an_unknown_id_is_404_and_creates_nothing(api, project):
    with nothing_changes():
        response = api.post(
            "/v1/orders",
            {"id": "ord_missing", "amount": 1000, "customer": {"source_id": "ada"}},
            format="json",
        )

    body = assert_error(response, 404, "not_found", details="Cannot find order with id ord_missing")
    assert (body["resource_id"], body["resource_type"]) == ("ord_missing", "order")


def test_update_to_paid_publishes_only_paid(api, project):
    order = make_order(project, source_id="ord-1", amount=1000, customer={"source_id": "ada"})

    response = api.put(f"/v1/orders/{order.public_id}", {"status": "PAID"}, format="json")

    assert response.status_code == 200
    order.refresh_from_db()
    assert response.json() == expected_order(order)
    assert response.json()["status"] == "PAID"
    assert order_event_types(project) == ["customer.order.created", "customer.order.paid"]
    paid = DomainEvent.objects.for_project(project).get(type="customer.order.paid")
    assert paid.data == {"changed_fields": ["status"], "previous_status": "CREATED"}
    assert (paid.refs, paid.customer) == ({"order": order.public_id}, order.customer)


def test_update_to_paid_with_other_changes_still_publishes_only_paid(api, project):
    order = make_order(project, source_id="ord-1", amount=1000)

    api.put("/v1/orders/ord-1", {"status": "PAID", "metadata": {"paid_by": "card"}}, format="json")

    assert order_event_types(project) == ["customer.order.created", "customer.order.paid"]
    paid = DomainEvent.objects.for_project(project).get(
        type="customer.order.paid", refs__order=order.public_id
    )
    assert paid.data["changed_fields"] == ["metadata", "status"]


def test_update_to_canceled_publishes_only_canceled(api, project):
    make_order(project, source_id="ord-1", amount=1000, status="PAID")

    response = api.put("/v1/orders/ord-1", {"status": "CANCELED"}, format="json")

    assert response.json()["status"] == "CANCELED"
    assert order_event_types(project) == [
        "customer.order.created",
        "customer.order.paid",
        "customer.order.canceled",
    ]
    canceled = DomainEvent.objects.for_project(project).get(type="customer.order.canceled")
    assert canceled.data == {"changed_fields": ["status"], "previous_status": "PAID"}


def test_update_to_fulfilled_publishes_updated(api, project):
    make_order(project, source_id="ord-1", amount=1000, status="PAID")

    api.put("/v1/orders/ord-1", {"status": "FULFILLED"}, format="json")

    assert order_event_types(project) == [
        "customer.order.created",
        "customer.order.paid",
        "customer.order.updated",
    ]


def test_metadata_change_publishes_only_updated(api, project):
    make_order(project, source_id="ord-1", amount=1000, metadata={"gift_wrap": False})

    response = api.put("/v1/orders/ord-1", {"metadata": {"gift_wrap": True}}, format="json")

    assert response.status_code == 200
    assert response.json()["metadata"] == {"gift_wrap": True}
    assert the_order(project).metadata == {"gift_wrap": True}
    assert order_event_types(project) == ["customer.order.created", "customer.order.updated"]
    updated = DomainEvent.objects.for_project(project).get(type="customer.order.updated")
    assert updated.data == {"changed_fields": ["metadata"], "previous_status": "CREATED"}


def test_metadata_null_clears_the_metadata(api, project):
    make_order(project, source_id="ord-1", amount=1000, metadata={"gift_wrap": False})

    response = api.put("/v1/orders/ord-1", {"metadata": None}, format="json")

    assert response.status_code == 200
    assert response.json()["metadata"] == {}
    assert the_order(project).metadata == {}
    assert order_event_types(project) == ["customer.order.created", "customer.order.updated"]


def test_an_identical_put_changes_and_publishes_nothing(api, project):
    body = {
        "source_id": "ord-1",
        "status": "PAID",
        "amount": 1000,
        "metadata": {"channel": "web"},
        "items": [{"product_id": "p", "quantity": 2, "price": 500}],
        "customer": {"source_id": "ada", "name": "Ada"},
    }
    api.post("/v1/orders", body, format="json")

    with nothing_changes():
        response = api.put("/v1/orders/ord-1", body, format="json")

    assert response.status_code == 200
    assert response.json()["updated_at"] is None
    assert order_event_types(project) == ["customer.order.created", "customer.order.paid"]


def test_an_identical_post_upsert_changes_nothing(api, project):
    body = {"source_id": "ord-1", "status": "CREATED", "amount": 1000, "customer": {"source_id": "ada"}}
    api.post("/v1/orders", body, format="json")

    with nothing_changes():
        response = api.post("/v1/orders", body, format="json")

    assert response.status_code == 200


def test_put_by_source_id(api, project):
    order = make_order(project, source_id="ord 1 é", amount=1000)

    response = api.put("/v1/orders/ord%201%20%C3%A9", {"amount": 2000}, format="json")

    assert response.status_code == 200
    assert response.json()["id"] == order.public_id
    order.refresh_from_db()
    assert order.amount == 2000


def test_put_accepts_the_source_id_the_sdk_sends_in_the_update_body(api, project):
    # OrdersUpdateRequestBody carries `source_id`; the path names the order, so it changes nothing.
    make_order(project, source_id="ord-1", amount=1000)

    response = api.put("/v1/orders/ord-1", {"source_id": "ord-1", "status": "PAID"}, format="json")

    assert response.status_code == 200
    assert (response.json()["source_id"], response.json()["status"]) == ("ord-1", "PAID")


def test_put_with_items_recomputes_the_amount(api, project):
    make_order(project, source_id="ord-1", items=[{"product_id": "p", "quantity": 1, "price": 1000}])

    response = api.put(
        "/v1/orders/ord-1", {"items": [{"product_id": "p", "quantity": 3, "price": 1000}]}, format="json"
    )

    assert (response.json()["amount"], response.json()["items"][0]["amount"]) == (3000, 3000)


def test_put_of_an_unknown_order_is_404(api, project):
    with nothing_changes():
        response = api.put("/v1/orders/ord_missing", {"status": "PAID"}, format="json")

    assert_error(response, 404, "not_found", details="Cannot find order with id ord_missing")


def test_put_of_another_projects_order_is_404(api, outsider_api, project, other_project):
    make_order(other_project, source_id="ord-1", amount=1000)

    with nothing_changes():
        response = api.put("/v1/orders/ord-1", {"status": "PAID"}, format="json")

    assert_error(response, 404, "not_found")


# --- get and list --------------------------------------------------------------------------------


def test_get_by_id_and_by_source_id(api, project):
    order = make_order(project, source_id="ord-1", amount=1000, customer={"source_id": "ada"})

    by_id = api.get(f"/v1/orders/{order.public_id}")
    by_source_id = api.get("/v1/orders/ord-1")

    assert by_id.status_code == by_source_id.status_code == 200
    assert by_id.json() == by_source_id.json() == expected_order(the_order(project))


def test_get_of_an_unknown_order_is_404(api):
    body = assert_error(api.get("/v1/orders/ord_missing"), 404, "not_found")

    assert (body["resource_id"], body["resource_type"]) == ("ord_missing", "order")


def test_get_of_another_projects_order_is_404(api, other_project):
    order = make_order(other_project, source_id="ord-1", amount=1000)

    assert_error(api.get(f"/v1/orders/{order.public_id}"), 404, "not_found")
    assert_error(api.get("/v1/orders/ord-1"), 404, "not_found")


def test_list_envelope_newest_first(api, project, other_project):
    make_order(project, source_id="old", amount=1, created_at=at("2025-01-01T00:00:00Z"))
    make_order(project, source_id="new", amount=2, created_at=at("2025-02-01T00:00:00Z"))
    make_order(other_project, source_id="theirs", amount=3)

    response = api.get("/v1/orders")

    assert response.status_code == 200
    body = response.json()
    orders = {order.source_id: order for order in Order.objects.for_project(project)}
    assert body == {
        "object": "list",
        "data_ref": "orders",
        "orders": [expected_order(orders["new"]), expected_order(orders["old"])],
        "total": 2,
    }


def test_list_orders_oldest_first_and_by_updated_at(api, project):
    make_order(project, source_id="old", amount=1, created_at=at("2025-01-01T00:00:00Z"))
    make_order(project, source_id="new", amount=2, created_at=at("2025-02-01T00:00:00Z"))
    api.put("/v1/orders/old", {"amount": 10}, format="json")

    oldest_first = api.get("/v1/orders", {"order": "created_at"}).json()["orders"]
    recently_updated_first = api.get("/v1/orders", {"order": "-updated_at"}).json()["orders"]

    assert [order["source_id"] for order in oldest_first] == ["old", "new"]
    assert [order["source_id"] for order in recently_updated_first] == ["old", "new"]


def test_list_pages(api, project):
    for number in range(5):
        make_order(
            project,
            source_id=f"ord-{number}",
            amount=number,
            created_at=at(f"2025-01-0{number + 1}T00:00:00Z"),
        )

    pages = [api.get("/v1/orders", {"limit": 2, "page": page}).json() for page in (1, 2, 3, 4)]

    assert [[order["source_id"] for order in page["orders"]] for page in pages] == [
        ["ord-4", "ord-3"],
        ["ord-2", "ord-1"],
        ["ord-0"],
        [],
    ]
    assert [page["total"] for page in pages] == [5, 5, 5, 5]


@pytest.mark.parametrize(
    ("params", "details"),
    [
        ({"limit": 101}, "Query parameter limit must be between 1 and 100, got 101."),
        ({"limit": 0}, "Query parameter limit must be between 1 and 100, got 0."),
        ({"page": 101}, "Query parameter page must be between 1 and 100, got 101."),
        ({"limit": "ten"}, "Query parameter limit must be an integer, got 'ten'."),
        (
            {"order": "amount"},
            "Query parameter order must be one of created_at, -created_at, updated_at, -updated_at.",
        ),
    ],
)
def test_list_refuses_bad_query_params(api, params, details):
    assert_error(api.get("/v1/orders", params), 400, "invalid_query_params", details=details)


def test_list_query_count_does_not_grow_with_the_page(api, project, django_assert_num_queries):
    for number in range(30):
        make_order(
            project, source_id=f"ord-{number}", amount=number, customer={"source_id": f"c{number % 3}"}
        )
    api.get("/v1/orders")  # the key's last_used_at is written once; later requests only read

    # the API key (with its project), one page of orders (with customer and referrer), the total count
    with django_assert_num_queries(3):
        response = api.get("/v1/orders", {"limit": 25})

    assert len(response.json()["orders"]) == 25
    assert response.json()["total"] == 30


# --- the customer's orders summary ---------------------------------------------------------------


def test_summary_counts_the_customers_orders(api, project):
    api.post(
        "/v1/orders",
        {"amount": 1000, "customer": {"source_id": "ada"}, "created_at": "2025-01-01T10:00:00Z"},
        format="json",
    )
    api.post(
        "/v1/orders",
        {"amount": 3001, "customer": {"source_id": "ada"}, "created_at": "2025-02-01T10:00:00Z"},
        format="json",
    )

    assert orders_summary(api, "ada") == {
        "total_amount": 4001,
        "total_count": 2,
        "average_amount": 2000,
        "last_order_amount": 3001,
        "last_order_date": "2025-02-01T10:00:00.000Z",
    }


def test_summary_last_order_is_the_latest_created_not_the_latest_sent(api, project):
    api.post(
        "/v1/orders",
        {"amount": 3000, "customer": {"source_id": "ada"}, "created_at": "2025-02-01T10:00:00Z"},
        format="json",
    )
    api.post(
        "/v1/orders",
        {"amount": 1000, "customer": {"source_id": "ada"}, "created_at": "2025-01-01T10:00:00Z"},
        format="json",
    )

    summary = orders_summary(api, "ada")
    assert (summary["last_order_amount"], summary["last_order_date"]) == (3000, "2025-02-01T10:00:00.000Z")


def test_summary_excludes_a_canceled_order(api, project):
    api.post(
        "/v1/orders",
        {
            "source_id": "o1",
            "amount": 1000,
            "customer": {"source_id": "ada"},
            "created_at": "2025-01-01T10:00:00Z",
        },
        format="json",
    )
    api.post(
        "/v1/orders",
        {
            "source_id": "o2",
            "amount": 3000,
            "customer": {"source_id": "ada"},
            "created_at": "2025-02-01T10:00:00Z",
        },
        format="json",
    )

    api.put("/v1/orders/o2", {"status": "CANCELED"}, format="json")

    assert orders_summary(api, "ada") == {
        "total_amount": 1000,
        "total_count": 1,
        "average_amount": 1000,
        "last_order_amount": 1000,
        "last_order_date": "2025-01-01T10:00:00.000Z",
    }


def test_summary_of_an_order_created_canceled_counts_nothing(api, project):
    api.post(
        "/v1/orders", {"status": "CANCELED", "amount": 1000, "customer": {"source_id": "ada"}}, format="json"
    )

    assert orders_summary(api, "ada") == {
        "total_amount": 0,
        "total_count": 0,
        "average_amount": 0,
        "last_order_amount": 0,
        "last_order_date": None,
    }


def test_summary_follows_an_amount_change(api, project):
    api.post(
        "/v1/orders", {"source_id": "o1", "amount": 1000, "customer": {"source_id": "ada"}}, format="json"
    )

    api.put("/v1/orders/o1", {"amount": 1200}, format="json")

    assert orders_summary(api, "ada")["total_amount"] == 1200


def test_summary_moves_with_an_order_moved_to_another_customer(api, project):
    api.post(
        "/v1/orders",
        {
            "source_id": "o1",
            "amount": 1000,
            "customer": {"source_id": "ada"},
            "created_at": "2025-01-01T10:00:00Z",
        },
        format="json",
    )
    api.post(
        "/v1/orders",
        {
            "source_id": "o2",
            "amount": 500,
            "customer": {"source_id": "ada"},
            "created_at": "2025-01-02T10:00:00Z",
        },
        format="json",
    )

    response = api.put("/v1/orders/o2", {"customer": {"source_id": "grace"}}, format="json")

    grace = Customer.objects.for_project(project).get(source_id="grace")
    assert response.json()["customer_id"] == grace.public_id
    assert orders_summary(api, "ada") == {
        "total_amount": 1000,
        "total_count": 1,
        "average_amount": 1000,
        "last_order_amount": 1000,
        "last_order_date": "2025-01-01T10:00:00.000Z",
    }
    assert orders_summary(api, "grace") == {
        "total_amount": 500,
        "total_count": 1,
        "average_amount": 500,
        "last_order_amount": 500,
        "last_order_date": "2025-01-02T10:00:00.000Z",
    }
    updated = DomainEvent.objects.for_project(project).get(type="customer.order.updated")
    assert (updated.data["changed_fields"], updated.customer) == (["customer"], grace)


def test_summary_after_the_only_order_moves_away_is_zero(api, project):
    api.post(
        "/v1/orders", {"source_id": "o1", "amount": 1000, "customer": {"source_id": "ada"}}, format="json"
    )

    api.put("/v1/orders/o1", {"customer": {"source_id": "grace"}}, format="json")

    assert orders_summary(api, "ada") == {
        "total_amount": 0,
        "total_count": 0,
        "average_amount": 0,
        "last_order_amount": 0,
        "last_order_date": None,
    }


# --- bad input -----------------------------------------------------------------------------------

STATUSES = "CREATED, PAID, CANCELED, FULFILLED"


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"status": "paid"}, f"Property .status: must be one of {STATUSES}"),
        ({"status": "CANCELLED"}, f"Property .status: must be one of {STATUSES}"),
        ({"amount": 10.0}, "Property .amount: must be an integer"),
        ({"amount": "1000"}, "Property .amount: must be an integer"),
        ({"amount": True}, "Property .amount: must be an integer"),
        ({"amount": -1}, "Property .amount: Ensure this value is greater than or equal to 0."),
        ({"discount_amount": 1.5}, "Property .discount_amount: must be an integer"),
        (
            {"items": [{"product_id": "p", "quantity": 1.5, "price": 100}]},
            "Property .items[0].quantity: must be an integer",
        ),
        ({"items": [{"product_id": "p", "price": 9.99}]}, "Property .items[0].price: must be an integer"),
        (
            {"items": [{"related_object": "bundle"}]},
            "Property .items[0].related_object: must be one of product, sku",
        ),
        ({"items": [{"product_id": "p", "colour": "red"}]}, "Property .items[0].colour: is not allowed"),
        ({"items": {"product_id": "p"}}, 'Property .items: Expected a list of items but got type "dict".'),
        ({"colour": "red"}, "Property .colour: is not allowed"),
        ({"metadata": ["gift"]}, "Property .metadata: must be an object"),
        ({"metadata": "gift"}, "Property .metadata: must be an object"),
        ({"source_id": 42}, "Property .source_id: must be a string"),
        ({"customer": {"source_id": "ada", "colour": "red"}}, "Property .customer.colour: is not allowed"),
        ({"referrer_id": 7}, "Property .referrer_id: must be a string"),
        (
            {"items": [{"product_id": "p", "quantity": 1, "price": 1}] * 501},
            "Property .items: Ensure this field has no more than 500 elements.",
        ),
    ],
)
def test_create_refuses_bad_input_and_changes_nothing(api, project, body, details):
    with nothing_changes():
        response = api.post("/v1/orders", {"source_id": "ord-1", **body}, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


def test_create_with_500_items_is_accepted(api, project):
    response = api.post(
        "/v1/orders", {"items": [{"product_id": "p", "quantity": 1, "price": 1}] * 500}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["amount"] == 500


def test_a_body_that_is_not_an_object_is_refused(api, project):
    with nothing_changes():
        response = api.post("/v1/orders", [{"amount": 1}], format="json")

    assert_error(response, 400, "invalid_payload", details="must be an object")


def test_an_unknown_referrer_id_is_404_and_creates_nothing(api, project):
    # The embedded customer would be upserted first: it must be rolled back with the order.
    with nothing_changes():
        response = api.post(
            "/v1/orders",
            {
                "source_id": "ord-1",
                "amount": 1000,
                "customer": {"source_id": "ada"},
                "referrer_id": "cust_missing",
            },
            format="json",
        )

    body = assert_error(response, 404, "not_found", details="Cannot find customer with id cust_missing")
    assert (body["resource_id"], body["resource_type"]) == ("cust_missing", "customer")


def test_an_embedded_customer_with_an_unknown_id_is_404(api, project):
    with nothing_changes():
        response = api.post("/v1/orders", {"amount": 1000, "customer": {"id": "cust_missing"}}, format="json")

    assert_error(response, 404, "not_found", details="Cannot find customer with id cust_missing")


def test_a_referrer_of_another_project_is_404(api, project, other_project):
    theirs = CustomerFactory(project=other_project, source_id="grace")

    with nothing_changes():
        response = api.post("/v1/orders", {"amount": 1000, "referrer_id": theirs.public_id}, format="json")

    assert_error(response, 404, "not_found", details=f"Cannot find customer with id {theirs.public_id}")


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"status": "paid"}, f"Property .status: must be one of {STATUSES}"),
        ({"status": None}, "Property .status: This field may not be null."),
        ({"amount": 10.0}, "Property .amount: must be an integer"),
        ({"id": "ord_other"}, "Property .id: is not allowed"),
        ({"metadata": [1]}, "Property .metadata: must be an object"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(api, project, body, details):
    make_order(project, source_id="ord-1", amount=1000, customer={"source_id": "ada"})

    with nothing_changes():
        response = api.put("/v1/orders/ord-1", body, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


def test_update_with_an_unknown_referrer_id_is_404_and_changes_nothing(api, project):
    make_order(project, source_id="ord-1", amount=1000)

    with nothing_changes():
        response = api.put(
            "/v1/orders/ord-1", {"status": "PAID", "referrer_id": "cust_missing"}, format="json"
        )

    assert_error(response, 404, "not_found", details="Cannot find customer with id cust_missing")


# --- concurrency ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_of_one_source_id_make_one_order(project):
    first_inserted = threading.Event()
    outcome: dict[str, object] = {}

    def first_request() -> None:
        # Inserts the order, then holds its transaction open while the second request arrives.
        try:
            with transaction.atomic():
                outcome["first"] = order_upsert(project=project, fields={"source_id": "same", "amount": 1000})
                first_inserted.set()
                second.join(timeout=0.5)  # the second request is now blocked on our row's unique key
        finally:
            connection.close()

    def second_request() -> None:
        try:
            first_inserted.wait(timeout=5)
            outcome["second"] = order_upsert(
                project=project, fields={"source_id": "same", "amount": 1000, "status": "PAID"}
            )
        except Exception as error:  # reported by the assertion below
            outcome["second"] = error
        finally:
            connection.close()

    second = threading.Thread(target=second_request)
    first = threading.Thread(target=first_request)
    first.start()
    second.start()
    first.join(timeout=10)
    second.join(timeout=10)

    (first_order, first_created), second_result = outcome["first"], outcome["second"]
    assert not isinstance(second_result, Exception), second_result
    second_order, second_created = second_result
    assert (first_created, second_created) == (True, False)
    assert second_order.pk == first_order.pk
    stored = Order.objects.for_project(project).get()
    assert (stored.source_id, stored.amount, stored.status) == ("same", 1000, "PAID")
    assert order_event_types(project) == ["customer.order.created", "customer.order.paid"]
