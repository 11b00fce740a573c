"""Bulk customer upsert: rows checked in the request, applied by a worker with one set-based statement.

The request's body is stored as received (JSON text) once every row passed `row_errors`; the
worker's statement parses it in PostgreSQL, so the rows never go through Python a second time. One
transaction per import: an `INSERT ... SELECT FROM json_array_elements ... ON CONFLICT DO UPDATE` of
the customers and, in the same statement, the `customer.created` / `customer.updated` outbox rows
for the customers it created or changed (unchanged rows publish nothing).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from customers.models import BulkImport
from customers.validation import check_email, check_metadata, check_phone
from eventbus.cause import Cause, current_cause
from eventbus.registry import handlers_for
from eventbus.services import RELAY_GRACE
from tenancy.ids import new_public_id
from tenancy.models import Project

MAX_ROWS_PER_REQUEST = 10_000
ROW_FIELDS = {
    "source_id",
    "name",
    "description",
    "email",
    "phone",
    "birthdate",
    "birthday",
    "address",
    "metadata",
}
ADDRESS_FIELDS = {"city", "state", "line_1", "line_2", "country", "postal_code"}
_STRING_LIMITS = (("source_id", 255), ("name", 255), ("description", 10_000), ("phone", 32), ("email", 254))
_CHECKS = (("email", check_email), ("phone", check_phone), ("metadata", check_metadata))


def row_errors(rows: Any) -> list[str]:
    """Sentences naming each bad field by its row index (at most 20); none when every row is valid."""
    if not isinstance(rows, list) or not rows:
        return ["Body must be a non-empty JSON array of customers."]
    if len(rows) > MAX_ROWS_PER_REQUEST:
        return [f"At most {MAX_ROWS_PER_REQUEST} customers per request, got {len(rows)}."]
    errors = []
    for index, row in enumerate(rows):
        try:
            _check_row(row)
        except ValueError as error:
            errors.append(f"Property [{index}]{error}")
            if len(errors) >= 20:
                break
    return errors


def _check_row(row: Any) -> None:
    if not isinstance(row, dict):
        raise ValueError(": must be a JSON object")
    if not ROW_FIELDS.issuperset(row):
        raise ValueError(f".{sorted(set(row) - ROW_FIELDS)[0]}: is not allowed")
    get = row.get
    source_id = get("source_id")
    if not isinstance(source_id, str) or not source_id:
        raise ValueError(".source_id: is required in a bulk import")
    for field, limit in _STRING_LIMITS:
        value = get(field)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise ValueError(f".{field}: must be a string of at most {limit} characters")
    # In this order, so that a row with several bad values names the same field as before.
    for field, check in _CHECKS:
        value = get(field)
        if value is not None:
            try:
                check(value)
            except ValueError as error:
                raise ValueError(f".{field}: {error}") from None
    # The statement reads the same field the same way: birthdate when present (even null), else birthday.
    birthdate = get("birthdate", get("birthday"))
    if birthdate is not None:
        try:
            date.fromisoformat(birthdate[:10] if isinstance(birthdate, str) else "")
        except ValueError:
            raise ValueError(".birthdate: must be a date YYYY-MM-DD") from None
    address = get("address")
    if address is not None:
        if not isinstance(address, dict) or not ADDRESS_FIELDS.issuperset(address):
            raise ValueError(f".address: must be an object with only {sorted(ADDRESS_FIELDS)}")
        for value in address.values():
            if value is not None and (not isinstance(value, str) or len(value) > 255):
                raise ValueError(".address: values must be strings of at most 255 characters")


# Random hex digits from one gen_random_uuid() text (8-4-4-4-12, version digit at 15, variant at
# 20): one strong random call per id, as before the ids became time-ordered (each call costs ≈ 4 µs).
_UUID_RANDOM_DIGITS = "substr({u}, 1, 8) || substr({u}, 10, 4) || substr({u}, 16, 3) || substr({u}, 25, 12)"


def _random_hex(uuid_text: str, digits: int) -> str:
    """SQL for the first `digits` (at most 27) random hex digits of the uuid text column `uuid_text`."""
    return f"left({_UUID_RANDOM_DIGITS.format(u=uuid_text)}, {digits})"


def _id_time(now: datetime) -> str:
    """The leading 9 hex digits of the public ids a statement writes: its time in whole seconds.

    Time-ordered ids put each import's new keys at the right edge of the (project, public_id) unique
    b-trees of customers and events, a few hot pages, instead of on random pages all over indexes
    far larger than the buffer cache. The random digits after them keep ids unguessable, and the
    format is the one the API promises (`cust_` and 24 hex digits, `evt_` and 32).
    """
    return f"{int(now.timestamp()):09x}"


# The rows a worker applies: the stored request body, parsed where it lies.
STORED_BODY = (
    "(SELECT body FROM customers_bulkimport WHERE id = %(bulk_import_id)s AND project_id = %(project_id)s)"
)


# Fields absent from a row (null here) keep the stored value; a changed row gets a new updated_at.
def _upsert_sql(rows_json: str = STORED_BODY) -> str:
    """The statement reading its rows from the JSON text `rows_json` (SQL), with the update list
    spelled out so that absent fields keep stored values."""
    columns = {
        "name": "EXCLUDED.name",
        "description": "EXCLUDED.description",
        "email": "EXCLUDED.email",
        "phone": "EXCLUDED.phone",
        "birthdate": "EXCLUDED.birthdate",
        "metadata": "EXCLUDED.metadata",
        "address_city": "EXCLUDED.address_city",
        "address_state": "EXCLUDED.address_state",
        "address_line_1": "EXCLUDED.address_line_1",
        "address_line_2": "EXCLUDED.address_line_2",
        "address_country": "EXCLUDED.address_country",
        "address_postal_code": "EXCLUDED.address_postal_code",
    }
    # Absent text fields arrive as '' (name, description, via coalesce) or NULL; both keep the old value.
    new_value = {
        column: (
            f"coalesce(nullif({expr}, ''), c.{column})"
            if column in ("name", "description")
            else f"coalesce(nullif({expr}, '{{}}'::jsonb), c.{column})"
            if column == "metadata"
            else f"coalesce({expr}, c.{column})"
        )
        for column, expr in columns.items()
    }
    assignments = ",\n        ".join(f"{column} = {value}" for column, value in new_value.items())
    old_tuple = ", ".join(f"c.{column}" for column in new_value)
    new_tuple = ", ".join(new_value.values())
    # Only the constant column list above is interpolated; every value is a bound parameter.
    return f"""
WITH input AS (
    SELECT DISTINCT ON (r.source_id) r.source_id, r.name, r.description, r.email, r.phone,
           -- birthdate when the row has the key (even as null), else birthday; only a null
           -- birthdate next to a birthday needs the row's text searched for the key
           left(CASE WHEN r.birthdate IS NOT NULL OR r.birthday IS NULL THEN r.birthdate
                     WHEN e.item -> 'birthdate' IS NOT NULL THEN NULL
                     ELSE r.birthday END, 10)::date AS birthdate,
           r.metadata, r.address, gen_random_uuid()::text AS uuid
    FROM json_array_elements({rows_json}::json) WITH ORDINALITY AS e(item, ord)
        CROSS JOIN LATERAL json_to_record(e.item)
        AS r(source_id text, name text, description text, email text, phone text, birthdate text,
             birthday text, metadata jsonb, address jsonb)
    ORDER BY r.source_id, e.ord DESC
),
upserted AS (
    INSERT INTO customers_customer AS c (
        project_id, public_id, source_id, name, description, email, phone, birthdate, metadata,
        system_metadata, address_city, address_state, address_line_1, address_line_2, address_country,
        address_postal_code, created_at, updated_at)
    SELECT %(project_id)s, 'cust_' || %(id_time)s || {_random_hex("uuid", 15)}, source_id,
           coalesce(name, ''), coalesce(description, ''), email, phone, birthdate,
           coalesce(metadata, '{{}}'::jsonb), '{{}}'::jsonb, address->>'city', address->>'state',
           address->>'line_1', address->>'line_2', address->>'country', address->>'postal_code',
           %(now)s, NULL
    FROM input
    ON CONFLICT (project_id, source_id) WHERE source_id IS NOT NULL DO UPDATE SET
        {assignments},
        updated_at = %(now)s
    WHERE ({old_tuple}) IS DISTINCT FROM ({new_tuple})
    RETURNING c.id, (c.xmax = 0) AS inserted
),
events AS (
    INSERT INTO eventbus_domainevent (
        project_id, public_id, type, customer_id, refs, data, cause, created_at, next_dispatch_at,
        dispatch_attempts, completed_at)
    SELECT %(project_id)s, 'evt_' || %(id_time)s || {_random_hex("uuid", 23)},
           CASE WHEN inserted THEN 'customer.created' ELSE 'customer.updated' END,
           id, '{{}}'::jsonb, '{{}}'::jsonb, %(cause)s::jsonb, %(now)s, %(next_dispatch_at)s, 0,
           CASE WHEN inserted THEN %(created_completed_at)s::timestamptz
                ELSE %(updated_completed_at)s::timestamptz END
    FROM (SELECT *, gen_random_uuid()::text AS uuid FROM upserted) AS upserted
    RETURNING id, type, completed_at
)
SELECT count(*) FILTER (WHERE type = 'customer.created'), count(*) FILTER (WHERE type = 'customer.updated'),
       coalesce(array_agg(id) FILTER (WHERE completed_at IS NULL), '{{}}')
FROM events
"""  # noqa: S608


def apply_import(*, bulk_import: BulkImport) -> tuple[int, int]:
    """Upsert the import's stored rows by source_id in one transaction; returns (created, updated)."""
    return _apply(
        _upsert_sql(),
        {"bulk_import_id": bulk_import.pk},
        project_id=bulk_import.project_id,
        cause=Cause.from_dict(bulk_import.cause),
    )


def apply_rows(
    *, project: Project, rows: list[dict[str, Any]], cause: Cause | None = None
) -> tuple[int, int]:
    """Upsert rows that pass `row_errors` by source_id, in-process (the demo seed); returns
    (created, updated). One transaction per MAX_ROWS_PER_REQUEST rows, as an import of them would."""
    sql = _upsert_sql("%(rows)s")
    created = updated = 0
    for start in range(0, len(rows), MAX_ROWS_PER_REQUEST):
        chunk = json.dumps(rows[start : start + MAX_ROWS_PER_REQUEST])
        chunk_created, chunk_updated = _apply(
            sql, {"rows": chunk}, project_id=project.pk, cause=cause or current_cause()
        )
        created += chunk_created
        updated += chunk_updated
    return created, updated


def _apply(sql: str, params: dict[str, Any], *, project_id: int, cause: Cause) -> tuple[int, int]:
    from eventbus.services import enqueue_dispatch

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                **params,
                "project_id": project_id,
                "now": now,
                "id_time": _id_time(now),
                "next_dispatch_at": now + RELAY_GRACE,
                "cause": json.dumps(cause.as_dict()),
                # Events of a type nobody handles are complete as written (see eventbus.publish).
                "created_completed_at": None if handlers_for("customer.created") else now,
                "updated_completed_at": None if handlers_for("customer.updated") else now,
            },
        )
        created, updated, event_ids = cursor.fetchone()
        transaction.on_commit(lambda ids=list(event_ids): enqueue_dispatch(ids))
    return created, updated


@transaction.atomic
def bulk_import_create(*, project: Project, body: str, total: int) -> BulkImport:
    """Accept `body`, the JSON array of `total` rows that passed `row_errors`, exactly as received."""
    from customers.tasks import apply_bulk_import

    bulk_import = BulkImport.objects.create(
        project=project,
        public_id=new_public_id("aa", 24),
        body=body,
        total=total,
        cause=current_cause().as_dict(),
    )
    # robust: with the broker down the import is still accepted; the beat sweep below enqueues it later.
    transaction.on_commit(lambda: apply_bulk_import.delay(bulk_import.pk), robust=True)
    return bulk_import


STALLED_AFTER = timedelta(minutes=5)


def stalled_bulk_import_ids() -> list[int]:
    """Imports still waiting well after they were accepted: their task was lost or never enqueued."""
    cutoff = timezone.now() - STALLED_AFTER
    return list(
        BulkImport.objects.unscoped()
        .filter(status=BulkImport.Status.IN_PROGRESS, created_at__lt=cutoff)
        .values_list("pk", flat=True)[:100]
    )


def bulk_import_apply(*, bulk_import_id: int) -> None:
    """Apply a pending import. Safe to run twice: the upsert is keyed by source_id and publishes
    events only for rows it creates or changes, so a re-run after a crash adds nothing."""
    # The body stays in the database: the statement reads it there.
    bulk_import = BulkImport.objects.unscoped().defer("body").get(pk=bulk_import_id)
    if bulk_import.status != BulkImport.Status.IN_PROGRESS:
        return
    try:
        created, updated = apply_import(bulk_import=bulk_import)
    except Exception as error:
        BulkImport.objects.unscoped().filter(pk=bulk_import_id).update(
            status=BulkImport.Status.FAILED, errors=[repr(error)], finished_at=timezone.now()
        )
        raise
    BulkImport.objects.unscoped().filter(pk=bulk_import_id).update(
        status=BulkImport.Status.DONE,
        created_count=created,
        updated_count=updated,
        body="",
        finished_at=timezone.now(),
    )
