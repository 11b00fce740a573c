"""Generating 1,000,000 unique codes for one campaign (target: 30 s or less).

    .venv/bin/python bench/campaigns_codes.py [--codes 1000000] [--database dm_bench_campaigns_codes]

Creates and migrates its own database, creates a DISCOUNT_COUPONS campaign whose code_config is
`pattern: "BENCH-########"` over the 36-character upper-case alphanumeric charset, and times the worker's
job (`code_generation_run`: chunks of 100,000 codes, one `INSERT ... SELECT ... ON CONFLICT DO NOTHING`
each, plus the shortfall rounds). Then it checks the count, uniqueness and pattern in SQL, and drops
the database.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where a run is


def backend_cpu_seconds() -> float:
    """CPU time of this process's PostgreSQL backend (user + system), which other work on a shared
    machine inflates far less than wall time. The server runs on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_insert(*, project_id: int, campaign_id: int, count: int, chunk: int = 100_000) -> float:
    """The yardstick: plain `INSERT ... SELECT` of `count` voucher rows with sequential codes into the
    same table (same indexes and foreign keys), a transaction per chunk as the generator commits."""
    from django.db import connection, transaction

    began = time.perf_counter()
    for start in range(0, count, chunk):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO campaigns_voucher (
                    project_id, public_id, code, campaign_id, sequence, type, redeemed_quantity,
                    is_referral_code, active, metadata, created_at)
                SELECT %s, 'v_raw' || i, 'RAW-' || lpad(i::text, 10, '0'), %s, 100000000 + i,
                       'DISCOUNT_VOUCHER', 0, false, true, '{}', now()
                FROM generate_series(%s, %s) AS i
                """,
                [project_id, campaign_id, start + 1, min(start + chunk, count)],
            )
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to SECONDS for the machine's CPUs to go idle",
    )
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--database", default="dm_bench_campaigns_codes")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)

    with bench_database(args.database, keep=args.keep):
        from django.db import connection

        from campaigns.models import CodeGenerationJob
        from campaigns.services import campaign_create, code_generation_run
        from tenancy.ids import new_public_id

        project, _, _ = make_bench_project("bench-codes")
        campaign = campaign_create(
            project=project,
            fields={
                "name": "Bench codes",
                "campaign_type": "DISCOUNT_COUPONS",
                "type": "STATIC",
                "voucher": {
                    "type": "DISCOUNT_VOUCHER",
                    "discount": {"type": "PERCENT", "percent_off": 10},
                    "code_config": {
                        "pattern": "BENCH-########",
                        "charset": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    },
                },
            },
        )
        job = CodeGenerationJob.objects.create(
            project=project, public_id=new_public_id("aa", 24), campaign=campaign, requested=args.codes
        )
        log(f"generating {args.codes:,} codes")
        cpu_before = backend_cpu_seconds()
        began = time.perf_counter()
        job = code_generation_run(job=job)
        seconds = time.perf_counter() - began
        cpu = backend_cpu_seconds() - cpu_before
        log(
            f"generated {job.generated:,} codes in {seconds:.1f} s ({job.generated / seconds:,.0f} codes/s), "
            f"PostgreSQL backend CPU {cpu:.1f} s"
        )

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(DISTINCT code), count(DISTINCT sequence), "
                "count(*) FILTER (WHERE code ~ '^BENCH-[0-9A-Z]{8}$') "
                "FROM campaigns_voucher WHERE campaign_id = %s",
                [campaign.pk],
            )
            total, distinct, sequences, matching = cursor.fetchone()
        campaign.refresh_from_db()
        log(
            f"rows {total:,}, distinct codes {distinct:,}, distinct sequences {sequences:,}, "
            f"pattern ok {matching:,}; "
            f"campaign vouchers_count {campaign.vouchers_count:,}, creation_status {campaign.creation_status}"
        )
        assert total == distinct == sequences == matching == args.codes == campaign.vouchers_count
        cpu_before = backend_cpu_seconds()
        raw_seconds = raw_insert(project_id=project.pk, campaign_id=campaign.pk, count=args.codes)
        raw_cpu = backend_cpu_seconds() - cpu_before
        log(
            f"raw INSERT of {args.codes:,} voucher rows, same table, same run: {raw_seconds:.1f} s, "
            f"PostgreSQL backend CPU {raw_cpu:.1f} s"
        )
        result = {
            "codes": args.codes,
            "seconds": round(seconds, 2),
            "codes_per_second": round(args.codes / seconds),
            "backend_cpu_seconds": round(cpu, 2),
            "raw_insert_seconds": round(raw_seconds, 2),
            "raw_insert_backend_cpu_seconds": round(raw_cpu, 2),
        }
        write_result("campaigns_codes", result)
        return result


if __name__ == "__main__":
    main()
