"""The loyalty and segment triggers fire from the real actions: tier moves, points rewarded by an
earning rule, points expiring, a reward redeemed, and a customer leaving a segment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.loyalty.ledger import balance_update, expire_due_points
from campaigns.models import LoyaltyCard, LoyaltyTier
from customers.orders import order_upsert
from distributions.models import Distribution
from eventbus.models import DomainEvent
from segments import sync
from segments.models import SegmentSyncJob
from segments.services import segment_create
from tests.campaigns.loyalty.support import api_join, join, make_program
from tests.distributions.engine_support import automatic, create_and_send, dispatch_all, messages_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def live(project, trigger, endpoint, **params) -> Distribution:
    return create_and_send(project, automatic(trigger, endpoint, params=params))


def fired(project, distribution, event_type) -> list:
    dispatch_all(project)
    keys = set(
        DomainEvent.objects.for_project(project).filter(type=event_type).values_list("public_id", flat=True)
    )
    messages = list(messages_of(project, distribution))
    assert keys and {m.cause_key for m in messages} == keys
    return messages


def test_tier_moves_fire_joined_upgraded_downgraded_and_left_filtered_by_tier(local_project, endpoint):
    program = make_program(local_project, tiers=[("Silver", 100, 499), ("Gold", 500, None)])
    gold = LoyaltyTier.objects.for_project(local_project).get(name="Gold")
    card = join(local_project, program, customer=CustomerFactory(project=local_project, source_id="ada"))
    dispatch_all(local_project)
    campaign = program.public_id
    joined = live(local_project, "tier_joined", endpoint, campaign=campaign)
    upgraded_to_gold = live(
        local_project, "tier_upgraded", endpoint, campaign=campaign, loyalty_tier=gold.public_id
    )
    downgraded = live(local_project, "tier_downgraded", endpoint, campaign=campaign)
    left = live(local_project, "tier_left", endpoint, campaign=campaign)

    for points in (150, 400, -300, -240):  # Silver, Gold, Silver, none
        balance_update(project=local_project, card_id=card.pk, points=points)

    fired(local_project, joined, "customer.loyalty.tier.joined")
    [to_gold] = fired(local_project, upgraded_to_gold, "customer.loyalty.tier.upgraded")
    assert to_gold.variables["loyalty.tier"] == gold.public_id
    fired(local_project, downgraded, "customer.loyalty.tier.downgraded")
    fired(local_project, left, "customer.loyalty.tier.left")


def test_points_rewarded_by_an_earning_rule_fire_with_the_points(api, local_project, endpoint):
    program = make_program(local_project)
    api_join(api, program, "ada")
    rule = {"event": "customer.order.paid", "loyalty": {"type": "FIXED", "points": 25}}
    assert (
        api.post(f"/v1/loyalties/{program.public_id}/earning-rules", [rule], format="json").status_code == 200
    )
    dispatch_all(local_project)
    distribution = live(local_project, "tier_points_rewarded", endpoint, campaign=program.public_id)

    order_upsert(
        project=local_project,
        fields={"source_id": "o-1", "status": "PAID", "amount": 1000, "customer": {"source_id": "ada"}},
    )

    [message] = fired(local_project, distribution, "customer.rewarded.loyalty_points")
    assert message.variables["loyalty.points_added"] == 25


def test_expiring_points_fire_points_expired(api, local_project, endpoint):
    expiry = {"period_type": "MONTH", "period_value": 1, "rounding_type": "END_OF_MONTH"}
    program = make_program(local_project, expiration_rules=expiry)
    with time_machine.travel(datetime(2026, 1, 15, tzinfo=UTC), tick=False):
        code = api_join(api, program, "ada")["code"]
        card = LoyaltyCard.objects.for_project(local_project).get(voucher__code=code)
        balance_update(project=local_project, card_id=card.pk, points=40)
    dispatch_all(local_project)
    distribution = live(local_project, "loyalty_points_expired", endpoint, campaign=program.public_id)

    with time_machine.travel(datetime(2026, 5, 1, 3, 0, tzinfo=UTC), tick=False):
        assert expire_due_points(project=local_project) == 40

    fired(local_project, distribution, "customer.voucher.loyalty_card.points_expired")


def test_a_reward_redeemed_fires_with_the_reward(api, local_project, endpoint):
    program = make_program(local_project)
    reward = api.post(
        "/v1/rewards", {"name": "Mug", "parameters": {"product": {"id": "prod_mug"}}}, format="json"
    ).json()
    api.post(
        f"/v1/rewards/{reward['id']}/assignments",
        {"campaign": program.public_id, "parameters": {"loyalty": {"points": 30}}},
        format="json",
    )
    code = api_join(api, program, "ada")["code"]
    card = LoyaltyCard.objects.for_project(local_project).get(voucher__code=code)
    balance_update(project=local_project, card_id=card.pk, points=50)
    dispatch_all(local_project)
    distribution = live(local_project, "reward_redeemed", endpoint, campaign=program.public_id)

    response = api.post(
        f"/v1/loyalties/{program.public_id}/members/{code}/redemption",
        {"reward": {"id": reward["id"]}},
        format="json",
    )

    assert response.status_code == 200, response.content
    [message] = fired(local_project, distribution, "customer.reward_redemptions.completed")
    assert (message.variables["reward.name"], message.variables["reward.value"]) == (reward["id"], 30)


def test_leaving_a_segment_fires_segment_left(local_project, endpoint, django_capture_on_commit_callbacks):
    spenders = {"summary.orders.total_amount": {"conditions": {"$more_than": [10000]}}}
    segment = segment_create(project=local_project, name="Big spenders", type="auto-update", filter=spenders)
    sync.sync_job_run(SegmentSyncJob.objects.for_project(local_project).get(segment=segment).pk)
    CustomerFactory(project=local_project, source_id="ada")
    order = {"source_id": "big", "status": "PAID", "amount": 20000, "customer": {"source_id": "ada"}}
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(project=local_project, fields=order)
        dispatch_all(local_project)
    distribution = live(local_project, "segment_left", endpoint, segment=segment.public_id)

    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(project=local_project, fields={**order, "status": "CANCELED"})
        dispatch_all(local_project)

    fired(local_project, distribution, "customer.segment.left")
