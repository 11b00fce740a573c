"""Segment sync, real-time re-check and estimated count on generated data (issue targets at 1M customers:
initial sync <= 20 s, re-sync of a 1% change <= 10 s, one customer against 50 segments <= 20 ms,
estimated count <= 2 s).

    .venv/bin/python bench/segments_sync.py [--customers 1000000] [--events-per-customer 2]
                                            [--loyalty] [--database dm_bench_segments_sync] [--keep]

Creates and migrates its own database, COPYs the customers in (bench/generate.py), fills their order
summary columns (the filter reads those columns, which the order services keep), inserts the paid
orders those summaries describe (`id % 7` per customer: 3 a customer on average, so 3,000,000 at
1M customers; `--skip-orders` leaves them out, since a sync never reads the orders table) and the
custom events, all in SQL.
Then times: the initial sync of a segment combining metadata, an order summary and an event count
in a window; a re-sync after 1% of the customers changed (checking that exactly the changed members
were announced); `customer_recheck` of single customers against 50 auto-update segments; and the
dashboard's estimated count for the same filter.

Beside them, in the same run and database, the raw operations DESIGN.md's limits name, in plain SQL:
one scan counting the customers that pass the metadata, summary and event-count conditions
(`raw_scan_s`), and an `INSERT … SELECT` of every customer as a member of a spare segment, rolled
back (`raw_insert_members_s`).

With `--loyalty`, a third of the customers also hold a card of a loyalty program ("Bench Rewards",
cards and balances inserted in SQL) and the filter gains a fourth condition on its points
(`loyalty_points.campaigns.Bench Rewards.points`, an `EXISTS` over the cards).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

FILTER = {
    "junction": "and",
    "metadata.club_level": {"conditions": {"$in": ["Gold", "Platinum"]}},
    "summary.orders.total_amount": {"conditions": {"$more_than": [20000]}},
    "events.cart_abandoned.count": {"conditions": {"$more_than": [0]}, "window_days": 30},
}

LOYALTY_PROGRAM = "Bench Rewards"
LOYALTY_CONDITION = {
    f"loyalty_points.campaigns.{LOYALTY_PROGRAM}.points": {"conditions": {"$more_than_equal": [500]}}
}

# A card for every third customer, 0 to 2,999 points.
CARDS_SQL = """
WITH cards AS (
    INSERT INTO campaigns_voucher (project_id, public_id, code, campaign_id, type, loyalty_points,
        loyalty_balance, redeemed_quantity, is_referral_code, active, metadata, created_at)
    SELECT c.project_id, 'v_bench_' || c.id, 'BENCH-LC-' || c.id, %(campaign)s, 'LOYALTY_CARD',
           (c.id * 7919) %% 3000, (c.id * 7919) %% 3000, 0, false, true, '{}'::jsonb, now()
    FROM customers_customer c WHERE c.project_id = %(project)s AND c.id %% 3 = 0
    RETURNING id, code
)
INSERT INTO campaigns_loyaltycard (project_id, campaign_id, customer_id, voucher_id, expired_points,
    subtracted_points, created_at)
SELECT %(project)s, %(campaign)s, substring(code FROM 10)::bigint, id, 0, 0, now() FROM cards
"""

SUMMARY_SQL = """
UPDATE customers_customer SET
    orders_count = (id %% 7),
    orders_total_amount = (id %% 7) * ((id * 7919) %% 10000),
    last_order_amount = (id * 7919) %% 10000,
    last_order_at = CASE WHEN id %% 7 = 0 THEN NULL ELSE now() - ((id %% 365) || ' days')::interval END
WHERE project_id = %s
"""

# The orders the summary above describes: `id % 7` paid orders of `(id * 7919) % 10000` each.
ORDERS_SQL = """
INSERT INTO customers_order (project_id, public_id, status, amount, initial_amount, items, metadata,
    created_at, customer_id)
SELECT c.project_id, 'ord_' || md5(c.id::text || '-' || n), 'PAID', (c.id * 7919) %% 10000,
       (c.id * 7919) %% 10000, '[]'::jsonb, '{}'::jsonb,
       now() - (((c.id %% 365) + n - 1) || ' days')::interval, c.id
FROM customers_customer c CROSS JOIN LATERAL generate_series(1, (c.id %% 7)::int) AS n
WHERE c.project_id = %s
"""

EVENTS_SQL = """
INSERT INTO customers_customevent (project_id, public_id, name, customer_id, metadata, created_at)
SELECT c.project_id, 'evcus_' || md5(c.id::text || '-' || n),
       (ARRAY['viewed_product', 'cart_abandoned', 'newsletter_signup', 'app_installed'])[1 + (c.id + n) %% 4],
       c.id, '{}'::jsonb, now() - (((c.id * 31 + n * 17) %% 90) || ' days')::interval
FROM customers_customer c CROSS JOIN generate_series(1, %s) AS n
WHERE c.project_id = %s
"""


RAW_SCAN_SQL = """
SELECT count(*) FROM customers_customer c
WHERE c.project_id = %(project)s
  AND c.metadata->>'club_level' IN ('Gold', 'Platinum')
  AND c.orders_total_amount > 20000
  AND (SELECT count(*) FROM customers_customevent e
       WHERE e.project_id = c.project_id AND e.customer_id = c.id AND e.name = 'cart_abandoned'
         AND e.created_at >= now() - interval '30 days') > 0
"""

# Every customer becomes a member of a spare segment; rolled back afterwards.
RAW_INSERT_SQL = """
INSERT INTO segments_segmentmember (project_id, segment_id, customer_id, entered_at)
SELECT c.project_id, %(segment)s, c.id, now() FROM customers_customer c WHERE c.project_id = %(project)s
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events-per-customer", type=int, default=2)
    parser.add_argument("--loyalty", action="store_true", help="add a loyalty points condition")
    parser.add_argument("--skip-orders", action="store_true", help="no order rows (a sync never reads them)")
    parser.add_argument("--database", default="dm_bench_segments_sync")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)

    with bench_database(args.database, keep=args.keep):
        from django.db import connection, transaction

        from bench.generate import load_customers
        from customers.models import Customer
        from eventbus.cause import INTERNAL
        from eventbus.models import DomainEvent
        from segments import sync
        from segments.models import Segment, SegmentMember, SegmentSyncJob
        from segments.realtime import customer_recheck
        from segments.selectors import filter_estimated_count
        from segments.services import segment_create

        project, _, _ = make_bench_project("bench-segments")
        log(f"loading {args.customers:,} customers")
        load_customers(project_id=project.pk, count=args.customers)
        with connection.cursor() as cursor:
            cursor.execute(SUMMARY_SQL, [project.pk])
            orders = 0
            if not args.skip_orders:
                cursor.execute("SET session_replication_role = replica")  # the FKs hold by construction
                cursor.execute(ORDERS_SQL, [project.pk])
                orders = cursor.rowcount
                cursor.execute("RESET session_replication_role")
                log(f"{orders:,} orders inserted")
            cursor.execute(EVENTS_SQL, [args.events_per_customer, project.pk])
            log(f"{cursor.rowcount:,} custom events inserted")
            cursor.execute("VACUUM ANALYZE customers_order")
            cursor.execute("VACUUM ANALYZE customers_customer")
            cursor.execute("VACUUM ANALYZE customers_customevent")
        filter = dict(FILTER)
        if args.loyalty:
            from campaigns.services import campaign_create

            program = campaign_create(
                project=project,
                fields={
                    "name": LOYALTY_PROGRAM,
                    "campaign_type": "LOYALTY_PROGRAM",
                    "type": "AUTO_UPDATE",
                    "voucher": {"type": "LOYALTY_CARD", "loyalty_card": {"points": 0}},
                },
            )
            with connection.cursor() as cursor:
                cursor.execute(CARDS_SQL, {"campaign": program.pk, "project": project.pk})
                log(f"{cursor.rowcount:,} loyalty cards inserted")
                cursor.execute("VACUUM ANALYZE campaigns_voucher")
                cursor.execute("VACUUM ANALYZE campaigns_loyaltycard")
            filter.update(LOYALTY_CONDITION)
        results: dict[str, float | int] = {}

        # The raw operations DESIGN.md's limits name, in plain SQL on the same data in the same run.
        with connection.cursor() as cursor:
            began = time.perf_counter()
            cursor.execute(RAW_SCAN_SQL, {"project": project.pk})
            raw_count = cursor.fetchone()[0]
            results["raw_scan_s"] = round(time.perf_counter() - began, 2)
        log(f"raw scan (metadata, summary, event count): {raw_count:,} rows in {results['raw_scan_s']} s")

        def run_latest_job(segment) -> float:
            job = SegmentSyncJob.objects.for_project(project).filter(segment=segment).latest("pk")
            began = time.perf_counter()
            assert sync.sync_job_run(job.pk)
            return time.perf_counter() - began

        segment = segment_create(project=project, name="Bench", type="auto-update", filter=filter)
        results["initial_sync_s"] = round(run_latest_job(segment), 2)
        segment.refresh_from_db()
        results["members"] = segment.member_count
        log(f"initial sync: {segment.member_count:,} members in {results['initial_sync_s']} s")

        # 1% of the customers change club level: members among them leave, the rest may enter.
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE customers_customer SET metadata = jsonb_set(metadata, '{club_level}',
                       CASE WHEN metadata->>'club_level' IN ('Gold', 'Platinum')
                       THEN '"Bronze"'::jsonb ELSE '"Gold"'::jsonb END)
                   WHERE project_id = %s AND id %% 100 = 0""",
                [project.pk],
            )
        expected = set(
            Customer.objects.for_project(project)
            .filter(pk__in=sync.matching_customers(project, segment, now=segment.synced_at))
            .values_list("pk", flat=True)
        )
        before = set(
            SegmentMember.objects.for_project(project)
            .filter(segment=segment)
            .values_list("customer_id", flat=True)
        )
        with transaction.atomic():
            sync.sync_job_create(project=project, segment=segment)
        results["resync_1pct_s"] = round(run_latest_job(segment), 2)
        entered = DomainEvent.objects.for_project(project).filter(type=sync.ENTERED).count()
        left = DomainEvent.objects.for_project(project).filter(type=sync.LEFT).count()
        assert (entered, left) == (len(expected - before), len(before - expected)), (entered, left)
        log(f"re-sync: {entered:,} entered, {left:,} left in {results['resync_1pct_s']} s")

        for number in range(49):
            segment_create(
                project=project,
                name=f"Bench {number}",
                type="auto-update",
                filter={
                    **filter,
                    "summary.orders.total_amount": {"conditions": {"$more_than": [number * 1000]}},
                },
            )
        spare = Segment.objects.for_project(project).get(name="Bench 0")
        with transaction.atomic(), connection.cursor() as cursor:
            began = time.perf_counter()
            cursor.execute(RAW_INSERT_SQL, {"segment": spare.pk, "project": project.pk})
            inserted = cursor.rowcount
            results["raw_insert_members_s"] = round(time.perf_counter() - began, 2)
            transaction.set_rollback(True)
        log(f"raw insert of {inserted:,} segment members: {results['raw_insert_members_s']} s (rolled back)")

        sample = list(Customer.objects.for_project(project).order_by("?").values_list("pk", flat=True)[:50])
        timings = []
        for customer_id in sample:
            began = time.perf_counter()
            with transaction.atomic():
                customer_recheck(project=project, customer_id=customer_id, cause=INTERNAL)
            timings.append((time.perf_counter() - began) * 1000)
        results["recheck_50_segments_ms_median"] = round(statistics.median(timings), 1)
        results["recheck_50_segments_ms_p95"] = round(sorted(timings)[int(len(timings) * 0.95) - 1], 1)
        log(f"re-check against 50 segments: median {results['recheck_50_segments_ms_median']} ms")

        began = time.perf_counter()
        count = filter_estimated_count(project=project, filter=filter)
        results["estimated_count_s"] = round(time.perf_counter() - began, 2)
        log(f"estimated count {count:,} in {results['estimated_count_s']} s")

        result = {
            "customers": args.customers,
            "orders": orders,
            "events_per_customer": args.events_per_customer,
            "filter": sorted(filter),
            **results,
        }
        write_result("segments_sync", result)
        return result


if __name__ == "__main__":
    main()
