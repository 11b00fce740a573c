"""Members: a customer joins a loyalty program by receiving one of its cards, once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns import codes
from campaigns.loyalty import ledger
from campaigns.loyalty.errors import LoyaltyRefused
from campaigns.loyalty.tiers import member_tier_leave, settle_tiers
from campaigns.models import Campaign, CampaignType, LoyaltyCard, Publication, Voucher, VoucherType
from campaigns.publications import PublicationRefused, publication_create
from customers.models import Customer
from tenancy.models import Project


def check_loyalty_campaign(campaign: Campaign) -> None:
    if campaign.campaign_type != CampaignType.LOYALTY_PROGRAM:
        raise LoyaltyRefused(
            "invalid_campaign_params",
            f"Campaign {campaign.name} is a {campaign.campaign_type}, not a loyalty program.",
        )


def card_of(project: Project, campaign: Campaign, customer: Customer) -> LoyaltyCard | None:
    return (
        LoyaltyCard.objects.for_project(project)
        .select_related("voucher", "voucher__campaign", "campaign", "customer", "tier")
        .filter(campaign=campaign, customer=customer)
        .first()
    )


def member_add(
    *,
    project: Project,
    campaign: Campaign,
    customer: Customer,
    voucher: Voucher | None = None,
    source_id: str | None = None,
    channel: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[LoyaltyCard, bool]:
    """`POST /v1/loyalties/{campaignId}/members`: publish a card of the program to the customer.

    One card per customer and program: joining again (even concurrently) returns the card they hold,
    and `created` False. The card is an unpublished code of the program, or a new one when none is
    left (or `voucher`, a given unpublished card of the program). Its initial points
    (`loyalty_card.points` of the campaign) become its first bucket, and its tier is settled.
    """
    check_loyalty_campaign(campaign)
    with transaction.atomic():
        held = card_of(project, campaign, customer)
        if held is not None:
            return held, False
        try:
            with transaction.atomic():
                _join(project, campaign, customer, voucher, source_id, channel, metadata)
        except IntegrityError:
            # A concurrent join of the same customer won: theirs is the card.
            held = card_of(project, campaign, customer)
            if held is None:
                raise
            return held, False
    return card_of(project, campaign, customer), True


def _join(
    project: Project,
    campaign: Campaign,
    customer: Customer,
    voucher: Voucher | None,
    source_id: str | None,
    channel: str | None,
    metadata: Mapping[str, Any] | None,
) -> LoyaltyCard:
    options = {"source_id": source_id, "channel": channel, "metadata": metadata}
    if voucher is not None:
        if voucher.campaign_id != campaign.pk or voucher.type != VoucherType.LOYALTY_CARD:
            raise LoyaltyRefused(
                "invalid_voucher", f"Voucher {voucher.code} is not a card of {campaign.name}."
            )
        result = publication_create(project=project, customer=customer, voucher=voucher, **options)
    else:
        try:
            result = publication_create(
                project=project, customer=customer, campaign=campaign, join_once=True, **options
            )
        except PublicationRefused as error:
            if error.key != "no_voucher_suitable_for_publication":
                raise
            # A loyalty program grows by a card whenever a member joins and none is left.
            try:
                card_voucher = codes.single_random_code(campaign=campaign)
            except codes.InvalidCodeConfig as error:
                raise LoyaltyRefused("invalid_code_config", str(error)) from None
            result = publication_create(project=project, customer=customer, voucher=card_voucher, **options)
    publication = result.publications[0]
    if publication.customer_id != customer.pk:
        raise LoyaltyRefused("voucher_already_published", "The card is held by another customer.")
    card = LoyaltyCard.objects.create(
        project=project, campaign=campaign, customer=customer, voucher=publication.voucher
    )
    card.campaign = campaign
    initial = publication.voucher.loyalty_balance or 0
    if initial > 0:
        ledger.bucket_create_initial(project, card, initial)
    settle_tiers(project, [card.pk])
    return card


def member_adopt(*, project: Project, voucher: Voucher) -> LoyaltyCard | None:
    """A loyalty card published without joining (by `POST /v1/publications` or a distribution's bulk
    publication) makes its holder a member with that card, the first time it is used. None when the
    code is not a published card of a loyalty program, or its holder is a member with another card."""
    if voucher.type != VoucherType.LOYALTY_CARD or voucher.campaign_id is None:
        return None
    publication = (
        Publication.objects.for_project(project)
        .filter(voucher=voucher)
        .select_related("customer", "voucher", "voucher__campaign")
        .first()
    )
    if publication is None or publication.voucher.campaign.campaign_type != CampaignType.LOYALTY_PROGRAM:
        return None
    campaign, customer = publication.voucher.campaign, publication.customer
    with transaction.atomic():
        try:
            with transaction.atomic():
                card = LoyaltyCard.objects.create(
                    project=project, campaign=campaign, customer=customer, voucher=publication.voucher
                )
                card.campaign = campaign
                if publication.voucher.loyalty_balance:
                    ledger.bucket_create_initial(project, card, publication.voucher.loyalty_balance)
                settle_tiers(project, [card.pk])
        except IntegrityError:
            pass  # a member already, with this card (a concurrent adoption) or another one
    card = card_of(project, campaign, customer)
    return card if card is not None and card.voucher_id == voucher.pk else None


def card_for(*, project: Project, campaign: Campaign, customer: Customer) -> LoyaltyCard | None:
    """The customer's card in the program: their membership, or a card of it published to them."""
    card = card_of(project, campaign, customer)
    if card is not None:
        return card
    publication = (
        Publication.objects.for_project(project)
        .filter(campaign=campaign, customer=customer, voucher__type=VoucherType.LOYALTY_CARD)
        .select_related("voucher")
        .order_by("created_at", "pk")
        .first()
    )
    return member_adopt(project=project, voucher=publication.voucher) if publication is not None else None


@transaction.atomic
def member_leave(*, project: Project, card: LoyaltyCard) -> None:
    """The member leaves the program: the card is disabled, its tier left (publishing `tier.left`), and
    its membership row removed (its points and history go with it)."""
    locked = ledger.lock_card(project, card.pk)
    member_tier_leave(project, locked)
    Voucher.objects.for_project(project).filter(pk=locked.voucher_id).update(
        active=False, updated_at=timezone.now()
    )
    LoyaltyCard.objects.for_project(project).filter(pk=locked.pk).delete()


@transaction.atomic
def member_add_for_customer_fields(
    *, project: Project, campaign: Campaign, customer_fields: Mapping[str, Any], **options: Any
) -> tuple[LoyaltyCard, bool]:
    """The API's join: upsert the embedded customer and add them, in one transaction, so a refused join
    leaves no customer behind."""
    from customers.services import customer_upsert

    customer, _ = customer_upsert(project=project, fields=customer_fields)
    return member_add(project=project, campaign=campaign, customer=customer, **options)
