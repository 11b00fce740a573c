"""Benchmark the bulk import: 1,000,000 customers through `POST /v1/customers/bulk/async`.

    .venv/bin/python bench/bulk_import.py                 # 100 requests x 10,000 rows
    .venv/bin/python bench/bulk_import.py --requests 10   # a quick check

Creates database dm_bench, starts gunicorn (DEBUG=0) and a real Celery worker
(`celery -A config worker -Q events -c 2`), builds the request bodies in memory beforehand, then
sends them (--senders in parallel) and times from the first request to the last async action DONE
(the exact end is the latest `finished_at`). The `customer.created` events the import published are
dispatched by the same worker afterwards; the run reports how far that got within --drain-seconds.

In the same run, on the same database and with the web and worker processes stopped, it times the
raw operations to compare with: DESIGN.md's "inserting 1,000,000 segment members" (an
`INSERT ... SELECT` into a narrow table unique on (project, segment, customer)); the import's own
set-based statement called in-process with the same bodies (no HTTP, no Celery); and a COPY of
1,000,000 customers (bench/generate.py). Each raw step starts from empty customer and event tables,
like the API import. Target: the API import in <= 60 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Processes,
    bench_database,
    celery_worker_args,
    gunicorn_args,
    log,
    make_bench_project,
    wait_for_worker,
    wait_http,
    write_result,
)
from bench.proto.patches import IMPORT_QUEUE

CITIES = [
    ("Warsaw", "PL", "00-001"),
    ("Berlin", "DE", "10115"),
    ("Paris", "FR", "75001"),
    ("Lisbon", "PT", "1000-001"),
]
NAMES = "Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances Edsger Hedy Tim Radia Guido Anita".split()


def build_rows(batch: int, size: int) -> list[dict]:
    rng = random.Random(batch)
    rows = []
    for offset in range(size):
        number = batch * size + offset + 1
        name = rng.choice(NAMES)
        city, country, postal = rng.choice(CITIES)
        rows.append(
            {
                "source_id": f"bulk-{number}",
                "name": f"{name} Bulk{number}",
                "email": f"{name.lower()}.{number}@bulk.example",
                "phone": f"+4860{number:08d}" if rng.random() < 0.7 else None,
                "birthdate": f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "address": {"city": city, "country": country, "postal_code": postal},
                "metadata": {
                    "club_level": rng.choice(["Bronze", "Silver", "Gold"]),
                    "orders": rng.randint(0, 40),
                },
            }
        )
    return rows


class Client(threading.local):
    """One keep-alive HTTP connection per sender thread."""

    def __init__(self, port: int, app_id: str, token: str) -> None:
        self.port, self.headers = (
            port,
            {"X-App-Id": app_id, "X-App-Token": token, "Content-Type": "application/json"},
        )
        self.connection = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, dict]:
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.connection.request(method, path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                return response.status, json.loads(response.read() or b"{}")
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def task_queue(task_name: str) -> str:
    """The queue the app routes a task to (config/celery.py's task_routes)."""
    from config.celery import app

    route = app.amqp.router.route({}, task_name)
    return route["queue"].name


def truncate_customer_data() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE customers_customer, eventbus_domainevent, eventbus_handlerrun, customers_bulkimport"
            " CASCADE"
        )
        cursor.execute("CHECKPOINT")


def api_import(
    *, env, project, app_id, token, bodies, senders, port, drain_seconds, timeout, prototype
) -> dict:
    from django.db import connection
    from django.db.models import Max, Min

    from customers.models import BulkImport
    from eventbus.models import DomainEvent

    logs = ROOT / "var" / "bench" / "logs"
    with Processes() as processes:
        import_queue, event_queue = (
            task_queue("customers.tasks.apply_bulk_import"),
            task_queue("eventbus.tasks.dispatch_events"),
        )
        if prototype:  # bench/proto: handler-less events completed per batch (+ imports off the events queue)
            if import_queue == event_queue:
                import_queue = IMPORT_QUEUE
            web = gunicorn_args(port=port, workers=2, wsgi="bench.proto.wsgi:application")
            worker_app = "bench.proto.celery"
        else:
            web = gunicorn_args(port=port, workers=2)
            worker_app = "config"
        queues = ",".join(dict.fromkeys([import_queue, event_queue]))
        log(f"worker: celery -A {worker_app} worker -Q {queues} -c 2")
        worker = celery_worker_args(concurrency=2, queues=queues, app=worker_app)
        processes.start("gunicorn", web, env.process_env(), logs / "bulk-gunicorn.log")
        processes.start("celery", worker, env.process_env(), logs / "bulk-celery.log")
        wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_for_worker(f"bench{os.getpid()}@")
        client = Client(port, app_id, token)
        latencies: list[float] = []
        ids: list[str] = []
        lock = threading.Lock()

        def send(body: bytes) -> None:
            began = time.perf_counter()
            status, data = client.request("POST", "/v1/customers/bulk/async", body)
            if status != 202:
                raise RuntimeError(f"bulk import answered {status}: {data}")
            with lock:
                latencies.append(time.perf_counter() - began)
                ids.append(data["async_action_id"])

        log(f"sending {len(bodies)} requests with {senders} sender(s)")
        started_wall = time.time()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=senders) as pool:
            list(pool.map(send, bodies))
        sent = time.perf_counter() - started
        log(f"all {len(bodies)} accepted after {sent:.1f} s; waiting for DONE")
        pending = set(ids)
        timeline, last_report = [], 0.0
        while pending and time.perf_counter() - started < timeout:
            time.sleep(0.5)
            pending = set(
                BulkImport.objects.for_project(project)
                .filter(public_id__in=pending, status=BulkImport.Status.IN_PROGRESS)
                .values_list("public_id", flat=True)
            )
            elapsed = time.perf_counter() - started
            if elapsed - last_report >= 30 or not pending:
                timeline.append((round(elapsed), len(ids) - len(pending)))
                log(f"  {elapsed:.0f} s: {len(ids) - len(pending)} of {len(ids)} imports DONE")
                last_report = elapsed
        observed = time.perf_counter() - started
        imports = BulkImport.objects.for_project(project)
        status, last = client.request("GET", f"/v1/async-actions/{ids[-1]}")
        assert status == 200, last
        finished = not pending
        failed = imports.filter(status=BulkImport.Status.FAILED).count()
        span = imports.aggregate(first=Min("created_at"), last=Max("finished_at"))
        done_seconds = (span["last"].timestamp() if finished else time.time()) - started_wall
        if not finished:
            log(f"TIMEOUT: {len(pending)} imports still IN_PROGRESS after {timeout} s; stopping")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM customers_customer WHERE project_id = %s", [project.pk])
            customers = cursor.fetchone()[0]
        log(
            f"import {'DONE' if finished else 'stopped'} after {done_seconds:.1f} s "
            f"({customers:,} customers, {failed} failed imports)"
        )

        # The worker goes on dispatching the customer.created events the import published.
        drain_started = time.perf_counter()
        events = DomainEvent.objects.for_project(project)
        total_events = events.count()
        completed = events.filter(completed_at__isnull=False).count()
        while completed < total_events and time.perf_counter() - drain_started < drain_seconds:
            time.sleep(5)
            completed = events.filter(completed_at__isnull=False).count()
        drain_elapsed = time.perf_counter() - drain_started
        first_done = events.filter(completed_at__isnull=False).aggregate(
            first=Min("completed_at"), last=Max("completed_at")
        )
        rate = 0.0
        if completed and first_done["first"] and first_done["last"] > first_done["first"]:
            rate = completed / (first_done["last"] - first_done["first"]).total_seconds()
        log(
            f"events dispatched: {completed:,} of {total_events:,} ({rate:,.0f}/s) "
            f"{drain_elapsed:.0f} s after DONE"
        )

    latencies.sort()
    return {
        "requests": len(bodies),
        "rows": customers,
        "senders": senders,
        "worker_queues": queues,
        "accept_all_s": round(sent, 2),
        "request_latency_p50_s": round(latencies[len(latencies) // 2], 3),
        "request_latency_max_s": round(latencies[-1], 3),
        "all_done": finished,
        "imports_done": len(ids) - len(pending),
        "done_timeline": timeline,
        "first_request_to_last_done_s": round(done_seconds, 2),
        "observed_by_polling_s": round(observed, 2),
        "rows_per_s": round(customers / done_seconds),
        "failed_imports": failed,
        "events_published": total_events,
        "events_dispatched_within_drain": completed,
        "event_dispatch_rate_per_s": round(rate),
        "drain_window_s": round(drain_elapsed),
    }


def raw_segment_members(project) -> dict:
    """DESIGN.md's raw operation: insert a segment membership row per customer, set-based."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE IF NOT EXISTS bench_segment_member (
                id bigserial PRIMARY KEY,
                project_id bigint NOT NULL,
                segment_id bigint NOT NULL,
                customer_id bigint NOT NULL,
                entered_at timestamptz NOT NULL,
                UNIQUE (project_id, segment_id, customer_id)
            )
            """
        )
        cursor.execute("TRUNCATE bench_segment_member")
        cursor.execute("CHECKPOINT")
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO bench_segment_member (project_id, segment_id, customer_id, entered_at)
            SELECT project_id, 1, id, now() FROM customers_customer WHERE project_id = %s
            ON CONFLICT DO NOTHING
            """,
            [project.pk],
        )
        rows = cursor.rowcount
    seconds = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_segment_member")
    log(f"raw: inserted {rows:,} segment members in {seconds:.1f} s")
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def raw_apply_rows(project, bodies: list[bytes]) -> dict:
    """The import's own work in-process, no HTTP, no Celery: parse and check each body, store it,
    and apply it with the worker's statement (customers.bulk.bulk_import_apply)."""
    from customers.bulk import bulk_import_apply, row_errors
    from customers.models import BulkImport
    from tenancy.ids import new_public_id

    created = updated = 0
    validate_seconds = 0.0
    began = time.perf_counter()
    for body in bodies:
        parse_began = time.perf_counter()
        rows = json.loads(body)
        errors = row_errors(rows)
        validate_seconds += time.perf_counter() - parse_began
        assert not errors, errors
        # Stored as bulk_import_create does, without its after-commit task (no worker runs here).
        bulk_import = BulkImport.objects.create(
            project=project, public_id=new_public_id("aa", 24), body=body.decode(), total=len(rows)
        )
        bulk_import_apply(bulk_import_id=bulk_import.pk)
        bulk_import.refresh_from_db()
        created += bulk_import.created_count
        updated += bulk_import.updated_count
    seconds = time.perf_counter() - began
    log(
        f"raw: stored and applied {created + updated:,} customers (+ events) in {seconds:.1f} s "
        f"({validate_seconds:.1f} s of it parsing and validating)"
    )
    return {
        "rows": created + updated,
        "seconds": round(seconds, 2),
        "parse_validate_seconds": round(validate_seconds, 2),
        "rows_per_s": round((created + updated) / seconds),
    }


def raw_copy(project, count: int) -> dict:
    from bench.generate import load_customers

    seconds = load_customers(project_id=project.pk, count=count, rebuild_indexes=False)
    log(f"raw: COPY of {count:,} customers (indexes kept) in {seconds:.1f} s")
    return {"rows": count, "seconds": round(seconds, 2), "rows_per_s": round(count / seconds)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="dm_bench")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rows-per-request", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=2, help="requests in flight at once")
    parser.add_argument(
        "--drain-seconds", type=int, default=60, help="how long to watch event dispatch after DONE"
    )
    parser.add_argument("--port", type=int, default=8932)
    parser.add_argument(
        "--timeout", type=int, default=1800, help="stop waiting for DONE after this many seconds"
    )
    parser.add_argument("--prototype", action="store_true", help="run with the bench/proto patches")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    log(f"building {args.requests} bodies of {args.rows_per_request:,} rows")
    bodies = [json.dumps(build_rows(batch, args.rows_per_request)).encode() for batch in range(args.requests)]
    log(f"bodies ready: {sum(map(len, bodies)) / 1e6:.0f} MB")
    with bench_database(args.db, keep=args.keep_db) as env:
        project, app_id, token = make_bench_project("bench-bulk")
        api = api_import(
            env=env,
            project=project,
            app_id=app_id,
            token=token,
            bodies=bodies,
            senders=args.senders,
            port=args.port,
            drain_seconds=args.drain_seconds,
            timeout=args.timeout,
            prototype=args.prototype,
        )
        raw = {}
        if not args.skip_raw:
            raw["segment_members_insert_select"] = raw_segment_members(project)
            truncate_customer_data()
            raw["apply_rows_in_process"] = raw_apply_rows(project, bodies)
            truncate_customer_data()
            raw["copy_customers"] = raw_copy(project, args.requests * args.rows_per_request)
    result = {
        "benchmark": "bulk_import",
        "target": {"seconds": 60, "rows": 1_000_000},
        "parameters": {key: value for key, value in vars(args).items() if key != "keep_db"},
        "api": api,
        "raw": raw,
    }
    write_result("bulk_import", result)
    return result


if __name__ == "__main__":
    main()
