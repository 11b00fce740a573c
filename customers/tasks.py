from celery import shared_task

from customers.bulk import bulk_import_apply


@shared_task(name="customers.tasks.apply_bulk_import")
def apply_bulk_import(bulk_import_id: int) -> None:
    bulk_import_apply(bulk_import_id=bulk_import_id)
