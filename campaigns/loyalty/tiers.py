"""Tiers: points ranges of a program, and which one each member holds.

`settle_tiers` is the one place a member's tier changes. It runs after every change of a card's
points (with the card locked), when tiers are created, and from the beat sweep for tiers whose
guaranteed period ended; it works on a list of cards in a fixed number of queries and publishes one
event per change: `customer.loyalty.tier.joined` (no tier → a tier), `.left` (a tier → none),
`.upgraded`, `.downgraded`, and `.prolonged` (the tier's period ended and the member still qualifies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.periods import TierPolicy
from campaigns.models import Campaign, LoyaltyCard, LoyaltyTier, LoyaltyTransaction
from eventbus.services import publish_many
from tenancy.ids import new_public_id
from tenancy.models import Project

JOINED = "customer.loyalty.tier.joined"
LEFT = "customer.loyalty.tier.left"
UPGRADED = "customer.loyalty.tier.upgraded"
DOWNGRADED = "customer.loyalty.tier.downgraded"
PROLONGED = "customer.loyalty.tier.prolonged"
TIER_EVENTS = (JOINED, LEFT, UPGRADED, DOWNGRADED, PROLONGED)
COLLECTED_KINDS = (LoyaltyTransaction.Kind.POINTS_ADDED, LoyaltyTransaction.Kind.POINTS_ACCRUED)
SETTLE_BATCH = 1000


def campaign_tiers(project: Project, campaign: Campaign) -> list[LoyaltyTier]:
    return list(
        LoyaltyTier.objects.for_project(project).filter(campaign=campaign).order_by("points_from", "pk")
    )


@transaction.atomic
def tiers_create(
    *, project: Project, campaign: Campaign, items: Sequence[Mapping[str, Any]]
) -> list[LoyaltyTier]:
    """Add tiers to a program (`POST /v1/loyalties/{campaignId}/tiers`) and settle every member's tier.

    Ranges must not overlap each other or the program's existing tiers: a member holds one tier.
    """
    Campaign.objects.for_project(project).select_for_update().get(pk=campaign.pk)  # one tier writer at a time
    existing = campaign_tiers(project, campaign)
    ranges = [(tier.points_from, tier.points_to, tier.name) for tier in existing]
    now = timezone.now()
    tiers = []
    for index, item in enumerate(items):
        points = item.get("points") or {}
        low, high = points.get("from"), points.get("to")
        if low is None:
            raise LoyaltyRefused("invalid_payload", f"[{index}].points.from is required.")
        if high is not None and high < low:
            raise LoyaltyRefused("invalid_payload", f"[{index}].points.to must not be below points.from.")
        for other_low, other_high, other_name in ranges:
            if (high is None or high >= other_low) and (other_high is None or other_high >= low):
                raise LoyaltyRefused(
                    "invalid_payload",
                    f"[{index}] ({item['name']}) overlaps the points range of tier {other_name}.",
                )
        ranges.append((low, high, item["name"]))
        tiers.append(
            LoyaltyTier(
                project=project,
                public_id=new_public_id("ltr", 24),
                campaign=campaign,
                name=item["name"],
                points_from=low,
                points_to=high,
                earning_rules=item.get("earning_rules") or {},
                rewards=item.get("rewards") or {},
                metadata=item.get("metadata") or {},
                created_at=now,
            )
        )
    LoyaltyTier.objects.bulk_create(tiers)
    _settle_all_members(project, campaign)
    return tiers


def _settle_all_members(project: Project, campaign: Campaign) -> None:
    last = 0
    while True:
        card_ids = list(
            LoyaltyCard.objects.for_project(project)
            .filter(campaign=campaign, pk__gt=last)
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)[:SETTLE_BATCH]
        )
        if not card_ids:
            return
        settle_tiers(project, card_ids)
        last = card_ids[-1]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _collected(project: Project, card_ids: Sequence[int], start: date, end: date) -> dict[int, int]:
    """Points added or earned per card from `start` to `end` (inclusive days)."""
    rows = (
        LoyaltyTransaction.objects.for_project(project)
        .filter(
            card_id__in=list(card_ids),
            kind__in=COLLECTED_KINDS,
            points__gt=0,
            created_at__gte=_day_start(start),
            created_at__lt=_day_start(end + timedelta(days=1)),
        )
        .values("card_id")
        .annotate(total=Sum("points"))
        .values_list("card_id", "total")
    )
    return dict(rows)


def _tier_for(tiers: list[LoyaltyTier], points: int) -> LoyaltyTier | None:
    matching = [tier for tier in tiers if tier.contains(points)]
    return matching[-1] if matching else None


def qualifying_points(
    project: Project, cards: Sequence[LoyaltyCard], policies: Mapping[int, TierPolicy], on: date
) -> dict[int, int]:
    """card id → the points its tier is decided by: the balance, or the points collected in the period
    (for a tier whose period just ended, the better of this period and the one that ended)."""
    result = {card.pk: card.voucher.loyalty_balance or 0 for card in cards}
    in_period = [card for card in cards if policies[card.campaign_id].by_points_in_period]
    by_campaign: dict[int, list[LoyaltyCard]] = defaultdict(list)
    for card in in_period:
        by_campaign[card.campaign_id].append(card)
    for campaign_id, members in by_campaign.items():
        policy = policies[campaign_id]
        current = _collected(project, [c.pk for c in members], policy.period_start(on), on)
        ended = [c for c in members if c.tier_expires_at is not None and c.tier_expires_at < on]
        previous: dict[int, int] = {}
        for expiry in {c.tier_expires_at for c in ended}:
            ids = [c.pk for c in ended if c.tier_expires_at == expiry]
            previous.update(_collected(project, ids, policy.period_start(expiry), expiry))
        for card in members:
            result[card.pk] = max(current.get(card.pk, 0), previous.get(card.pk, 0))
    return result


def settle_tiers(
    project: Project, card_ids: Sequence[int], *, on: date | None = None
) -> list[tuple[str, int]]:
    """Give each card (locked by the caller) the tier its points qualify for under its program's
    `loyalty_tiers_expiration`, publishing one tier event per change. Returns (event type, card id)."""
    on = on or timezone.now().date()
    cards = list(
        LoyaltyCard.objects.for_project(project)
        .filter(pk__in=list(card_ids))
        .select_related("voucher", "campaign", "customer", "tier")
        .order_by("pk")
    )
    if not cards:
        return []
    campaigns = {card.campaign_id: card.campaign for card in cards}
    tiers: dict[int, list[LoyaltyTier]] = defaultdict(list)
    for tier in (
        LoyaltyTier.objects.for_project(project)
        .filter(campaign_id__in=list(campaigns))
        .order_by("points_from", "pk")
    ):
        tiers[tier.campaign_id].append(tier)
    policies = {pk: TierPolicy(campaign.loyalty_tiers_expiration) for pk, campaign in campaigns.items()}
    points = qualifying_points(project, cards, policies, on)
    now = timezone.now()
    changed: list[LoyaltyCard] = []
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    outcome = []
    for card in cards:
        decision = _decide(card, tiers[card.campaign_id], policies[card.campaign_id], points[card.pk], on)
        if decision is None:
            continue
        event_type, new_tier, expires_at = decision
        previous = card.tier
        card.tier = new_tier
        if new_tier != previous:
            card.tier_since = on if new_tier is not None else None
        card.tier_expires_at = expires_at
        card.updated_at = now
        changed.append(card)
        events[event_type].append(_event(card, event_type, previous, new_tier, points[card.pk], now))
        outcome.append((event_type, card.pk))
    if changed:
        LoyaltyCard.objects.for_project(project).bulk_update(
            changed, ["tier", "tier_since", "tier_expires_at", "updated_at"]
        )
        for event_type, items in events.items():
            publish_many(project, event_type, items)
    return outcome


def _decide(
    card: LoyaltyCard, tiers: list[LoyaltyTier], policy: TierPolicy, points: int, on: date
) -> tuple[str, LoyaltyTier | None, date | None] | None:
    candidate = _tier_for(tiers, points)
    current = card.tier
    rank = {tier.pk: index for index, tier in enumerate(tiers)}
    period_ended = card.tier_expires_at is not None and card.tier_expires_at < on
    guaranteed = card.tier_expires_at is not None and not period_ended
    if current is None:
        return (JOINED, candidate, policy.tier_expiry(on)) if candidate is not None else None
    if candidate is not None and rank[candidate.pk] > rank.get(current.pk, -1):
        return UPGRADED, candidate, policy.tier_expiry(on)
    if candidate is not None and candidate.pk == current.pk:
        return (PROLONGED, current, policy.tier_expiry(on)) if period_ended else None
    if guaranteed:
        return None
    if candidate is None:
        return LEFT, None, None
    return DOWNGRADED, candidate, policy.tier_expiry(on)


def _event(
    card: LoyaltyCard,
    event_type: str,
    previous: LoyaltyTier | None,
    new_tier: LoyaltyTier | None,
    points: int,
    now: datetime,
) -> dict[str, Any]:
    refs: dict[str, Any] = {"campaign": card.campaign, "voucher": card.voucher}
    if event_type in (UPGRADED, DOWNGRADED):
        refs["loyalty_tier_from"] = previous
        refs["loyalty_tier_to"] = new_tier
    else:
        refs["loyalty_tier"] = new_tier if new_tier is not None else previous
    return {
        "customer": card.customer,
        "refs": refs,
        "data": {
            "points": points,
            "created_at": now.isoformat(),
            "expiration_date": card.tier_expires_at.isoformat() if card.tier_expires_at else None,
        },
    }


def settle_due_tiers(*, project: Project, on: date | None = None, batch_size: int = SETTLE_BATCH) -> int:
    """The beat sweep: members whose guaranteed tier period ended before `on` are prolonged, moved down
    or out. Cards another transaction holds are skipped and left for the next run. Returns how many
    cards were settled."""
    on = on or timezone.now().date()
    total = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    SELECT id FROM campaigns_loyaltycard
                    WHERE project_id = %s AND tier_expires_at IS NOT NULL AND tier_expires_at < %s
                    ORDER BY tier_expires_at, id
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED
                    """,
                    [project.pk, on, batch_size],
                )
                card_ids = [row[0] for row in cursor.fetchall()]
            if not card_ids:
                return total
            settle_tiers(project, card_ids, on=on)
            total += len(card_ids)
        if len(card_ids) < batch_size:
            return total


def member_tier_leave(project: Project, card: LoyaltyCard) -> None:
    """The member leaves the program: their tier (if any) is left, once."""
    if card.tier_id is None:
        return
    previous = card.tier
    LoyaltyCard.objects.for_project(project).filter(pk=card.pk).update(
        tier=None, tier_since=None, tier_expires_at=None, updated_at=timezone.now()
    )
    publish_many(
        project, LEFT, [_event(card, LEFT, previous, None, card.voucher.loyalty_balance or 0, timezone.now())]
    )
