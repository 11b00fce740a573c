"""Changes to one code: update, enable / disable, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Campaign, Publication, Voucher, VoucherType
from tenancy.models import Project

UPDATABLE = ("category", "start_date", "expiration_date", "active", "additional_info", "metadata")


class VoucherChangeRefused(Exception):
    def __init__(self, key: str, details: str, *, status_code: int = 400) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code


@transaction.atomic
def voucher_update(*, project: Project, voucher: Voucher, fields: Mapping[str, Any]) -> Voucher:
    """Change the fields given (`PUT /v1/vouchers/{code}`); a code's type never changes."""
    locked = (
        Voucher.objects.for_project(project)
        .select_for_update(no_key=True, of=("self",))
        .select_related("campaign")
        .get(pk=voucher.pk)
    )
    values = {name: fields[name] for name in UPDATABLE if name in fields}
    if "metadata" in values and values["metadata"] is None:
        values["metadata"] = {}
    if "active" in values and values["active"] is None:
        del values["active"]
    if fields.get("discount") is not None:
        if locked.type != VoucherType.DISCOUNT_VOUCHER:
            raise VoucherChangeRefused(
                "invalid_voucher", f"Voucher {locked.code} is a {locked.type}: it has no discount."
            )
        values["discount"] = fields["discount"]
    if "redemption" in fields:
        values["redemption_quantity"] = (fields["redemption"] or {}).get("quantity")
    start = values.get("start_date", locked.start_date)
    end = values.get("expiration_date", locked.expiration_date)
    if start and end and end <= start:
        raise VoucherChangeRefused("invalid_voucher", "expiration_date must be after start_date.")
    for name, value in values.items():
        setattr(locked, name, value)
    locked.updated_at = timezone.now()
    locked.save(update_fields=[*values, "updated_at"])
    return locked


@transaction.atomic
def voucher_set_active(*, project: Project, voucher: Voucher, active: bool) -> Voucher:
    Voucher.objects.for_project(project).filter(pk=voucher.pk).update(
        active=active, updated_at=timezone.now()
    )
    voucher.refresh_from_db(fields=["active", "updated_at"])
    return voucher


@transaction.atomic
def voucher_delete(*, project: Project, voucher: Voucher) -> None:
    """Delete the code and its publication; its redemptions stay as history (they copy the code).

    Voucherify moves a code to a bin unless `force=true`, and keeps the code taken while it is
    there; there is no bin here, so both delete for good and free the code for reuse.
    """
    Publication.objects.for_project(project).filter(voucher=voucher).delete()
    deleted, _ = Voucher.objects.for_project(project).filter(pk=voucher.pk).delete()
    if deleted and voucher.campaign_id is not None:
        Campaign.objects.for_project(project).filter(pk=voucher.campaign_id, vouchers_count__gt=0).update(
            vouchers_count=F("vouchers_count") - 1
        )
