"""Thin tasks on queue `segments`: ids in, one call to the sync module or a service."""

from __future__ import annotations

from celery import shared_task

from segments import history, services, sync
from segments.models import Segment


@shared_task(name="segments.tasks.sync_segment")
def sync_segment(job_id: int) -> bool:
    return sync.sync_job_run(job_id)


@shared_task(name="segments.tasks.resume_stalled_syncs")
def resume_stalled_syncs() -> int:
    """Re-enqueue jobs whose worker died (lease ran out) or whose enqueue was lost."""
    job_ids = sync.stalled_job_ids()
    for job_id in job_ids:
        sync_segment.apply_async(args=[job_id], retry=False)
    return len(job_ids)


@shared_task(name="segments.tasks.resync_time_dependent_segments")
def resync_time_dependent_segments() -> int:
    """Relative dates and event windows move with the clock: re-sync those segments on a schedule."""
    segments = (
        Segment.objects.unscoped()
        .filter(is_time_dependent=True, is_filter_valid=True, status=Segment.Status.SYNCED)
        .select_related("project")
    )
    count = 0
    for segment in segments.iterator():
        services.segment_resync(project=segment.project, segment=segment)
        count += 1
    return count


@shared_task(name="segments.tasks.purge_abandoned_drafts")
def purge_abandoned_drafts() -> int:
    return services.abandoned_drafts_purge()


@shared_task(name="segments.tasks.record_segment_sizes")
def record_segment_sizes() -> int:
    return history.segment_sizes_record()
