"""Where the bulk upsert's time goes: the import's own statement on N rows, then variants of it.

    .venv/bin/python bench/bulk_sql_breakdown.py [--rows 200000]

Each variant runs on empty customer and event tables of a fresh database (dm_bench_sql), 5,000 rows
per transaction as `customers.bulk.apply_rows` does, with rows already validated:
  as-is          customers.bulk's statement: customers upsert + outbox events in one statement
  no-events      the same without the events CTE (what the outbox costs)
  no-secondary   as-is, with the customer table's non-unique indexes dropped (created_at,
                 updated_at, lower(email), city, and the FK index on project_id)
  sequential-ids as-is, with `public_id`s of customers and events made time-ordered instead of
                 random (random keys insert all over two large unique b-trees)
  no-fk-checks   as-is, with the per-row foreign-key triggers off (session_replication_role =
                 replica): what checking each event's customer and project rows costs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, log, make_bench_project, write_result

CHUNK = 5_000


def rows_for(count: int) -> list[dict]:
    from bench.bulk_import import build_rows
    from customers.bulk import validate_rows

    rows = []
    for batch in range(0, count, 10_000):
        clean, errors = validate_rows(build_rows(batch // 10_000, min(10_000, count - batch)))
        assert not errors
        rows += clean
    return rows


def run(sql: str, project_id: int, rows: list[dict], *, fk_checks: bool = True) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    from eventbus.registry import handlers_for

    began = time.perf_counter()
    for start in range(0, len(rows), CHUNK):
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            if not fk_checks:
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                sql,
                {
                    "rows": json.dumps(rows[start : start + CHUNK]),
                    "project_id": project_id,
                    "now": now,
                    "next_dispatch_at": now,
                    "cause": "{}",
                    # as customers.bulk.apply_rows: events nobody handles are written complete
                    "created_completed_at": None if handlers_for("customer.created") else now,
                    "updated_completed_at": None if handlers_for("customer.updated") else now,
                },
            )
            cursor.fetchone()
    return time.perf_counter() - began


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE customers_customer, eventbus_domainevent, eventbus_handlerrun CASCADE")
        cursor.execute("CHECKPOINT")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--db", default="dm_bench_sql")
    parser.add_argument(
        "--variants",
        default="as-is,no-events,sequential-ids,no-fk-checks,no-secondary",
        help="comma-separated, run in this order (no-secondary, which drops indexes, always last)",
    )
    args = parser.parse_args(argv)
    results = {}
    with bench_database(args.db) as _env:
        from django.db import connection

        from customers.bulk import _upsert_sql

        project, _app_id, _token = make_bench_project("bench-sql")
        rows = rows_for(args.rows)
        as_is = _upsert_sql()
        head, _, _ = as_is.partition("),\nevents AS (")
        no_events = (
            head
            + """)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), '{}'::bigint[] FROM upserted
"""
        )
        sequential = as_is.replace(
            "'cust_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)",
            "'cust_' || lpad(to_hex(nextval('bench_seq')), 24, '0')",
        ).replace(
            "'evt_' || replace(gen_random_uuid()::text, '-', '')",
            "'evt_' || lpad(to_hex(nextval('bench_seq')), 32, '0')",
        )
        assert sequential != as_is
        with connection.cursor() as cursor:
            cursor.execute("CREATE SEQUENCE bench_seq")
        wanted = args.variants.split(",")
        variants = (
            ("as-is", as_is, True),
            ("no-events", no_events, True),
            ("sequential-ids", sequential, True),
            ("no-fk-checks", as_is, False),
        )
        by_name = {name: (sql, fk_checks) for name, sql, fk_checks in variants}
        for name in [name for name in wanted if name in by_name]:
            sql, fk_checks = by_name[name]
            reset()
            seconds = run(sql, project.pk, rows, fk_checks=fk_checks)
            results[name] = {"seconds": round(seconds, 2), "rows_per_s": round(len(rows) / seconds)}
            log(f"{name}: {len(rows):,} rows in {seconds:.1f} s ({len(rows) / seconds:,.0f} rows/s)")
        if "no-secondary" not in wanted:
            return _finish(args, results)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                WHERE x.indrelid = 'customers_customer'::regclass AND NOT x.indisunique AND NOT x.indisprimary
                """
            )
            for (index,) in cursor.fetchall():
                cursor.execute(f'DROP INDEX "{index}"')
        reset()
        seconds = run(as_is, project.pk, rows)
        results["no-secondary"] = {"seconds": round(seconds, 2), "rows_per_s": round(len(rows) / seconds)}
        log(f"no-secondary: {len(rows):,} rows in {seconds:.1f} s ({len(rows) / seconds:,.0f} rows/s)")
    return _finish(args, results)


def _finish(args: argparse.Namespace, results: dict) -> dict:
    result = {"benchmark": "bulk_sql_breakdown", "rows": args.rows, "variants": results}
    write_result("bulk_sql_breakdown", result)
    return result


if __name__ == "__main__":
    main()
