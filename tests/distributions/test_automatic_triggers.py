"""Automatic distributions fire from the real actions: each catalogue trigger family, the trigger's
parameters and validation rule, the time frame, pausing, and never reacting to their own events.

The event bus is played in-process (`dispatch_all` runs every pending event's handlers, as the
worker would); tests/distributions/test_end_to_end.py does the same across a real worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from campaigns.loyalty.ledger import balance_update
from campaigns.loyalty.tiers import settle_due_tiers
from campaigns.models import Publication, Redemption
from campaigns.redemptions import redemption_rollback
from campaigns.validation_rules.services import validation_rule_create
from customers.models import Customer
from customers.orders import order_upsert
from distributions import services
from distributions.handlers import react_to_event
from eventbus.cause import Cause, use_cause
from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.campaigns.loyalty.support import join, make_program
from tests.campaigns.redemption_support import redeem
from tests.campaigns.rules_support import order_over
from tests.distributions.engine_support import automatic, create_and_send, dispatch_all, messages_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(local_project):
    return CustomerFactory(project=local_project, source_id="ada", email="ada@example.com")


def live(project, trigger, endpoint, **kwargs):
    return create_and_send(project, automatic(trigger, endpoint, **kwargs))


def the_event(project, event_type) -> DomainEvent:
    return DomainEvent.objects.for_project(project).filter(type=event_type).latest("pk")


def fired_for(project, distribution, event_type):
    """The distribution's messages: exactly one, for the customer of the latest `event_type` event."""
    dispatch_all(project)
    event = the_event(project, event_type)
    messages = list(messages_of(project, distribution))
    assert [(m.customer_id, m.cause_key) for m in messages] == [(event.customer_id, event.public_id)]
    return messages[0]


def pay(api, source_id="ada", amount=15000, order_id="ord-1", status="PAID"):
    response = api.post(
        "/v1/orders",
        {"source_id": order_id, "status": status, "amount": amount, "customer": {"source_id": source_id}},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    return response.json()


# --- Cart -------------------------------------------------------------------------------------------


def test_an_order_paid_fires_with_the_order_in_the_message(api, local_project, ada, endpoint):
    distribution = live(local_project, "order_paid", endpoint)

    pay(api, amount=15000)

    message = fired_for(local_project, distribution, "customer.order.paid")
    assert (message.variables["order.amount"], message.variables["event.type"]) == (
        15000,
        "customer.order.paid",
    )


@pytest.mark.parametrize(
    ("trigger", "status", "event_type"),
    [
        ("order_created", "CREATED", "customer.order.created"),
        ("order_canceled", "CANCELED", "customer.order.canceled"),
    ],
)
def test_other_order_events_fire_their_triggers(
    api, local_project, ada, endpoint, trigger, status, event_type
):
    distribution = live(local_project, trigger, endpoint)

    pay(api, status=status)

    fired_for(local_project, distribution, event_type)


def test_an_order_update_fires_order_updated(api, local_project, ada, endpoint):
    pay(api, status="CREATED")
    dispatch_all(local_project)
    distribution = live(local_project, "order_updated", endpoint)

    response = api.put("/v1/orders/ord-1", {"metadata": {"gift": True}}, format="json")

    assert response.status_code == 200, response.content
    fired_for(local_project, distribution, "customer.order.updated")


def test_a_validation_rule_lets_only_qualifying_orders_through(api, local_project, ada, endpoint):
    rule = validation_rule_create(
        project=local_project, fields={"name": "Over $99", "rules": order_over(9901)}
    )
    distribution = live(local_project, "order_paid", endpoint, params={"validation_rule": rule.public_id})

    pay(api, amount=5000, order_id="small")
    dispatch_all(local_project)
    assert not messages_of(local_project, distribution).exists()

    pay(api, amount=15000, order_id="big")
    message = fired_for(local_project, distribution, "customer.order.paid")
    assert message.variables["order.amount"] == 15000


def test_a_paused_distribution_fires_nothing_and_fires_again_once_live(api, local_project, ada, endpoint):
    distribution = live(local_project, "order_paid", endpoint)
    services.distribution_pause(project=local_project, distribution=distribution)

    pay(api, order_id="while-paused")
    dispatch_all(local_project)
    assert not messages_of(local_project, distribution).exists()

    services.distribution_resume(project=local_project, distribution=distribution)
    pay(api, order_id="after")
    fired_for(local_project, distribution, "customer.order.paid")


def test_an_event_outside_the_time_frame_fires_nothing(api, local_project, ada, endpoint):
    distribution = live(local_project, "order_paid", endpoint, live_from=timezone.now() + timedelta(days=1))

    pay(api)
    dispatch_all(local_project)

    assert not messages_of(local_project, distribution).exists()


def test_an_event_without_a_customer_fires_nothing(api, local_project, endpoint):
    distribution = live(local_project, "order_paid", endpoint)

    api.post("/v1/orders", {"source_id": "anonymous", "status": "PAID", "amount": 100}, format="json")
    dispatch_all(local_project)

    assert not messages_of(local_project, distribution).exists()


# --- Custom events ---------------------------------------------------------------------------------


def test_a_custom_event_fires_only_for_its_name(api, local_project, ada, endpoint):
    distribution = live(local_project, "custom_event", endpoint, params={"event_name": "signed_up"})

    api.post("/v1/events", {"event": "logged_in", "customer": {"source_id": "ada"}}, format="json")
    dispatch_all(local_project)
    assert not messages_of(local_project, distribution).exists()

    api.post("/v1/events", {"event": "signed_up", "customer": {"source_id": "ada"}}, format="json")
    fired_for(local_project, distribution, "customer.custom_event")


# --- Codes: publishing, redemptions, gift credits, referrals ---------------------------------------


def test_a_code_published_from_the_selected_campaign_fires(api, local_project, ada, endpoint):
    summer = make_campaign(local_project, name="Summer", codes_count=2)
    make_campaign(local_project, name="Winter", codes_count=2)
    distribution = live(local_project, "code_published", endpoint, params={"campaign": summer.public_id})

    api.post(
        "/v1/publications", {"customer": {"source_id": "ada"}, "campaign": {"name": "Winter"}}, format="json"
    )
    dispatch_all(local_project)
    assert not messages_of(local_project, distribution).exists()

    response = api.post(
        "/v1/publications", {"customer": {"source_id": "ada"}, "campaign": {"name": "Summer"}}, format="json"
    )
    message = fired_for(local_project, distribution, "customer.publication.succeeded")
    assert message.variables["voucher.code"] == response.json()["voucher"]["code"]


def test_a_distribution_never_reacts_to_an_event_it_caused(local_project, ada, endpoint):
    own = live(local_project, "order_paid", endpoint)
    other = live(local_project, "order_paid", endpoint)
    token = use_cause(Cause.distribution(own.public_id))
    try:
        order_upsert(
            project=local_project,
            fields={
                "source_id": "ord-own",
                "status": "PAID",
                "amount": 100,
                "customer": {"source_id": "ada"},
            },
        )
    finally:
        token.var.reset(token)

    fired_for(local_project, other, "customer.order.paid")
    assert not messages_of(local_project, own).exists()


def test_redeeming_and_rolling_back_fire_their_triggers(api, local_project, ada, endpoint):
    summer = make_campaign(local_project, name="Summer", codes_count=1)
    code = summer_code = api.post(
        "/v1/publications", {"customer": {"source_id": "ada"}, "campaign": {"name": "Summer"}}, format="json"
    ).json()["voucher"]["code"]
    redeemed = live(local_project, "voucher_redeemed", endpoint, params={"campaign": summer.public_id})
    rolled_back = live(
        local_project, "redemption_rolled_back", endpoint, params={"campaign": summer.public_id}
    )

    response = redeem(api, code, customer={"source_id": "ada"}, order={"amount": 3000})
    message = fired_for(local_project, redeemed, "customer.redemption.succeeded")
    assert message.variables["voucher.code"] == summer_code

    redemption_id = response.json()["redemptions"][0]["id"]
    assert api.post(f"/v1/redemptions/{redemption_id}/rollback", {}, format="json").status_code == 200
    fired_for(local_project, rolled_back, "customer.redemption.rollback.succeeded")


def test_a_redemption_rolled_back_fires_only_for_the_selected_campaign(api, local_project, ada, endpoint):
    summer = make_campaign(local_project, name="Summer", codes_count=1)
    make_campaign(local_project, name="Winter", codes_count=1)
    codes = {
        name: api.post(
            "/v1/publications", {"customer": {"source_id": "ada"}, "campaign": {"name": name}}, format="json"
        ).json()["voucher"]["code"]
        for name in ("Summer", "Winter")
    }
    redemption_ids = {
        name: redeem(api, code, customer={"source_id": "ada"}, order={"amount": 3000}).json()["redemptions"][
            0
        ]["id"]
        for name, code in codes.items()
    }
    dispatch_all(local_project)
    distribution = live(
        local_project, "redemption_rolled_back", endpoint, params={"campaign": summer.public_id}
    )
    redemptions = Redemption.objects.for_project(local_project)

    redemption_rollback(project=local_project, redemption=redemptions.get(public_id=redemption_ids["Winter"]))
    dispatch_all(local_project)
    assert not messages_of(local_project, distribution).exists()

    redemption_rollback(
        project=local_project,
        redemption=redemptions.get(public_id=redemption_ids["Summer"]),
        reason="Returned",
    )
    message = fired_for(local_project, distribution, "customer.redemption.rollback.succeeded")
    assert (message.variables["voucher.code"], message.variables["event.type"]) == (
        codes["Summer"],
        "customer.redemption.rollback.succeeded",
    )


def test_gift_credits_added_fire_with_the_credits_and_balance(api, local_project, ada, endpoint):
    cards = make_campaign(local_project, name="Gift cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    code = api.post(
        "/v1/publications",
        {"customer": {"source_id": "ada"}, "campaign": {"name": "Gift cards"}},
        format="json",
    ).json()["voucher"]["code"]
    distribution = live(
        local_project,
        "gift_credits_added",
        endpoint,
        params={"campaign": cards.public_id},
        action={"key": "plain_message"},
    )

    assert api.post(f"/v1/vouchers/{code}/balance", {"amount": 2500}, format="json").status_code == 200

    message = fired_for(local_project, distribution, "customer.voucher.gift.balance_added")
    assert (message.variables["gift.credits_added"], message.variables["gift.balance"]) == (2500, 3500)


def test_a_referred_customer_fires_customer_referred(api, local_project, ada, endpoint):
    program = make_campaign(
        local_project, name="Refer a friend", campaign_type="REFERRAL_PROGRAM", codes_count=3
    )
    code = api.post(
        "/v1/publications",
        {"customer": {"source_id": "ada"}, "campaign": {"name": "Refer a friend"}},
        format="json",
    ).json()["voucher"]["code"]
    distribution = live(local_project, "customer_referred", endpoint, params={"campaign": program.public_id})

    assert redeem(api, code, customer={"source_id": "bob"}, order={"amount": 3000}).status_code == 200

    message = fired_for(local_project, distribution, "customer.referred")
    assert message.customer_id == Customer.objects.for_project(local_project).get(source_id="bob").pk


# --- Loyalty --------------------------------------------------------------------------------------


def test_loyalty_points_added_and_a_tier_joined_fire_their_triggers(local_project, ada, endpoint):
    program = make_program(local_project, tiers=[("Silver", 100, None)])
    card = join(local_project, program, customer=ada)
    dispatch_all(local_project)
    points = live(local_project, "loyalty_points_added", endpoint, params={"campaign": program.public_id})
    tier = live(local_project, "tier_joined", endpoint, params={"campaign": program.public_id})

    balance_update(project=local_project, card_id=card.pk, points=150)

    message = fired_for(local_project, points, "customer.voucher.loyalty_card.points_added")
    assert (message.variables["loyalty.points_added"], message.variables["loyalty.points_balance"]) == (
        150,
        150,
    )
    tier_message = fired_for(local_project, tier, "customer.loyalty.tier.joined")
    assert (
        tier_message.variables["loyalty.tier"]
        == the_event(local_project, "customer.loyalty.tier.joined").refs["loyalty_tier"]
    )


def test_a_member_keeping_their_tier_into_a_new_period_fires_tier_prolonged(local_project, ada, endpoint):
    monthly = {
        "qualification_type": "BALANCE",
        "qualification_period": "MONTH",
        "start_date": {"type": "IMMEDIATE"},
        "expiration_date": {"type": "END_OF_PERIOD"},
    }
    program = make_program(local_project, tiers=[("Silver", 100, None)], loyalty_tiers_expiration=monthly)
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=UTC), tick=False):
        card = join(local_project, program, customer=ada)
        balance_update(project=local_project, card_id=card.pk, points=150)
        dispatch_all(local_project)
        distribution = live(local_project, "tier_prolonged", endpoint, params={"campaign": program.public_id})

    with time_machine.travel(datetime(2026, 2, 1, 1, 0, tzinfo=UTC), tick=False):
        settle_due_tiers(project=local_project)  # the end of January: still Silver, for February too

        message = fired_for(local_project, distribution, "customer.loyalty.tier.prolonged")

    assert (
        message.variables["loyalty.tier"]
        == the_event(local_project, "customer.loyalty.tier.prolonged").refs["loyalty_tier"]
    )


def test_publish_codes_gives_the_customer_one_code_per_event_however_often_the_event_is_handled(
    api, local_project, ada, endpoint
):
    summer = make_campaign(local_project, name="Summer", codes_count=3)
    distribution = live(
        local_project,
        "order_paid",
        endpoint,
        action={"key": "publish_codes", "params": {"campaign": summer.public_id}},
    )
    pay(api)
    message = fired_for(local_project, distribution, "customer.order.paid")
    event = the_event(local_project, "customer.order.paid")

    react_to_event(event)  # a redelivered event

    publication = Publication.objects.for_project(local_project).get(distribution_id=distribution.pk)
    assert (publication.customer_id, publication.cause_key) == (ada.pk, event.public_id)
    assert message.variables["voucher.code"] == publication.voucher.code
    assert messages_of(local_project, distribution).count() == 1
