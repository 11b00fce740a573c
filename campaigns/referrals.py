"""Referral programs: a referrer holds a referral code; a referee converting with it is recorded once.

A conversion is a redemption of the code by someone other than its holder, or a custom event naming
the code (`POST /v1/events` with `referral: {code, referrer_id}`), whichever the campaign's
`referral_program.conversion_event_type` asks for (both when it says nothing). The `Referral` row is
unique per (campaign, referee), so a referee converts once per program however often they come
back, and `customer.referred` is published only by the insert that won.
"""

from __future__ import annotations

from django.db import connection

from campaigns.models import Campaign, CampaignType, Publication, Referral, Voucher
from customers.models import Customer, CustomEvent
from eventbus.services import publish
from tenancy.models import Project

REFERRED = "customer.referred"


def converts_by(campaign: Campaign, conversion: str) -> bool:
    """Does `campaign` count a `conversion` ("redemption" or "custom_event") as a referral?"""
    program = campaign.referral_program or {}
    wanted = program.get("conversion_event_type")
    return wanted in (None, conversion)


def _event_matches(campaign: Campaign, event_name: str) -> bool:
    wanted = ((campaign.referral_program or {}).get("custom_event") or {}).get("name")
    return wanted in (None, event_name)


def referral_record(
    *,
    project: Project,
    campaign: Campaign,
    voucher: Voucher,
    referrer_id: int,
    referee: Customer,
    related_object_type: str,
    related_object_id: str,
) -> Referral | None:
    """Record that `referee` was referred by the customer `referrer_id` with `voucher`; call it inside
    the transaction of the conversion. Returns the new referral, or None when the referee was
    already referred in this campaign (nothing is written or published then)."""
    if referrer_id == referee.pk:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO campaigns_referral (
                project_id, campaign_id, voucher_id, code, referrer_id, referee_id,
                related_object_type, related_object_id, created_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            [
                project.pk,
                campaign.pk,
                voucher.pk,
                voucher.code,
                referrer_id,
                referee.pk,
                related_object_type,
                related_object_id,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    referral = Referral.objects.for_project(project).get(pk=row[0])
    referrer_public_id = (
        Customer.objects.for_project(project)
        .filter(pk=referrer_id)
        .values_list("public_id", flat=True)
        .first()
    )
    publish(
        project,
        REFERRED,
        customer=referee,
        refs={"campaign": campaign, "voucher": voucher},
        data={
            "referrer_id": referrer_public_id,
            "code": voucher.code,
            "related_object_type": related_object_type,
            "related_object_id": related_object_id,
        },
    )
    return referral


def referral_record_from_event(*, project: Project, event: CustomEvent) -> Referral | None:
    """The custom-event conversion: `event.referral = {code, referrer_id?}`.

    Lenient by design, as the event itself is recorded either way: a code that is unknown, not a
    referral code, of a program converting by redemption, without a holder (and no `referrer_id`
    naming a customer), or held by the referee, records no referral.
    """
    referral = event.referral or {}
    code = referral.get("code")
    if not code:
        return None
    voucher = Voucher.objects.for_project(project).select_related("campaign").filter(code=code).first()
    campaign = voucher.campaign if voucher else None
    if (
        voucher is None
        or campaign is None
        or campaign.campaign_type != CampaignType.REFERRAL_PROGRAM
        or not converts_by(campaign, "custom_event")
        or not _event_matches(campaign, event.name)
    ):
        return None
    referrer_id = holder_of(project=project, voucher=voucher)
    if referrer_id is None and referral.get("referrer_id"):
        referrer_id = (
            Customer.objects.for_project(project)
            .by_id_or_source_id(referral["referrer_id"])
            .values_list("pk", flat=True)
            .first()
        )
    if referrer_id is None:
        return None
    return referral_record(
        project=project,
        campaign=campaign,
        voucher=voucher,
        referrer_id=referrer_id,
        referee=event.customer,
        related_object_type="custom_event",
        related_object_id=event.public_id,
    )


def holder_of(*, project: Project, voucher: Voucher) -> int | None:
    """The pk of the customer a code is published to, if any."""
    return (
        Publication.objects.for_project(project)
        .filter(voucher=voucher)
        .values_list("customer_id", flat=True)
        .first()
    )
