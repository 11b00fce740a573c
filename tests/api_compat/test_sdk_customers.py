"""The official `voucherify` SDK (6.1.1) against a live server, with the demo project's keys.

Every call must come back as the SDK's typed model: its pydantic validators (StrictInt, StrictStr,
required sub-objects, enums) are the compatibility check.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import voucherify
from django.core.management import call_command
from django.db.models import Count
from voucherify.exceptions import BadRequestException, NotFoundException, UnauthorizedException
from voucherify.models import (
    CustomersCreateRequestBody,
    CustomersCreateRequestBodyAddress,
    CustomersCreateResponseBody,
    CustomersGetResponseBody,
    CustomersListResponseBody,
    CustomersUpdateRequestBody,
    CustomersUpdateResponseBody,
    CustomerWithSummaryLoyaltyReferrals,
    ParameterOrderListCustomers,
)

from campaigns.models import Redemption
from customers.models import Customer
from messaging.cockpit import cockpit_token_read
from tenancy.models import Project

REQUEST_ID = re.compile(r"^v-[0-9a-f]{18}$")
DEMO_CUSTOMERS = 50


@pytest.fixture
def demo_keys(transactional_db) -> dict[str, str]:
    """Seed the demo project and read its keys from the command's `X-App-Id:` / `X-App-Token:` lines."""
    output = io.StringIO()
    call_command("seed_demo", "--customers", str(DEMO_CUSTOMERS), stdout=output)
    keys = dict(re.findall(r"^(X-App-Id|X-App-Token): (\S+)$", output.getvalue(), flags=re.MULTILINE))
    assert set(keys) == {"X-App-Id", "X-App-Token"}
    return keys


def customers_api(live_server, api_key: dict[str, str]) -> voucherify.CustomersApi:
    configuration = voucherify.Configuration(host=live_server.url, api_key=api_key)
    return voucherify.CustomersApi(voucherify.ApiClient(configuration))


@pytest.fixture
def sdk(live_server, demo_keys) -> voucherify.CustomersApi:
    return customers_api(live_server, demo_keys)


@pytest.fixture
def demo_project(demo_keys) -> Project:
    return Project.objects.get(slug="demo")


def ada_body(**overrides) -> CustomersCreateRequestBody:
    fields = {
        "source_id": "ada@example.com",
        "name": "Ada Lovelace",
        "description": "Early adopter",
        "email": "ada@example.com",
        "phone": "+48 600 100 200",
        "birthdate": dt.date(1990, 12, 10),
        "address": CustomersCreateRequestBodyAddress(city="Warsaw", country="PL", postal_code="00-001"),
        "metadata": {"club_level": "Gold", "newsletter": True, "orders": 3},
    }
    fields.update(overrides)
    return CustomersCreateRequestBody(**fields)


def assert_zero_summary(customer) -> None:
    redemptions, orders = customer.summary.redemptions, customer.summary.orders
    assert (redemptions.total_redeemed, redemptions.total_failed, redemptions.total_succeeded) == (0, 0, 0)
    assert (redemptions.total_rolled_back, redemptions.total_rollback_failed) == (0, 0)
    assert redemptions.total_rollback_succeeded == 0
    assert (redemptions.gift.redeemed_amount, redemptions.gift.amount_to_go) == (0, 0)
    assert (redemptions.loyalty_card.redeemed_points, redemptions.loyalty_card.points_to_go) == (0, 0)
    assert (orders.total_amount, orders.total_count, orders.average_amount, orders.last_order_amount) == (
        0,
        0,
        0,
        0,
    )
    assert orders.last_order_date is None
    assert (customer.loyalty.points, customer.loyalty.referred_customers) == (0, 0)
    assert (customer.referrals.total, customer.referrals.campaigns) == (0, [])


def test_sdk_creates_a_customer_and_parses_the_typed_response(sdk, demo_project):
    response = sdk.create_customer_with_http_info(ada_body())

    assert response.status_code == 201
    customer = response.data
    assert isinstance(customer, CustomersCreateResponseBody)
    assert re.fullmatch(r"cust_[0-9a-f]{24}", customer.id)
    assert (customer.object, customer.source_id, customer.name, customer.description) == (
        "customer",
        "ada@example.com",
        "Ada Lovelace",
        "Early adopter",
    )
    assert (customer.email, customer.phone, customer.birthdate) == (
        "ada@example.com",
        "+48 600 100 200",
        dt.date(1990, 12, 10),
    )
    assert (customer.address.city, customer.address.country, customer.address.postal_code) == (
        "Warsaw",
        "PL",
        "00-001",
    )
    assert customer.address.line_1 is None
    assert customer.metadata == {"club_level": "Gold", "newsletter": True, "orders": 3}
    assert customer.system_metadata == {}
    assert customer.created_at.tzinfo is not None
    assert customer.updated_at is None
    token = customer.assets.cockpit_url.rsplit("/c/", 1)[1]
    assert cockpit_token_read(token)["c"] == Customer.objects.get(public_id=customer.id).pk
    assert_zero_summary(customer)
    stored = Customer.objects.for_project(demo_project).get(public_id=customer.id)
    # Voucherify's wire format keeps milliseconds.
    assert customer.created_at == stored.created_at.replace(
        microsecond=stored.created_at.microsecond // 1000 * 1000
    )


def test_sdk_create_with_an_existing_source_id_updates_that_customer(sdk, demo_project):
    created = sdk.create_customer(ada_body())

    upserted = sdk.create_customer_with_http_info(
        CustomersCreateRequestBody(source_id="ada@example.com", name="Ada King")
    )

    assert upserted.status_code == 200
    assert isinstance(upserted.data, CustomersCreateResponseBody)
    assert upserted.data.id == created.id
    assert (upserted.data.name, upserted.data.email) == ("Ada King", "ada@example.com")
    assert upserted.data.updated_at is not None
    assert Customer.objects.for_project(demo_project).filter(source_id="ada@example.com").count() == 1


def test_sdk_gets_a_customer_by_id_and_by_source_id(sdk):
    created = sdk.create_customer(ada_body())

    by_id = sdk.get_customer(created.id)
    by_source_id = sdk.get_customer("ada@example.com")  # the SDK sends ada%40example.com

    assert isinstance(by_id, CustomersGetResponseBody)
    assert isinstance(by_source_id, CustomersGetResponseBody)
    assert by_id.id == by_source_id.id == created.id
    assert by_id.to_dict() == by_source_id.to_dict()
    assert (by_id.name, by_id.birthdate, by_id.address.city) == (
        "Ada Lovelace",
        dt.date(1990, 12, 10),
        "Warsaw",
    )
    assert_zero_summary(by_id)


def test_sdk_updates_only_the_fields_it_sends(sdk):
    created = sdk.create_customer(ada_body())

    updated = sdk.update_customer(
        "ada@example.com", CustomersUpdateRequestBody(name="Ada King", metadata={"club_level": "Platinum"})
    )

    assert isinstance(updated, CustomersUpdateResponseBody)
    assert updated.id == created.id
    assert (updated.name, updated.metadata) == ("Ada King", {"club_level": "Platinum"})
    assert (updated.email, updated.phone, updated.description) == (
        "ada@example.com",
        "+48 600 100 200",
        "Early adopter",
    )
    assert (updated.birthdate, updated.address.city) == (dt.date(1990, 12, 10), "Warsaw")
    assert updated.updated_at is not None and updated.updated_at >= updated.created_at


def test_sdk_lists_the_demo_customers(sdk):
    page = sdk.list_customers(limit=100)

    assert isinstance(page, CustomersListResponseBody)
    assert (page.object, page.data_ref, page.total, page.has_more) == (
        "list",
        "customers",
        DEMO_CUSTOMERS,
        False,
    )
    assert len(page.customers) == DEMO_CUSTOMERS
    assert all(isinstance(customer, CustomerWithSummaryLoyaltyReferrals) for customer in page.customers)
    assert {customer.source_id for customer in page.customers} == {
        f"demo-customer-{number:05d}" for number in range(1, DEMO_CUSTOMERS + 1)
    }
    # The demo redeems a few of its codes: each customer's summary counts their own redemptions (a
    # rolled-back one included; the rollback itself and a stacked redemption's parent are not more).
    redeemed = {
        row["customer__source_id"]: row["total"]
        for row in Redemption.objects.filter(object="redemption", customer__source_id__startswith="demo-")
        .exclude(related_object_type="redemption")
        .values("customer__source_id")
        .annotate(total=Count("pk"))
    }
    assert redeemed, "the demo should redeem some codes"
    assert {
        customer.source_id: customer.summary.redemptions.total_redeemed
        for customer in page.customers
        if customer.summary.redemptions.total_redeemed
    } == redeemed


def test_sdk_pages_and_filters_the_list(sdk):
    first = sdk.list_customers(limit=20, page=1, order=ParameterOrderListCustomers.SOURCE_ID)
    third = sdk.list_customers(limit=20, page=3, order=ParameterOrderListCustomers.SOURCE_ID)
    warsaw = sdk.list_customers(limit=100, city="Warsaw")

    assert [c.source_id for c in first.customers] == [f"demo-customer-{n:05d}" for n in range(1, 21)]
    assert (first.total, first.has_more) == (DEMO_CUSTOMERS, True)
    assert [c.source_id for c in third.customers] == [f"demo-customer-{n:05d}" for n in range(41, 51)]
    assert (third.total, third.has_more) == (DEMO_CUSTOMERS, False)
    assert warsaw.total == len(warsaw.customers) > 0
    assert {c.address.city for c in warsaw.customers} == {"Warsaw"}


@pytest.mark.parametrize(
    "tz", [dt.UTC, dt.timezone(dt.timedelta(hours=2)), None], ids=["utc", "plus-two", "naive"]
)
def test_sdk_filters_by_created_at(sdk, tz):
    # Given the demo customers, then one more customer created a moment later
    boundary = dt.datetime.now(dt.UTC)
    created = sdk.create_customer(ada_body())
    # The SDK sends `%Y-%m-%dT%H:%M:%S.%f%z`: `+0000`, `+0200`, or no offset for a naive datetime.
    after = boundary.astimezone(tz) if tz is not None else boundary.replace(tzinfo=None)

    newer = sdk.list_customers(created_at_after=after, limit=100)
    older = sdk.list_customers(created_at_before=after, limit=100)

    assert [c.id for c in newer.customers] == [created.id]
    assert (newer.total, newer.has_more) == (1, False)
    assert older.total == DEMO_CUSTOMERS
    assert created.id not in {c.id for c in older.customers}


def test_sdk_deletes_a_customer_and_a_later_get_raises_not_found(sdk, demo_project):
    created = sdk.create_customer(ada_body())

    assert sdk.delete_customer(created.id) is None
    with pytest.raises(NotFoundException) as raised:
        sdk.get_customer(created.id)

    assert raised.value.status == 404
    assert raised.value.headers["Content-Type"] == "application/json"
    body = json.loads(raised.value.body)
    assert REQUEST_ID.match(body.pop("request_id"))
    assert body == {
        "code": 404,
        "key": "not_found",
        "message": "Resource not found",
        "details": f"Cannot find customer with id {created.id}",
        "resource_id": created.id,
        "resource_type": "customer",
    }
    assert not Customer.objects.for_project(demo_project).filter(public_id=created.id).exists()


def test_sdk_delete_by_source_id(sdk, demo_project):
    sdk.create_customer(ada_body())

    sdk.delete_customer("ada@example.com")

    assert not Customer.objects.for_project(demo_project).filter(source_id="ada@example.com").exists()


def test_sdk_raises_bad_request_with_our_error_body(sdk, demo_project):
    with pytest.raises(BadRequestException) as raised:
        sdk.create_customer(CustomersCreateRequestBody(source_id="x", email="not-an-email"))

    body = json.loads(raised.value.body)
    assert (body["code"], body["key"], body["details"]) == (
        400,
        "invalid_payload",
        "Property .email: must be a valid email address",
    )
    assert not Customer.objects.for_project(demo_project).filter(source_id="x").exists()


def test_sdk_raises_unauthorized_for_wrong_keys(live_server, demo_keys, demo_project):
    sdk = customers_api(live_server, {"X-App-Id": demo_keys["X-App-Id"], "X-App-Token": "wrong"})

    with pytest.raises(UnauthorizedException) as raised:
        sdk.create_customer(ada_body())

    body = json.loads(raised.value.body)
    assert (body["code"], body["key"], body["message"]) == (401, "unauthorized", "Unauthorized")
    assert not Customer.objects.for_project(demo_project).filter(source_id="ada@example.com").exists()


def test_seed_demo_keys_replace_the_previous_ones(live_server, demo_keys, transactional_db):
    # seed_demo is re-runnable: it rotates the demo key, so the old token stops working.
    output = io.StringIO()
    call_command("seed_demo", "--customers", str(DEMO_CUSTOMERS), stdout=output)
    new_keys = dict(re.findall(r"^(X-App-Id|X-App-Token): (\S+)$", output.getvalue(), flags=re.MULTILINE))

    assert customers_api(live_server, new_keys).list_customers(limit=1).total == DEMO_CUSTOMERS
    with pytest.raises(UnauthorizedException):
        customers_api(live_server, demo_keys).list_customers(limit=1)


def test_sdk_bulk_updates_customers_and_reads_the_async_action(
    live_server, demo_keys, demo_project, monkeypatch
):
    from voucherify.models import AsyncActionGetResponseBody, CustomersUpdateInBulkRequestBody

    from customers import tasks

    enqueued: list[int] = []
    monkeypatch.setattr(tasks.apply_bulk_import, "delay", enqueued.append)
    client = voucherify.ApiClient(voucherify.Configuration(host=live_server.url, api_key=demo_keys))
    rows = [
        CustomersUpdateInBulkRequestBody(source_id="demo-customer-00001", name="Renamed"),
        CustomersUpdateInBulkRequestBody(
            source_id="bulk-new", email="bulk@example.com", birthdate=dt.date(2000, 1, 2)
        ),
    ]

    accepted = voucherify.CustomersApi(client).update_customers_in_bulk(rows)
    assert re.fullmatch(r"aa_[0-9a-f]{24}", accepted.async_action_id)
    tasks.apply_bulk_import(enqueued[0])  # the worker's step
    action = voucherify.AsyncActionsApi(client).get_async_action(accepted.async_action_id)

    assert isinstance(action, AsyncActionGetResponseBody)
    assert (action.id, action.status, action.object) == (accepted.async_action_id, "DONE", "async_action")
    assert action.result == {"total": 2, "created": 1, "updated": 1, "failed": 0, "errors": []}
    assert action.updated_at is not None
    customers = Customer.objects.for_project(demo_project)
    assert customers.get(source_id="demo-customer-00001").name == "Renamed"
    assert str(customers.get(source_id="bulk-new").birthdate) == "2000-01-02"
