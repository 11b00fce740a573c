"""Manual "publish unique codes" distribution to a 1,000,000-customer segment on 2 channels (issue 5's
target: from claim to every message materialised with its code at 50% or more of the raw insert-only
SQL rate of the same run, no transaction open longer than a few seconds).

    .venv/bin/python bench/manual_send.py [--customers 1000000] [--database dm_bench_manualsend]
                                          [--wait-quiet SECONDS] [--keep]

Creates and migrates its own database, COPYs the customers in (bench/generate.py), syncs an
auto-update segment that holds them all, generates the campaign's codes with the worker's job
(`code_generation_run`, timed on its own) and saves a manual distribution that publishes a code to
each member by webhook and email. Then, timed from the claim to the last message committed, it runs
what the worker runs: `distributions_claim_due` (the beat sweep's claim) and the
`materialise_distribution` task, in this process. Delivery tasks go to Redis under this run's key
prefix and are purged afterwards; no message is delivered.

While it runs, a second connection samples `pg_stat_activity` every 20 ms and keeps the oldest open
transaction of the benchmark's database: the longest transaction.

The raw yardstick, in the same run and database: the same rows the send writes (one publication and
one `customer.publication.succeeded` outbox event per customer, one message per customer and channel,
the message carrying the code) inserted by plain `INSERT … SELECT` statements, one per table and
channel, from the segment's membership into copies of the tables (same columns, defaults, indexes,
unique constraints and foreign keys), with no claim, no locks and no batching.

At the end, checks in SQL: each member holds exactly one publication of the distribution (one code),
no code has two holders, one message per member and channel, each carrying its holder's code.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import signal
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.campaigns_codes import backend_cpu_seconds
from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a run is

# Every generated customer has one of these club levels: the segment holds them all.
ALL_CUSTOMERS_FILTER = {
    "junction": "and",
    "metadata.club_level": {"conditions": {"$in": ["Bronze", "Silver", "Gold", "Platinum"]}},
}
RAW_TABLES = ("campaigns_publication", "eventbus_domainevent", "messaging_message")


class LongestTransaction(threading.Thread):
    """Samples pg_stat_activity on its own connection; `longest` is the oldest transaction seen (s)."""

    def __init__(self, database_url: str, database: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.database_url, self.database, self.interval = database_url, database, interval
        self.longest = 0.0
        self.longest_query = ""
        self.samples = 0
        self._finished = threading.Event()

    def run(self) -> None:
        import psycopg2

        connection = psycopg2.connect(self.database_url)
        connection.autocommit = True
        with contextlib.closing(connection), connection.cursor() as cursor:
            while not self._finished.is_set():
                cursor.execute(
                    """
                    SELECT extract(epoch FROM clock_timestamp() - xact_start), left(query, 200)
                    FROM pg_stat_activity
                    WHERE datname = %s AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
                    ORDER BY xact_start LIMIT 1
                    """,
                    [self.database],
                )
                row = cursor.fetchone()
                self.samples += 1
                if row and row[0] > self.longest:
                    self.longest, self.longest_query = float(row[0]), row[1]
                time.sleep(self.interval)

    def stop(self) -> None:
        self._finished.set()
        self.join()


def copy_tables() -> None:
    """`raw_<table>`: the same columns, defaults, indexes, constraints and foreign keys, empty."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in RAW_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS raw_{table}")
            cursor.execute(f"CREATE TABLE raw_{table} (LIKE {table} INCLUDING ALL)")
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f'",
                [table],
            )
            for (definition,) in cursor.fetchall():
                cursor.execute(f"ALTER TABLE raw_{table} ADD {definition}")


def drop_copies() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in RAW_TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS raw_{table}")


RAW_PUBLICATIONS_SQL = """
INSERT INTO raw_campaigns_publication (
    project_id, public_id, voucher_id, campaign_id, customer_id, channel, metadata, slot,
    distribution_id, cause_key, created_at)
SELECT %(project)s, 'pub_raw' || v.id, v.id, %(campaign)s, m.customer_id, 'DISTRIBUTION', '{}', 0,
       %(distribution)s, 'manual:raw', now()
FROM (SELECT customer_id, row_number() OVER (ORDER BY customer_id) AS n
      FROM segments_segmentmember WHERE project_id = %(project)s AND segment_id = %(segment)s) m
JOIN (SELECT id, row_number() OVER (ORDER BY sequence) AS n
      FROM campaigns_voucher WHERE project_id = %(project)s AND campaign_id = %(campaign)s) v USING (n)
"""
RAW_EVENTS_SQL = """
INSERT INTO raw_eventbus_domainevent (
    project_id, public_id, type, customer_id, refs, data, cause, created_at, next_dispatch_at,
    completed_at, dispatch_attempts)
SELECT %(project)s, 'evt_raw' || p.id, 'customer.publication.succeeded', p.customer_id,
       jsonb_build_object('campaign', 'camp_raw', 'voucher', v.public_id, 'publication', p.public_id),
       jsonb_build_object('voucher_code', v.code), '{"type": "distribution"}', now(), now(), NULL, 0
FROM raw_campaigns_publication p JOIN campaigns_voucher v ON v.id = p.voucher_id
"""
RAW_MESSAGES_SQL = """
INSERT INTO raw_messaging_message (
    project_id, public_id, stream_id, channel, customer_id, cause_key, template_id, variables,
    state, attempts, last_error, recovered, created_at, queued_at)
SELECT %(project)s, 'msg_' || replace(gen_random_uuid()::text, '-', ''), %(stream)s, %(channel)s,
       m.customer_id, 'manual:raw', %(template)s,
       '{"campaign.id": "camp_raw", "campaign.name": "Bench send"}'::jsonb
         || jsonb_build_object('voucher.code', v.code, 'publication.id', p.public_id),
       'queued', 0, '', false, now(), now()
FROM segments_segmentmember m
JOIN raw_campaigns_publication p ON p.customer_id = m.customer_id
JOIN campaigns_voucher v ON v.id = p.voucher_id
WHERE m.project_id = %(project)s AND m.segment_id = %(segment)s
"""


def raw_insert(*, project, campaign, segment, distribution, stream, templates) -> dict[str, float]:
    """The yardstick; returns seconds per statement and their total."""
    from django.db import connection, transaction

    copy_tables()
    params = {
        "project": project.pk,
        "campaign": campaign.pk,
        "segment": segment.pk,
        "distribution": distribution.pk,
        "stream": stream.pk,
    }
    timings: dict[str, float] = {}
    statements = [("publications", RAW_PUBLICATIONS_SQL, {}), ("events", RAW_EVENTS_SQL, {})] + [
        (f"messages {channel}", RAW_MESSAGES_SQL, {"channel": channel, "template": template})
        for channel, template in templates.items()
    ]
    cpu = 0.0
    for label, sql, extra in statements:
        cpu_before = backend_cpu_seconds()
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {**params, **extra})
            rows = cursor.rowcount
        timings[label] = round(time.perf_counter() - began, 2)
        cpu += backend_cpu_seconds() - cpu_before
        log(f"raw {label}: {rows:,} rows in {timings[label]} s")
        with connection.cursor() as cursor:  # untimed: the next statement reads what this one wrote
            cursor.execute("ANALYZE raw_campaigns_publication")
    timings["total"] = round(sum(timings.values()), 2)
    timings["backend_cpu"] = round(cpu, 1)
    drop_copies()
    return timings


def verify(*, project, distribution, segment, stream, channels: list[str]) -> dict[str, int]:
    from django.db import connection

    cause_key = f"manual:{distribution.public_id}"
    with connection.cursor() as cursor:
        for table in ("campaigns_publication", "messaging_message", "eventbus_domainevent"):
            cursor.execute(f"ANALYZE {table}")
        cursor.execute(
            """
            SELECT count(*), count(DISTINCT customer_id), count(DISTINCT voucher_id)
            FROM campaigns_publication WHERE project_id = %s AND distribution_id = %s AND cause_key = %s
            """,
            [project.pk, distribution.pk, cause_key],
        )
        publications, holders, codes = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) - count(DISTINCT voucher_id) FROM campaigns_publication WHERE project_id = %s",
            [project.pk],
        )
        (codes_with_two_holders,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*) FROM segments_segmentmember m
            WHERE m.project_id = %s AND m.segment_id = %s AND NOT EXISTS (
                SELECT 1 FROM campaigns_publication p WHERE p.project_id = m.project_id
                  AND p.distribution_id = %s AND p.customer_id = m.customer_id)
            """,
            [project.pk, segment.pk, distribution.pk],
        )
        (members_without_code,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT m.channel, count(*), count(DISTINCT m.customer_id),
                   count(*) FILTER (WHERE m.variables->>'voucher.code' = v.code),
                   count(*) FILTER (WHERE m.state = 'queued')
            FROM messaging_message m
            LEFT JOIN campaigns_publication p ON p.project_id = m.project_id AND p.distribution_id = %s
                 AND p.customer_id = m.customer_id AND p.cause_key = m.cause_key
            LEFT JOIN campaigns_voucher v ON v.id = p.voucher_id
            WHERE m.project_id = %s AND m.stream_id = %s
            GROUP BY m.channel ORDER BY m.channel
            """,
            [distribution.pk, project.pk, stream.pk],
        )
        per_channel = {row[0]: row[1:] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM eventbus_domainevent WHERE project_id = %s AND type = %s",
            [project.pk, "customer.publication.succeeded"],
        )
        (events,) = cursor.fetchone()
    members = segment.member_count
    log(
        f"check: {publications:,} publications to {holders:,} customers, {codes:,} distinct codes, "
        f"{codes_with_two_holders} codes with two holders, {members_without_code} members without a code, "
        f"{events:,} publication events; messages per channel (rows, customers, with their code, queued): "
        f"{per_channel}"
    )
    assert publications == holders == codes == members == events, "one code per customer"
    assert codes_with_two_holders == 0 and members_without_code == 0
    assert sorted(per_channel) == sorted(channels)
    for channel, (rows, customers, with_code, _queued) in per_channel.items():
        assert rows == customers == with_code == members, f"{channel}: one message per customer, with code"
    return {"publications": publications, "events": events, **{c: v[0] for c, v in per_channel.items()}}


def audience_with_codes(project, customers: int, results: dict):
    """An auto-update segment holding every loaded customer, synced, and a campaign with a code for
    each of them (the worker's generator): (segment, campaign). Timings go into `results`."""
    from django.db import connection

    from campaigns.models import CodeGenerationJob
    from campaigns.services import campaign_create, code_generation_run
    from segments import sync
    from segments.models import SegmentSyncJob
    from segments.services import segment_create
    from tenancy.ids import new_public_id

    segment = segment_create(
        project=project, name="Everyone", type="auto-update", filter=ALL_CUSTOMERS_FILTER
    )
    job = SegmentSyncJob.objects.for_project(project).filter(segment=segment).latest("pk")
    began = time.perf_counter()
    assert sync.sync_job_run(job.pk)
    segment.refresh_from_db()
    results["segment_sync_s"] = round(time.perf_counter() - began, 2)
    log(f"segment synced: {segment.member_count:,} members in {results['segment_sync_s']} s")
    assert segment.member_count == customers

    campaign = campaign_create(
        project=project,
        fields={
            "name": "Bench send",
            "campaign_type": "DISCOUNT_COUPONS",
            "type": "STATIC",
            "voucher": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "PERCENT", "percent_off": 10},
                "code_config": {
                    "pattern": "SEND-##########",
                    "charset": "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ",
                },
            },
        },
    )
    code_job = CodeGenerationJob.objects.create(
        project=project, public_id=new_public_id("aa", 24), campaign=campaign, requested=customers
    )
    began = time.perf_counter()
    code_job = code_generation_run(job=code_job)
    results["codes_generated"] = code_job.generated
    results["code_generation_s"] = round(time.perf_counter() - began, 2)
    log(f"{code_job.generated:,} codes generated in {results['code_generation_s']} s")
    with connection.cursor() as cursor:
        for table in ("campaigns_voucher", "segments_segmentmember", "customers_customer"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return segment, campaign


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--database", default="dm_bench_manualsend")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print where this process spent its time")
    args = parser.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)

    with bench_database(args.database, keep=args.keep) as env:
        from django.db import connection

        from bench.generate import load_customers
        from distributions import services, tasks
        from distributions.models import Distribution
        from tenancy.models import Project
        from webhooks_out.services import webhook_endpoint_create

        project, _, _ = make_bench_project("bench-send")
        Project.objects.filter(pk=project.pk).update(allow_private_webhook_targets=True)
        project.refresh_from_db()
        results: dict = {"customers": args.customers}
        log(f"loading {args.customers:,} customers")
        load_customers(project_id=project.pk, count=args.customers)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE customers_customer")

        segment, campaign = audience_with_codes(project, args.customers, results)

        endpoint = webhook_endpoint_create(project=project, url="http://127.0.0.1:9/bench", name="Bench")
        distribution = services.distribution_create(
            project=project,
            fields={
                "name": "Bench send",
                "trigger": {"key": "manual"},
                "audience": {"type": "segment", "segment": segment.public_id},
                "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
                "channels": [
                    {
                        "kind": "webhook",
                        "settings": {"endpoint": endpoint.public_id},
                        "template": {
                            "event_name": "bench.code",
                            "payload": {"customer": "{{customer.id}}", "code": "{{voucher.code}}"},
                        },
                    },
                    {
                        "kind": "email",
                        "template": {
                            "subject": "Hello {{customer.name}}",
                            "body": "Your code: {{voucher.code}}",
                        },
                    },
                ],
            },
        )
        distribution = services.distribution_send(project=project, distribution=distribution)
        Distribution.objects.for_project(project).filter(pk=distribution.pk).update(
            send_at=distribution.created_at
        )
        channels = {c.kind: c.message_template_id for c in distribution.channels.all()}
        log(f"distribution {distribution.public_id} on {', '.join(channels)}")

        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        load_before = Path("/proc/loadavg").read_text().split()[:3]
        sampler = LongestTransaction(env.database_url, env.database)
        sampler.start()
        cpu_before = backend_cpu_seconds()
        python_cpu_before = time.process_time()
        began = time.perf_counter()
        claimed = tasks.claim_due_distributions()
        assert claimed == [distribution.public_id], claimed
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            created = profiler.runcall(tasks.materialise_distribution, project.pk, distribution.public_id)
        else:
            created = tasks.materialise_distribution(project.pk, distribution.public_id)
        seconds = time.perf_counter() - began
        cpu = backend_cpu_seconds() - cpu_before
        python_cpu = time.process_time() - python_cpu_before
        sampler.stop()
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        rate = args.customers / seconds
        log(
            f"claim → all messages materialised: {seconds:.2f} s ({rate:,.0f} customers/s), "
            f"created {created}, PostgreSQL backend CPU {cpu:.1f} s, this process's CPU {python_cpu:.1f} s; "
            f"longest transaction {sampler.longest:.2f} s ({sampler.samples:,} samples; "
            f"{sampler.longest_query[:80]!r}); "
            f"load {load_before} → {load_after}"
        )
        if args.profile:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        distribution.refresh_from_db()
        assert distribution.materialised_at is not None
        stream = services.stream_of(project, distribution)
        results["checked"] = verify(
            project=project,
            distribution=distribution,
            segment=segment,
            stream=stream,
            channels=list(channels),
        )

        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        raw_began = time.perf_counter()
        raw = raw_insert(
            project=project,
            campaign=campaign,
            segment=segment,
            distribution=distribution,
            stream=stream,
            templates=channels,
        )
        raw_seconds = raw["total"]
        raw_rate = args.customers / raw_seconds
        log(
            f"raw INSERT … SELECT of the same rows: {raw_seconds:.2f} s ({raw_rate:,.0f} customers/s; "
            f"wall {time.perf_counter() - raw_began:.1f} s with the table copies), PostgreSQL backend CPU "
            f"{raw['backend_cpu']} s; ours is {100 * rate / raw_rate:.0f}% of raw"
        )
        results.update(
            {
                "materialise_s": round(seconds, 2),
                "customers_per_s": round(rate),
                "backend_cpu_s": round(cpu, 1),
                "python_cpu_s": round(python_cpu, 1),
                "longest_transaction_s": round(sampler.longest, 2),
                "longest_transaction_query": sampler.longest_query,
                "raw_s": raw,
                "raw_customers_per_s": round(raw_rate),
                "percent_of_raw": round(100 * rate / raw_rate, 1),
                "loadavg_before": load_before,
                "loadavg_after": load_after,
            }
        )
        write_result("manual_send", results)
        return results


if __name__ == "__main__":
    main()
