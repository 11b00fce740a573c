"""Redemption helpers: redeem through the API, and check that a refusal recorded a FAILED
redemption and changed nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from campaigns.models import Redemption, Referral
from customers.models import CustomEvent, Order
from tests.campaigns.support import campaigns_state


def redemption_state() -> dict[str, list[Any]]:
    return {
        **campaigns_state(),
        "orders": list(Order.objects.unscoped().order_by("pk").values()),
        "custom_events": list(CustomEvent.objects.unscoped().order_by("pk").values()),
        "redemptions": list(Redemption.objects.unscoped().order_by("pk").values()),
        "referrals": list(Referral.objects.unscoped().order_by("pk").values()),
    }


def redeem(api, code: str, **body: Any):
    redeemable: dict[str, Any] = {"object": "voucher", "id": code}
    if "credits" in body:
        redeemable["gift"] = {"credits": body.pop("credits")}
    return api.post("/v1/redemptions", {"redeemables": [redeemable], **body}, format="json")


@contextmanager
def only_a_failed_redemption() -> Iterator[dict[str, Any]]:
    """Then: one FAILED redemption was recorded (returned in the dict as `failed`), and nothing
    else was created, changed or deleted: no code used, no customer, order, event or referral."""
    before = redemption_state()
    outcome: dict[str, Any] = {}
    yield outcome
    after = redemption_state()
    recorded, added = after.pop("redemptions"), []
    kept = before.pop("redemptions")
    assert recorded[: len(kept)] == kept
    added = recorded[len(kept) :]
    assert after == before
    assert len(added) == 1, added
    assert (added[0]["result"], added[0]["status"]) == ("FAILURE", "FAILED")
    outcome["failed"] = added[0]


@contextmanager
def nothing_changes_at_all() -> Iterator[None]:
    before = redemption_state()
    yield
    assert redemption_state() == before
