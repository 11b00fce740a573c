"""Publishing codes to 100,000 customers through the bulk service (target: 5 s or less, no duplicates).

    .venv/bin/python bench/campaigns_publish.py [--customers 100000] [--codes 250000]
                                                [--database dm_bench_campaigns_publish]

Creates and migrates its own database, COPYs the customers in (bench/generate.py), generates the
campaign's codes with the worker's set-based generator, then times `publish_codes` (what a manual
distribution's materialisation calls): the first run, a re-run with the same cause key (idempotent:
it must return the same codes and publish nothing), and a second distribution publishing from the
same, now partly published, campaign (the claim cursor keeps it from rescanning published codes).
Checks in SQL that no code has two holders and that one outbox event was written per code.
"""

from __future__ import annotations

import argparse
import faulthandler
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.campaigns_codes import backend_cpu_seconds
from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a run is


def raw_insert(*, project, campaign, customer_ids: list[int], chunk: int = 25_000) -> tuple[int, float]:
    """The yardstick: plain INSERTs of one publication and one outbox event per still unpublished code
    (same tables, indexes and foreign keys; no claim, no locks), a transaction per chunk as
    `publish_codes` commits. Returns (rows, seconds)."""
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v.id FROM campaigns_voucher v WHERE v.campaign_id = %s AND NOT EXISTS ("
            "SELECT 1 FROM campaigns_publication p WHERE p.project_id = v.project_id AND p.voucher_id = v.id"
            ") ORDER BY v.sequence",
            [campaign.pk],
        )
        voucher_ids = [row[0] for row in cursor.fetchall()][: len(customer_ids)]
    now = timezone.now()
    began = time.perf_counter()
    for start in range(0, len(voucher_ids), chunk):
        vouchers = voucher_ids[start : start + chunk]
        customers = customer_ids[start : start + len(vouchers)]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO campaigns_publication (
                    project_id, public_id, voucher_id, campaign_id, customer_id, channel, metadata, slot,
                    created_at)
                SELECT %s, 'pub_raw' || r.voucher_id, r.voucher_id, %s, r.customer_id, 'DISTRIBUTION', '{}',
                       0, %s
                FROM unnest(%s::bigint[], %s::bigint[]) AS r(voucher_id, customer_id)
                """,
                [project.pk, campaign.pk, now, vouchers, customers],
            )
            cursor.execute(
                """
                INSERT INTO eventbus_domainevent (
                    project_id, public_id, type, customer_id, refs, data, cause, created_at,
                    next_dispatch_at, completed_at, dispatch_attempts)
                SELECT %s, 'evt_raw' || r.voucher_id, 'bench.raw', r.customer_id,
                       jsonb_build_object('voucher', r.voucher_id), '{}', %s, %s, %s, %s, 0
                FROM unnest(%s::bigint[], %s::bigint[]) AS r(voucher_id, customer_id)
                """,
                [project.pk, json.dumps({}), now, now, now, vouchers, customers],
            )
    return len(voucher_ids), time.perf_counter() - began


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the machine's CPUs to go idle",
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--codes", type=int, default=250_000)
    parser.add_argument("--database", default="dm_bench_campaigns_publish")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)

    with bench_database(args.database, keep=args.keep):
        from django.db import connection

        from bench.generate import load_customers
        from campaigns import codes
        from campaigns.publications import publish_codes
        from campaigns.services import campaign_create
        from customers.models import Customer
        from eventbus.cause import Cause

        project, _, _ = make_bench_project("bench-publish")
        log(f"loading {args.customers:,} customers")
        load_customers(project_id=project.pk, count=args.customers)
        campaign = campaign_create(
            project=project,
            fields={
                "name": "Bench publish",
                "campaign_type": "DISCOUNT_COUPONS",
                "type": "STATIC",
                "voucher": {
                    "type": "DISCOUNT_VOUCHER",
                    "discount": {"type": "PERCENT", "percent_off": 10},
                    "code_config": {
                        "pattern": "PUB-##########",
                        "charset": "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ",
                    },
                },
            },
        )
        log(f"generating {args.codes:,} codes")
        began = time.perf_counter()
        codes.generate_codes(campaign=campaign, count=args.codes)
        log(f"codes generated in {time.perf_counter() - began:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE campaigns_voucher")
            cursor.execute("VACUUM ANALYZE customers_customer")
        customer_ids = list(
            Customer.objects.for_project(project)
            .order_by("pk")
            .values_list("pk", flat=True)[: args.customers]
        )
        results = {}

        def timed(label: str, **kwargs) -> dict[int, str]:
            cpu_before = backend_cpu_seconds()
            began = time.perf_counter()
            published = publish_codes(project=project, campaign=campaign, customer_ids=customer_ids, **kwargs)
            seconds = time.perf_counter() - began
            cpu = backend_cpu_seconds() - cpu_before
            log(
                f"{label}: {len(published):,} customers, {len(published.unserved):,} unserved, "
                f"{seconds:.2f} s, PostgreSQL backend CPU {cpu:.2f} s"
            )
            results[label] = round(seconds, 2)
            results[f"{label}, backend CPU"] = round(cpu, 2)
            return published

        first = timed(
            "first run", cause_key="manual:dist_a", distribution_id=1, cause=Cause.distribution("dist_a")
        )
        again = timed(
            "re-run, same cause",
            cause_key="manual:dist_a",
            distribution_id=1,
            cause=Cause.distribution("dist_a"),
        )
        assert dict(again) == dict(first), "a re-run must return the same codes"
        second = timed(
            "second distribution",
            cause_key="manual:dist_b",
            distribution_id=2,
            cause=Cause.distribution("dist_b"),
        )
        assert set(first.values()).isdisjoint(second.values())

        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT voucher_id) FROM campaigns_publication")
            publications, distinct_codes = cursor.fetchone()
            cursor.execute(
                "SELECT count(*) FROM eventbus_domainevent WHERE type = 'customer.publication.succeeded'"
            )
            (events,) = cursor.fetchone()
        log(f"publications {publications:,}, distinct codes {distinct_codes:,}, events {events:,}")
        assert publications == distinct_codes == events == 2 * args.customers
        cpu_before = backend_cpu_seconds()
        raw_rows, raw_seconds = raw_insert(project=project, campaign=campaign, customer_ids=customer_ids)
        raw_cpu = backend_cpu_seconds() - cpu_before
        log(
            f"raw INSERTs of {raw_rows:,} publications + {raw_rows:,} events, same tables, same run: "
            f"{raw_seconds:.2f} s ({raw_seconds * args.customers / max(raw_rows, 1):.2f} s per "
            f"{args.customers:,}), PostgreSQL backend CPU {raw_cpu:.2f} s"
        )
        result = {
            "customers": args.customers,
            "codes": args.codes,
            "seconds": results,
            "raw": {"rows": raw_rows, "seconds": round(raw_seconds, 2), "backend_cpu": round(raw_cpu, 2)},
        }
        write_result("campaigns_publish", result)
        return result


if __name__ == "__main__":
    main()
