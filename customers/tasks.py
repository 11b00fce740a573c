from celery import shared_task

from customers.bulk import bulk_import_apply, stalled_bulk_import_ids


@shared_task(name="customers.tasks.apply_bulk_import")
def apply_bulk_import(bulk_import_id: int) -> None:
    bulk_import_apply(bulk_import_id=bulk_import_id)


@shared_task(name="customers.tasks.resume_stalled_bulk_imports")
def resume_stalled_bulk_imports() -> int:
    """Safe to overlap a running import: applying one twice changes nothing the second time."""
    stalled = stalled_bulk_import_ids()
    for bulk_import_id in stalled:
        apply_bulk_import.delay(bulk_import_id)
    return len(stalled)
