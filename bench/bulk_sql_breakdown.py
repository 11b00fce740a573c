"""Where the bulk upsert's time goes: the import's own statement on N rows, then variants of it.

    .venv/bin/python bench/bulk_sql_breakdown.py [--rows 200000]

Each variant runs on empty customer and event tables of a fresh database (dm_bench_sql), one
statement and transaction per stored import of 10,000 rows as `customers.bulk.apply_import` does:
  as-is          customers.bulk's statement: customers upsert + outbox events in one statement
  no-events      the same without the events CTE (what the outbox costs)
  no-secondary   as-is, with the customer table's non-unique indexes dropped (created_at,
                 updated_at, lower(email), city, and the FK index on project_id)
  random-ids     as-is, with the `public_id`s of customers and events random from the first digit
                 instead of time-ordered (random keys insert all over two large unique b-trees)
  no-fk-checks   as-is, with the per-row foreign-key triggers off (session_replication_role =
                 replica): what checking each event's customer and project rows costs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, log, make_bench_project, write_result


def bodies_for(count: int) -> list[str]:
    """Bodies of 10,000 valid rows, as the API stores them."""
    from bench.bulk_import import build_rows
    from customers.bulk import MAX_ROWS_PER_REQUEST, row_errors

    bodies = []
    for batch, start in enumerate(range(0, count, MAX_ROWS_PER_REQUEST)):
        rows = build_rows(batch, min(MAX_ROWS_PER_REQUEST, count - start))
        assert not row_errors(rows)
        bodies.append(json.dumps(rows))
    return bodies


def run(sql: str, project, bodies: list[str], *, fk_checks: bool = True) -> tuple[float, float]:
    """Wall-clock and backend CPU seconds of the statements alone; the bodies are stored beforehand."""
    from django.db import connection, transaction
    from django.utils import timezone

    from customers.bulk import _id_time
    from customers.models import BulkImport
    from eventbus.registry import handlers_for
    from tenancy.ids import new_public_id

    imports = [
        BulkImport.objects.create(project=project, public_id=new_public_id("aa", 24), body=body)
        for body in bodies
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend_pid,) = cursor.fetchone()
    cpu_began = backend_cpu_seconds(backend_pid)
    began = time.perf_counter()
    for bulk_import in imports:
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            if not fk_checks:
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                sql,
                {
                    "bulk_import_id": bulk_import.pk,
                    "project_id": project.pk,
                    "now": now,
                    "id_time": _id_time(now),
                    "next_dispatch_at": now,
                    "cause": "{}",
                    # as customers.bulk.apply_import: events nobody handles are written complete
                    "created_completed_at": None if handlers_for("customer.created") else now,
                    "updated_completed_at": None if handlers_for("customer.updated") else now,
                },
            )
            cursor.fetchone()
    return time.perf_counter() - began, backend_cpu_seconds(backend_pid) - cpu_began


def backend_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a PostgreSQL backend on this machine: steadier than wall-clock time
    when other work shares the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE customers_customer, eventbus_domainevent, eventbus_handlerrun, customers_bulkimport"
            " CASCADE"
        )
        cursor.execute("CHECKPOINT")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--db", default="dm_bench_sql")
    parser.add_argument(
        "--variants",
        default="as-is,no-events,random-ids,no-fk-checks,no-secondary",
        help="comma-separated, run in this order (no-secondary, which drops indexes, always last)",
    )
    args = parser.parse_args(argv)
    results = {}
    with bench_database(args.db) as _env:
        from django.db import connection

        from customers.bulk import _upsert_sql

        project, _app_id, _token = make_bench_project("bench-sql")
        bodies = bodies_for(args.rows)
        as_is = _upsert_sql()
        head, _, _ = as_is.partition("),\nevents AS (")
        no_events = (
            head
            + """)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), '{}'::bigint[] FROM upserted
"""
        )
        # The ids as they were before they became time-ordered: random from the first digit.
        random_ids = as_is.replace("%(id_time)s", "substr(uuid, 28, 9)")
        assert random_ids != as_is
        wanted = args.variants.split(",")
        variants = (
            ("as-is", as_is, True),
            ("no-events", no_events, True),
            ("random-ids", random_ids, True),
            ("no-fk-checks", as_is, False),
        )
        by_name = {name: (sql, fk_checks) for name, sql, fk_checks in variants}
        for name in [name for name in wanted if name in by_name]:
            sql, fk_checks = by_name[name]
            reset()
            seconds, cpu = run(sql, project, bodies, fk_checks=fk_checks)
            results.setdefault(name, []).append(
                {
                    "seconds": round(seconds, 2),
                    "backend_cpu_s": round(cpu, 2),
                    "rows_per_s": round(args.rows / seconds),
                }
            )
            log(f"{name}: {args.rows:,} rows in {seconds:.1f} s, backend CPU {cpu:.1f} s")
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
        seconds, cpu = run(as_is, project, bodies)
        results["no-secondary"] = [
            {
                "seconds": round(seconds, 2),
                "backend_cpu_s": round(cpu, 2),
                "rows_per_s": round(args.rows / seconds),
            }
        ]
        log(f"no-secondary: {args.rows:,} rows in {seconds:.1f} s, backend CPU {cpu:.1f} s")
    return _finish(args, results)


def _finish(args: argparse.Namespace, results: dict) -> dict:
    result = {"benchmark": "bulk_sql_breakdown", "rows": args.rows, "variants": results}
    write_result("bulk_sql_breakdown", result)
    return result


if __name__ == "__main__":
    main()
