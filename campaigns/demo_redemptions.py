"""Demo history for redemptions, gift cards and referrals, on top of `seed_demo`'s campaigns.

`seed_redemptions(project)` is idempotent: publications are keyed by `source_id`, the referral
program is created once, and the redemptions, balance moves and referrals are written once (they
carry `metadata.demo`, and a project that has them is left as it is).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from campaigns.gift import gift_balance_update
from campaigns.models import Campaign, Publication, Redemption, Referral
from campaigns.publications import publication_create
from campaigns.redemptions import Redeemable, redemption_redeem, redemption_rollback
from campaigns.services import campaign_create
from customers.models import Customer
from tenancy.models import Project

DEMO_MARK = {"demo": "seed_redemptions"}
WELCOME = "Welcome 10% off"
GIFT_CARDS = "Gift cards $25"
REFERRAL_PROGRAM = {
    "name": "Refer a friend",
    "description": "$5 off for a friend's first order; the friend is recorded as referred.",
    "campaign_type": "REFERRAL_PROGRAM",
    "type": "STATIC",
    "vouchers_count": 20,
    "referral_program": {"conversion_event_type": "redemption"},
    "voucher": {
        "type": "DISCOUNT_VOUCHER",
        "discount": {"type": "AMOUNT", "amount_off": 500, "effect": "APPLY_TO_ORDER"},
        "is_referral_code": True,
        "code_config": {"pattern": "FRIEND-#####", "charset": "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"},
    },
}


def _publish(project: Project, campaign: Campaign, customer: Customer, key: str) -> str:
    result = publication_create(project=project, customer=customer, campaign=campaign, source_id=key)
    return result.publications[0].voucher.code


def _redeem(project: Project, code: str, customer: Customer, order_key: str, amount: int, **extra: Any):
    return redemption_redeem(
        project=project,
        redeemables=[Redeemable(object="voucher", id=code, gift_credits=extra.get("credits"))],
        customer_fields={"id": customer.public_id},
        order_fields={"source_id": order_key, "amount": amount, "status": "PAID"},
        metadata=DEMO_MARK,
    )


def seed_redemptions(project: Project) -> dict[str, int]:
    """Referral codes for three referrers and two referrals, gift card balances moved and spent,
    and redemptions (one rolled back) of the welcome codes. Needs `seed_demo`'s customers and
    campaigns; returns what it added (all zero on a second run)."""
    added = {"redemptions": 0, "rollbacks": 0, "balance_moves": 0, "referrals": 0}
    campaigns = Campaign.objects.for_project(project)
    welcome = campaigns.filter(name=WELCOME).first()
    gift_cards = campaigns.filter(name=GIFT_CARDS).first()
    customers = list(
        Customer.objects.for_project(project)
        .filter(source_id__startswith="demo-customer-")
        .order_by("source_id")[:16]
    )
    if welcome is None or gift_cards is None or len(customers) < 16:
        return added
    referral = campaigns.filter(name=REFERRAL_PROGRAM["name"]).first() or campaign_create(
        project=project, fields=REFERRAL_PROGRAM
    )
    if Redemption.objects.for_project(project).filter(metadata__demo=DEMO_MARK["demo"]).exists():
        return added
    with transaction.atomic():
        referrers, referees = customers[0:3], customers[3:5]
        referral_codes = [
            _publish(project, referral, referrer, f"demo-referral-{n}")
            for n, referrer in enumerate(referrers)
        ]
        # Two friends convert by redeeming a referrer's code with their first order.
        for n, (code, referee) in enumerate(zip(referral_codes, referees, strict=False)):
            _redeem(project, code, referee, f"demo-referral-order-{n}", 6_000 + 1_000 * n)
        added["redemptions"] += len(referees)

        holders = customers[5:8]
        cards = [_publish(project, gift_cards, holder, f"demo-gift-{n}") for n, holder in enumerate(holders)]
        card_vouchers = {
            p.voucher.code: p.voucher
            for p in Publication.objects.for_project(project)
            .filter(voucher__code__in=cards)
            .select_related("voucher")
        }
        gift_balance_update(
            project=project, voucher=card_vouchers[cards[0]], amount=1_000, reason="birthday top-up"
        )
        gift_balance_update(
            project=project, voucher=card_vouchers[cards[1]], amount=-500, reason="correction"
        )
        added["balance_moves"] += 2
        _redeem(project, cards[2], holders[2], "demo-gift-order-0", 4_200, credits=1_200)
        _redeem(project, cards[0], holders[0], "demo-gift-order-1", 1_800)
        added["redemptions"] += 2

        shoppers = customers[8:16]
        results = []
        for n, shopper in enumerate(shoppers[:6]):
            code = _publish(project, welcome, shopper, f"demo-welcome-{n}")
            results.append(_redeem(project, code, shopper, f"demo-welcome-order-{n}", 5_000 + 1_500 * n))
        added["redemptions"] += len(results)
        redemption_rollback(project=project, redemption=results[-1].redemptions[0], reason="order returned")
        added["rollbacks"] += 1
    added["referrals"] = Referral.objects.for_project(project).filter(campaign=referral).count()
    return added
