"""A manual distribution to 1,000,000 customers on email and webhook, end to end: from the moment it
is due to its last delivery, through a real Celery worker and beat (issue 6).

    .venv/bin/python bench/end_to_end.py [--customers 1000000] [--concurrency 2]
        [--raw-messages 10000] [--database dm_bench_e2e] [--wait-quiet SECONDS] [--keep]

Target: the send completes within 1.2 × (customers ÷ the raw email rate of the same run).

The run creates and migrates its own database, COPYs the customers in, syncs a segment holding them
all, generates a code for each (the worker's generator) and saves a manual distribution that
publishes a code to every member by email (the "flier" starting point, 9–10 KB a message) and by
webhook (signed both ways). Email goes to Postfix's `smtp-sink`, webhooks to the minimal asyncio
receiver of bench/webhook_delivery.py, each in a child process. The app runs as it does in
production: `celery worker` (prefork, `--concurrency` processes, every queue) and `celery beat`.

Timed from the distribution's `send_at` (set to now, and the beat sweep's claim task sent at that
moment instead of waiting up to 15 s for its tick) to the latest `sent_at` of its messages, once
every message has reached a final state. In between the worker claims the distribution, publishes
1,000,000 codes, materialises 2,000,000 messages, dispatches 1,000,000 publication events and
delivers every message.

Raw, same run: Django's `send_messages` of one of our messages, prebuilt, over one SMTP connection
per 200 messages into the same sink (`--raw-messages` of them; bench/email_delivery.py's loop),
measured before the send and again after it; their mean is the raw email rate.

Checked at the end: every message sent, the receiver counted at least one request per webhook
message (a resend repeats its key, so more is allowed and reported), one code per customer, no code
twice.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_upsert import CLK_TCK, cpu_by_pid, machine_busy_seconds, process_tree
from bench.common import (
    VENV_BIN,
    Processes,
    bench_database,
    celery_worker_args,
    log,
    make_bench_project,
    wait_for_quiet,
    wait_for_worker,
    write_result,
)
from bench.email_delivery import prebuilt_message, raw_loop, start_sink
from bench.manual_send import audience_with_codes
from bench.webhook_delivery import received_count, spare_port

EVERY_QUEUE = (
    "events,segments,distributions,delivery.email,delivery.sms,delivery.webhook,delivery.integrations,bulk"
)
FINAL_STATES = ("sent", "failed", "skipped", "blocked_limit")


@contextlib.contextmanager
def autovacuum_on():
    """PostgreSQL's autovacuum, on for the run. This machine's server runs with it off (its CI
    configuration); a deployment runs with PostgreSQL's default, on, and a send of this size rewrites
    millions of queue rows that only vacuum clears from the partial indexes. Turned on through
    ALTER SYSTEM when it is off, and put back afterwards."""
    from bench.common import _server_connection

    with contextlib.closing(_server_connection()) as server, server.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        was_on = cursor.fetchone()[0] == "on"
        if not was_on:
            log("autovacuum is off on this server: on for the run")
            cursor.execute("ALTER SYSTEM SET autovacuum = on")
            cursor.execute("SELECT pg_reload_conf()")
        try:
            yield was_on
        finally:
            if not was_on:
                cursor.execute("ALTER SYSTEM RESET autovacuum")
                cursor.execute("SELECT pg_reload_conf()")
                log("autovacuum back off")


def raw_email_rate(project, template, customer, count: int) -> tuple[float, float]:
    """(messages per second, CPU ms per message) of the raw `send_messages` loop into the sink the
    settings point at."""
    message = prebuilt_message(project, template, customer)
    raw_loop(message, 50)  # warm up
    cpu_began = time.process_time()
    rate = count / raw_loop(message, count)
    return rate, 1000 * (time.process_time() - cpu_began) / count


def server_cpu_seconds(command: str) -> float:
    """CPU seconds of every process named `command` (e.g. postgres), with the children they reaped
    (a PostgreSQL backend that ended is added to the postmaster's)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, _, rest = (entry / "stat").read_text().rpartition(")")
        except OSError:
            continue
        if head.split("(", 1)[1] != command:
            continue
        fields = rest.split()
        total += sum(int(value) for value in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    return total


def progress(project_id: int) -> tuple[int, int]:
    """(messages in a final state, messages) of the project."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE state = ANY(%s)), count(*) FROM messaging_message"
            " WHERE project_id = %s",
            [list(FINAL_STATES), project_id],
        )
        return cursor.fetchone()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--raw-messages", type=int, default=10_000)
    parser.add_argument("--database", default="dm_bench_e2e")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="give up after this many seconds")
    args = parser.parse_args(argv)
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)

    smtp_port, receiver_port = spare_port(), spare_port()
    sink, sink_kind = start_sink(smtp_port)
    receiver = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "webhook_delivery.py"), "--serve", str(receiver_port)]
    )
    smtp = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port), "EMAIL_USE_TLS": "0"}
    results: dict = {"customers": args.customers, "worker_concurrency": args.concurrency, "sink": sink_kind}
    try:
        with (
            autovacuum_on() as autovacuum_was_on,
            bench_database(args.database, keep=args.keep) as env,
            Processes() as processes,
        ):
            results["autovacuum_on_before"] = autovacuum_was_on
            from django.db import connection
            from django.db.models import Max
            from django.test import override_settings
            from django.utils import timezone

            from bench.generate import load_customers
            from config.celery import app
            from customers.models import Customer
            from distributions import services
            from distributions.models import Distribution
            from messaging.email.starters import starter
            from messaging.models import Message, MessageTemplate
            from tenancy.models import Project
            from webhooks_out.services import webhook_endpoint_create

            project, _, _ = make_bench_project("bench-e2e")
            Project.objects.filter(pk=project.pk).update(
                allow_private_webhook_targets=True,
                email_from_name="Bench Shop",
                email_from_address="offers@bench.example",
            )
            project.refresh_from_db()
            log(f"loading {args.customers:,} customers")
            load_customers(project_id=project.pk, count=args.customers)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE customers_customer")
            segment, campaign = audience_with_codes(project, args.customers, results)

            endpoint = webhook_endpoint_create(
                project=project, url=f"http://127.0.0.1:{receiver_port}/hooks", name="Bench receiver"
            )
            distribution = services.distribution_create(
                project=project,
                fields={
                    "name": "Everyone gets a code",
                    "trigger": {"key": "manual"},
                    "audience": {"type": "segment", "segment": segment.public_id},
                    "action": {"key": "publish_codes", "params": {"campaign": campaign.public_id}},
                    "channels": [
                        {"kind": "email", "template": starter("flier")},
                        {
                            "kind": "webhook",
                            "settings": {"endpoint": endpoint.public_id},
                            "template": {
                                "event_name": "bench.code",
                                "payload": {"customer": "{{customer.email}}", "code": "{{voucher.code}}"},
                            },
                        },
                    ],
                },
            )
            distribution = services.distribution_send(project=project, distribution=distribution)
            email_template = MessageTemplate.objects.get(
                pk=distribution.channels.get(kind="email").message_template_id
            )
            sample = Customer.objects.for_project(project).exclude(email="").order_by("pk").first()

            with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp_port, EMAIL_USE_TLS=False):
                raw_before, raw_cpu_ms = raw_email_rate(project, email_template, sample, args.raw_messages)
            log(
                f"raw send_messages into {sink_kind}: {raw_before:,.0f}/s,"
                f" {raw_cpu_ms:.2f} ms CPU each (before)"
            )

            logs = Path(tempfile.mkdtemp(prefix="dm_bench_e2e_"))
            worker_env = {**env.process_env(), **smtp}
            worker = processes.start(
                "worker",
                [*celery_worker_args(concurrency=args.concurrency, queues=EVERY_QUEUE), "-P", "prefork"],
                worker_env,
                logs / "worker.log",
            )
            processes.start(
                "beat",
                [str(VENV_BIN / "celery"), "-A", "config", "beat", "-l", "WARNING", "-s", str(logs / "beat")],
                worker_env,
                logs / "beat.log",
            )
            wait_for_worker("bench")
            log(f"worker (prefork, {args.concurrency} processes) and beat up; logs in {logs}")

            with connection.cursor() as cursor:
                cursor.execute("CHECKPOINT")
            load_before = Path("/proc/loadavg").read_text().split()[:3]
            due = timezone.now()
            Distribution.objects.for_project(project).filter(pk=distribution.pk).update(send_at=due)
            busy_before, _ = machine_busy_seconds()
            servers_before = {name: server_cpu_seconds(name) for name in ("postgres", "redis-server")}
            children_before = cpu_by_pid([receiver.pid, sink.pid])
            began = time.monotonic()
            app.send_task("distributions.tasks.claim_due_distributions")
            expected = 2 * args.customers
            done = total = 0
            while done < expected:
                if time.monotonic() - began > args.timeout:
                    raise SystemExit(f"gave up after {args.timeout:.0f} s: {done:,} of {expected:,} final")
                time.sleep(5)
                done, total = progress(project.pk)
                log(f"{time.monotonic() - began:7.0f} s: {total:,} messages, {done:,} final")
            load_after = Path("/proc/loadavg").read_text().split()[:3]
            # CPU seconds: the worker's processes (prefork children live for the whole run), the
            # receivers, and the whole machine (PostgreSQL, Redis, beat and anything else running).
            cpu = {
                "worker": round(sum(cpu_by_pid(process_tree(worker.pid)).values()), 1),
                "receivers": round(
                    sum(cpu_by_pid([receiver.pid, sink.pid]).values()) - sum(children_before.values()), 1
                ),
                **{
                    name: round(server_cpu_seconds(name) - before, 1)
                    for name, before in servers_before.items()
                },
                "machine": round(machine_busy_seconds()[0] - busy_before, 1),
            }
            # The latest success: a message not sent has no `sent_at` (and the checks below fail).
            last_delivery = Message.objects.for_project(project).aggregate(last=Max("sent_at"))["last"]
            seconds = (last_delivery - due).total_seconds()
            processes.stop_all()

            with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp_port, EMAIL_USE_TLS=False):
                raw_after, raw_cpu_after_ms = raw_email_rate(
                    project, email_template, sample, args.raw_messages
                )
            raw_rate = (raw_before + raw_after) / 2
            budget = 1.2 * args.customers / raw_rate
            log(
                f"raw send_messages into {sink_kind}: {raw_after:,.0f}/s, {raw_cpu_after_ms:.2f} ms CPU each"
                f" (after); mean {raw_rate:,.0f}/s"
            )

            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT channel, state, count(*) FROM messaging_message"
                    " WHERE project_id = %s GROUP BY 1, 2",
                    [project.pk],
                )
                states = {f"{channel}.{state}": count for channel, state, count in cursor.fetchall()}
                cursor.execute(
                    "SELECT channel, state, last_error, count(*) FROM messaging_message"
                    " WHERE project_id = %s AND state <> 'sent' GROUP BY 1, 2, 3",
                    [project.pk],
                )
                not_sent = cursor.fetchall()
                cursor.execute(
                    "SELECT count(*), count(DISTINCT customer_id), count(DISTINCT voucher_id)"
                    " FROM campaigns_publication WHERE project_id = %s AND distribution_id = %s",
                    [project.pk, distribution.pk],
                )
                publications, holders, codes = cursor.fetchone()
            webhook_requests = received_count(receiver_port)
            log(f"messages by channel and state: {states}")
            for channel, state, reason, count in not_sent:
                log(f"  not sent: {count:,} {channel} messages {state}: {reason!r}")
            log(
                f"publications {publications:,}, holders {holders:,}, codes {codes:,};"
                f" webhook requests {webhook_requests:,}"
            )
            assert states == {"email.sent": args.customers, "webhook.sent": args.customers}, states
            assert publications == holders == codes == args.customers
            assert webhook_requests >= args.customers

            met = seconds <= budget
            log(
                f"due → last delivery: {seconds:,.0f} s for {args.customers:,} customers on email + webhook"
                f" ({args.customers / seconds:,.0f} customers/s);"
                f" budget 1.2 × {args.customers:,} ÷ {raw_rate:,.0f}/s"
                f" = {budget:,.0f} s: {'met' if met else 'NOT met'} ({seconds / budget:.0%} of the budget);"
                f" load {load_before} → {load_after}; CPU seconds {cpu}"
            )
            results.update(
                {
                    "due_to_last_delivery_s": round(seconds, 1),
                    "customers_per_s": round(args.customers / seconds),
                    "raw_email_per_s_before": round(raw_before),
                    "raw_email_per_s_after": round(raw_after),
                    "raw_email_per_s": round(raw_rate),
                    "raw_email_cpu_ms_before_after": [round(raw_cpu_ms, 3), round(raw_cpu_after_ms, 3)],
                    "budget_s": round(budget, 1),
                    "met": met,
                    "states": states,
                    "webhook_requests": webhook_requests,
                    "webhook_duplicates": webhook_requests - args.customers,
                    "publications": publications,
                    "loadavg_before": load_before,
                    "loadavg_after": load_after,
                    "cpu_s": cpu,
                    "cpu_ms_per_customer": {
                        name: round(1000 * value / args.customers, 2) for name, value in cpu.items()
                    },
                }
            )
            write_result("end_to_end", results)
            return results
    finally:
        for child in (receiver, sink):
            child.terminate()
            child.wait(timeout=10)


if __name__ == "__main__":
    main()
