"""The set-based sync of a filter segment: resumable, in batches, events exactly once.

A job works in two steps.
- Diff, in one transaction: one statement evaluates the filter over all the project's customers
  once, compares that set with the stored members (entered = matching EXCEPT members, left =
  members EXCEPT matching) and writes only the differences to the job's work list
  (`SegmentSyncChange`), cut into ranges of `RANGE_SIZE` changed customers (`range_ends`). A
  re-sync where 1 % of the members change therefore evaluates the filter once over the project
  and then touches only that 1 %, instead of evaluating it range by range over every customer.
- Apply, one range of changes at a time, in one transaction each:
  `INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING` adds the range's entering customers and
  `DELETE … RETURNING` removes its leaving ones, both re-evaluating the filter for exactly those
  customers (whatever changed since the diff, the membership written is the filter's answer at
  this moment, and a customer the real-time re-check already moved is not moved twice: only rows
  a statement really inserted or deleted come back); the entered / left events for exactly those
  returned ids are published (`publish_many`); the job's cursor moves past the range.
All of a range's writes commit together or not at all. A worker killed mid-step rolls that step
back, cursor included, so whoever claims the job next (the beat sweep re-enqueues jobs whose lease
ran out) redoes the diff, or that range, from scratch: every membership change is applied once and
announced once. A concurrent real-time re-check of a customer uses the same RETURNING statements,
so whichever of the two really changes a row is the one that announces it.

The first sync of a segment is its baseline: it publishes no entered events (a new "Gold members"
segment does not mean every Gold member just entered it). Passive segments never publish.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from customers.models import Customer
from eventbus.cause import INTERNAL, Cause
from eventbus.services import publish, publish_many
from segments.filters import FilterError, compile_filter
from segments.models import Segment, SegmentExit, SegmentMember, SegmentSyncChange, SegmentSyncJob
from tenancy.models import Project

logger = logging.getLogger(__name__)

RANGE_SIZE = 5_000  # changed customers per batch: a short transaction, a progress step
LEASE = timedelta(minutes=2)

ENTERED = "customer.segment.entered"
LEFT = "customer.segment.left"

# The filter is evaluated once (the materialized CTE) and both differences are read from it.
DIFF_SQL = """
WITH matching AS MATERIALIZED ({matching}),
members AS (
    SELECT customer_id FROM segments_segmentmember WHERE project_id = %s AND segment_id = %s
)
INSERT INTO segments_segmentsyncchange (project_id, job_id, customer_id, entering)
SELECT %s, %s, entered.id, true
FROM (SELECT id FROM matching EXCEPT SELECT customer_id FROM members) AS entered
UNION ALL
SELECT %s, %s, gone.customer_id, false
FROM (SELECT customer_id FROM members EXCEPT SELECT id FROM matching) AS gone
"""

# The last customer id of each range of `RANGE_SIZE` changes.
RANGES_SQL = """
SELECT max(customer_id) FROM (
    SELECT customer_id, (row_number() OVER (ORDER BY customer_id) - 1) / %s AS range_number
    FROM segments_segmentsyncchange WHERE project_id = %s AND job_id = %s
) AS numbered
GROUP BY range_number ORDER BY 1
"""

RANGE_CHANGES_SQL = """
SELECT coalesce(array_agg(customer_id) FILTER (WHERE entering), '{}'),
       coalesce(array_agg(customer_id) FILTER (WHERE NOT entering), '{}')
FROM segments_segmentsyncchange
WHERE project_id = %s AND job_id = %s AND customer_id BETWEEN %s AND %s
"""

# The filter, re-evaluated for the range's changed customers only (`matching.id = ANY(…)`, which
# PostgreSQL pushes down to primary-key lookups).
INSERT_SQL = """
INSERT INTO segments_segmentmember (project_id, segment_id, customer_id, entered_at)
SELECT %s, %s, matching.id, %s FROM ({matching}) AS matching
WHERE matching.id = ANY(%s::bigint[])
ON CONFLICT (project_id, segment_id, customer_id) DO NOTHING
RETURNING customer_id
"""

DELETE_SQL = """
DELETE FROM segments_segmentmember AS member
WHERE member.project_id = %s AND member.segment_id = %s
  AND member.customer_id = ANY(%s::bigint[])
  AND NOT EXISTS (SELECT 1 FROM ({matching}) AS matching
                  WHERE matching.id = member.customer_id AND matching.id = ANY(%s::bigint[]))
RETURNING member.customer_id
"""


def matching_customers(project: Project, segment: Segment, *, now: datetime, extra: Q | None = None):
    """The compiled filter as a queryset of customer ids (the one SQL query of the segment)."""
    compiled = compile_filter(segment.filter, now=now, zone=project.timezone)
    customers = Customer.objects.for_project(project).filter(compiled.q)
    if extra is not None:
        customers = customers.filter(extra)
    return customers.values("id")


# --- starting a job ------------------------------------------------------------------------------


def sync_job_create(*, project: Project, segment: Segment) -> SegmentSyncJob:
    """A new job for the segment's current filter, superseding unfinished ones; enqueued on commit.

    Call inside the transaction that saved the segment, so a rollback leaves no job behind.
    """
    from segments.tasks import sync_segment

    jobs = SegmentSyncJob.objects.for_project(project)
    unfinished = jobs.filter(
        segment=segment, status__in=[SegmentSyncJob.Status.PENDING, SegmentSyncJob.Status.RUNNING]
    )
    superseded = list(unfinished.values_list("pk", flat=True))
    unfinished.update(status=SegmentSyncJob.Status.SUPERSEDED, lease_until=None)
    _discard_changes(project, superseded)
    job = SegmentSyncJob.objects.create(
        project=project,
        segment=segment,
        filter_version=segment.filter_version,
        is_initial=segment.initial_sync_status != Segment.InitialSyncStatus.DONE,
    )
    Segment.objects.for_project(project).filter(pk=segment.pk).update(
        status=Segment.Status.SYNCING, sync_progress=0
    )
    segment.status, segment.sync_progress = Segment.Status.SYNCING, 0
    transaction.on_commit(lambda: sync_segment.apply_async(args=[job.pk], retry=False))
    return job


# --- running a job -------------------------------------------------------------------------------


def _claim(job_id: int) -> SegmentSyncJob | None:
    now = timezone.now()
    claimed = (
        SegmentSyncJob.objects.unscoped()
        .filter(pk=job_id, status__in=[SegmentSyncJob.Status.PENDING, SegmentSyncJob.Status.RUNNING])
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(status=SegmentSyncJob.Status.RUNNING, lease_until=now + LEASE, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    job = SegmentSyncJob.objects.unscoped().select_related("project", "segment").get(pk=job_id)
    if job.started_at is None:
        SegmentSyncJob.objects.unscoped().filter(pk=job_id).update(started_at=now)
    return job


def _locked_job(project: Project, job_id: int) -> tuple[SegmentSyncJob, Segment] | None:
    """The job row, locked, and its segment, if the job is still this worker's to run."""
    locked = SegmentSyncJob.objects.for_project(project).select_for_update().get(pk=job_id)
    segment = Segment.objects.for_project(project).filter(pk=locked.segment_id).first()
    if locked.status != SegmentSyncJob.Status.RUNNING or segment is None:
        return None
    if segment.filter_version != locked.filter_version:
        _supersede(project, locked)
        return None
    return locked, segment


def _plan(job: SegmentSyncJob, range_size: int) -> bool:
    """Write the job's work list (the diff step, see the module's docstring) and cut it into ranges;
    returns whether the job is still to be applied."""
    if job.is_planned:
        return True
    project = job.project
    with transaction.atomic():
        current = _locked_job(project, job.pk)
        if current is None:
            return False
        locked, segment = current
        if locked.is_planned:
            return True
        try:
            matching = matching_customers(project, segment, now=timezone.now())
        except FilterError:
            _abandon(project, segment, locked)
            return False
        matching_sql, matching_params = matching.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                DIFF_SQL.format(matching=matching_sql),
                [*matching_params, project.pk, segment.pk, project.pk, job.pk, project.pk, job.pk],
            )
            cursor.execute(RANGES_SQL, [range_size, project.pk, job.pk])
            ends = [last for (last,) in cursor.fetchall()]
            cursor.execute(
                "SELECT coalesce(min(customer_id), 0) FROM segments_segmentsyncchange"
                " WHERE project_id = %s AND job_id = %s",
                [project.pk, job.pk],
            )
            first = cursor.fetchone()[0]
        locked.range_ends, locked.first_customer_id, locked.next_customer_id = ends, first, first
        locked.lease_until = timezone.now() + LEASE
        locked.save(update_fields=["range_ends", "first_customer_id", "next_customer_id", "lease_until"])
    job.range_ends, job.first_customer_id, job.next_customer_id = ends, first, first
    return True


def sync_job_run(job_id: int, *, range_size: int = RANGE_SIZE, on_range_applied=None) -> bool:
    """Run (or resume) the job to the end if it can be claimed; returns whether it finished.

    `range_size` is the number of changed customers applied per transaction. `on_range_applied(job)`
    is called inside each range's transaction after its changes are written and before they commit:
    the fault tests use it to die at the worst moment.

    Locks: a range's transaction locks only its job row (and the member rows it writes), never the
    segment row; the segment's progress and count are updated after it commits. The real-time
    re-check writes member rows too, so a range holding the segment row while waiting on a member
    row that a re-check holds (which in turn would wait on the segment row) could deadlock. Where
    both are locked (finishing, editing a filter) the segment row comes first.
    """
    job = _claim(job_id)
    if job is None:
        return False
    if not _plan(job, range_size):
        return False
    project = job.project
    while True:
        with transaction.atomic():
            current = _locked_job(project, job.pk)
            if current is None:
                return False
            locked, segment = current
            if locked.current_range() is None:
                break
            try:
                entered, left = _apply_range(project, segment, locked)
            except FilterError:
                _abandon(project, segment, locked)
                return False
            if on_range_applied is not None:
                on_range_applied(locked)
        # After the commit, in a statement of its own: see "Locks" above. A crash here only leaves
        # the count off until the exact recount at the end of the job.
        Segment.objects.for_project(project).filter(pk=segment.pk).update(
            sync_progress=locked.progress, member_count=F("member_count") + entered - left
        )
    return _finish(project, job.pk)


def _apply_range(project: Project, segment: Segment, job: SegmentSyncJob) -> tuple[int, int]:
    low, high = job.current_range()
    now = timezone.now()
    matching = matching_customers(project, segment, now=now)
    matching_sql, matching_params = matching.query.sql_with_params()
    entered: list[int] = []
    left: list[int] = []
    with connection.cursor() as cursor:
        cursor.execute(RANGE_CHANGES_SQL, [project.pk, job.pk, low, high])
        entering, leaving = cursor.fetchone()
        if entering:
            cursor.execute(
                INSERT_SQL.format(matching=matching_sql),
                [project.pk, segment.pk, now, *matching_params, entering],
            )
            entered = [row[0] for row in cursor.fetchall()]
        if leaving:
            cursor.execute(
                DELETE_SQL.format(matching=matching_sql),
                [project.pk, segment.pk, leaving, *matching_params, leaving],
            )
            left = [row[0] for row in cursor.fetchall()]
    announce = segment.type == Segment.Type.AUTO_UPDATE and not job.is_initial
    if announce:
        announce_changes(project, segment, entered=entered, left=left, now=now, cause=INTERNAL)
    job.next_customer_id = high + 1
    job.entered_count += len(entered)
    job.left_count += len(left)
    job.lease_until = timezone.now() + LEASE
    job.save(update_fields=["next_customer_id", "entered_count", "left_count", "lease_until"])
    return len(entered), len(left)


def _discard_changes(project: Project, job_ids: Iterable[int]) -> None:
    SegmentSyncChange.objects.for_project(project).filter(job_id__in=list(job_ids)).delete()


def _supersede(project: Project, job: SegmentSyncJob) -> None:
    job.status = SegmentSyncJob.Status.SUPERSEDED
    job.save(update_fields=["status"])
    _discard_changes(project, [job.pk])


def _abandon(project: Project, segment: Segment, job: SegmentSyncJob) -> None:
    """The stored filter no longer compiles (a field family was unregistered): stop, and say so."""
    logger.warning("Segment %s: filter no longer compiles; sync abandoned", segment.public_id)
    job.status = SegmentSyncJob.Status.DONE
    job.finished_at = timezone.now()
    job.lease_until = None
    job.save(update_fields=["status", "finished_at", "lease_until"])
    _discard_changes(project, [job.pk])
    Segment.objects.for_project(project).filter(pk=segment.pk).update(
        is_filter_valid=False, status=Segment.Status.SYNCED
    )


@transaction.atomic
def _finish(project: Project, job_id: int) -> bool:
    segment_id = (
        SegmentSyncJob.objects.for_project(project).values_list("segment_id", flat=True).get(pk=job_id)
    )
    segment = Segment.objects.for_project(project).select_for_update().filter(pk=segment_id).first()
    job = SegmentSyncJob.objects.for_project(project).select_for_update().get(pk=job_id)
    if segment is None or job.status != SegmentSyncJob.Status.RUNNING:
        return False
    if segment.filter_version != job.filter_version:
        _supersede(project, job)
        return False
    now = timezone.now()
    segment.member_count = SegmentMember.objects.for_project(project).filter(segment=segment).count()
    job.status = SegmentSyncJob.Status.DONE
    job.finished_at = now
    job.lease_until = None
    job.member_count = segment.member_count
    job.save(update_fields=["status", "finished_at", "lease_until", "member_count"])
    _discard_changes(project, [job.pk])
    segment.status = Segment.Status.SYNCED
    segment.sync_progress = 100
    segment.synced_at = now
    was_initial = segment.initial_sync_status != Segment.InitialSyncStatus.DONE
    segment.initial_sync_status = Segment.InitialSyncStatus.DONE
    segment.first_synced_at = segment.first_synced_at or now
    segment.save(
        update_fields=[
            "status",
            "sync_progress",
            "synced_at",
            "member_count",
            "initial_sync_status",
            "first_synced_at",
        ]
    )
    publish(
        project,
        "segment.synced",
        refs={"segment": segment},
        data={
            "member_count": segment.member_count,
            "is_initial": was_initial,
            "entered_count": job.entered_count,
            "left_count": job.left_count,
        },
        cause=INTERNAL,
    )
    return True


# --- announcing changes --------------------------------------------------------------------------


def _segment_data(segment: Segment) -> dict:
    return {"segment": {"id": segment.public_id, "name": segment.name, "type": segment.type}}


def announce_changes(
    project: Project,
    segment: Segment,
    *,
    entered: Iterable[int],
    left: Iterable[int],
    now: datetime,
    cause: Cause,
) -> None:
    """Publish entered / left for customer ids whose membership this transaction changed.

    A customer who left less than the segment's re-entry cooldown ago re-enters silently; each exit
    is recorded (one row per customer and segment, overwritten) for that check.
    """
    entered, left = list(entered), list(left)
    if entered and segment.reentry_cooldown_seconds:
        recent = set(
            SegmentExit.objects.for_project(project)
            .filter(
                segment=segment,
                customer_id__in=entered,
                left_at__gt=now - timedelta(seconds=segment.reentry_cooldown_seconds),
            )
            .values_list("customer_id", flat=True)
        )
        entered = [customer_id for customer_id in entered if customer_id not in recent]
    data = _segment_data(segment)
    refs = {"segment": segment}
    if entered:
        items = [{"customer": Customer(pk=pk, project=project), "refs": refs, "data": data} for pk in entered]
        publish_many(project, ENTERED, items, cause=cause)
    if left:
        items = [{"customer": Customer(pk=pk, project=project), "refs": refs, "data": data} for pk in left]
        publish_many(project, LEFT, items, cause=cause)
        if segment.reentry_cooldown_seconds:
            SegmentExit.objects.bulk_create(
                [SegmentExit(project=project, segment=segment, customer_id=pk, left_at=now) for pk in left],
                update_conflicts=True,
                unique_fields=["project", "segment", "customer"],
                update_fields=["left_at"],
                batch_size=5000,
            )


# --- sweeps --------------------------------------------------------------------------------------


def stalled_job_ids() -> list[int]:
    """Unfinished jobs nobody holds (never started, or their worker died): for the beat sweep."""
    now = timezone.now()
    return list(
        SegmentSyncJob.objects.unscoped()
        .filter(status__in=[SegmentSyncJob.Status.PENDING, SegmentSyncJob.Status.RUNNING])
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(created_at__lt=now - timedelta(seconds=30))
        .values_list("pk", flat=True)[:500]
    )
