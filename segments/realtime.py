"""Real-time membership: re-check one customer against every filter segment of the project.

When an event about a customer arrives (their profile, an order, a custom event, a redemption, a
points balance), one SELECT reads the customer's memberships and evaluates every auto-update and
passive segment's filter on that customer (an `EXISTS` per segment, each the segment's query plus
`WHERE id = …`); the differences are applied with the sync's RETURNING statements and announced in
the same transaction. The handler runs first among an event's handlers (order 10), so a
distribution reacting to the same event sees the membership it produced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from psycopg2 import errorcodes

from customers.models import Customer
from eventbus.cause import Cause
from eventbus.models import DomainEvent
from eventbus.registry import handles
from segments.filters import FilterError, compile_filter
from segments.models import Segment
from segments.sync import announce_changes
from tenancy.models import Project

logger = logging.getLogger(__name__)

# Everything that can change what a filter sees about a customer: the profile, orders and custom
# events (customers), redemptions and their rollbacks (`summary.redemptions.*`), and every movement of
# loyalty points or tiers (`loyalty_points.*`, `loyalty_tier.*`). Publications are left out on
# purpose: distributions publish codes to many customers at once, and a handler on them would make
# every one of those events wait for a dispatch. So a member joins a filter on a program's points when
# their points or tier first move (joining a program with tiers publishes `tier.joined`).
CUSTOMER_CHANGING_EVENTS = [
    "customer.created",
    "customer.updated",
    "customer.order.created",
    "customer.order.updated",
    "customer.order.paid",
    "customer.order.canceled",
    "customer.custom_event",
    "customer.redemption.succeeded",
    "customer.redemption.rollback.succeeded",
    "customer.rewarded.loyalty_points",
    "customer.voucher.loyalty_card.points_added",
    "customer.voucher.loyalty_card.points_expired",
    "customer.reward_redemptions.completed",
    "customer.loyalty.tier.joined",
    "customer.loyalty.tier.upgraded",
    "customer.loyalty.tier.downgraded",
    "customer.loyalty.tier.prolonged",
    "customer.loyalty.tier.left",
    "customer.voucher.gift.balance_added",
]

RECHECK_LOCK_SPACE = 0x5E6  # the first key of the re-check's advisory locks (the second: the customer)

INSERT_ONE_SQL = """
INSERT INTO segments_segmentmember (project_id, segment_id, customer_id, entered_at)
SELECT %s, segment_id, %s, %s FROM unnest(%s::bigint[]) AS segment_id
ON CONFLICT (project_id, segment_id, customer_id) DO NOTHING
RETURNING segment_id
"""

DELETE_ONE_SQL = """
DELETE FROM segments_segmentmember
WHERE project_id = %s AND customer_id = %s AND segment_id = ANY(%s::bigint[])
RETURNING segment_id
"""


def filter_segments(project: Project):
    """The segments kept by filters (drafts included: they are synced too)."""
    return (
        Segment.objects.for_project(project)
        .filter(type__in=[Segment.Type.AUTO_UPDATE, Segment.Type.PASSIVE], is_filter_valid=True)
        .order_by("pk")
    )


# Each segment's filter as SQL text, keyed by its filter version (and, for time-dependent filters,
# by the minute its relative dates were fixed at). Building the SQL through the ORM costs a few
# milliseconds a segment, far more than running it; a re-check of 50 segments would spend ~300 ms
# there without this cache.
_MEMBERSHIP_SQL: dict[tuple[int, int, datetime | None, str], tuple[str, tuple]] = {}
_MEMBERSHIP_SQL_LIMIT = 5000


def _membership_sql(
    project: Project, segment: Segment, now: datetime, customer: str = "%s"
) -> tuple[str, tuple] | None:
    """`EXISTS (the segment's query restricted to one customer id)`, with its parameters; the
    customer is `customer`, a column or (by default) a last parameter. None when the filter no longer
    compiles."""
    fixed_at = now.replace(second=0, microsecond=0) if segment.is_time_dependent else None
    key = (segment.pk, segment.filter_version, fixed_at, project.timezone)
    cached = _MEMBERSHIP_SQL.get(key)
    if cached is None:
        try:
            compiled = compile_filter(segment.filter, now=fixed_at or now, zone=project.timezone)
        except FilterError:
            logger.warning("Segment %s has a filter that no longer compiles; skipped", segment.public_id)
            return None
        query = Customer.objects.for_project(project).filter(compiled.q).values("id")
        sql, params = query.query.sql_with_params()
        cached = (sql, tuple(params))
        if len(_MEMBERSHIP_SQL) >= _MEMBERSHIP_SQL_LIMIT:
            _MEMBERSHIP_SQL.clear()
        _MEMBERSHIP_SQL[key] = cached
    sql, params = cached
    return f"EXISTS (SELECT 1 FROM ({sql}) AS matching WHERE matching.id = {customer})", params  # noqa: S608


MEMBERSHIPS_SQL = """ARRAY(SELECT segment_id FROM segments_segmentmember
    WHERE project_id = %s AND customer_id = %s AND segment_id = ANY(%s::bigint[]))"""


def _evaluate(
    project: Project, customer_id: int, segments: list[Segment], *, now: datetime
) -> tuple[set[int], set[int]]:
    """(the segments whose filter the customer matches, the segments they are a member of now), in
    one SELECT: the customer's memberships and one boolean per segment.

    Raw SQL around the ORM-built segment queries: it measurably pays (see `_MEMBERSHIP_SQL`), and
    PostgreSQL turns each `EXISTS` into a primary-key lookup of the customer with the filter on top.
    """
    columns = [MEMBERSHIPS_SQL]
    params: list = [project.pk, customer_id, [segment.pk for segment in segments]]
    segment_ids = []
    for segment in segments:
        membership = _membership_sql(project, segment, now)
        if membership is None:
            continue
        sql, sql_params = membership
        columns.append(sql)
        params.extend([*sql_params, customer_id])
        segment_ids.append(segment.pk)
    with connection.cursor() as cursor:
        _execute_prepared(cursor, f"SELECT {', '.join(columns)}", params)
        current, *matches = cursor.fetchone()
    matching = {segment_id for segment_id, matched in zip(segment_ids, matches, strict=True) if matched}
    return matching, set(current)


MEMBERSHIPS_OF_MANY_SQL = """ARRAY(SELECT segment_id FROM segments_segmentmember
    WHERE project_id = %s AND customer_id = batch.id AND segment_id = ANY(%s::bigint[]))"""


def _evaluate_many(
    project: Project, customer_ids: list[int], segments: list[Segment], *, now: datetime
) -> dict[int, tuple[set[int], set[int]]]:
    """`_evaluate` for several customers in one SELECT: a row per customer with its memberships
    and one boolean per segment, each `EXISTS` still restricted to that customer's id."""
    columns = ["batch.id", MEMBERSHIPS_OF_MANY_SQL]
    params: list = [project.pk, [segment.pk for segment in segments]]
    segment_ids = []
    for segment in segments:
        # `(SELECT batch.id)`, not `batch.id`: PostgreSQL may turn an EXISTS correlated by a plain
        # column into a hashed subplan that evaluates the filter over the whole project; through a
        # sub-select each segment's query is evaluated per customer from its primary key, as the
        # one-customer re-check is (measured: 20 ms against 0.3 ms for 100 of 20,000 customers).
        membership = _membership_sql(project, segment, now, customer="(SELECT batch.id)")
        if membership is None:
            continue
        sql, sql_params = membership
        columns.append(sql)
        params.extend(sql_params)
        segment_ids.append(segment.pk)
    params.append(customer_ids)
    with connection.cursor() as cursor:
        # The columns are our own SQL (the compiled filters); every value is a parameter.
        select = f"SELECT {', '.join(columns)} FROM unnest(%s::bigint[]) AS batch(id)"  # noqa: S608
        _execute_prepared(cursor, select, params)
        rows = cursor.fetchall()
    return {
        customer_id: (
            {segment_id for segment_id, matched in zip(segment_ids, matches, strict=True) if matched},
            set(current),
        )
        for customer_id, current, *matches in rows
    }


# --- the re-check's SELECT as a prepared statement -----------------------------------------------
# Planning that SELECT (fifty segment queries of a few joins each) costs several times running it,
# which is a handful of index lookups for one customer. Its text only changes when the project's
# filter segments do (the customer, the segments' values and the relative dates are parameters), so
# it is prepared once per database connection and each re-check runs the stored generic plan: every
# part of it starts from the customer's primary key, which a generic plan uses as well as a custom
# one. (psycopg2 binds parameters on the client, so without this each call would be planned anew.)

_PREPARED_LIMIT = 100  # statements kept per connection; beyond it ours are deallocated
_PREPARED_PREFIX = "segment_recheck_"
_PLACEHOLDER = re.compile(r"%[s%]")
_prepared = threading.local()  # the raw connection, its prepared names, and texts PREPARE refused


def _numbered(sql: str) -> str:
    """`%s` placeholders as `$1, $2, …` (and `%%` back to `%`), as PREPARE wants them."""
    counter = iter(range(1, 100_000))
    return _PLACEHOLDER.sub(lambda match: "%" if match.group() == "%%" else f"${next(counter)}", sql)


def _execute_prepared(cursor, sql: str, params: list) -> None:
    raw = connection.connection
    if getattr(_prepared, "raw", None) is not raw:
        _prepared.raw, _prepared.names, _prepared.refused = raw, set(), set()
    name = _PREPARED_PREFIX + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
    if name in _prepared.refused:
        cursor.execute(sql, params)
        return
    if name not in _prepared.names and not _prepare(cursor, name, sql):
        cursor.execute(sql, params)
        return
    # LOCAL: for this transaction only; it bears on prepared statements, and only this one is.
    placeholders = ", ".join(["%s"] * len(params))
    execute = f"SET LOCAL plan_cache_mode = force_generic_plan; EXECUTE {name} ({placeholders})"
    try:
        cursor.execute(execute, params)
    except DatabaseError as error:
        if getattr(error.__cause__, "pgcode", None) != errorcodes.INVALID_SQL_STATEMENT_NAME:
            raise
        # Something else on this connection deallocated it (`DEALLOCATE ALL`, `DISCARD ALL`, a
        # pooler): forget what we believed prepared. Outside a transaction, prepare it again now;
        # inside one the transaction is lost, and the caller's retry prepares afresh.
        _prepared.names.clear()
        if connection.in_atomic_block or not _prepare(cursor, name, sql):
            raise
        cursor.execute(execute, params)


def _prepare(cursor, name: str, sql: str) -> bool:
    """PREPARE `sql` as `name`, keeping at most `_PREPARED_LIMIT` of ours; False if PostgreSQL refused."""
    if len(_prepared.names) >= _PREPARED_LIMIT:
        # Only ours: other code's prepared statements on this connection are not ours to drop.
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE starts_with(name, %s)", [_PREPARED_PREFIX]
        )
        cursor.execute("".join(f"DEALLOCATE {ours};" for (ours,) in cursor.fetchall()) or "SELECT 1")
        _prepared.names.clear()
    try:
        with transaction.atomic():  # a savepoint: a refused PREPARE must not abort the caller's
            cursor.execute(f"PREPARE {name} AS {_numbered(sql)}")
    except DatabaseError:
        logger.warning("Segment re-check: PostgreSQL refused to prepare the query; run unprepared")
        _prepared.refused.add(name)
        return False
    _prepared.names.add(name)
    return True


def evaluate_customer(
    project: Project, customer_id: int, segments: list[Segment], *, now: datetime
) -> set[int]:
    """The ids of `segments` whose filter the customer matches (one query for all of them)."""
    return _evaluate(project, customer_id, segments, now=now)[0]


def customer_recheck(
    *, project: Project, customer_id: int, cause: Cause, now: datetime | None = None
) -> None:
    """Bring the customer's membership of every filter segment up to date; announce the changes.

    Runs inside the caller's transaction (the event handler's): changes and events commit together.
    """
    now = now or timezone.now()
    segments = list(filter_segments(project))
    if not segments:
        return
    by_id = {segment.pk: segment for segment in segments}
    # One re-check of a customer at a time: two workers handling two events of the same customer
    # could otherwise each decide on what they read and the older decision could be written last.
    # The lock is taken in a statement of its own so that the evaluation's snapshot comes after it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RECHECK_LOCK_SPACE, customer_id % 2**31])
    matches, current = _evaluate(project, customer_id, segments, now=now)
    to_add, to_remove = sorted(matches - current), sorted(current - matches)
    if not to_add and not to_remove:
        return
    with connection.cursor() as cursor:
        entered: list[int] = []
        left: list[int] = []
        if to_add:
            cursor.execute(INSERT_ONE_SQL, [project.pk, customer_id, now, to_add])
            entered = [row[0] for row in cursor.fetchall()]
        if to_remove:
            cursor.execute(DELETE_ONE_SQL, [project.pk, customer_id, to_remove])
            left = [row[0] for row in cursor.fetchall()]
    deltas: dict[int, int] = {}
    for segment_id in set(entered) | set(left):
        segment = by_id[segment_id]
        joined = [customer_id] if segment_id in entered else []
        gone = [customer_id] if segment_id in left else []
        deltas[segment_id] = len(joined) - len(gone)
        if segment.publishes_events:
            announce_changes(project, segment, entered=joined, left=gone, now=now, cause=cause)
    # The counts move after commit, in statements of their own: holding segment rows here while
    # a sync range waits on this transaction's member rows could deadlock (see segments.sync).
    transaction.on_commit(lambda: _move_counts(project, deltas))


INSERT_MANY_SQL = """
INSERT INTO segments_segmentmember (project_id, segment_id, customer_id, entered_at)
SELECT %s, change.segment_id, change.customer_id, %s
FROM unnest(%s::bigint[], %s::bigint[]) AS change(segment_id, customer_id)
ON CONFLICT (project_id, segment_id, customer_id) DO NOTHING
RETURNING segment_id, customer_id
"""

DELETE_MANY_SQL = """
DELETE FROM segments_segmentmember AS member
USING unnest(%s::bigint[], %s::bigint[]) AS change(segment_id, customer_id)
WHERE member.project_id = %s AND member.segment_id = change.segment_id
  AND member.customer_id = change.customer_id
RETURNING member.segment_id, member.customer_id
"""

LOCK_MANY_SQL = "SELECT count(pg_advisory_xact_lock(%s, key)) FROM unnest(%s::int[]) AS key"


def customers_recheck(*, project: Project, causes: dict[int, Cause], now: datetime | None = None) -> None:
    """`customer_recheck` for several customers (the keys of `causes`, each announced with its
    cause) in a constant number of statements: one lock, one evaluation, one insert, one delete,
    and the announcements per segment and cause.

    Runs inside the caller's transaction, like `customer_recheck`.
    """
    now = now or timezone.now()
    segments = list(filter_segments(project))
    if not segments or not causes:
        return
    by_id = {segment.pk: segment for segment in segments}
    customer_ids = sorted(causes)
    # The same per-customer locks as `customer_recheck`, taken in key order so that two batches
    # sharing customers wait for each other instead of deadlocking.
    with connection.cursor() as cursor:
        keys = sorted({customer_id % 2**31 for customer_id in customer_ids})
        cursor.execute(LOCK_MANY_SQL, [RECHECK_LOCK_SPACE, keys])
    evaluated = _evaluate_many(project, customer_ids, segments, now=now)
    to_add: list[tuple[int, int]] = []
    to_remove: list[tuple[int, int]] = []
    for customer_id, (matches, current) in evaluated.items():
        to_add.extend((segment_id, customer_id) for segment_id in sorted(matches - current))
        to_remove.extend((segment_id, customer_id) for segment_id in sorted(current - matches))
    if not to_add and not to_remove:
        return
    entered: list[tuple[int, int]] = []
    left: list[tuple[int, int]] = []
    with connection.cursor() as cursor:
        if to_add:
            segment_ids, member_ids = zip(*to_add, strict=True)
            cursor.execute(INSERT_MANY_SQL, [project.pk, now, list(segment_ids), list(member_ids)])
            entered = cursor.fetchall()
        if to_remove:
            segment_ids, member_ids = zip(*to_remove, strict=True)
            cursor.execute(DELETE_MANY_SQL, [list(segment_ids), list(member_ids), project.pk])
            left = cursor.fetchall()
    deltas: dict[int, int] = {}
    # segment -> cause -> (cause, entered, left), so each change carries its own event's cause.
    changes: dict[int, dict[str, tuple[Cause, list[int], list[int]]]] = {}
    for pairs, index, step in ((entered, 1, 1), (left, 2, -1)):
        for segment_id, customer_id in sorted(pairs):
            deltas[segment_id] = deltas.get(segment_id, 0) + step
            cause = causes[customer_id]
            key = json.dumps(cause.as_dict(), sort_keys=True, default=str)
            changes.setdefault(segment_id, {}).setdefault(key, (cause, [], []))[index].append(customer_id)
    for segment_id, by_cause in sorted(changes.items()):
        segment = by_id[segment_id]
        if segment.publishes_events:
            for cause, joined, gone in by_cause.values():
                announce_changes(project, segment, entered=joined, left=gone, now=now, cause=cause)
    transaction.on_commit(lambda: _move_counts(project, deltas))


def _move_counts(project: Project, deltas: dict[int, int]) -> None:
    for segment_id, delta in sorted(deltas.items()):
        Segment.objects.for_project(project).filter(pk=segment_id).update(
            member_count=F("member_count") + delta
        )


def recheck_customers(events: list[DomainEvent]) -> None:
    """The batch variant of `recheck_customer`: one re-check per project for all its customers,
    each customer's changes announced with the cause of its first event in the batch."""
    by_project: dict[int, tuple[Project, dict[int, Cause]]] = {}
    for event in events:
        if event.customer_id is None:
            continue
        _, causes = by_project.setdefault(event.project_id, (event.project, {}))
        causes.setdefault(event.customer_id, Cause.from_dict(event.cause))
    for project, causes in by_project.values():
        customers_recheck(project=project, causes=causes)


@handles(
    CUSTOMER_CHANGING_EVENTS, order=10, name="segments.realtime.recheck_customer", many=recheck_customers
)
def recheck_customer(event: DomainEvent) -> None:
    if event.customer_id is None:
        return
    customer_recheck(project=event.project, customer_id=event.customer_id, cause=Cause.from_dict(event.cause))


RECOUNT_SQL = """
UPDATE segments_segment AS segment SET member_count = (
    SELECT count(*) FROM segments_segmentmember AS member
    WHERE member.project_id = segment.project_id AND member.segment_id = segment.id
)
WHERE segment.project_id = %s
"""


@handles("customer.deleted", order=10, name="segments.realtime.recount_after_deletion")
def recount_after_deletion(event: DomainEvent) -> None:
    """A deleted customer's memberships went with them (a cascade, no left event: they are gone),
    and the event no longer knows who they were; recount the project's segments. Deletions are
    rare, so one count per segment of the project is cheap enough."""
    with connection.cursor() as cursor:
        cursor.execute(RECOUNT_SQL, [event.project_id])
