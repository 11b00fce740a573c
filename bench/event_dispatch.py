"""Event dispatch throughput, and issue 5's commit → message-queued latency at a sustained rate.

    .venv/bin/python bench/event_dispatch.py                          # 5,000 events, then 200/s for 30 s
    .venv/bin/python bench/event_dispatch.py --events 20000 --rate 200 --duration 60
    .venv/bin/python bench/event_dispatch.py --skip-latency           # throughput only

Creates database dm_bench_event_dispatch with --customers customers (bench/generate.py), three
auto-update segments (a metadata, an order-summary and an event-count condition: the segment
re-check at order 10 evaluates all three) and a live automatic distribution on the custom event
"visited" with a webhook channel (no delivery worker runs: messages stay queued). Every event is a
`customer.custom_event` "visited" of a distinct customer, so every one matches the distribution,
runs the segment re-check and the loyalty earning-rule lookup, and creates one message.

1. in-process: `eventbus.tasks.dispatch_events` called directly on batches of `DISPATCH_BATCH`
   ids (one process, no broker), events/s;
2. worker: the same number of new events handed to a real `celery -A config worker -Q events -c 2`
   through `enqueue_dispatch`, from the first task sent to the last event completed, events/s;
3. latency (issue 5): with that worker running, publisher threads commit one event per transaction
   (as API requests do: each commit enqueues its own dispatch task) at --rate events/s for
   --duration s; latency is the message's `created_at` (set in the handler's transaction, which
   commits right after) minus the publishing transaction's commit time, p50/p95/p99.

Raw operation in the same run: an `INSERT … SELECT` of every customer as a member of a spare
segment, rolled back (DESIGN.md's "inserting 1,000,000 segment members"), rows/s.

Run it on older code by copying this file into an export of that commit: it uses only
`dispatch_events`, `enqueue_dispatch` and `publish`, which have not changed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Processes,
    bench_database,
    celery_worker_args,
    log,
    machine_busy_pct,
    make_bench_project,
    wait_for_worker,
    write_result,
)

SEGMENT_FILTERS = {
    "Gold club": {"metadata.club_level": {"conditions": {"$in": ["Gold", "Platinum"]}}},
    "Big spenders": {"summary.orders.total_amount": {"conditions": {"$more_than": [20000]}}},
    "Cart abandoners": {
        "events.cart_abandoned.count": {"conditions": {"$more_than": [0]}, "window_days": 30}
    },
}
EVENT_NAME = "visited"


def set_up(project) -> None:
    from distributions import services
    from segments.services import segment_create
    from tenancy.models import Project
    from webhooks_out.services import webhook_endpoint_create

    Project.objects.filter(pk=project.pk).update(allow_private_webhook_targets=True)
    project.refresh_from_db()
    for name, segment_filter in SEGMENT_FILTERS.items():
        segment_create(project=project, name=name, type="auto-update", filter=segment_filter)
    endpoint = webhook_endpoint_create(project=project, url="http://127.0.0.1:9/hook", name="Nowhere")
    distribution = services.distribution_create(
        project=project,
        fields={
            "name": "On visit",
            "trigger": {"key": "custom_event", "params": {"event_name": EVENT_NAME}},
            "action": {"key": "plain_message"},
            "channels": [
                {
                    "kind": "webhook",
                    "settings": {"endpoint": endpoint.public_id},
                    "template": {
                        "event_name": "bench.visit",
                        "payload": {"customer": "{{customer.id}}", "event": "{{event.id}}"},
                    },
                }
            ],
        },
    )
    services.distribution_send(project=project, distribution=distribution)


def customer_ids(project, start: int, count: int) -> list[int]:
    from customers.models import Customer

    return list(
        Customer.objects.for_project(project)
        .order_by("pk")
        .values_list("pk", flat=True)[start : start + count]
    )


def insert_events(project, ids: list[int]) -> list[int]:
    """One undispatched `customer.custom_event` per customer, written without enqueueing anything."""
    from django.utils import timezone

    from eventbus.models import DomainEvent
    from tenancy.ids import new_public_id

    now = timezone.now()
    events = [
        DomainEvent(
            project=project,
            public_id=new_public_id("evt", 24),
            type="customer.custom_event",
            customer_id=customer_id,
            data={"event": EVENT_NAME, "metadata": {}},
            cause={"channel": "API"},
            created_at=now,
            next_dispatch_at=now + timedelta(hours=1),  # no relay runs; keep it out of the way anyway
        )
        for customer_id in ids
    ]
    DomainEvent.objects.bulk_create(events, batch_size=2000)
    return [event.pk for event in events]


def completed(ids: list[int]) -> int:
    from eventbus.models import DomainEvent

    return DomainEvent.objects.unscoped().filter(pk__in=ids, completed_at__isnull=False).count()


def messages_for(project, ids: list[int]) -> int:
    from eventbus.models import DomainEvent
    from messaging.models import Message

    keys = DomainEvent.objects.unscoped().filter(pk__in=ids).values_list("public_id", flat=True)
    return Message.objects.for_project(project).filter(cause_key__in=list(keys)).count()


def in_process(project, ids: list[int]) -> dict:
    from eventbus.services import DISPATCH_BATCH
    from eventbus.tasks import dispatch_events

    started = time.perf_counter()
    for start in range(0, len(ids), DISPATCH_BATCH):
        dispatch_events(ids[start : start + DISPATCH_BATCH])
    seconds = time.perf_counter() - started
    done = completed(ids)
    return {
        "events": len(ids),
        "completed": done,
        "messages": messages_for(project, ids),
        "seconds": round(seconds, 2),
        "events_per_s": round(done / seconds, 1),
        "batch": DISPATCH_BATCH,
    }


def through_worker(project, ids: list[int], timeout: float) -> dict:
    from eventbus.services import enqueue_dispatch

    started = time.perf_counter()
    enqueue_dispatch(ids)
    done = 0
    while time.perf_counter() - started < timeout:
        done = completed(ids)
        if done == len(ids):
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    return {
        "events": len(ids),
        "completed": done,
        "messages": messages_for(project, ids),
        "seconds": round(seconds, 2),
        "events_per_s": round(done / seconds, 1),
    }


def publish_paced(
    project_id: int, ids: list[int], offsets: list[int], stride: int, rate: float, started: float
):
    """Publisher threads, one per offset, each committing ids[offset + k * stride], the i-th at
    `started + i / rate`, one transaction each; returns {event public id: commit time}."""
    from django.db import connection, transaction

    from customers.models import Customer
    from eventbus.services import publish
    from tenancy.models import Project

    project = Project.objects.get(pk=project_id)
    committed: dict[str, float] = {}
    lock = threading.Lock()

    def publisher(offset: int) -> None:
        for index in range(offset, len(ids), stride):
            pause = started + index / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            with transaction.atomic():
                event = publish(
                    project,
                    "customer.custom_event",
                    customer=Customer(pk=ids[index], project=project),
                    data={"event": EVENT_NAME, "metadata": {}},
                )
            at = time.time()
            with lock:
                committed[event.public_id] = at
        connection.close()

    threads = [threading.Thread(target=publisher, args=(offset,)) for offset in offsets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return committed


def sustained(
    env,
    project,
    ids: list[int],
    *,
    rate: float,
    duration: float,
    processes: int,
    threads: int,
    timeout: float,
) -> dict:
    """Publish one event per transaction at `rate`/s from `processes` x `threads` publishers (one
    Python process cannot commit 200 transactions/s beside a worker on this machine); latency from
    each commit to its message."""
    import subprocess

    from eventbus.models import DomainEvent
    from messaging.models import Message

    ids = ids[: int(rate * duration)]
    started = time.time() + 8.0  # the children set Django up first (seconds on a busy machine)
    children = []
    for number in range(processes):
        job = {
            "project": project.pk,
            "ids": ids,
            "offsets": [number * threads + thread for thread in range(threads)],
            "stride": processes * threads,
            "rate": rate,
            "started": started,
        }
        children.append(
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--publisher-child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env.process_env(),
                text=True,
            )
        )
        children[-1].stdin.write(json.dumps(job))
        children[-1].stdin.close()
    committed: dict[str, float] = {}
    for child in children:
        committed.update(json.loads(child.stdout.read()))
        child.wait()
    published_seconds = max(committed.values()) - started
    deadline = time.time() + timeout
    keys = list(committed)
    done = 0
    while time.time() < deadline:
        done = DomainEvent.objects.unscoped().filter(public_id__in=keys, completed_at__isnull=False).count()
        if done == len(keys):
            break
        time.sleep(0.2)
    queued = dict(
        Message.objects.for_project(project).filter(cause_key__in=keys).values_list("cause_key", "created_at")
    )
    latencies = sorted(queued[key].timestamp() - committed[key] for key in keys if key in queued)

    def percentile(share: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(share * len(latencies)))] * 1000, 1)

    return {
        "rate_asked": rate,
        "rate_achieved": round(len(keys) / published_seconds, 1),
        "publishers": f"{processes} processes x {threads} threads",
        "events": len(keys),
        "messages": len(latencies),
        "completed": done,
        "p50_ms": percentile(0.50),
        "p95_ms": percentile(0.95),
        "p99_ms": percentile(0.99),
        "max_ms": round(latencies[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1),
    }


def publisher_child() -> None:
    """`--publisher-child`: a job as JSON on stdin, {public id: commit time} as JSON on stdout."""
    import django

    django.setup()
    job = json.loads(sys.stdin.read())
    committed = publish_paced(
        job["project"], job["ids"], job["offsets"], job["stride"], job["rate"], job["started"]
    )
    sys.stdout.write(json.dumps(committed))


def raw_insert_members(project) -> dict:
    from django.db import connection, transaction

    from segments.services import segment_create

    with transaction.atomic():
        spare = segment_create(project=project, name="Spare", type="static")
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO segments_segmentmember (project_id, segment_id, customer_id, entered_at)"
                " SELECT project_id, %s, id, now() FROM customers_customer WHERE project_id = %s",
                [spare.pk, project.pk],
            )
            rows = cursor.rowcount
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--publisher-processes", type=int, default=2)
    parser.add_argument("--publisher-threads", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--database", default="dm_bench_event_dispatch")
    parser.add_argument("--label", default="")
    args = parser.parse_args()

    loadavg = Path("/proc/loadavg").read_text().split()[:3]
    busy = machine_busy_pct()
    with bench_database(args.database) as env:
        from bench.generate import load_customers

        project, _, _ = make_bench_project("dispatch")
        load_customers(project_id=project.pk, count=args.customers)
        set_up(project)
        result: dict = {
            "label": args.label,
            "loadavg_at_start": loadavg,
            "busy_pct_at_start": busy,
            "customers": args.customers,
        }
        result["raw_insert_members"] = raw_insert_members(project)
        log(f"raw: {result['raw_insert_members']}")

        result["in_process"] = in_process(
            project, insert_events(project, customer_ids(project, 0, args.events))
        )
        log(f"in-process: {result['in_process']}")

        logs = Path("var/bench/logs")
        with Processes() as processes:
            processes.start(
                "celery",
                celery_worker_args(concurrency=2, queues="events"),
                env.process_env(),
                logs / "dispatch-celery.log",
            )
            wait_for_worker(f"bench{os.getpid()}@")
            ids = insert_events(project, customer_ids(project, args.events, args.events))
            result["worker"] = through_worker(project, ids, args.timeout)
            log(f"worker -c 2: {result['worker']}")
            if not args.skip_latency:
                ids = customer_ids(project, 2 * args.events, int(args.rate * args.duration))
                result["sustained"] = sustained(
                    env,
                    project,
                    ids,
                    rate=args.rate,
                    duration=args.duration,
                    processes=args.publisher_processes,
                    threads=args.publisher_threads,
                    timeout=args.timeout,
                )
                log(f"sustained: {result['sustained']}")
        result["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
        write_result("event_dispatch", result)


if __name__ == "__main__":
    if sys.argv[1:] == ["--publisher-child"]:
        publisher_child()
    else:
        main()
