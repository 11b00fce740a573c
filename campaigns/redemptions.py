"""Redeeming codes (Voucherify's stacking `POST /v1/redemptions`) and rolling redemptions back.

Each redeemable of a request is handled by the handler of its type (`REDEEMABLE_TYPES`): it resolves
the redeemable, prices it against the order, runs its ordered list of small checks, and applies it
with one conditional UPDATE (the guard against concurrent redemptions: a code with one use left is
taken by exactly one of them, whatever the checks read before). Everything a successful request does
(customer, order, quantities, gift credits, redemption rows, referral, events) is one transaction.

A refusal rolls that transaction back, then records a FAILED redemption in a transaction of its own:
nothing else changes (not even the embedded customer is created).

The handlers and their checks live in `campaigns/redeemables.py` (codes and promotion tiers, with
validation rules as their last check): to add a check, append a function `(context, target) -> None`
that raises `RedemptionRefused` to a handler's `checks`; to add a redeemable type, register a handler
in `REDEEMABLE_TYPES` (and give its rollback here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Campaign, PromotionTier, Redemption, Voucher
from campaigns.promotions import promotion_tier_count_redemption
from campaigns.redeemables import (  # noqa: F401 (the redemption API, importable from here)
    PROMOTION_TIER_CHECKS,
    REDEEMABLE_TYPES,
    VOUCHER_CHECKS,
    Redeemable,
    RedeemableHandler,
    RedemptionContext,
    RedemptionRefused,
    redemption_count_per_customer,
)
from customers.models import Customer, Order
from customers.orders import OrderNotFound, order_upsert
from customers.services import CustomerNotFound, customer_upsert
from eventbus.services import publish
from tenancy import rows
from tenancy.ids import new_public_id
from tenancy.models import Project

SUCCEEDED_EVENT = "customer.redemption.succeeded"
ROLLBACK_EVENT = "customer.redemption.rollback.succeeded"
MAX_REDEEMABLES = 30


class RollbackRefused(Exception):
    def __init__(self, key: str, details: str, *, status_code: int = 400) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code


_GIVE_BACK_VOUCHER_SQL = """
UPDATE campaigns_voucher
SET redeemed_quantity = greatest(redeemed_quantity - 1, 0),
    gift_balance = CASE WHEN %(credits)s::bigint > 0
                        THEN coalesce(gift_balance, gift_amount, 0) + %(credits)s::bigint
                        ELSE gift_balance END
WHERE project_id = %(project)s AND id = %(voucher)s
"""


# --- Redeem ----------------------------------------------------------------------------------------


@dataclass
class RedeemResult:
    redemptions: list[Redemption]
    parent: Redemption | None
    order: Order | None
    targets: list[Any] = field(default_factory=list)


def _order_amount(project: Project, order_fields: Mapping[str, Any] | None) -> int | None:
    if not order_fields:
        return None
    if order_fields.get("amount") is not None:
        return order_fields["amount"]
    items = order_fields.get("items")
    if items:
        return sum(
            item["amount"]
            if item.get("amount") is not None
            else (item.get("price") or 0) * (item.get("quantity") or 0)
            for item in items
        )
    orders = Order.objects.for_project(project)
    if order_fields.get("id"):
        return orders.filter(public_id=order_fields["id"]).values_list("amount", flat=True).first()
    if order_fields.get("source_id"):
        return orders.filter(source_id=order_fields["source_id"]).values_list("amount", flat=True).first()
    return None


def _handler(redeemable: Redeemable) -> RedeemableHandler:
    handler = REDEEMABLE_TYPES.get(redeemable.object)
    if handler is None:
        raise RedemptionRefused(
            "invalid_payload",
            f"Redeemables of type {redeemable.object} are not supported yet; redeem vouchers.",
            is_recorded=False,
        )
    return handler


def redemption_redeem(
    *,
    project: Project,
    redeemables: Sequence[Redeemable],
    customer_fields: Mapping[str, Any] | None = None,
    order_fields: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    tracking_id: str | None = None,
    session_key: str | None = None,
) -> RedeemResult:
    """Redeem every redeemable, or none: raises `RedemptionRefused` (with the FAILED redemption it
    recorded) when one is refused."""
    handlers = [_handler(redeemable) for redeemable in redeemables]
    try:
        with transaction.atomic():
            return _redeem(
                project=project,
                redeemables=redeemables,
                handlers=handlers,
                customer_fields=customer_fields,
                order_fields=order_fields,
                metadata=dict(metadata or {}),
                tracking_id=tracking_id,
                session_key=session_key,
            )
    except RedemptionRefused as refusal:
        if refusal.is_recorded:
            refusal.failed_redemption = _record_failure(
                project=project,
                refusal=refusal,
                customer_fields=customer_fields,
                metadata=dict(metadata or {}),
                tracking_id=tracking_id,
                session_key=session_key,
            )
        raise


def _redeem(
    *,
    project: Project,
    redeemables: Sequence[Redeemable],
    handlers: Sequence[RedeemableHandler],
    customer_fields: Mapping[str, Any] | None,
    order_fields: Mapping[str, Any] | None,
    metadata: dict[str, Any],
    tracking_id: str | None,
    session_key: str | None,
) -> RedeemResult:
    customer = None
    if customer_fields:
        try:
            # No savepoint: a refusal rolls the whole redemption back.
            customer, _ = customer_upsert(project=project, fields=customer_fields, savepoint=False)
        except CustomerNotFound as missing:
            raise RedemptionRefused(
                "not_found",
                f"Cannot find customer with id {missing.identifier}",
                status_code=404,
                failure_code="invalid_customer",
                resource_type="customer",
                resource_id=missing.identifier,
            ) from None
    amount = _order_amount(project, order_fields)
    context = RedemptionContext(
        project=project,
        now=timezone.now(),
        customer=customer,
        order_amount=amount,
        remaining_amount=amount,
        order_fields=dict(order_fields or {}),
        metadata=metadata,
    )
    targets = []
    for redeemable, handler in zip(redeemables, handlers, strict=True):
        try:
            target = handler.resolve(context, redeemable)
            for check in handler.checks:
                check(context, target)
        except RedemptionRefused as refusal:
            refusal.redeemable = redeemable
            raise
        targets.append(target)
    order = _store_order(project, order_fields, customer, amount, context)
    for redeemable, handler, target in zip(redeemables, handlers, targets, strict=True):
        try:
            handler.apply(context, target)
        except RedemptionRefused as refusal:
            refusal.redeemable = redeemable
            raise
    common = {
        "project": project,
        "result": Redemption.Result.SUCCESS,
        "status": Redemption.Status.SUCCEEDED,
        "customer": customer,
        "order": order,
        "metadata": metadata,
        "tracking_id": tracking_id or (customer.source_id if customer else None),
        "session_key": session_key,
        "created_at": context.now,
    }
    parent = None
    if len(targets) > 1:
        parent_id = new_public_id("r", 24)
        parent = rows.insert(
            Redemption(
                public_id=parent_id, related_object_type="redemption", related_object_id=parent_id, **common
            )
        )
    redemptions = []
    for handler, target in zip(handlers, targets, strict=True):
        redemption = rows.insert(
            Redemption(public_id=new_public_id("r", 24), parent=parent, **handler.columns(target), **common)
        )
        redemptions.append(redemption)
        refs = {
            "voucher": redemption.voucher,
            "promotion_tier": redemption.related_object_id
            if redemption.related_object_type == "promotion_tier"
            else None,
            "campaign": redemption.campaign,
            "redemption": redemption,
            "order": order,
        }
        publish(
            project,
            SUCCEEDED_EVENT,
            customer=customer,
            refs={name: value for name, value in refs.items() if value is not None},
            data={
                "related_object_type": redemption.related_object_type,
                "voucher_code": redemption.voucher_code,
                "amount": redemption.amount,
                "discount_amount": redemption.discount_amount,
            },
        )
        handler.after(context, target, redemption)  # a referral, published after the redemption
    return RedeemResult(redemptions=redemptions, parent=parent, order=order, targets=targets)


def _store_order(
    project: Project,
    order_fields: Mapping[str, Any] | None,
    customer: Customer | None,
    amount: int | None,
    context: RedemptionContext,
) -> Order | None:
    if not order_fields:
        return None
    fields = dict(order_fields)
    if amount is not None and fields.get("discount_amount") is None:
        discount = amount - (context.remaining_amount or 0)
        if discount:
            fields["discount_amount"] = discount
    try:
        # The redemption's customer is the order's unless the order names its own; no savepoint, as
        # a refusal rolls the whole redemption back.
        order, _ = order_upsert(project=project, fields=fields, customer=customer, savepoint=False)
    except OrderNotFound as missing:
        raise RedemptionRefused(
            "not_found",
            f"Cannot find order with id {missing.identifier}",
            status_code=404,
            failure_code="invalid_order",
            resource_type="order",
            resource_id=missing.identifier,
        ) from None
    except CustomerNotFound as missing:
        raise RedemptionRefused(
            "not_found",
            f"Cannot find customer with id {missing.identifier}",
            status_code=404,
            failure_code="invalid_customer",
            resource_type="customer",
            resource_id=missing.identifier,
        ) from None
    return order


@transaction.atomic
def _record_failure(
    *,
    project: Project,
    refusal: RedemptionRefused,
    customer_fields: Mapping[str, Any] | None,
    metadata: dict[str, Any],
    tracking_id: str | None,
    session_key: str | None,
) -> Redemption:
    """The FAILED redemption of a refused request, naming the customer only if they exist already."""
    customer = None
    if customer_fields:
        identifier = customer_fields.get("id") or customer_fields.get("source_id")
        if identifier:
            customer = Customer.objects.for_project(project).by_id_or_source_id(identifier).first()
    redeemable = refusal.redeemable
    voucher = None
    campaign_id = None
    if redeemable is not None and redeemable.object == "voucher":
        voucher = (
            Voucher.objects.for_project(project).select_related("campaign").filter(code=redeemable.id).first()
        )
        campaign_id = voucher.campaign_id if voucher else None
    elif redeemable is not None and redeemable.object == "promotion_tier":
        campaign_id = (
            PromotionTier.objects.for_project(project)
            .filter(public_id=redeemable.id)
            .values_list("campaign_id", flat=True)
            .first()
        )
    return Redemption.objects.create(
        project=project,
        public_id=new_public_id("rf", 24),
        result=Redemption.Result.FAILURE,
        status=Redemption.Status.FAILED,
        related_object_type=redeemable.object if redeemable else "voucher",
        related_object_id=voucher.public_id if voucher else (redeemable.id if redeemable else None),
        voucher=voucher,
        voucher_code=redeemable.id if redeemable and redeemable.object == "voucher" else None,
        campaign_id=campaign_id,
        customer=customer,
        amount=redeemable.gift_credits if redeemable else None,
        failure_code=refusal.failure_code,
        failure_message=refusal.details,
        tracking_id=tracking_id or (customer_fields or {}).get("source_id"),
        metadata=metadata,
        session_key=session_key,
    )


# --- Rollback --------------------------------------------------------------------------------------


@dataclass
class RollbackResult:
    rollback: Redemption
    redemption: Redemption
    children: list[Redemption]


@transaction.atomic
def redemption_rollback(
    *,
    project: Project,
    redemption: Redemption,
    reason: str | None = None,
    tracking_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> RollbackResult:
    """Undo a successful redemption: give the code its use and its gift credits back, once.

    A stacked parent rolls back with all its redemptions; one of them alone is refused, as Voucherify
    does. A second rollback is refused with `already_rolled_back` (a conditional UPDATE decides, so
    two concurrent rollbacks cannot both give the use back).
    """
    if redemption.is_rollback or redemption.result != Redemption.Result.SUCCESS:
        raise RollbackRefused(
            "invalid_redemption", f"Redemption {redemption.public_id} cannot be rolled back."
        )
    if redemption.parent_id is not None:
        raise RollbackRefused(
            "invalid_redemption_parent",
            f"Redemption {redemption.public_id} is part of a stacked redemption; roll back its parent.",
        )
    redemptions = Redemption.objects.for_project(project)
    claimed = redemptions.filter(pk=redemption.pk, status=Redemption.Status.SUCCEEDED).update(
        status=Redemption.Status.ROLLED_BACK
    )
    if not claimed:
        raise RollbackRefused(
            "already_rolled_back", f"Redemption {redemption.public_id} is already rolled back."
        )
    redemption.status = Redemption.Status.ROLLED_BACK
    children = list(
        redemptions.filter(parent=redemption).select_related(
            "voucher", "voucher__campaign", "campaign", "customer"
        )
    )
    if children:
        redemptions.filter(parent=redemption).update(status=Redemption.Status.ROLLED_BACK)
    now = timezone.now()
    common = {
        "project": project,
        "object": Redemption.Object.ROLLBACK,
        "result": Redemption.Result.SUCCESS,
        "status": Redemption.Status.SUCCEEDED,
        "customer_id": redemption.customer_id,
        "order_id": redemption.order_id,
        "reason": reason,
        "metadata": dict(metadata or {}),
        "tracking_id": tracking_id or redemption.tracking_id,
        "created_at": now,
    }
    customer = (
        Customer.objects.for_project(project).filter(pk=redemption.customer_id).first()
        if redemption.customer_id
        else None
    )
    rollback = None
    for undone in [redemption, *children]:
        if undone.related_object_type == "voucher" and undone.voucher_id is not None:
            with connection.cursor() as cursor:
                cursor.execute(
                    _GIVE_BACK_VOUCHER_SQL,
                    {"project": project.pk, "voucher": undone.voucher_id, "credits": undone.amount or 0},
                )
        elif undone.related_object_type == "promotion_tier":
            _give_back_tier(project, undone)
        row = Redemption.objects.create(
            public_id=new_public_id("rr", 24),
            rollback_of=undone,
            related_object_type=undone.related_object_type,
            related_object_id=undone.related_object_id,
            voucher_id=undone.voucher_id,
            voucher_code=undone.voucher_code,
            campaign_id=undone.campaign_id,
            amount=undone.amount,
            discount_amount=undone.discount_amount,
            **common,
        )
        rollback = rollback or row
        if undone.related_object_type == "redemption":
            continue
        refs = {
            "voucher": undone.voucher_id and undone.related_object_id,
            "promotion_tier": undone.related_object_id
            if undone.related_object_type == "promotion_tier"
            else None,
            "campaign": undone.campaign_id and _campaign_public_id(project, undone.campaign_id),
            "redemption": undone.public_id,
            "rollback": row.public_id,
            "order": undone.order_id and _order_public_id(project, undone.order_id),
        }
        publish(
            project,
            ROLLBACK_EVENT,
            customer=customer,
            refs={name: value for name, value in refs.items() if value},
            data={"voucher_code": undone.voucher_code, "amount": undone.amount, "reason": reason},
        )
    return RollbackResult(rollback=rollback, redemption=redemption, children=children)


def _give_back_tier(project: Project, undone: Redemption) -> None:
    """Move the tier's summary back by what the redemption added: one redemption, the order's
    amount (as stored now: an order changed since moves it by its new amount) and the discount."""
    tier = PromotionTier.objects.for_project(project).filter(public_id=undone.related_object_id).first()
    if tier is None:  # deleted since: its summary went with it
        return
    order_amount = 0
    if undone.order_id is not None:
        orders = Order.objects.for_project(project).filter(pk=undone.order_id)
        order_amount = orders.values_list("amount", flat=True).first() or 0
    promotion_tier_count_redemption(
        project=project,
        tier=tier,
        order_amount=-order_amount,
        discount_amount=-(undone.discount_amount or 0),
        redemptions=-1,
    )


def _campaign_public_id(project: Project, campaign_id: int) -> str | None:
    return (
        Campaign.objects.for_project(project)
        .filter(pk=campaign_id)
        .values_list("public_id", flat=True)
        .first()
    )


def _order_public_id(project: Project, order_id: int) -> str | None:
    return Order.objects.for_project(project).filter(pk=order_id).values_list("public_id", flat=True).first()
