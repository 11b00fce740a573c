"""The official `voucherify` SDK (6.1.1) driving orders and custom events on a live server.

Every call must come back as the SDK's typed model: its pydantic validators (StrictInt amounts, the
order status and `order_item` enums, the list's `data_ref` = "orders", the event's required
`customer`) are the compatibility check.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import voucherify
from voucherify.exceptions import BadRequestException, NotFoundException
from voucherify.models import (
    Customer,
    EventsCreateRequestBody,
    EventsCreateRequestBodyLoyalty,
    EventsCreateRequestBodyReferral,
    EventsCreateResponseBody,
    OrderItem,
    OrdersCreateRequestBody,
    OrdersCreateResponseBody,
    OrdersGetResponseBody,
    OrdersListResponseBody,
    OrdersUpdateRequestBody,
    OrdersUpdateResponseBody,
    ParameterOrderListOrders,
    Referrer,
)

from customers.models import Customer as CustomerRow
from customers.models import CustomEvent, Order
from eventbus.models import DomainEvent
from tests.factories import ProjectFactory, make_api_key

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

REQUEST_ID = re.compile(r"^v-[0-9a-f]{18}$")


@pytest.fixture
def project():
    return ProjectFactory(slug="sdk-orders")


@pytest.fixture
def client(live_server, project) -> voucherify.ApiClient:
    api_key, token = make_api_key(project)
    configuration = voucherify.Configuration(
        host=live_server.url, api_key={"X-App-Id": api_key.app_id, "X-App-Token": token}
    )
    return voucherify.ApiClient(configuration)


@pytest.fixture
def orders(client) -> voucherify.OrdersApi:
    return voucherify.OrdersApi(client)


@pytest.fixture
def events(client) -> voucherify.EventsApi:
    return voucherify.EventsApi(client)


@pytest.fixture
def customers(client) -> voucherify.CustomersApi:
    return voucherify.CustomersApi(client)


def order_body(**overrides) -> OrdersCreateRequestBody:
    fields = {
        "source_id": "sdk-ord-1",
        "status": "CREATED",
        "items": [
            OrderItem(product_id="prod_book", related_object="product", quantity=2, price=1500),
            OrderItem(
                sku_id="sku_pen", related_object="sku", quantity=1, price=999, metadata={"colour": "blue"}
            ),
        ],
        "metadata": {"channel": "web"},
        "customer": Customer(source_id="ada@example.com", name="Ada Lovelace", email="ada@example.com"),
    }
    fields.update(overrides)
    return OrdersCreateRequestBody(**fields)


def order_types(project) -> list[str]:
    return list(
        DomainEvent.objects.for_project(project)
        .filter(type__startswith="customer.order.")
        .order_by("pk")
        .values_list("type", flat=True)
    )


def test_sdk_creates_an_order_with_items_and_customer(orders, project):
    response = orders.create_order_with_http_info(order_body())

    assert response.status_code == 201
    order = response.data
    assert isinstance(order, OrdersCreateResponseBody)
    customer = CustomerRow.objects.for_project(project).get()
    assert re.fullmatch(r"ord_[0-9a-f]{24}", order.id)
    assert (order.object, order.source_id, order.status) == ("order", "sdk-ord-1", "CREATED")
    assert (order.amount, order.initial_amount, order.total_amount) == (3999, 3999, 3999)
    assert all(
        type(value) is int
        for value in (
            order.amount,
            order.initial_amount,
            order.items_discount_amount,
            order.total_discount_amount,
            order.total_amount,
            order.applied_discount_amount,
            order.items_applied_discount_amount,
            order.total_applied_discount_amount,
        )
    )
    assert order.discount_amount is None
    assert (order.customer_id, order.customer.id, order.customer.object) == (
        customer.public_id,
        customer.public_id,
        "customer",
    )
    assert (order.referrer_id, order.referrer) == (None, None)
    assert order.metadata == {"channel": "web"}
    assert order.redemptions == {}
    assert isinstance(order.created_at, dt.datetime) and order.created_at.tzinfo is not None
    assert order.updated_at is None
    book, pen = order.items
    assert (book.object, book.product_id, book.related_object) == ("order_item", "prod_book", "product")
    assert (book.quantity, book.price, book.amount, book.subtotal_amount) == (2, 1500, 3000, 3000)
    assert (pen.object, pen.sku_id, pen.related_object, pen.metadata) == (
        "order_item",
        "sku_pen",
        "sku",
        {"colour": "blue"},
    )
    assert (pen.quantity, pen.price, pen.amount, pen.subtotal_amount) == (1, 999, 999, 999)
    assert (book.applied_discount_amount, book.applied_quantity, book.applied_quantity_amount) == (0, 0, 0)
    assert (customer.source_id, customer.name) == ("ada@example.com", "Ada Lovelace")
    assert order_types(project) == ["customer.order.created"]


def test_sdk_creates_an_order_with_a_referrer(orders, project):
    order = orders.create_order(order_body(referrer=Referrer(source_id="grace@example.com", name="Grace")))

    referrer = CustomerRow.objects.for_project(project).get(source_id="grace@example.com")
    assert (order.referrer_id, order.referrer.id, order.referrer.object) == (
        referrer.public_id,
        referrer.public_id,
        "customer",
    )

    again = orders.create_order(order_body(source_id="sdk-ord-2", referrer_id=referrer.public_id))
    assert again.referrer_id == referrer.public_id


def test_sdk_gets_an_order_by_id_and_by_source_id(orders):
    created = orders.create_order(order_body())

    by_id = orders.get_order(created.id)
    by_source_id = orders.get_order("sdk-ord-1")

    assert isinstance(by_id, OrdersGetResponseBody)
    assert by_id == by_source_id
    assert (by_id.id, by_id.status, by_id.amount, by_id.items[0].object) == (
        created.id,
        "CREATED",
        3999,
        "order_item",
    )


def test_sdk_updates_an_order_to_paid(orders, project):
    created = orders.create_order(order_body())

    updated = orders.update_order(
        created.id, OrdersUpdateRequestBody(status="PAID", metadata={"paid_by": "card"})
    )

    assert isinstance(updated, OrdersUpdateResponseBody)
    assert (updated.id, updated.status, updated.metadata) == (created.id, "PAID", {"paid_by": "card"})
    assert type(updated.amount) is int and updated.amount == 3999
    assert isinstance(updated.updated_at, dt.datetime)
    assert updated.items[1].object == "order_item"
    assert Order.objects.for_project(project).get().status == "PAID"
    assert order_types(project) == ["customer.order.created", "customer.order.paid"]


def test_sdk_update_body_with_source_id_is_accepted(orders, project):
    orders.create_order(order_body())

    updated = orders.update_order(
        "sdk-ord-1", OrdersUpdateRequestBody(source_id="sdk-ord-1", status="CANCELED")
    )

    assert (updated.source_id, updated.status) == ("sdk-ord-1", "CANCELED")
    assert order_types(project) == ["customer.order.created", "customer.order.canceled"]


def test_sdk_sees_the_orders_summary_on_the_customer(orders, customers):
    orders.create_order(order_body(status="PAID", created_at=dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)))

    customer = customers.get_customer("ada@example.com")

    summary = customer.summary.orders
    assert (summary.total_count, summary.total_amount, summary.average_amount, summary.last_order_amount) == (
        1,
        3999,
        3999,
        3999,
    )
    assert summary.last_order_date == dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_sdk_lists_orders(orders):
    for number in range(3):
        orders.create_order(
            order_body(
                source_id=f"sdk-ord-{number}", created_at=dt.datetime(2025, 1, number + 1, tzinfo=dt.UTC)
            )
        )

    page = orders.list_orders(limit=2, page=1)
    oldest_first = orders.list_orders(order=ParameterOrderListOrders.CREATED_AT)
    by_update = orders.list_orders(order=ParameterOrderListOrders.MINUS_UPDATED_AT)

    assert isinstance(page, OrdersListResponseBody)
    assert (page.object, page.data_ref, page.total) == ("list", "orders", 3)
    assert [order.source_id for order in page.orders] == ["sdk-ord-2", "sdk-ord-1"]
    assert all(order.object == "order" and type(order.amount) is int for order in page.orders)
    assert page.orders[0].items[0].object == "order_item"
    assert [order.source_id for order in oldest_first.orders] == ["sdk-ord-0", "sdk-ord-1", "sdk-ord-2"]
    assert by_update.total == 3


def test_sdk_get_of_an_unknown_order_raises_not_found(orders):
    with pytest.raises(NotFoundException) as raised:
        orders.get_order("ord_missing")

    body = json.loads(raised.value.body)
    assert REQUEST_ID.match(body.pop("request_id"))
    assert body == {
        "code": 404,
        "key": "not_found",
        "message": "Resource not found",
        "details": "Cannot find order with id ord_missing",
        "resource_id": "ord_missing",
        "resource_type": "order",
    }


def test_sdk_order_with_an_unknown_referrer_raises_not_found_and_creates_nothing(orders, project):
    with pytest.raises(NotFoundException):
        orders.create_order(order_body(referrer_id="cust_missing"))

    assert not Order.objects.for_project(project).exists()
    assert not CustomerRow.objects.for_project(project).exists()


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_sdk_bad_order_raises_bad_request_and_creates_nothing(orders, project):
    # The SDK validates its models client-side; model_construct skips that, so 10.0 reaches the server.
    body = OrdersCreateRequestBody.model_construct(source_id="sdk-ord-1", amount=10.0)

    with pytest.raises(BadRequestException) as raised:
        orders.create_order(body)

    assert json.loads(raised.value.body)["details"] == "Property .amount: must be an integer"
    assert not Order.objects.for_project(project).exists()


def test_sdk_tracks_a_custom_event(events, project):
    response = events.track_custom_event_with_http_info(
        EventsCreateRequestBody(
            event="cart_abandoned",
            customer=Customer(
                source_id="ada@example.com", name="Ada", email="ada@example.com", metadata={"tier": "gold"}
            ),
            metadata={"cart_value": 4200},
            referral=EventsCreateRequestBodyReferral(code="REF-ADA"),
            loyalty=EventsCreateRequestBodyLoyalty(code="LOY-1"),
        )
    )

    assert response.status_code == 200
    event = response.data
    assert isinstance(event, EventsCreateResponseBody)
    customer = CustomerRow.objects.for_project(project).get()
    assert (event.object, event.type, event.metadata) == ("event", "cart_abandoned", {"cart_value": 4200})
    assert (event.referral, event.loyalty) == ({"code": "REF-ADA"}, {"code": "LOY-1"})
    assert (event.customer.id, event.customer.source_id, event.customer.name, event.customer.email) == (
        customer.public_id,
        "ada@example.com",
        "Ada",
        "ada@example.com",
    )
    assert (event.customer.metadata, event.customer.object) == ({"tier": "gold"}, "customer")
    assert CustomEvent.objects.for_project(project).get().name == "cart_abandoned"
    assert DomainEvent.objects.for_project(project).filter(type="customer.custom_event").count() == 1


def test_sdk_tracks_a_custom_event_for_an_anonymous_customer(events, project):
    event = events.track_custom_event(EventsCreateRequestBody(event="visited", customer=Customer()))

    customer = CustomerRow.objects.for_project(project).get()
    assert (event.customer.id, event.customer.source_id, event.customer.name, event.customer.email) == (
        customer.public_id,
        None,
        None,
        None,
    )
    assert (event.referral, event.loyalty, event.metadata) == (None, None, {})


def test_sdk_custom_event_for_an_unknown_customer_id_raises_not_found(events, project):
    with pytest.raises(NotFoundException) as raised:
        events.track_custom_event(
            EventsCreateRequestBody(event="visited", customer=Customer(id="cust_missing"))
        )

    assert json.loads(raised.value.body)["details"] == "Cannot find customer with id cust_missing"
    assert not CustomEvent.objects.for_project(project).exists()
