"""POST /v1/events: a custom event tracked for a customer (upserted on the way), stored with its time,
defining its name for the wizard's pickers and publishing `customer.custom_event`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from customers.models import Customer, CustomEvent, EventDefinition, Order
from customers.selectors import event_definitions
from eventbus.models import DomainEvent
from tests.api.support import assert_error, database_state
from tests.customers.support import events_of
from tests.factories import CustomerFactory


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


def track(api, **body: Any):
    return api.post("/v1/events", body, format="json")


def test_track_creates_the_customer_and_the_event(api, project):
    response = track(
        api,
        event="cart_abandoned",
        customer={
            "source_id": "ada",
            "name": "Ada",
            "email": "ada@example.com",
            "metadata": {"tier": "gold"},
        },
        metadata={"cart_value": 4200, "items": ["book"]},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    customer = Customer.objects.for_project(project).get()
    event = CustomEvent.objects.for_project(project).get()
    assert response.json() == {
        "object": "event",
        "type": "cart_abandoned",
        "customer": {
            "id": customer.public_id,
            "source_id": "ada",
            "name": "Ada",
            "email": "ada@example.com",
            "metadata": {"tier": "gold"},
            "object": "customer",
        },
        "referral": None,
        "loyalty": None,
        "metadata": {"cart_value": 4200, "items": ["book"]},
    }
    assert re.fullmatch(r"evcus_[0-9a-f]{24}", event.public_id)
    assert (event.name, event.customer, event.metadata, event.referral, event.loyalty) == (
        "cart_abandoned",
        customer,
        {"cart_value": 4200, "items": ["book"]},
        None,
        None,
    )
    assert event.created_at is not None


def test_track_publishes_exactly_one_custom_event(api, project):
    track(api, event="cart_abandoned", customer={"source_id": "ada"}, metadata={"cart_value": 4200})

    customer = Customer.objects.for_project(project).get()
    assert events_of(project) == [
        ("customer.created", customer.public_id),
        ("customer.custom_event", customer.public_id),
    ]
    published = DomainEvent.objects.for_project(project).get(type="customer.custom_event")
    event = CustomEvent.objects.for_project(project).get()
    assert published.data == {
        "event": "cart_abandoned",
        "metadata": {"cart_value": 4200},
        "referral": None,
        "loyalty": None,
    }
    assert published.refs == {"custom_event": event.public_id}


def test_track_for_an_existing_customer_by_source_id_creates_no_customer(api, project):
    customer = CustomerFactory(project=project, source_id="ada", name="Ada")

    response = track(api, event="signed_up", customer={"source_id": "ada"})

    assert response.json()["customer"]["id"] == customer.public_id
    assert Customer.objects.for_project(project).count() == 1
    assert events_of(project) == [("customer.custom_event", customer.public_id)]


def test_track_for_an_existing_customer_by_id_updates_the_profile_fields_sent(api, project):
    customer = CustomerFactory(project=project, source_id="ada", name="Ada")

    response = track(api, event="signed_up", customer={"id": customer.public_id, "name": "Ada L."})

    assert response.json()["customer"]["name"] == "Ada L."
    customer.refresh_from_db()
    assert customer.name == "Ada L."
    assert [event_type for event_type, _ in events_of(project)] == [
        "customer.updated",
        "customer.custom_event",
    ]


def test_track_without_metadata_stores_an_empty_object(api, project):
    response = track(api, event="signed_up", customer={"source_id": "ada"})

    assert response.json()["metadata"] == {}
    assert CustomEvent.objects.for_project(project).get().metadata == {}


def test_referral_and_loyalty_are_stored_and_returned(api, project):
    response = track(
        api,
        event="purchased_plan",
        customer={"source_id": "ada"},
        referral={"code": "REF-ADA", "referrer_id": "cust_referrer"},
        loyalty={"code": "LOY-123"},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["referral"], body["loyalty"]) == (
        {"code": "REF-ADA", "referrer_id": "cust_referrer"},
        {"code": "LOY-123"},
    )
    event = CustomEvent.objects.for_project(project).get()
    assert (event.referral, event.loyalty) == (
        {"code": "REF-ADA", "referrer_id": "cust_referrer"},
        {"code": "LOY-123"},
    )
    published = DomainEvent.objects.for_project(project).get(type="customer.custom_event")
    assert (published.data["referral"], published.data["loyalty"]) == (
        {"code": "REF-ADA", "referrer_id": "cust_referrer"},
        {"code": "LOY-123"},
    )


def test_an_unseen_event_name_defines_it_once(api, project, other_project):
    track(api, event="cart_abandoned", customer={"source_id": "ada"})
    track(api, event="cart_abandoned", customer={"source_id": "grace"})
    track(api, event="Added to wishlist", customer={"source_id": "ada"})
    EventDefinition.objects.create(project=other_project, name="theirs")

    assert CustomEvent.objects.for_project(project).count() == 3
    assert EventDefinition.objects.for_project(project).filter(name="cart_abandoned").count() == 1
    assert [definition.name for definition in event_definitions(project=project)] == [
        "Added to wishlist",
        "cart_abandoned",
    ]
    assert DomainEvent.objects.for_project(project).filter(type="customer.custom_event").count() == 3


def test_an_already_defined_event_name_keeps_its_definition(api, project):
    definition = EventDefinition.objects.create(
        project=project, name="cart_abandoned", metadata_schema={"cart_value": "number"}
    )

    track(api, event="cart_abandoned", customer={"source_id": "ada"})

    assert list(EventDefinition.objects.for_project(project)) == [definition]
    definition.refresh_from_db()
    assert definition.metadata_schema == {"cart_value": "number"}


def test_an_event_name_of_300_characters_is_accepted(api, project):
    response = track(api, event="e" * 300, customer={"source_id": "ada"})

    assert response.status_code == 200
    assert response.json()["type"] == "e" * 300


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"customer": {"source_id": "ada"}}, "Property .event: This field is required."),
        ({"event": "cart_abandoned"}, "Property .customer: This field is required."),
        (
            {"event": "e" * 301, "customer": {"source_id": "ada"}},
            "Property .event: Ensure this field has no more than 300 characters.",
        ),
        ({"event": "", "customer": {"source_id": "ada"}}, "Property .event: This field may not be blank."),
        ({"event": 42, "customer": {"source_id": "ada"}}, "Property .event: must be a string"),
        ({"event": "x", "customer": None}, "Property .customer: This field may not be null."),
        ({"event": "x", "customer": {"source_id": 7}}, "Property .customer.source_id: must be a string"),
        (
            {"event": "x", "customer": {"source_id": "ada", "colour": "red"}},
            "Property .customer.colour: is not allowed",
        ),
        (
            {"event": "x", "customer": {"source_id": "ada"}, "metadata": [1]},
            "Property .metadata: must be an object",
        ),
        (
            {"event": "x", "customer": {"source_id": "ada"}, "colour": "red"},
            "Property .colour: is not allowed",
        ),
        (
            {"event": "x", "customer": {"source_id": "ada"}, "loyalty": {}},
            "Property .loyalty.code: This field is required.",
        ),
        (
            {"event": "x", "customer": {"source_id": "ada"}, "referral": {"code": 5}},
            "Property .referral.code: must be a string",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(api, project, body, details):
    with nothing_changes():
        response = api.post("/v1/events", body, format="json")

    assert_error(response, 400, "invalid_payload", details=details)


def test_a_customer_with_an_unknown_id_is_404_and_changes_nothing(api, project):
    with nothing_changes():
        response = track(api, event="cart_abandoned", customer={"id": "cust_missing"})

    body = assert_error(response, 404, "not_found", details="Cannot find customer with id cust_missing")
    assert (body["resource_id"], body["resource_type"]) == ("cust_missing", "customer")


def test_a_customer_of_another_project_is_404(api, project, other_project):
    theirs = CustomerFactory(project=other_project, source_id="ada")

    with nothing_changes():
        response = track(api, event="cart_abandoned", customer={"id": theirs.public_id})

    assert_error(response, 404, "not_found", details=f"Cannot find customer with id {theirs.public_id}")


def test_the_same_source_id_in_another_project_is_another_customer(api, project, other_project):
    theirs = CustomerFactory(project=other_project, source_id="ada")

    response = track(api, event="cart_abandoned", customer={"source_id": "ada"})

    assert response.json()["customer"]["id"] != theirs.public_id
    assert CustomEvent.objects.for_project(other_project).count() == 0
    assert EventDefinition.objects.for_project(other_project).count() == 0
