"""Gift card balances: credits added or removed by hand (`POST /v1/vouchers/{code}/balance`).

One conditional UPDATE moves the balance and refuses to take it below zero, so concurrent changes
never lose one another and never overdraw the card. Redemptions take credits in `campaigns.redemptions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction

from campaigns.models import Publication, Voucher, VoucherType
from eventbus.services import publish
from tenancy.models import Project

BALANCE_ADDED = "customer.voucher.gift.balance_added"


class BalanceRefused(Exception):
    def __init__(self, key: str, details: str, *, status_code: int = 400) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code


@dataclass
class BalanceChange:
    voucher: Voucher
    amount: int
    total: int
    balance: int


_MOVE_BALANCE_SQL = """
UPDATE campaigns_voucher
SET gift_balance = coalesce(gift_balance, gift_amount, 0) + %(amount)s,
    gift_amount = coalesce(gift_amount, 0) + greatest(%(amount)s, 0),
    updated_at = now()
WHERE project_id = %(project)s AND id = %(voucher)s AND type = 'GIFT_VOUCHER'
  AND coalesce(gift_balance, gift_amount, 0) + %(amount)s >= 0
RETURNING gift_amount, gift_balance, updated_at
"""


@transaction.atomic
def gift_balance_update(
    *,
    project: Project,
    voucher: Voucher,
    amount: int,
    source_id: str | None = None,
    reason: str | None = None,
) -> BalanceChange:
    """Add `amount` cents to a gift card (negative: remove them). The total grows with additions
    only; a removal that would leave the balance below zero is refused and changes nothing.
    Adding credits publishes `customer.voucher.gift.balance_added` for the card's holder."""
    if voucher.type != VoucherType.GIFT_VOUCHER:
        raise BalanceRefused(
            "invalid_add_balance_params",
            f"Voucher {voucher.code} is a {voucher.type}, not a gift card"
            + (
                ": loyalty points move with /v1/loyalties/members/{code}/balance."
                if voucher.type == VoucherType.LOYALTY_CARD
                else "."
            ),
        )
    if amount == 0:
        raise BalanceRefused("invalid_add_balance_params", "The amount to add or remove must not be zero.")
    with connection.cursor() as cursor:
        cursor.execute(_MOVE_BALANCE_SQL, {"project": project.pk, "voucher": voucher.pk, "amount": amount})
        row = cursor.fetchone()
    if row is None:
        raise BalanceRefused(
            "gift_amount_exceeded",
            f"Removing {-amount} would take gift card {voucher.code} below zero.",
        )
    voucher.gift_amount, voucher.gift_balance, voucher.updated_at = row
    if amount > 0:
        holder = (
            Publication.objects.for_project(project)
            .filter(voucher=voucher)
            .select_related("customer")
            .first()
        )
        publish(
            project,
            BALANCE_ADDED,
            customer=holder.customer if holder else None,
            refs={"voucher": voucher, **({"campaign": voucher.campaign} if voucher.campaign_id else {})},
            data={
                "amount": amount,
                "balance": voucher.gift_balance,
                "total": voucher.gift_amount,
                "source_id": source_id,
                "reason": reason,
            },
        )
    return BalanceChange(
        voucher=voucher, amount=amount, total=voucher.gift_amount, balance=voucher.gift_balance
    )
