"""The points ledger: buckets that expire, transactions that record every movement, and the card's
balance on its voucher.

Every function here expects the card locked by `lock_card` in the caller's transaction: the lock is
what keeps two concurrent changes of one card from both reading the same buckets. The voucher's
counters move by increments (never by writing back a value read earlier), and a subtraction is
refused inside the UPDATE itself if it would go below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.periods import points_expiry
from campaigns.models import LoyaltyCard, LoyaltyPointsBucket, LoyaltyTransaction, Voucher
from eventbus.services import publish, publish_many
from tenancy.ids import new_public_id
from tenancy.models import Project

POINTS_ADDED_EVENT = "customer.voucher.loyalty_card.points_added"
POINTS_EXPIRED_EVENT = "customer.voucher.loyalty_card.points_expired"
EXPIRY_BATCH = 1000

Kind = LoyaltyTransaction.Kind


def today() -> date:
    return timezone.now().date()


def lock_card(project: Project, card_id: int) -> LoyaltyCard:
    """The card, locked until the transaction ends, with its voucher, campaign and customer."""
    return (
        LoyaltyCard.objects.for_project(project)
        .select_for_update(of=("self",))
        .select_related("voucher", "campaign", "customer", "tier")
        .get(pk=card_id)
    )


@dataclass
class Movement:
    transaction: LoyaltyTransaction
    points: int  # lifetime points added, after the movement
    balance: int
    created: bool = True  # False: the same cause had already moved these points


def _move_voucher(project: Project, voucher_id: int, delta: int, *, added: int) -> tuple[int, int] | None:
    """Add `delta` to the balance (and `added` to the lifetime points); None if it would go below zero."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE campaigns_voucher
            SET loyalty_balance = coalesce(loyalty_balance, 0) + %(delta)s,
                loyalty_points = coalesce(loyalty_points, 0) + %(added)s,
                updated_at = %(now)s
            WHERE project_id = %(project)s AND id = %(voucher)s
              AND coalesce(loyalty_balance, 0) + %(delta)s >= 0
            RETURNING loyalty_points, loyalty_balance
            """,
            {
                "delta": delta,
                "added": added,
                "now": timezone.now(),
                "project": project.pk,
                "voucher": voucher_id,
            },
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def _existing_movement(project: Project, card: LoyaltyCard, cause_key: str) -> Movement | None:
    done = LoyaltyTransaction.objects.for_project(project).filter(card=card, cause_key=cause_key).first()
    if done is None:
        return None
    voucher = (
        Voucher.objects.for_project(project).only("loyalty_points", "loyalty_balance").get(pk=card.voucher_id)
    )
    return Movement(done, voucher.loyalty_points or 0, voucher.loyalty_balance or 0, created=False)


def _record(
    project: Project,
    card: LoyaltyCard,
    *,
    kind: str,
    points: int,
    balance_after: int,
    reason: str | None = None,
    source_id: str | None = None,
    cause_key: str | None = None,
    earning_rule: Any = None,
) -> LoyaltyTransaction:
    return LoyaltyTransaction.objects.create(
        project=project,
        public_id=new_public_id("vtx", 24),
        card=card,
        campaign_id=card.campaign_id,
        kind=kind,
        points=points,
        balance_after=balance_after,
        reason=reason,
        source_id=source_id,
        cause_key=cause_key,
        earning_rule=earning_rule,
    )


def add_points(
    project: Project,
    card: LoyaltyCard,
    points: int,
    *,
    kind: str,
    expires_at: date | None | str = "PROGRAM_RULES",
    reason: str | None = None,
    source_id: str | None = None,
    cause_key: str | None = None,
    earning_rule: Any = None,
) -> Movement:
    """A new bucket of `points` (> 0) on the locked card. `expires_at` "PROGRAM_RULES" applies the
    campaign's expiration rules; a date or None (never) overrides them. A `cause_key` already used on
    this card moves nothing and returns the earlier movement."""
    if cause_key is not None:
        done = _existing_movement(project, card, cause_key)
        if done is not None:
            return done
    if expires_at == "PROGRAM_RULES":
        expires_at = points_expiry((card.campaign.loyalty_card or {}).get("expiration_rules"), today())
    LoyaltyPointsBucket.objects.create(
        project=project,
        public_id=new_public_id("lopb", 24),
        card=card,
        campaign_id=card.campaign_id,
        total_points=points,
        remaining_points=points,
        expires_at=expires_at,
    )
    lifetime, balance = _move_voucher(project, card.voucher_id, points, added=points)
    entry = _record(
        project,
        card,
        kind=kind,
        points=points,
        balance_after=balance,
        reason=reason,
        source_id=source_id,
        cause_key=cause_key,
        earning_rule=earning_rule,
    )
    return Movement(entry, lifetime, balance)


def take_points(
    project: Project,
    card: LoyaltyCard,
    points: int,
    *,
    kind: str,
    reason: str | None = None,
    source_id: str | None = None,
    cause_key: str | None = None,
) -> Movement:
    """Remove `points` (> 0) from the locked card, soonest-expiring buckets first (never-expiring last).

    Refused with `loyalty_card_points_exceeded` when the card holds fewer points; nothing moves then.
    """
    if cause_key is not None:
        done = _existing_movement(project, card, cause_key)
        if done is not None:
            return done
    buckets = list(
        LoyaltyPointsBucket.objects.for_project(project)
        .filter(card=card, remaining_points__gt=0)
        .order_by(F("expires_at").asc(nulls_last=True), "created_at", "pk")
    )
    available = sum(bucket.remaining_points for bucket in buckets)
    if available < points:
        raise LoyaltyRefused(
            "loyalty_card_points_exceeded",
            f"Loyalty card {card.voucher.code} has {available} points; {points} cannot be taken.",
        )
    left = points
    now = timezone.now()
    changed = []
    for bucket in buckets:
        if left == 0:
            break
        used = min(bucket.remaining_points, left)
        bucket.remaining_points -= used
        bucket.updated_at = now
        left -= used
        changed.append(bucket)
    LoyaltyPointsBucket.objects.for_project(project).bulk_update(changed, ["remaining_points", "updated_at"])
    moved = _move_voucher(project, card.voucher_id, -points, added=0)
    if moved is None:  # the buckets and the voucher disagree: refuse rather than go below zero
        raise LoyaltyRefused(
            "loyalty_card_points_exceeded", f"Loyalty card {card.voucher.code} cannot go below zero points."
        )
    LoyaltyCard.objects.for_project(project).filter(pk=card.pk).update(
        subtracted_points=F("subtracted_points") + points, updated_at=now
    )
    entry = _record(
        project,
        card,
        kind=kind,
        points=-points,
        balance_after=moved[1],
        reason=reason,
        source_id=source_id,
        cause_key=cause_key,
    )
    return Movement(entry, moved[0], moved[1])


def balance_update(
    *,
    project: Project,
    card_id: int,
    points: int,
    expiration_type: str | None = None,
    expiration_date: date | None = None,
    reason: str | None = None,
    source_id: str | None = None,
) -> Movement:
    """`POST /v1/loyalties/{campaignId}/members/{memberId}/balance`: add (points > 0) or subtract.

    Adding publishes `customer.voucher.loyalty_card.points_added`; either way the member's tier is
    settled. The same `source_id` twice on one card moves the points once.
    """
    from campaigns.loyalty.tiers import settle_tiers

    if points == 0:
        raise LoyaltyRefused("invalid_add_balance_params", "points must not be 0.")
    with transaction.atomic():
        card = lock_card(project, card_id)
        expire_due_on_cards(project, [card.pk])
        cause_key = f"source:{source_id}" if source_id else None
        if points > 0:
            expires_at: date | None | str = "PROGRAM_RULES"
            if expiration_type == "NON_EXPIRING":
                expires_at = None
            elif expiration_type == "CUSTOM_DATE":
                expires_at = expiration_date
            movement = add_points(
                project,
                card,
                points,
                kind=Kind.POINTS_ADDED,
                expires_at=expires_at,
                reason=reason,
                source_id=source_id,
                cause_key=cause_key,
            )
            if movement.created:
                publish(
                    project,
                    POINTS_ADDED_EVENT,
                    customer=card.customer,
                    refs={
                        "campaign": card.campaign,
                        "voucher": card.voucher,
                        "transaction": movement.transaction,
                    },
                    data={"points": points, "balance": movement.balance, "total": movement.points},
                )
        else:
            movement = take_points(
                project,
                card,
                -points,
                kind=Kind.POINTS_REMOVED,
                reason=reason,
                source_id=source_id,
                cause_key=cause_key,
            )
        settle_tiers(project, [card.pk])
    return movement


# --- Expiry ------------------------------------------------------------------------------------------

_EXPIRE_SQL = """
WITH due AS (
    SELECT id, remaining_points
    FROM campaigns_loyaltypointsbucket
    WHERE project_id = %(project)s AND card_id = ANY(%(cards)s::bigint[])
      AND remaining_points > 0 AND expires_at IS NOT NULL AND expires_at < %(today)s
    FOR UPDATE
),
expired AS (
    UPDATE campaigns_loyaltypointsbucket b
    SET remaining_points = 0, status = 'EXPIRED', updated_at = %(now)s
    FROM due
    WHERE b.id = due.id
    RETURNING b.card_id, b.public_id, b.expires_at, due.remaining_points AS points
)
SELECT card_id, sum(points)::bigint,
       json_agg(json_build_object('id', public_id, 'expires_at', expires_at, 'points', points)
                ORDER BY expires_at)
FROM expired
GROUP BY card_id
ORDER BY card_id
"""

_EXPIRE_VOUCHERS_SQL = """
UPDATE campaigns_voucher v
SET loyalty_balance = coalesce(v.loyalty_balance, 0) - x.points, updated_at = %(now)s
FROM unnest(%(vouchers)s::bigint[], %(points)s::bigint[]) AS x(voucher_id, points)
WHERE v.project_id = %(project)s AND v.id = x.voucher_id
RETURNING v.id, v.loyalty_balance
"""

_EXPIRE_CARDS_SQL = """
UPDATE campaigns_loyaltycard c
SET expired_points = c.expired_points + x.points, updated_at = %(now)s
FROM unnest(%(cards)s::bigint[], %(points)s::bigint[]) AS x(card_id, points)
WHERE c.project_id = %(project)s AND c.id = x.card_id
"""


def expire_due_on_cards(project: Project, card_ids: Sequence[int], *, on: date | None = None) -> int:
    """Expire the due buckets of the given cards (locked by the caller), in a few statements whatever
    their number: one `points_expired` event and one transaction per card. Returns the points expired."""
    on = on or today()
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL, {"project": project.pk, "cards": list(card_ids), "today": on, "now": now})
        rows = cursor.fetchall()
    if not rows:
        return 0
    cards = {
        card.pk: card
        for card in LoyaltyCard.objects.for_project(project)
        .filter(pk__in=[row[0] for row in rows])
        .select_related("voucher", "campaign", "customer")
    }
    points_by_card = {card_id: points for card_id, points, _ in rows}
    with connection.cursor() as cursor:
        cursor.execute(
            _EXPIRE_VOUCHERS_SQL,
            {
                "project": project.pk,
                "now": now,
                "vouchers": [cards[card_id].voucher_id for card_id in points_by_card],
                "points": list(points_by_card.values()),
            },
        )
        balances = dict(cursor.fetchall())
        cursor.execute(
            _EXPIRE_CARDS_SQL,
            {
                "project": project.pk,
                "now": now,
                "cards": list(points_by_card),
                "points": list(points_by_card.values()),
            },
        )
    entries = LoyaltyTransaction.objects.bulk_create(
        [
            LoyaltyTransaction(
                project=project,
                public_id=new_public_id("vtx", 24),
                card_id=card_id,
                campaign_id=cards[card_id].campaign_id,
                kind=Kind.POINTS_EXPIRED,
                points=-points,
                balance_after=balances[cards[card_id].voucher_id],
                created_at=now,
            )
            for card_id, points in points_by_card.items()
        ]
    )
    buckets_by_card = {card_id: buckets for card_id, _, buckets in rows}
    publish_many(
        project,
        POINTS_EXPIRED_EVENT,
        [
            {
                "customer": cards[entry.card_id].customer,
                "refs": {
                    "campaign": cards[entry.card_id].campaign,
                    "voucher": cards[entry.card_id].voucher,
                    "transaction": entry,
                },
                "data": {
                    "points": -entry.points,
                    "balance": entry.balance_after,
                    "buckets": buckets_by_card[entry.card_id],
                },
            }
            for entry in entries
        ],
    )
    return sum(points_by_card.values())


def expire_due_points(*, project: Project, on: date | None = None, batch_size: int = EXPIRY_BATCH) -> int:
    """The beat sweep for one project: expire every bucket due before `on` (today), a batch of cards per
    transaction, and settle the tiers the expiry changes. Cards locked by a concurrent change or a
    concurrent sweep are skipped (`SKIP LOCKED`) and left for the next run, so two sweeps never expire
    the same bucket. Returns the points expired."""
    from campaigns.loyalty.tiers import settle_tiers

    on = on or today()
    total = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    """
                    SELECT c.id FROM campaigns_loyaltycard c
                    WHERE c.project_id = %(project)s AND c.id IN (
                        SELECT DISTINCT card_id FROM campaigns_loyaltypointsbucket
                        WHERE project_id = %(project)s AND remaining_points > 0
                          AND expires_at IS NOT NULL AND expires_at < %(today)s
                        LIMIT %(limit)s)
                    ORDER BY c.id
                    FOR UPDATE OF c SKIP LOCKED
                    """,
                    {"project": project.pk, "today": on, "limit": batch_size},
                )
                card_ids = [row[0] for row in cursor.fetchall()]
            if not card_ids:
                return total
            total += expire_due_on_cards(project, card_ids, on=on)
            settle_tiers(project, card_ids, on=on)
        if len(card_ids) < batch_size:
            return total


def bucket_create_initial(project: Project, card: LoyaltyCard, points: int) -> None:
    """The points a new card starts with (the campaign's `loyalty_card.points`), as a bucket under the
    program's rules; the voucher already shows them."""
    LoyaltyPointsBucket.objects.create(
        project=project,
        public_id=new_public_id("lopb", 24),
        card=card,
        campaign_id=card.campaign_id,
        total_points=points,
        remaining_points=points,
        expires_at=points_expiry((card.campaign.loyalty_card or {}).get("expiration_rules"), today()),
    )
    _record(
        project, card, kind=Kind.POINTS_ADDED, points=points, balance_after=points, reason="initial points"
    )
