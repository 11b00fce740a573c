"""The outbox: each action of this area publishes its event exactly once, and no other of them."""

from __future__ import annotations

from collections import Counter

import pytest

from eventbus.models import DomainEvent
from tests.campaigns.factories import make_campaign
from tests.campaigns.redemption_support import redeem

pytestmark = pytest.mark.django_db

TYPES = {
    "customer.redemption.succeeded",
    "customer.redemption.rollback.succeeded",
    "customer.voucher.gift.balance_added",
    "customer.referred",
}


class Outbox:
    def __init__(self, project):
        self.project = project
        self.seen = 0

    def new(self) -> Counter:
        """The events of this area written since the last call, by type."""
        rows = list(DomainEvent.objects.for_project(self.project).filter(pk__gt=self.seen).order_by("pk"))
        if rows:
            self.seen = rows[-1].pk
        return Counter(event.type for event in rows if event.type in TYPES)


def test_each_action_publishes_its_event_once(api, project):
    make_campaign(project, name="Welcome", codes_count=1)
    make_campaign(project, name="Cards", campaign_type="GIFT_VOUCHERS", codes_count=1)
    make_campaign(project, name="Friends", campaign_type="REFERRAL_PROGRAM", codes_count=1)
    outbox = Outbox(project)
    code = api.post(
        "/v1/publications",
        {"customer": {"source_id": "alice"}, "campaign": {"name": "Welcome"}},
        format="json",
    ).json()["voucher"]["code"]
    card = api.post(
        "/v1/publications", {"customer": {"source_id": "alice"}, "campaign": {"name": "Cards"}}, format="json"
    ).json()["voucher"]["code"]
    referral = api.post(
        "/v1/publications",
        {"customer": {"source_id": "alice"}, "campaign": {"name": "Friends"}},
        format="json",
    ).json()["voucher"]["code"]
    assert outbox.new() == {}

    redemption = redeem(api, code, customer={"source_id": "alice"}).json()["redemptions"][0]
    assert outbox.new() == {"customer.redemption.succeeded": 1}

    api.post(f"/v1/redemptions/{redemption['id']}/rollback")
    assert outbox.new() == {"customer.redemption.rollback.succeeded": 1}

    api.post(f"/v1/vouchers/{card}/balance", {"amount": 500}, format="json")
    assert outbox.new() == {"customer.voucher.gift.balance_added": 1}

    redeem(api, referral, customer={"source_id": "bob"})
    assert outbox.new() == {"customer.redemption.succeeded": 1, "customer.referred": 1}

    api.post(
        "/v1/events",
        {"event": "signed_up", "customer": {"source_id": "bob"}, "referral": {"code": referral}},
        format="json",
    )
    assert outbox.new() == {}  # bob was referred already

    # Refusals publish nothing.
    api.post(f"/v1/redemptions/{redemption['id']}/rollback")
    api.post(f"/v1/vouchers/{card}/balance", {"amount": -99999}, format="json")
    redeem(api, referral, customer={"source_id": "alice"})
    assert outbox.new() == {}
