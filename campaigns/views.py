"""Dashboard: the campaign list and the campaign page (summary, counts, a paged codes table)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.vary import vary_on_headers

from campaigns.models import Campaign, CampaignQuerySet, Publication, PublicationTally, Redemption, Voucher
from campaigns.tallies import campaign_published_counts
from distributions.analytics import campaign_distribution_rows
from distributions.selectors import campaign_distributions
from tenancy.access import access_campaign, membership_required
from tenancy.models import Project
from tenancy.templatetags.dashboard import cents

CAMPAIGN_PAGE_SIZE = 50
CODES_PAGE_SIZE = 50
CAMPAIGN_DISTRIBUTIONS_PAGE_SIZE = 20
LIST_COLUMNS = (
    "public_id",
    "name",
    "campaign_type",
    "type",
    "active",
    "creation_status",
    "vouchers_count",
    "created_at",
)


def _with_counts(campaigns: CampaignQuerySet, project: Project) -> CampaignQuerySet:
    """Codes generated / published / redeemed, in the same query as the campaigns.

    Generated is the campaign's own `vouchers_count` (kept by every code-adding service, so a
    million-code campaign costs nothing to show); published sums the campaign's publication tallies
    (a row per quarter hour it published in, see `campaigns.tallies`); redeemed counts the distinct
    codes with a successful redemption that was not rolled back, through the redemptions' (project,
    campaign, created_at) index (promotion tiers have no codes, so their redemptions do not count).
    """
    published = (
        PublicationTally.objects.for_project(project)
        .filter(campaign_id=OuterRef("pk"))
        .order_by()
        .values("campaign_id")
        .annotate(total=Sum("published"))
        .values("total")
    )
    redeemed = (
        Redemption.objects.for_project(project)
        .filter(
            campaign=OuterRef("pk"),
            object=Redemption.Object.REDEMPTION,
            status=Redemption.Status.SUCCEEDED,
            voucher__isnull=False,
        )
        .order_by()
        .values("campaign")
        .annotate(total=Count("voucher", distinct=True))
        .values("total")
    )
    return campaigns.annotate(
        published_count=Coalesce(Subquery(published, output_field=IntegerField()), Value(0)),
        redeemed_count=Coalesce(Subquery(redeemed, output_field=IntegerField()), Value(0)),
    )


def _campaign_counts(project: Project, campaign: Campaign) -> dict[str, int]:
    """One campaign's codes published and redeemed, as `_with_counts` counts them. Redeemed as a
    count over `SELECT DISTINCT`, which PostgreSQL reads off the partial redemptions index in order
    (a `count(DISTINCT …)` sorts all 200,000 rows of a big campaign again, on disk)."""
    published = campaign_published_counts(project=project, campaign_ids=[campaign.pk]).get(campaign.pk, 0)
    redeemed = (
        Redemption.objects.for_project(project)
        .filter(
            campaign=campaign,
            object=Redemption.Object.REDEMPTION,
            status=Redemption.Status.SUCCEEDED,
            voucher__isnull=False,
        )
        .values("voucher")
        .distinct()
        .count()
    )
    return {"published_count": published, "redeemed_count": redeemed}


@membership_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = _with_counts(
        Campaign.objects.for_project(request.project).only(*LIST_COLUMNS).order_by("-created_at", "-pk"),
        request.project,
    )
    page = Paginator(campaigns, CAMPAIGN_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/campaign_list.html", {"page": page})


# Codes table: keyset paging over the campaign's claim order (`sequence`, unique per campaign and
# indexed with it), so page 20,000 of a million-code campaign costs what page 1 does.


@dataclass
class CodeRow:
    voucher: Voucher
    publication: Publication | None


@dataclass
class CodesPage:
    rows: list[CodeRow]
    next_url: str | None
    previous_url: str | None


def _as_sequence(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _codes_url(campaign: Campaign, **params: int) -> str:
    return reverse("campaigns:codes", args=[campaign.public_id]) + "?" + urlencode(params)


def _codes_page(request: HttpRequest, campaign: Campaign) -> CodesPage:
    """One page of the campaign's codes with their holders: two queries whatever the page."""
    project = request.project
    vouchers = (
        Voucher.objects.for_project(project)
        .filter(campaign=campaign)
        .only(
            "public_id",
            "code",
            "sequence",
            "active",
            "created_at",
            "redeemed_quantity",
            "redemption_quantity",
        )
    )
    after = _as_sequence(request.GET.get("after"))
    before = _as_sequence(request.GET.get("before"))
    if before is not None:
        rows = list(vouchers.filter(sequence__lt=before).order_by("-sequence")[: CODES_PAGE_SIZE + 1])
        has_previous, rows = len(rows) > CODES_PAGE_SIZE, rows[:CODES_PAGE_SIZE][::-1]
        has_next = True
    else:
        if after is not None:
            vouchers = vouchers.filter(sequence__gt=after)
        rows = list(vouchers.order_by("sequence")[: CODES_PAGE_SIZE + 1])
        has_next, rows = len(rows) > CODES_PAGE_SIZE, rows[:CODES_PAGE_SIZE]
        has_previous = after is not None
    publications = {
        publication.voucher_id: publication
        for publication in Publication.objects.for_project(project)
        .filter(voucher_id__in=[voucher.pk for voucher in rows])
        .select_related("customer")
        .only("voucher_id", "created_at", "customer__public_id", "customer__name", "customer__email")
    }
    return CodesPage(
        rows=[CodeRow(voucher, publications.get(voucher.pk)) for voucher in rows],
        next_url=_codes_url(campaign, after=rows[-1].sequence) if has_next and rows else None,
        previous_url=_codes_url(campaign, before=rows[0].sequence) if has_previous and rows else None,
    )


def _summary(campaign: Campaign) -> list[tuple[str, str]]:
    """What a code of this campaign gives, as label / value pairs (the raw JSON is shown too)."""
    items: list[tuple[str, str]] = []
    discount = campaign.discount or {}
    if discount:
        kind = discount.get("type")
        if kind == "PERCENT":
            items.append(("Discount", f"{discount.get('percent_off')}% off"))
        elif kind == "AMOUNT":
            items.append(("Discount", cents(discount.get("amount_off")) + " off"))
        elif kind == "FIXED":
            items.append(("Fixed price", cents(discount.get("fixed_amount"))))
        elif kind == "UNIT":
            items.append(("Free units", str(discount.get("unit_off"))))
        else:
            items.append(("Discount", str(kind)))
    gift = campaign.gift or {}
    if gift:
        items.append(("Gift amount", cents(gift.get("amount"))))
        if gift.get("effect"):
            items.append(("Gift effect", str(gift["effect"])))
    loyalty = campaign.loyalty_card or {}
    if loyalty:
        items.append(("Loyalty points", f"{loyalty.get('points', 0):,}"))
    return items


@vary_on_headers("HX-Request")
@membership_required
def campaign_detail(request: HttpRequest, identifier: str) -> HttpResponse:
    campaign = access_campaign(request, identifier)
    counts = _campaign_counts(request.project, campaign)
    if request.htmx and request.GET.get("part") == "counts":
        # Polled while codes are being generated: the counts climb in place.
        return render(
            request,
            "campaigns/campaign_detail.html#counts",
            {
                "campaign": campaign,
                "published_count": counts["published_count"],
                "redeemed_count": counts["redeemed_count"],
            },
        )
    # A page of distributions at a time: their counts are per-distribution aggregates.
    distributions_page = Paginator(
        campaign_distributions(project=request.project, campaign_public_id=campaign.public_id),
        CAMPAIGN_DISTRIBUTIONS_PAGE_SIZE,
    ).get_page(request.GET.get("distributions_page"))
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "published_count": counts["published_count"],
            "redeemed_count": counts["redeemed_count"],
            "summary": _summary(campaign),
            "codes": _codes_page(request, campaign) if campaign.has_codes else None,
            "distributions_page": distributions_page,
            "distribution_rows": campaign_distribution_rows(
                project=request.project, distributions=list(distributions_page.object_list)
            ),
        },
    )


@vary_on_headers("HX-Request")
@membership_required
def campaign_codes(request: HttpRequest, identifier: str) -> HttpResponse:
    """The codes table alone for htmx; the whole campaign page at the same cursor for a plain link."""
    if not request.htmx or request.htmx.history_restore_request:
        return campaign_detail(request, identifier)
    campaign = access_campaign(request, identifier)
    if not campaign.has_codes:
        raise Http404("A promotion has no codes.")
    return render(
        request,
        "campaigns/campaign_detail.html#codes_table",
        {"campaign": campaign, "codes": _codes_page(request, campaign)},
    )
