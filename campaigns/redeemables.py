"""What can be redeemed, and the checks each kind goes through before it is.

A redeemable type has a handler (`REDEEMABLE_TYPES`) that resolves a redeemable inside the project,
prices it against the order, lists its `checks` (small functions run in order, each raising
`RedemptionRefused` with Voucherify's key) and applies it with one conditional UPDATE. Codes
(`voucher`) are the one type so far; `promotion_tier` registers here when promotion tiers land, and a
validation rules check is appended to `VOUCHER_CHECKS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import OuterRef, Subquery

from campaigns.models import Campaign, CampaignType, Publication, Redemption, Voucher, VoucherType
from campaigns.referrals import converts_by, referral_record
from customers.models import Customer
from tenancy.models import Project


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
    ) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code
        self.failure_code = failure_code or key
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.is_recorded = is_recorded
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


class VoucherRedeemables:
    checks = VOUCHER_CHECKS

    def resolve(self, context: RedemptionContext, redeemable: Redeemable) -> VoucherTarget:
        project = context.project
        holders = Publication.objects.for_project(project).filter(voucher=OuterRef("pk"))
        voucher = (
            Voucher.objects.for_project(project)
            .select_related("campaign")
            .annotate(
                holder_id=Subquery(holders.values("customer_id")[:1]),
                holder_public_id=Subquery(holders.values("customer__public_id")[:1]),
            )
            .filter(code=redeemable.id)
            .first()
        )
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


REDEEMABLE_TYPES: dict[str, RedeemableHandler] = {"voucher": VoucherRedeemables()}
