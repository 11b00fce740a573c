"""Publication tallies (migration 0007): folding the rows the triggers append into compact rows, and
the counts read from them.

As for messaging's tallies, a read sums every row of its groups, so it is exact whether or not
compaction has run. The one case the triggers can miss: a code published and given its first
successful redemption by two transactions that run at the same moment (neither sees the other's
row). Publishing takes no lock on the voucher row and redeeming takes its row lock, so the two do
not wait for each other; a code cannot normally be redeemed before its holder has received it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum

from campaigns.models import Publication, PublicationTally, Redemption
from tenancy.models import Project
from tenancy.tallies import quarter_hours_inside

COMPACTION_LOCK = 7_400_402
# Open ends of a range of publication times.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
BATCH = 50_000

COMPACT_PUBLICATIONS = """
WITH moved AS (
    DELETE FROM campaigns_publicationtally
    WHERE id IN (SELECT id FROM campaigns_publicationtally WHERE NOT is_compact LIMIT %(batch)s)
    RETURNING project_id, distribution_id, campaign_id, created_in, published, redeemed
), folded AS (
INSERT INTO campaigns_publicationtally (project_id, distribution_id, campaign_id, created_in, published,
    redeemed, is_compact)
SELECT project_id, distribution_id, campaign_id, created_in, sum(published), sum(redeemed), true
FROM moved
GROUP BY project_id, distribution_id, campaign_id, created_in
ON CONFLICT (project_id, distribution_id, campaign_id, created_in) WHERE is_compact
DO UPDATE SET published = campaigns_publicationtally.published + excluded.published,
    redeemed = campaigns_publicationtally.redeemed + excluded.redeemed
RETURNING 1
)
SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM folded)
"""


def publication_tallies_compact(*, max_batches: int = 20) -> int:
    """Fold fresh publication tally rows (every project's: operator code); how many moved."""
    moved = 0
    for _ in range(max_batches):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COMPACTION_LOCK])
            if not cursor.fetchone()[0]:
                return moved
            cursor.execute(COMPACT_PUBLICATIONS, {"batch": BATCH})
            rows, _groups = cursor.fetchone()
        moved += rows
        if rows < BATCH:
            break
    return moved


def code_counts(
    *,
    project: Project,
    distribution_ids: list[int],
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[int, dict[str, int]]:
    """Per distribution: codes published through it, and how many of them were redeemed at least once.
    Whole quarter hours of the range from the tallies; the partial ones at its ends by counting the
    publications there (the distribution and time index)."""
    counts: dict[int, dict[str, int]] = {}

    def add(distribution_id: int, published: int, redeemed: int) -> None:
        entry = counts.setdefault(distribution_id, {"published": 0, "redeemed": 0})
        entry["published"] += published
        entry["redeemed"] += redeemed

    tallies = PublicationTally.objects.for_project(project).filter(distribution_id__in=distribution_ids)
    live = None
    if since is not None or until is not None:
        tallied, live = quarter_hours_inside("created_at", since or EARLIEST, until or LATEST)
        if tallied is None:
            tallies = tallies.none()
        else:
            tallies = tallies.filter(created_in__gte=tallied[0], created_in__lt=tallied[1])
    for row in (
        tallies.values("distribution_id")
        .annotate(published=Sum("published"), redeemed=Sum("redeemed"))
        .order_by()
    ):
        add(row["distribution_id"], row["published"], row["redeemed"])
    if live is not None:
        publications = Publication.objects.for_project(project).filter(
            live, distribution_id__in=distribution_ids
        )
        for row in (
            publications.values("distribution_id")
            .annotate(
                published=Count("id"),
                redeemed=Count("id", filter=Q(Exists(_redeemed_once_of(project)))),
            )
            .order_by()
        ):
            add(row["distribution_id"], row["published"], row["redeemed"])
    return {key: value for key, value in counts.items() if value["published"]}


def _redeemed_once_of(project: Project):
    return Redemption.objects.for_project(project).filter(
        voucher=OuterRef("voucher"), object=Redemption.Object.REDEMPTION, result=Redemption.Result.SUCCESS
    )


def campaign_published_counts(*, project: Project, campaign_ids: list[int]) -> dict[int, int]:
    """Per campaign: codes published (by a distribution or not)."""
    return dict(
        PublicationTally.objects.for_project(project)
        .filter(campaign_id__in=campaign_ids)
        .values("campaign_id")
        .annotate(published=Sum("published"))
        .order_by()
        .values_list("campaign_id", "published")
    )
