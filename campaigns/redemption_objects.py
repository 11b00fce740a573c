"""Voucherify's redemption, rollback and balance objects, built from rows loaded with `LOADED`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from campaigns.models import PromotionTier, Redemption, Voucher, VoucherType
from campaigns.promotions import promotion_tiers_query
from campaigns.representation import promotion_tier_object, voucher_object
from campaigns.selectors import holders_of
from customers.representation import order_object
from tenancy.formats import iso
from tenancy.models import Project

# What `redemption_objects` reads from each row: load redemptions with `select_related(*LOADED)`.
LOADED = (
    "parent",
    "rollback_of",
    "voucher",
    "voucher__campaign",
    "customer",
    "order",
    "order__customer",
    "order__referrer",
)


def _customer(redemption: Redemption) -> dict[str, Any] | None:
    customer = redemption.customer
    if customer is None:
        return None
    return {
        "id": customer.public_id,
        "name": customer.name or None,
        "email": customer.email,
        "source_id": customer.source_id,
        "metadata": customer.metadata,
        "object": "customer",
    }


def redemption_object(
    redemption: Redemption,
    *,
    holder_public_id: str | None = None,
    rollbacks: list[Redemption] | None = None,
    children: list[Redemption] | None = None,
    promotion_tier: PromotionTier | None = None,
) -> dict[str, Any]:
    """`promotion_tier`: the tier a tier redemption names, preloaded as `promotion_tiers_query` does."""
    voucher = redemption.voucher
    if redemption.is_rollback:
        points_at = redemption.rollback_of.public_id if redemption.rollback_of else None
    else:
        points_at = redemption.parent.public_id if redemption.parent else None
    body: dict[str, Any] = {
        "id": redemption.public_id,
        "object": redemption.object,
        "date": iso(redemption.created_at),
        "customer_id": redemption.customer.public_id if redemption.customer else None,
        "tracking_id": redemption.tracking_id,
        "metadata": redemption.metadata,
        "amount": redemption.amount or 0,
        "redemption": points_at,
        "result": redemption.result,
        "status": redemption.status,
        "failure_code": redemption.failure_code,
        "failure_message": redemption.failure_message,
        "order": order_object(redemption.order) if redemption.order else None,
        "channel": {"channel_id": redemption.channel_id, "channel_type": redemption.channel_type},
        "customer": _customer(redemption),
        "related_object_type": redemption.related_object_type,
        "related_object_id": redemption.related_object_id,
        "voucher": voucher_object(voucher, holder_public_id=holder_public_id) if voucher else None,
        "related_redemptions": {
            "rollbacks": [{"id": row.public_id, "date": iso(row.created_at)} for row in rollbacks or []],
            "redemptions": [{"id": row.public_id, "date": iso(row.created_at)} for row in children or []],
        },
    }
    if redemption.session_key:
        body["session"] = {"key": redemption.session_key}
    if redemption.reason is not None or redemption.is_rollback:
        body["reason"] = redemption.reason
    if voucher is not None and voucher.type == VoucherType.GIFT_VOUCHER:
        body["gift"] = {"amount": redemption.amount or 0}
    if redemption.related_object_type == "promotion_tier":
        body["promotion_tier"] = promotion_tier_object(promotion_tier) if promotion_tier else None
    return body


def redemption_objects(project: Project, redemptions: Iterable[Redemption]) -> list[dict[str, Any]]:
    """Many redemptions with their holders, rollbacks and stacked children: three queries in all
    (two more when promotion tiers are among them)."""
    rows = list(redemptions)
    if not rows:
        return []
    holders = holders_of(project=project, voucher_ids={r.voucher_id for r in rows if r.voucher_id})
    tier_ids = {r.related_object_id for r in rows if r.related_object_type == "promotion_tier"}
    tiers = (
        {tier.public_id: tier for tier in promotion_tiers_query(project).filter(public_id__in=tier_ids)}
        if tier_ids
        else {}
    )
    related: dict[int, dict[str, list[Redemption]]] = defaultdict(lambda: {"rollbacks": [], "children": []})
    ids = [r.pk for r in rows if not r.is_rollback]
    if ids:
        scoped = Redemption.objects.for_project(project)
        linked = scoped.filter(rollback_of_id__in=ids) | scoped.filter(parent_id__in=ids)
        for row in linked.order_by("created_at", "pk").only(
            "public_id", "created_at", "rollback_of", "parent"
        ):
            if row.rollback_of_id is not None:
                related[row.rollback_of_id]["rollbacks"].append(row)
            if row.parent_id is not None:
                related[row.parent_id]["children"].append(row)
    return [
        redemption_object(
            r,
            holder_public_id=holders.get(r.voucher_id),
            rollbacks=related[r.pk]["rollbacks"],
            children=related[r.pk]["children"],
            promotion_tier=tiers.get(r.related_object_id),
        )
        for r in rows
    ]


def redemption_entry_list(voucher: Voucher, entries: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """`GET /v1/vouchers/{code}/redemption`: the code's quantities and its redemptions."""
    quantity = voucher.redemption_quantity
    if quantity is None and voucher.campaign is not None:
        quantity = voucher.campaign.redemption_quantity
    return {
        "quantity": quantity,
        "redeemed_quantity": voucher.redeemed_quantity,
        "object": "list",
        "url": f"/v1/vouchers/{voucher.code}/redemption",
        "data_ref": "redemption_entries",
        "total": total,
        "redemption_entries": entries,
    }
