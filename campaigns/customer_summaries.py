"""What this area adds to Voucherify's customer object: `summary.redemptions`, `referrals`, and the
referrer's `loyalty.referred_customers`, for a page of customers in a fixed number of queries.

The customer representation (customers/representation.py) does not read these yet; wiring them
in is one call per response: `customer_summaries(project=..., customer_ids=[...])[customer.pk]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, Sum

from campaigns.models import Publication, Redemption, VoucherType
from campaigns.referrals import referrals_summary
from tenancy.models import Project

_REDEEMED = Q(object=Redemption.Object.REDEMPTION) & ~Q(related_object_type="redemption")


def _empty_redemptions() -> dict[str, Any]:
    return {
        "total_redeemed": 0,
        "total_failed": 0,
        "total_succeeded": 0,
        "total_rolled_back": 0,
        "total_rollback_failed": 0,
        "total_rollback_succeeded": 0,
        "gift": {"redeemed_amount": 0, "amount_to_go": 0},
        "loyalty_card": {"redeemed_points": 0, "points_to_go": 0},
    }


def customer_summaries(*, project: Project, customer_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """customer pk → {"redemptions": …, "referrals": …, "referred_customers": n}, in four queries."""
    ids = list(customer_ids)
    summaries = {
        pk: {"redemptions": _empty_redemptions(), **entry}
        for pk, entry in referrals_summary(project=project, customer_ids=ids).items()
    }
    if not ids:
        return summaries
    counts = (
        Redemption.objects.for_project(project)
        .filter(customer_id__in=ids)
        .values("customer_id")
        .order_by()
        .annotate(
            redeemed=Count("id", filter=_REDEEMED),
            failed=Count("id", filter=_REDEEMED & Q(result=Redemption.Result.FAILURE)),
            succeeded=Count("id", filter=_REDEEMED & Q(result=Redemption.Result.SUCCESS)),
            rolled_back=Count("id", filter=_REDEEMED & Q(status=Redemption.Status.ROLLED_BACK)),
            rollbacks=Count(
                "id",
                filter=Q(object=Redemption.Object.ROLLBACK) & ~Q(related_object_type="redemption"),
            ),
            gift_redeemed=Sum(
                "amount",
                filter=_REDEEMED & Q(status=Redemption.Status.SUCCEEDED, voucher__type="GIFT_VOUCHER"),
            ),
        )
    )
    for row in counts:
        summary = summaries[row["customer_id"]]["redemptions"]
        summary.update(
            total_redeemed=row["redeemed"],
            total_failed=row["failed"],
            total_succeeded=row["succeeded"],
            total_rolled_back=row["rolled_back"],
            total_rollback_succeeded=row["rollbacks"],
        )
        summary["gift"]["redeemed_amount"] = row["gift_redeemed"] or 0
    balances = (
        Publication.objects.for_project(project)
        .filter(customer_id__in=ids, voucher__type=VoucherType.GIFT_VOUCHER)
        .values("customer_id")
        .order_by()
        .annotate(to_go=Sum("voucher__gift_balance"))
    )
    for row in balances:
        summaries[row["customer_id"]]["redemptions"]["gift"]["amount_to_go"] = row["to_go"] or 0
    return summaries
