"""What loyalty programs do when customers act: earning rules award points on paid orders and custom
events. Imported by `CampaignsConfig.ready()` so every process (web, worker) registers it."""

from __future__ import annotations

from campaigns.loyalty.earning import CUSTOM_EVENT, apply_earning_rules, apply_earning_rules_many
from campaigns.models import EarningRule
from eventbus.models import DomainEvent
from eventbus.registry import handles


def award_earning_rules_many(events: list[DomainEvent]) -> None:
    apply_earning_rules_many(events)


@handles(
    [EarningRule.ORDER_PAID, CUSTOM_EVENT],
    order=50,
    name="campaigns.loyalty.earning",
    many=award_earning_rules_many,
)
def award_earning_rules(event: DomainEvent) -> None:
    apply_earning_rules(event)
