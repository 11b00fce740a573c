"""Publishing codes to customers: insert-only claims.

Every claim is one statement: pick unpublished codes of the campaign in `sequence` order, lock them
with `FOR NO KEY UPDATE SKIP LOCKED` (so concurrent publishers take different codes), insert one
publication per code `ON CONFLICT DO NOTHING` and write one `customer.publication.succeeded` outbox
event per inserted publication. The unique (project, voucher) constraint is the guarantee that a code
has one holder; the locks only keep publishers from colliding. Whatever a statement could not insert
(a race lost, or too few candidates) is retried or reported, never assumed.

The claim starts after the campaign's `claim_cursor` (advanced by publishers without waiting for each
other), so a campaign with many published codes is not rescanned from the start on every claim; the
full scan happens once, only before a publisher reports the campaign exhausted.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from campaigns import codes
from campaigns.models import Campaign, Publication, Voucher
from customers.models import Customer
from customers.services import customer_upsert
from eventbus.cause import Cause, current_cause
from eventbus.registry import handlers_for
from eventbus.services import RELAY_GRACE, enqueue_dispatch
from tenancy.ids import new_public_id
from tenancy.models import Project

EVENT_TYPE = "customer.publication.succeeded"
BULK_BATCH_SIZE = 25_000
MAX_CLAIM_ROUNDS = 50


class PublicationRefused(Exception):
    """A business rule refused the publication: Voucherify's 400 with `key`."""

    def __init__(self, key: str, details: str, *, status_code: int = 400) -> None:
        super().__init__(details)
        self.key = key
        self.details = details
        self.status_code = status_code


@dataclass
class Claim:
    publication_id: int
    customer_id: int
    slot: int
    voucher_id: int
    code: str
    publication_public_id: str = ""


@dataclass
class ClaimOutcome:
    claims: list[Claim]
    candidates_found: int
    last_sequence: int | None
    event_ids: list[int]


# No joins between the statement's own intermediate results (their row counts are unknown to the
# planner, which then picks nested loops: quadratic at 100,000 rows). Customers and codes are paired
# by zipping two arrays with a multi-argument unnest; codes are looked up by primary key.
_CLAIM_SQL = """
WITH candidates AS (
    SELECT v.id, v.sequence
    FROM campaigns_voucher v
    WHERE {candidate_filter}
    ORDER BY v.sequence
    LIMIT %(limit)s
    FOR NO KEY UPDATE OF v {skip_locked}
),
picked AS (
    SELECT array_agg(id ORDER BY sequence) AS ids, max(sequence) AS last_sequence, count(*) AS found
    FROM candidates
),
pairs AS (
    SELECT pair.customer_id, pair.slot, pair.voucher_id
    FROM picked,
        unnest(%(customers)s::bigint[], %(slots)s::int[], picked.ids) AS pair(customer_id, slot, voucher_id)
    WHERE pair.customer_id IS NOT NULL AND pair.voucher_id IS NOT NULL
),
inserted AS (
    INSERT INTO campaigns_publication (
        project_id, public_id, voucher_id, campaign_id, customer_id, source_id, channel, metadata,
        request_key, slot, distribution_id, cause_key, created_at)
    SELECT %(project)s, {publication_id}, pairs.voucher_id, %(campaign)s, pairs.customer_id, %(source_id)s,
           %(channel)s, %(metadata)s::jsonb, %(request_key)s, pairs.slot, %(distribution_id)s, %(cause_key)s,
           %(now)s
    FROM pairs
    ON CONFLICT DO NOTHING
    RETURNING id, public_id, voucher_id, customer_id, slot
),
detailed AS (
    SELECT i.id, i.public_id, i.voucher_id, i.customer_id, i.slot, v.code, v.public_id AS voucher_public_id
    FROM inserted i CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a primary-key lookup per row instead of a hash of the whole table.
        SELECT code, public_id FROM campaigns_voucher WHERE id = i.voucher_id OFFSET 0
    ) AS v
),
events AS (
    INSERT INTO eventbus_domainevent (
        project_id, public_id, type, customer_id, refs, data, cause, created_at, next_dispatch_at,
        completed_at, dispatch_attempts)
    SELECT %(project)s, {event_id}, %(event_type)s, d.customer_id,
           jsonb_build_object('campaign', %(campaign_public_id)s::text, 'voucher', d.voucher_public_id,
                              'publication', d.public_id),
           jsonb_build_object('voucher_code', d.code),
           %(cause)s::jsonb, %(now)s, %(next_dispatch_at)s, %(completed_at)s, 0
    FROM detailed d
    RETURNING id
)
SELECT picked.found, picked.last_sequence, (SELECT array_agg(id) FROM events),
       NULL::bigint, NULL::bigint, NULL::int, NULL::bigint, NULL::text, NULL::text
FROM picked
UNION ALL
SELECT NULL, NULL, NULL, d.id, d.customer_id, d.slot, d.voucher_id, d.code, d.public_id FROM detailed d
"""

# The claim must probe `publication_unique_voucher` once per candidate code. Right after a bulk
# publication the table's statistics are stale (or, for a single-project database, say that a
# project matches 0.5% of rows), and the planner then materialises the project's publications and
# compares every candidate with every one of them: quadratic, minutes at 100,000 codes. These
# settings, for this statement only, leave it nothing but index probes and primary-key lookups.
# JIT goes too: its estimate-driven compile took 60 ms of each 25,000-code claim (plus planning),
# for a statement that is index probes and inserts.
_PLANNER_SETTINGS = (
    "enable_seqscan",
    "enable_bitmapscan",
    "enable_hashjoin",
    "enable_mergejoin",
    "enable_material",
    "jit",
)
_PIN_INDEX_PROBES = "; ".join(f"SET LOCAL {name} = off" for name in _PLANNER_SETTINGS)
_UNPIN = "; ".join(f"SET LOCAL {name} = DEFAULT" for name in _PLANNER_SETTINGS)

_CAMPAIGN_CANDIDATES = """
    v.project_id = %(project)s AND v.campaign_id = %(campaign)s AND v.sequence > %(cursor)s
    AND v.active AND (v.expiration_date IS NULL OR v.expiration_date > %(now)s)
    AND NOT EXISTS (
        SELECT 1 FROM campaigns_publication p WHERE p.project_id = %(project)s AND p.voucher_id = v.id
    )
"""
_VOUCHER_CANDIDATE = "v.project_id = %(project)s AND v.id = %(voucher)s"

_IDS = {
    "publication_id": codes.TIME_ORDERED_ID.format(prefix="pub_"),
    "event_id": codes.TIME_ORDERED_ID.format(prefix="evt_"),
}
CLAIM_FROM_CAMPAIGN = _CLAIM_SQL.format(
    candidate_filter=_CAMPAIGN_CANDIDATES, skip_locked="SKIP LOCKED", **_IDS
)
CLAIM_VOUCHER = _CLAIM_SQL.format(candidate_filter=_VOUCHER_CANDIDATE, skip_locked="", **_IDS)


def _claim(
    *,
    sql: str,
    project: Project,
    campaign: Campaign | None,
    customers: Sequence[int],
    slots: Sequence[int],
    cursor: int = 0,
    voucher_id: int | None = None,
    source_id: str | None = None,
    channel: str = "API",
    metadata: Mapping[str, Any] | None = None,
    request_key: str | None = None,
    distribution_id: int | None = None,
    cause_key: str | None = None,
    cause: Cause | None = None,
) -> ClaimOutcome:
    now = timezone.now()
    # As eventbus.publish does: an event type nobody handles is complete as written, with no task.
    has_handlers = bool(handlers_for(EVENT_TYPE))
    params = {
        "project": project.pk,
        "campaign": campaign.pk if campaign else None,
        "campaign_public_id": campaign.public_id if campaign else None,
        "cursor": cursor,
        "voucher": voucher_id,
        "now": now,
        "limit": len(customers),
        "customers": list(customers),
        "slots": list(slots),
        "source_id": source_id,
        "channel": channel,
        "metadata": json.dumps(dict(metadata or {})),
        "request_key": request_key,
        "distribution_id": distribution_id,
        "cause_key": cause_key,
        "event_type": EVENT_TYPE,
        "cause": json.dumps((cause or current_cause()).as_dict()),
        "next_dispatch_at": now + RELAY_GRACE,
        "completed_at": None if has_handlers else now,
    }
    with connection.cursor() as db:
        db.execute(_PIN_INDEX_PROBES)
        db.execute(sql, params)
        rows = db.fetchall()
        # Not in a `finally`: after an error the transaction is aborted, and rolling it (or the
        # savepoint) back undoes the SET LOCAL anyway.
        db.execute(_UNPIN)
    # One summary row (candidates found, last sequence, event ids), then one row per publication.
    found, last_sequence, event_ids = next(row[:3] for row in rows if row[3] is None)
    event_ids = event_ids or []
    claims = [Claim(*row[3:9]) for row in rows if row[3] is not None]
    if event_ids and has_handlers:
        transaction.on_commit(lambda ids=list(event_ids): enqueue_dispatch(ids))
    return ClaimOutcome(
        claims=claims, candidates_found=found, last_sequence=last_sequence, event_ids=event_ids
    )


def _claim_cursor(project: Project, campaign: Campaign) -> int:
    return (
        Campaign.objects.for_project(project)
        .filter(pk=campaign.pk)
        .values_list("claim_cursor", flat=True)
        .get()
    )


def _advance_claim_cursor(campaign: Campaign, last_sequence: int | None) -> None:
    """Move the cursor forward unless another publisher holds the campaign row: never wait for it.

    `FOR NO KEY UPDATE` does not conflict with the key-share locks that inserting publications takes
    on the campaign, so holding it until commit blocks no publisher.
    """
    if last_sequence is None:
        return
    with connection.cursor() as db:
        db.execute(
            """
            UPDATE campaigns_campaign SET claim_cursor = %s
            WHERE id = (
                SELECT id FROM campaigns_campaign
                WHERE id = %s AND project_id = %s AND claim_cursor < %s
                FOR NO KEY UPDATE SKIP LOCKED
            )
            """,
            [last_sequence, campaign.pk, campaign.project_id, last_sequence],
        )


def check_campaign_publishable(campaign: Campaign) -> None:
    now = timezone.now()
    if not campaign.has_codes:
        raise PublicationRefused(
            "invalid_publish_params",
            f"Campaign {campaign.name} is a {campaign.campaign_type} campaign without codes.",
        )
    if not campaign.active:
        raise PublicationRefused("campaign_disabled", f"Campaign {campaign.name} is disabled.")
    if campaign.expiration_date is not None and campaign.expiration_date <= now:
        raise PublicationRefused("campaign_expired", f"Campaign {campaign.name} has expired.")
    if campaign.start_date is not None and campaign.start_date > now:
        raise PublicationRefused("campaign_not_active", f"Campaign {campaign.name} has not started yet.")


def _claim_from_campaign(
    *, project: Project, campaign: Campaign, customers: list[int], slots: list[int], **options: Any
) -> tuple[list[Claim], list[int]]:
    """Claim one code for each (customer, slot); returns the claims and the positions left without one.

    Lost races are retried. When candidates run out the campaign is rescanned from its first code
    once (the cursor is a hint), and AUTO_UPDATE campaigns grow by the codes still missing.
    """
    claims: list[Claim] = []
    pending = list(range(len(customers)))
    rescanned = False
    growths = 0
    request_key = options.get("request_key")
    cursor = _claim_cursor(project, campaign)
    for _ in range(MAX_CLAIM_ROUNDS):
        wanted = len(pending)
        outcome = _claim(
            sql=CLAIM_FROM_CAMPAIGN,
            project=project,
            campaign=campaign,
            customers=[customers[i] for i in pending],
            slots=[slots[i] for i in pending],
            cursor=cursor,
            **options,
        )
        claimed = {(claim.customer_id, claim.slot) for claim in outcome.claims}
        claims.extend(outcome.claims)
        pending = [i for i in pending if (customers[i], slots[i]) not in claimed]
        _advance_claim_cursor(campaign, outcome.last_sequence)
        if outcome.last_sequence is not None:
            cursor = max(cursor, outcome.last_sequence)
        if not pending:
            break
        if request_key and _request_key_taken(project, request_key, claims):
            break  # a concurrent request with the same key won; the caller returns its publication
        if outcome.candidates_found < wanted:
            # Too few candidates: look behind the cursor once, then grow (AUTO_UPDATE) or give up.
            if not rescanned and cursor > 0:
                rescanned, cursor = True, 0
            elif campaign.type == Campaign.Type.AUTO_UPDATE and growths < 3:
                growths += 1
                if codes.generate_codes(campaign=campaign, count=len(pending)) == 0:
                    break
            else:
                break
        # else: enough candidates, but some were published concurrently; claim again.
    return claims, pending


def _request_key_taken(project: Project, request_key: str, ours: list[Claim]) -> bool:
    """Did another request with the same key insert publications (so ours lost the race)?"""
    ours_ids = {claim.publication_id for claim in ours}
    return (
        Publication.objects.for_project(project)
        .filter(request_key=request_key)
        .exclude(pk__in=ours_ids)
        .exists()
    )


# --- The API's publication --------------------------------------------------------------------------


@dataclass
class PublicationResult:
    publications: list[Publication]
    created: bool


class _LostRace(Exception):
    pass


def _existing(project: Project, request_key: str) -> list[Publication]:
    return list(
        Publication.objects.for_project(project)
        .filter(request_key=request_key)
        .select_related("voucher", "voucher__campaign", "customer", "campaign")
        .order_by("slot")
    )


def _loaded(project: Project, ids: Iterable[int]) -> list[Publication]:
    return list(
        Publication.objects.for_project(project)
        .filter(pk__in=list(ids))
        .select_related("voucher", "voucher__campaign", "customer", "campaign")
        .order_by("slot", "pk")
    )


@transaction.atomic
def publication_create(
    *,
    project: Project,
    customer: Customer,
    campaign: Campaign | None = None,
    voucher: Voucher | None = None,
    count: int = 1,
    source_id: str | None = None,
    channel: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    join_once: bool = False,
) -> PublicationResult:
    """Publish `count` codes of `campaign` (or the given `voucher`) to `customer`.

    The same `source_id` returns the same publication, even for concurrent requests: their rows share
    a `request_key`, unique per slot. With `join_once` (or a join-once campaign) a customer who already
    holds a code of the campaign gets that code back.
    """
    if (campaign is None) == (voucher is None):
        raise PublicationRefused("invalid_publish_params", "Give either a campaign or a voucher, not both.")
    join_once = join_once or bool(campaign and campaign.join_once)
    if source_id:
        request_key = f"source:{source_id}"
    elif join_once and campaign is not None:
        request_key = f"join:{campaign.pk}:{customer.pk}"
    else:
        request_key = f"request:{uuid.uuid4().hex}"
    if source_id or join_once:
        existing = _existing(project, request_key)
        if existing:
            return PublicationResult(existing, created=False)
    if join_once and campaign is not None:
        held = list(
            Publication.objects.for_project(project)
            .filter(campaign=campaign, customer=customer)
            .select_related("voucher", "voucher__campaign", "customer", "campaign")
            .order_by("created_at", "pk")[:1]
        )
        if held:
            return PublicationResult(held, created=False)
    options = {
        "source_id": source_id,
        "channel": channel or "API",
        "metadata": metadata,
        "request_key": request_key,
    }
    try:
        with transaction.atomic():
            if campaign is not None:
                claims = _publish_from_campaign(project, campaign, customer, count, options)
            else:
                claims = _publish_voucher(project, voucher, customer, options)
    except _LostRace:
        return PublicationResult(_existing(project, request_key), created=False)
    return PublicationResult(_loaded(project, [claim.publication_id for claim in claims]), created=True)


def _publish_from_campaign(
    project: Project, campaign: Campaign, customer: Customer, count: int, options: dict[str, Any]
) -> list[Claim]:
    check_campaign_publishable(campaign)
    claims, pending = _claim_from_campaign(
        project=project,
        campaign=campaign,
        customers=[customer.pk] * count,
        slots=list(range(count)),
        **options,
    )
    if pending:
        if _request_key_taken(project, options["request_key"], claims):
            raise _LostRace
        raise PublicationRefused(
            "no_voucher_suitable_for_publication",
            f"Campaign {campaign.name} has no unpublished codes left"
            + (f" ({len(claims)} of {count} requested were available)." if claims else "."),
        )
    return claims


def _publish_voucher(
    project: Project, voucher: Voucher, customer: Customer, options: dict[str, Any]
) -> list[Claim]:
    now = timezone.now()
    if voucher.campaign is not None:
        check_campaign_publishable(voucher.campaign)
    if not voucher.active:
        raise PublicationRefused("voucher_disabled", f"Voucher {voucher.code} is disabled.")
    if voucher.expiration_date is not None and voucher.expiration_date <= now:
        raise PublicationRefused("voucher_expired", f"Voucher {voucher.code} has expired.")
    outcome = _claim(
        sql=CLAIM_VOUCHER,
        project=project,
        campaign=voucher.campaign,
        customers=[customer.pk],
        slots=[0],
        voucher_id=voucher.pk,
        **options,
    )
    if not outcome.claims:
        if _request_key_taken(project, options["request_key"], []):
            raise _LostRace
        raise PublicationRefused("voucher_already_published", f"Voucher {voucher.code} is already published.")
    return outcome.claims


# --- Distributions' bulk publication ----------------------------------------------------------------


class PublishedCodes(dict):
    """customer id → code; `publications`: customer id → the publication's public id; and `unserved`:
    the customers left without a code (campaign exhausted)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.publications: dict[int, str] = {}
        self.unserved: list[int] = []


@dataclass
class _BatchResult:
    codes: dict[int, str] = field(default_factory=dict)
    publications: dict[int, str] = field(default_factory=dict)
    unserved: list[int] = field(default_factory=list)

    def add(self, customer_id: int, code: str, publication_public_id: str) -> None:
        self.codes[customer_id] = code
        self.publications[customer_id] = publication_public_id


def _published_for(
    *, project: Project, distribution_id: int, cause_key: str, customer_ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """customer id → (code, publication public id) already published to them by this distribution for
    this cause key."""
    # Raw SQL with one array parameter: the ORM's `__in` would build 25,000 placeholders per batch.
    with connection.cursor() as db:
        db.execute(
            """
            SELECT p.customer_id, v.code, p.public_id
            FROM campaigns_publication p JOIN campaigns_voucher v ON v.id = p.voucher_id
            WHERE p.project_id = %s AND p.distribution_id = %s AND p.cause_key = %s
              AND p.customer_id = ANY(%s::bigint[])
            """,
            [project.pk, distribution_id, cause_key, list(customer_ids)],
        )
        return {customer_id: (code, public_id) for customer_id, code, public_id in db.fetchall()}


def publish_codes(
    *,
    project: Project,
    campaign: Campaign,
    customer_ids: Sequence[int],
    cause_key: str,
    distribution_id: int,
    cause: Cause,
) -> PublishedCodes:
    """One code of `campaign` for each customer, for a distribution: `{customer_id: code}`.

    Idempotent per (distribution, customer, cause_key): a re-run returns the codes already published
    and publishes nothing new for them. Each batch of customers is one claim statement in its own
    transaction (a savepoint when the caller holds one), with one `customer.publication.succeeded`
    event per code, caused by `cause`. Customers left without a code because the campaign ran out are
    listed in the result's `unserved`.
    """
    check_campaign_publishable(campaign)
    result = PublishedCodes()
    unique_ids = list(dict.fromkeys(customer_ids))
    for start in range(0, len(unique_ids), BULK_BATCH_SIZE):
        batch = unique_ids[start : start + BULK_BATCH_SIZE]
        with transaction.atomic():
            outcome = _publish_batch(
                project=project,
                campaign=campaign,
                customer_ids=batch,
                cause_key=cause_key,
                distribution_id=distribution_id,
                cause=cause,
            )
        result.update(outcome.codes)
        result.publications.update(outcome.publications)
        result.unserved.extend(outcome.unserved)
    return result


def _publish_batch(
    *,
    project: Project,
    campaign: Campaign,
    customer_ids: list[int],
    cause_key: str,
    distribution_id: int,
    cause: Cause,
) -> _BatchResult:
    result = _BatchResult()
    keys = {"distribution_id": distribution_id, "cause_key": cause_key}
    remaining = customer_ids
    for _ in range(MAX_CLAIM_ROUNDS):
        already = _published_for(project=project, customer_ids=remaining, **keys)
        for customer_id, (code, publication_public_id) in already.items():
            result.add(customer_id, code, publication_public_id)
        remaining = [customer_id for customer_id in remaining if customer_id not in already]
        if not remaining:
            break
        claims, pending = _claim_from_campaign(
            project=project,
            campaign=campaign,
            customers=remaining,
            slots=[0] * len(remaining),
            channel="DISTRIBUTION",
            cause=cause,
            **keys,
        )
        for claim in claims:
            result.add(claim.customer_id, claim.code, claim.publication_public_id)
        remaining = [remaining[i] for i in pending]
        if not remaining:
            break
        # Those still pending either lost to a concurrent run of the same distribution (their code is
        # now published: the next round finds it) or the campaign is exhausted.
        already = _published_for(project=project, customer_ids=remaining, **keys)
        if not already:
            result.unserved.extend(remaining)
            break
    return result


def new_publication_public_id() -> str:
    return new_public_id("pub", 24)


@transaction.atomic
def publication_create_for_customer_fields(
    *, project: Project, customer_fields: Mapping[str, Any], **publication: Any
) -> PublicationResult:
    """`POST /v1/publications`: upsert the embedded customer and publish to them, in one transaction,
    so a refused publication leaves no customer behind."""
    customer, _ = customer_upsert(project=project, fields=customer_fields)
    return publication_create(project=project, customer=customer, **publication)
