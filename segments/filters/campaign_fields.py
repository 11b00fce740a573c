"""Filter fields whose data the campaigns app keeps: redemption summaries, loyalty points and tiers.

Each is a correlated subquery on the customer row (`OuterRef("pk")`, `OuterRef("project")`), so a
filter that names them still compiles to one SQL query, and the real-time re-check runs it for one
customer like any other field.

- `summary.redemptions.<metric>`: the counts of the customer object's `summary.redemptions`
  (campaigns/customer_summaries.py), computed the same way: a stacked parent is not a redemption of
  its own, a rollback is counted by its rollback row. Also `gift.redeemed_amount` (cents taken from
  gift cards by successful redemptions) and `gift.amount_to_go` (the balance of the gift cards
  published to the customer).
- `loyalty_points.campaigns.<campaign>.points`: the balance of the customer's card in that loyalty
  program. A customer who is not a member has no balance: comparisons do not hold for them,
  `$is_not` / `$not_in` do, and `$has_value` / `$is_unknown` test membership itself. These and the
  tiers compile to `EXISTS` over the cards, not to a subquery per customer (see `_per_card`).
- `loyalty_tier.campaigns.<campaign>.tier`: the id (`ltr_…`) of the tier the member holds; none for
  a member below every tier or a non-member.

`<campaign>` is the program's name, or its id (`camp_…`), as everywhere Voucherify names a campaign.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.aggregates import Count
from django.db.models.functions import Coalesce
from django.db.models.lookups import IsNull

from segments.filters.errors import FilterError
from segments.filters.operators import (
    COUNT_OPERATORS,
    NUMBER_OPERATORS,
    STRING_OPERATORS,
    Context,
    Kind,
    Operator,
    Target,
)
from segments.filters.values import Operand

if TYPE_CHECKING:
    from segments.filters.fields import Field

REDEMPTION_METRICS = [
    "total_redeemed",
    "total_failed",
    "total_succeeded",
    "total_rolled_back",
    "total_rollback_failed",
    "total_rollback_succeeded",
]
GIFT_METRICS = ["gift.redeemed_amount", "gift.amount_to_go"]


def _membership_known(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return Q(IsNull(t.expression, False))


def _membership_unknown(t: Target, o: Operand, c: Context) -> Q:
    o.ignored()
    return Q(IsNull(t.expression, True))


PRESENCE_OPERATORS = {"$has_value": Operator(_membership_known), "$is_unknown": Operator(_membership_unknown)}
POINTS_OPERATORS = {**NUMBER_OPERATORS, **PRESENCE_OPERATORS}
TIER_OPERATORS = {
    name: STRING_OPERATORS[name] for name in ("$is", "$is_not", "$in", "$not_in", "$has_value", "$is_unknown")
}


def _redemption_rows(metric: str) -> QuerySet:
    from campaigns.models import Redemption

    rows = Redemption.objects.unscoped().filter(project=OuterRef("project"), customer=OuterRef("pk"))
    redeemed = Q(object=Redemption.Object.REDEMPTION) & ~Q(related_object_type="redemption")
    rollback = Q(object=Redemption.Object.ROLLBACK) & ~Q(related_object_type="redemption")
    return rows.filter(
        {
            "total_redeemed": redeemed,
            "total_failed": redeemed & Q(result=Redemption.Result.FAILURE),
            "total_succeeded": redeemed & Q(result=Redemption.Result.SUCCESS),
            "total_rolled_back": redeemed & Q(status=Redemption.Status.ROLLED_BACK),
            "total_rollback_failed": rollback & Q(result=Redemption.Result.FAILURE),
            "total_rollback_succeeded": rollback & Q(result=Redemption.Result.SUCCESS),
            "gift.redeemed_amount": redeemed
            & Q(status=Redemption.Status.SUCCEEDED, voucher__type="GIFT_VOUCHER"),
        }[metric]
    )


def _summed(rows: QuerySet, group_by: str, value: Any) -> Coalesce:
    summed = rows.order_by().values(group_by).annotate(total=value).values("total")
    return Coalesce(Subquery(summed, output_field=BigIntegerField()), Value(0))


def redemption_summary(match: re.Match, options: Mapping[str, Any], context: Context) -> Field:
    from campaigns.models import Publication
    from segments.filters.fields import Field

    metric = match.group("metric")
    if metric in REDEMPTION_METRICS:
        rows = _redemption_rows(metric)
        target = Target(Kind.NUMBER, _summed(rows, "customer", Count("*")), exists_expression=Exists(rows))
        return Field(target, COUNT_OPERATORS)
    if metric == "gift.redeemed_amount":
        rows = _redemption_rows(metric)
        return Field(Target(Kind.NUMBER, _summed(rows, "customer", Sum("amount"))), NUMBER_OPERATORS)
    if metric == "gift.amount_to_go":
        cards = Publication.objects.unscoped().filter(
            project=OuterRef("project"), customer=OuterRef("pk"), voucher__type="GIFT_VOUCHER"
        )
        return Field(
            Target(Kind.NUMBER, _summed(cards, "customer", Sum("voucher__gift_balance"))), NUMBER_OPERATORS
        )
    known = ", ".join(REDEMPTION_METRICS + GIFT_METRICS)
    raise FilterError(
        f"is not a redemption summary a filter can use (use one of {known})", field=match.group(0)
    )


def _card_of(campaign: str, field: str) -> QuerySet:
    """The customer's card in the program named `campaign` (a name, or an id `camp_…`).

    A customer holds one card per program; should one program's name be another's id, a card of
    either counts."""
    from campaigns.models import LoyaltyCard

    if not 1 <= len(campaign) <= 255:
        raise FilterError("the campaign name must have 1 to 255 characters", field=field)
    program = Q(campaign__name=campaign)
    if campaign.startswith("camp_"):
        program |= Q(campaign__public_id=campaign)
    return LoyaltyCard.objects.unscoped().filter(
        program, project=OuterRef("project"), customer=OuterRef("pk")
    )


def _per_card(
    cards: QuerySet, value: Any, kind: Kind, positive: dict[str, Operator], negations: dict[str, str]
) -> dict[str, Operator]:
    """Operators on a value of the customer's card, each an `EXISTS` (or `NOT EXISTS`) over the cards.

    Not a scalar subquery compared outside (`(SELECT balance … LIMIT 1) >= 500`): PostgreSQL can only
    run that once per customer, while an `EXISTS` becomes a semi-join (an anti-join for `NOT EXISTS`)
    that a sync runs as one hash join over the program's cards and a re-check of one customer as
    an index lookup. A negated operator is the `NOT EXISTS` of its positive one, so a customer
    without a card (or without a value on it) passes it, and the condition is never NULL.
    """
    rows = cards.annotate(card_value=value)
    inner = Target(kind, F("card_value"))

    def holds(operator: Operator) -> Operator:
        return Operator(lambda t, o, c: Q(Exists(rows.filter(operator.build(inner, o, c)))))

    def fails(operator: Operator) -> Operator:
        return Operator(lambda t, o, c: ~Q(Exists(rows.filter(operator.build(inner, o, c)))))

    return {
        **{name: holds(operator) for name, operator in positive.items()},
        **{name: fails(positive[of]) for name, of in negations.items()},
    }


NEGATIONS = {"$is_not": "$is", "$not_in": "$in", "$is_unknown": "$has_value"}


def loyalty_points(match: re.Match, options: Mapping[str, Any], context: Context) -> Field:
    from segments.filters.fields import Field

    card = _card_of(match.group("campaign"), match.group(0))
    positive = {name: POINTS_OPERATORS[name] for name in POINTS_OPERATORS if name not in NEGATIONS}
    operators = _per_card(
        card, Coalesce("voucher__loyalty_balance", Value(0)), Kind.NUMBER, positive, NEGATIONS
    )
    # The operators read the card themselves; the target names only the kind.
    return Field(Target(Kind.NUMBER, F("pk")), operators)


def loyalty_tier(match: re.Match, options: Mapping[str, Any], context: Context) -> Field:
    from segments.filters.fields import Field

    card = _card_of(match.group("campaign"), match.group(0))
    positive = {name: TIER_OPERATORS[name] for name in TIER_OPERATORS if name not in NEGATIONS}
    operators = _per_card(card, F("tier__public_id"), Kind.STRING, positive, NEGATIONS)
    return Field(Target(Kind.STRING, F("pk")), operators)
