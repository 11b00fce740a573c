"""What can be redeemed, and the checks each kind goes through before it is.

A redeemable type has a handler (`REDEEMABLE_TYPES`) that resolves a redeemable inside the project,
prices it against the order, lists its `checks` (small functions run in order, each raising
`RedemptionRefused` with Voucherify's key) and applies it with one conditional UPDATE. Two types:
codes (`voucher`) and promotion tiers (`promotion_tier`, whose apply moves the tier's summary).

Validation rules are the last check of both: the rule sets assigned to the campaign (and, for a
tier, to the tier) are evaluated with the order as sent, the customer, and the customer's earlier
redemptions in the rule's scope (`redemption.count.per_customer`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Exists, OuterRef

from campaigns.models import (
    Campaign,
    CampaignType,
    PromotionTier,
    Publication,
    Redemption,
    ValidationRuleAssignment,
    Voucher,
    VoucherType,
)
from campaigns.promotions import promotion_tier_count_redemption, promotion_tiers_query
from campaigns.referrals import converts_by, referral_record
from campaigns.validation_rules import RuleContext, validation_rule_evaluate
from campaigns.validation_rules.selectors import rules_guarding_any
from customers.models import Customer
from tenancy.models import Project
from tenancy.rows import RowShape


class RedemptionRefused(Exception):
    """A redemption refused for a business reason: Voucherify's `key` (HTTP `status_code`), and the
    `failure_code` recorded on the FAILED redemption (`failed_redemption`, once recorded)."""

    def __init__(
        self,
        key: str,
        details: str,
        *,
        status_code: int = 400,
        failure_code: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        is_recorded: bool = True,
        error_message: str | None = None,
    ) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code
        self.failure_code = failure_code or key
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.is_recorded = is_recorded
        # A validation rule's own message: Voucherify returns it as the error body's `error.message`.
        self.error_message = error_message
        self.redeemable: Redeemable | None = None
        self.failed_redemption: Redemption | None = None


@dataclass(frozen=True)
class Redeemable:
    object: str
    id: str
    gift_credits: int | None = None


@dataclass
class RedemptionContext:
    """What every check sees: the (upserted) customer, the order as sent, the request's metadata."""

    project: Project
    now: datetime
    customer: Customer | None
    order_amount: int | None
    # What is left of the order amount after the redeemables priced so far (stacking order).
    remaining_amount: int | None
    order_fields: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class VoucherTarget:
    redeemable: Redeemable
    voucher: Voucher
    campaign: Campaign | None
    holder_id: int | None
    holder_public_id: str | None
    gift_credits: int | None = None
    discount_amount: int = 0
    # The campaign has validation rules assigned (read with the code, so unguarded codes cost no query).
    is_guarded: bool = False

    @property
    def code(self) -> str:
        return self.voucher.code

    @property
    def quantity(self) -> int | None:
        if self.voucher.redemption_quantity is not None:
            return self.voucher.redemption_quantity
        return self.campaign.redemption_quantity if self.campaign else None

    @property
    def gift_balance(self) -> int:
        voucher = self.voucher
        return voucher.gift_balance if voucher.gift_balance is not None else (voucher.gift_amount or 0)


Check = Callable[[RedemptionContext, Any], None]


# --- Checks on a code, in the order Voucherify reports them ------------------------------------------


def check_voucher_enabled(context: RedemptionContext, target: VoucherTarget) -> None:
    if not target.voucher.active:
        raise RedemptionRefused("voucher_disabled", f"Voucher {target.code} is disabled.")


def check_campaign_enabled(context: RedemptionContext, target: VoucherTarget) -> None:
    if target.campaign is not None and not target.campaign.active:
        raise RedemptionRefused(
            "voucher_disabled", f"Voucher {target.code}: campaign {target.campaign.name} is disabled."
        )


def check_started(context: RedemptionContext, target: VoucherTarget) -> None:
    start = target.voucher.start_date or (target.campaign.start_date if target.campaign else None)
    if start is not None and context.now < start:
        raise RedemptionRefused("voucher_not_active", f"Voucher {target.code} is not active yet.")


def check_not_expired(context: RedemptionContext, target: VoucherTarget) -> None:
    end = target.voucher.expiration_date or (target.campaign.expiration_date if target.campaign else None)
    if end is not None and context.now >= end:
        raise RedemptionRefused("voucher_expired", f"Voucher {target.code} has expired.")


def check_valid_day_of_week(context: RedemptionContext, target: VoucherTarget) -> None:
    days = target.campaign.validity_day_of_week if target.campaign else None
    if days:
        local = context.now.astimezone(ZoneInfo(context.project.timezone or "UTC"))
        sunday_first = (local.weekday() + 1) % 7  # Voucherify counts 0 = Sunday
        if sunday_first not in days:
            raise RedemptionRefused(
                "voucher_not_active_now", f"Voucher {target.code} is not valid on this day of the week."
            )


def check_customer_for_referral_code(context: RedemptionContext, target: VoucherTarget) -> None:
    if target.voucher.is_referral_code and context.customer is None:
        raise RedemptionRefused("missing_customer", f"Referral code {target.code} needs the customer.")


def check_referrer_not_redeeming_own_code(context: RedemptionContext, target: VoucherTarget) -> None:
    customer = context.customer
    if target.voucher.is_referral_code and customer is not None and customer.pk == target.holder_id:
        raise RedemptionRefused(
            "referrer_not_permitted_to_redeem",
            f"Customer {customer.public_id} is the referrer of {target.code} and cannot redeem it.",
        )


def check_quantity_left(context: RedemptionContext, target: VoucherTarget) -> None:
    quantity = target.quantity
    if quantity is not None and target.voucher.redeemed_quantity >= quantity:
        raise RedemptionRefused("quantity_exceeded", f"Voucher {target.code} has no redemptions left.")


def check_gift_credits(context: RedemptionContext, target: VoucherTarget) -> None:
    if target.voucher.type != VoucherType.GIFT_VOUCHER:
        return
    credits = target.gift_credits
    if credits is None:
        raise RedemptionRefused(
            "missing_amount", f"Gift card {target.code} needs an order amount or gift.credits."
        )
    if credits > target.gift_balance or (credits == 0 and target.gift_balance == 0):
        raise RedemptionRefused(
            "gift_amount_exceeded",
            f"Gift card {target.code} has a balance of {target.gift_balance}, less than {credits}.",
        )
    if credits <= 0:
        raise RedemptionRefused("invalid_amount", f"Gift credits for {target.code} must be positive.")


# --- Validation rules -----------------------------------------------------------------------------


def redemption_count_per_customer(
    *,
    project: Project,
    customer_id: int,
    campaign_id: int | None = None,
    voucher_id: int | None = None,
    promotion_tier_id: str | None = None,
) -> int:
    """How many successful, not rolled back redemptions the customer made (of the campaign, code or
    promotion tier, by its public id): what the validation rule `redemption.count.per_customer`
    compares. Served by the (project, customer, campaign) index."""
    redemptions = (
        Redemption.objects.for_project(project)
        .filter(
            customer_id=customer_id,
            object=Redemption.Object.REDEMPTION,
            status=Redemption.Status.SUCCEEDED,
        )
        .exclude(related_object_type="redemption")
    )
    if campaign_id is not None:
        redemptions = redemptions.filter(campaign_id=campaign_id)
    if voucher_id is not None:
        redemptions = redemptions.filter(voucher_id=voucher_id)
    if promotion_tier_id is not None:
        redemptions = redemptions.filter(
            related_object_type="promotion_tier", related_object_id=promotion_tier_id
        )
    return redemptions.count()


def _order_for_rules(context: RedemptionContext) -> dict[str, Any] | None:
    """The order as the rules see it: as sent, with the amount known to the redemption (an order
    named only by id brings its stored amount)."""
    fields = context.order_fields
    if not fields and context.order_amount is None:
        return None
    return {
        "amount": context.order_amount,
        "initial_amount": fields.get("initial_amount"),
        "items": fields.get("items") or [],
        "metadata": fields.get("metadata") or {},
    }


def refuse_unless_rules_pass(
    context: RedemptionContext,
    *,
    guards: list[tuple[str, str]],
    count_scopes: Mapping[str, Mapping[str, Any]],
    name: str,
) -> None:
    """Evaluate every rule set assigned to `guards` (pairs of object type and public id); the first
    failure refuses with Voucherify's key. `count_scopes[type]` narrows `redemption.count.per_customer`
    to what the rule guards (a campaign-level rule counts the campaign's redemptions, a tier's the tier's)."""
    guarding = rules_guarding_any(project=context.project, objects=guards)
    if not guarding:
        return
    customer = context.customer
    order = _order_for_rules(context)
    counts: dict[str, int] = {}

    def counter(object_type: str):
        if customer is None:
            return None  # unknown: a count rule cannot hold for an anonymous redemption

        def count() -> int:
            if object_type not in counts:
                counts[object_type] = redemption_count_per_customer(
                    project=context.project, customer_id=customer.pk, **count_scopes[object_type]
                )
            return counts[object_type]

        return count

    for object_type, rule in guarding:
        outcome = validation_rule_evaluate(
            project=context.project,
            rule=rule,
            context=RuleContext(
                customer=customer, order=order, redemption_count_per_customer=counter(object_type)
            ),
        )
        if not outcome.passed:
            raise RedemptionRefused(
                outcome.error_key,
                f"{name} is not allowed by validation rule {rule.public_id} "
                f"(rule {outcome.rule_number}, {outcome.rule_name}): {outcome.error_message}",
                error_message=outcome.error_message,
            )


def check_validation_rules(context: RedemptionContext, target: VoucherTarget) -> None:
    if not target.is_guarded or target.campaign is None:
        return
    refuse_unless_rules_pass(
        context,
        guards=[("campaign", target.campaign.public_id)],
        count_scopes={"campaign": {"campaign_id": target.campaign.pk}},
        name=f"Voucher {target.code}",
    )


VOUCHER_CHECKS: list[Check] = [
    check_voucher_enabled,
    check_campaign_enabled,
    check_started,
    check_not_expired,
    check_valid_day_of_week,
    check_customer_for_referral_code,
    check_referrer_not_redeeming_own_code,
    check_quantity_left,
    check_gift_credits,
    check_validation_rules,
]


# --- Redeemable types ------------------------------------------------------------------------------


class RedeemableHandler(Protocol):
    checks: list[Check]

    def resolve(self, context: RedemptionContext, redeemable: Redeemable) -> Any: ...

    def apply(self, context: RedemptionContext, target: Any) -> None: ...

    def columns(self, target: Any) -> dict[str, Any]: ...

    def after(self, context: RedemptionContext, target: Any, redemption: Redemption) -> None: ...


def discount_off(discount: Mapping[str, Any] | None, base: int | None) -> int:
    """What an order-level discount takes off `base` cents (unit and item discounts: nothing yet)."""
    if not discount or not base or base <= 0:
        return 0
    kind = discount.get("type")
    if kind == "PERCENT":
        value = math.floor(base * float(discount.get("percent_off") or 0) / 100)
        if discount.get("amount_limit") is not None:
            value = min(value, int(discount["amount_limit"]))
    elif kind == "AMOUNT":
        value = int(discount.get("amount_off") or 0)
    elif kind == "FIXED":
        value = base - int(discount.get("fixed_amount") or 0)
    else:
        value = 0
    return max(0, min(value, base))


_TAKE_VOUCHER_SQL = """
UPDATE campaigns_voucher
SET redeemed_quantity = redeemed_quantity + 1,
    gift_balance = CASE WHEN %(credits)s::bigint > 0
                        THEN coalesce(gift_balance, gift_amount, 0) - %(credits)s::bigint
                        ELSE gift_balance END
WHERE project_id = %(project)s AND id = %(voucher)s AND active
  AND (coalesce(redemption_quantity, %(campaign_quantity)s::int) IS NULL
       OR redeemed_quantity < coalesce(redemption_quantity, %(campaign_quantity)s::int))
  AND coalesce(gift_balance, gift_amount, 0) >= %(credits)s::bigint
RETURNING redeemed_quantity, gift_balance
"""


@cache
def _voucher_lookup() -> tuple[RowShape, RowShape, str]:
    voucher, campaign = RowShape(Voucher, "v"), RowShape(Campaign, "c")
    sql = f"""
        SELECT {voucher.columns}, {campaign.columns}, holder.customer_id, holder.public_id,
               EXISTS (
                   SELECT 1 FROM {ValidationRuleAssignment._meta.db_table} a
                   WHERE a.project_id = v.project_id AND a.campaign_id = v.campaign_id
               )
        FROM {Voucher._meta.db_table} v
        LEFT JOIN {Campaign._meta.db_table} c ON c.id = v.campaign_id
        LEFT JOIN LATERAL (
            SELECT p.customer_id, holder.public_id
            FROM {Publication._meta.db_table} p
            JOIN {Customer._meta.db_table} holder ON holder.id = p.customer_id
            WHERE p.project_id = v.project_id AND p.voucher_id = v.id
            LIMIT 1
        ) AS holder ON true
        WHERE v.project_id = %s AND v.code = %s
    """  # noqa: S608
    return voucher, campaign, sql


def _voucher_by_code(project: Project, code: str) -> Voucher | None:
    """The code with its campaign, its holder (the customer it is published to, if any) and whether
    validation rules guard its campaign: one written-out statement, as every redemption runs it."""
    voucher_shape, campaign_shape, sql = _voucher_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [project.pk, code])
        row = cursor.fetchone()
    if row is None:
        return None
    voucher = voucher_shape.load(row)
    voucher.campaign = (
        campaign_shape.load(row, voucher_shape.width) if voucher.campaign_id is not None else None
    )
    voucher.holder_id, voucher.holder_public_id, voucher.is_guarded = row[-3:]
    return voucher


class VoucherRedeemables:
    checks = VOUCHER_CHECKS

    def resolve(self, context: RedemptionContext, redeemable: Redeemable) -> VoucherTarget:
        voucher = _voucher_by_code(context.project, redeemable.id)
        if voucher is None:
            raise RedemptionRefused(
                "not_found",
                f"Cannot find voucher with id {redeemable.id}",
                status_code=404,
                failure_code="resource_not_found",
                resource_type="voucher",
                resource_id=redeemable.id,
            )
        target = VoucherTarget(
            redeemable=redeemable,
            voucher=voucher,
            campaign=voucher.campaign,
            holder_id=voucher.holder_id,
            holder_public_id=voucher.holder_public_id,
            is_guarded=voucher.is_guarded,
        )
        remaining = context.remaining_amount
        if voucher.type == VoucherType.GIFT_VOUCHER:
            if redeemable.gift_credits is not None:
                target.gift_credits = redeemable.gift_credits
            elif remaining is not None:
                target.gift_credits = min(remaining, target.gift_balance)
            taken = target.gift_credits or 0
        elif voucher.type == VoucherType.DISCOUNT_VOUCHER:
            discount = (
                voucher.discount
                if voucher.discount is not None
                else getattr(voucher.campaign, "discount", None)
            )
            target.discount_amount = taken = discount_off(discount, remaining)
        else:
            taken = 0
        if remaining is not None:
            context.remaining_amount = max(remaining - taken, 0)
        return target

    def apply(self, context: RedemptionContext, target: VoucherTarget) -> None:
        credits = (target.gift_credits or 0) if target.voucher.type == VoucherType.GIFT_VOUCHER else 0
        with connection.cursor() as cursor:
            cursor.execute(
                _TAKE_VOUCHER_SQL,
                {
                    "project": context.project.pk,
                    "voucher": target.voucher.pk,
                    "credits": credits,
                    "campaign_quantity": target.campaign.redemption_quantity if target.campaign else None,
                },
            )
            row = cursor.fetchone()
        if row is None:
            # A concurrent request changed the code since the checks read it: read it again and
            # report what stopped this one.
            target.voucher = Voucher.objects.for_project(context.project).get(pk=target.voucher.pk)
            for check in (check_voucher_enabled, check_quantity_left, check_gift_credits):
                check(context, target)
            raise RedemptionRefused("quantity_exceeded", f"Voucher {target.code} has no redemptions left.")
        target.voucher.redeemed_quantity, target.voucher.gift_balance = row

    def columns(self, target: VoucherTarget) -> dict[str, Any]:
        is_gift = target.voucher.type == VoucherType.GIFT_VOUCHER
        return {
            "related_object_type": "voucher",
            "related_object_id": target.voucher.public_id,
            "voucher": target.voucher,
            "voucher_code": target.voucher.code,
            "campaign": target.campaign,
            "amount": target.gift_credits if is_gift else None,
            "discount_amount": target.discount_amount if not is_gift else None,
        }

    def after(self, context: RedemptionContext, target: VoucherTarget, redemption: Redemption) -> None:
        campaign, customer = target.campaign, context.customer
        if (
            target.voucher.is_referral_code
            and campaign is not None
            and campaign.campaign_type == CampaignType.REFERRAL_PROGRAM
            and customer is not None
            and target.holder_id is not None
            and converts_by(campaign, "redemption")
        ):
            referral_record(
                project=context.project,
                campaign=campaign,
                voucher=target.voucher,
                referrer_id=target.holder_id,
                referee=customer,
                related_object_type="redemption",
                related_object_id=redemption.public_id,
            )


# --- Promotion tiers --------------------------------------------------------------------------------


@dataclass
class PromotionTierTarget:
    redeemable: Redeemable
    tier: PromotionTier
    campaign: Campaign
    # The order amount the tier's summary counts (0 without an order), and the discount it gave.
    order_amount: int = 0
    discount_amount: int = 0
    # The campaign has validation rules assigned (the tier's own come preloaded with it).
    is_campaign_guarded: bool = False

    @property
    def name(self) -> str:
        return f"Promotion tier {self.tier.public_id}"


def check_tier_active(context: RedemptionContext, target: PromotionTierTarget) -> None:
    if not target.tier.active:
        raise RedemptionRefused("promotion_inactive", f"{target.name} is disabled.")


def check_promotion_active(context: RedemptionContext, target: PromotionTierTarget) -> None:
    if not target.campaign.active:
        raise RedemptionRefused(
            "promotion_inactive", f"{target.name}: campaign {target.campaign.name} is disabled."
        )


def check_tier_dates(context: RedemptionContext, target: PromotionTierTarget) -> None:
    tier, campaign, now = target.tier, target.campaign, context.now
    starts = [date for date in (tier.start_date, campaign.start_date) if date is not None]
    ends = [date for date in (tier.expiration_date, campaign.expiration_date) if date is not None]
    if any(now < start for start in starts):
        raise RedemptionRefused("promotion_not_active_now", f"{target.name} is not active yet.")
    if any(now >= end for end in ends):
        raise RedemptionRefused("promotion_not_active_now", f"{target.name} has expired.")


def check_tier_day_of_week(context: RedemptionContext, target: PromotionTierTarget) -> None:
    days = target.tier.validity_day_of_week or target.campaign.validity_day_of_week
    if days:
        local = context.now.astimezone(ZoneInfo(context.project.timezone or "UTC"))
        if (local.weekday() + 1) % 7 not in days:  # Voucherify counts 0 = Sunday
            raise RedemptionRefused(
                "promotion_not_active_now", f"{target.name} is not valid on this day of the week."
            )


def check_tier_validation_rules(context: RedemptionContext, target: PromotionTierTarget) -> None:
    guards = []
    if target.is_campaign_guarded:
        guards.append(("campaign", target.campaign.public_id))
    if target.tier.assignments.all():
        guards.append(("promotion_tier", target.tier.public_id))
    refuse_unless_rules_pass(
        context,
        guards=guards,
        count_scopes={
            "campaign": {"campaign_id": target.campaign.pk},
            "promotion_tier": {"promotion_tier_id": target.tier.public_id},
        },
        name=target.name,
    )


PROMOTION_TIER_CHECKS: list[Check] = [
    check_tier_active,
    check_promotion_active,
    check_tier_dates,
    check_tier_day_of_week,
    check_tier_validation_rules,
]


class PromotionTierRedeemables:
    checks = PROMOTION_TIER_CHECKS

    def resolve(self, context: RedemptionContext, redeemable: Redeemable) -> PromotionTierTarget:
        project = context.project
        campaign_rules = ValidationRuleAssignment.objects.for_project(project).filter(
            campaign_id=OuterRef("campaign_id")
        )
        tier = (
            promotion_tiers_query(project)
            .annotate(is_campaign_guarded=Exists(campaign_rules))
            .filter(public_id=redeemable.id)
            .first()
        )
        if tier is None:
            raise RedemptionRefused(
                "not_found",
                f"Cannot find promotion_tier with id {redeemable.id}",
                status_code=404,
                failure_code="resource_not_found",
                resource_type="promotion_tier",
                resource_id=redeemable.id,
            )
        remaining = context.remaining_amount
        discount = (tier.action or {}).get("discount")
        target = PromotionTierTarget(
            redeemable=redeemable,
            tier=tier,
            campaign=tier.campaign,
            order_amount=context.order_amount or 0,
            discount_amount=discount_off(discount, remaining),
            is_campaign_guarded=tier.is_campaign_guarded,
        )
        if remaining is not None:
            context.remaining_amount = max(remaining - target.discount_amount, 0)
        return target

    def apply(self, context: RedemptionContext, target: PromotionTierTarget) -> None:
        promotion_tier_count_redemption(
            project=context.project,
            tier=target.tier,
            order_amount=target.order_amount,
            discount_amount=target.discount_amount,
        )
        # The row moved by an increment; the response shows the summary with this redemption in it.
        tier = target.tier
        tier.redeemed_count += 1
        tier.orders_total_amount += target.order_amount
        tier.orders_total_discount_amount += target.discount_amount

    def columns(self, target: PromotionTierTarget) -> dict[str, Any]:
        return {
            "related_object_type": "promotion_tier",
            "related_object_id": target.tier.public_id,
            "voucher": None,
            "voucher_code": None,
            "campaign": target.campaign,
            "amount": None,
            "discount_amount": target.discount_amount,
        }

    def after(self, context: RedemptionContext, target: PromotionTierTarget, redemption: Redemption) -> None:
        return None


REDEEMABLE_TYPES: dict[str, RedeemableHandler] = {
    "voucher": VoucherRedeemables(),
    "promotion_tier": PromotionTierRedeemables(),
}
