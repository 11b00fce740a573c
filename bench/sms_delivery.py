"""SMS and integration (Mailchimp, Braze) delivery rates, each beside a raw urllib3 loop of the same
HTTP method and body size to the same receiver in the same run.

    .venv/bin/python bench/sms_delivery.py [--messages 2000] [--rounds 5] [--database dm_bench_sms]
        [--profile] [--sql]

Target (issue 6): 70% or more of the raw loop on each channel. The receiver is the minimal asyncio
HTTP/1.1 server of bench/webhook_delivery.py (keep-alive, answers 200 at once) in a child process.
Both sides run in one Python process and one thread, the way one worker thread delivers:

- raw: `urllib3.PoolManager().request(method, …)` of a body the size of ours, in a loop;
- ours: `messaging.delivery.messages_deliver` over batches of 200 ids: claim, check suppression and
  address, render the text or fields, POST (PUT for Mailchimp) with auth and idempotency headers,
  and write the attempt and outcome rows.

Each channel runs `--rounds` rounds of fresh messages, each round the raw loop and then ours, back to
back, and quotes the median round's share: on a machine shared with other work a single pair is
mostly noise. Each round also reports CPU per message on both sides: this process's (the delivery
writer's thread included), which is what the share follows when every core is busy, the sending
thread's alone, the receiver's and every PostgreSQL process's (10 ms clock ticks). `--profile`
prints cProfile's view of delivery's CPU in the calling thread (`BENCH_SORT`, `BENCH_LINES`;
`BENCH_CLOCK=wall` for its wall time instead, which shows where it waits);
`--sql` counts and times the statements delivery runs on the caller's connection.

Small scale only (CI-sized runs); every message must end `sent` and arrive exactly once.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_upsert import cpu_by_pid
from bench.end_to_end import server_cpu_seconds
from bench.webhook_delivery import received_count, spare_port

CHANNELS = {
    # channel: (provider settings, template content, raw method, raw path, raw body size)
    "sms": (
        {"account_sid": "ACbench", "auth_token": "bench-token", "sender": "+15550001111"},
        {"body": "Hi {{customer.first_name | there}}, your code is {{voucher.code}}."},
        "POST",
        "/2010-04-01/Accounts/ACbench/Messages.json",
        90,
    ),
    "mailchimp": (
        {"api_key": "bench-us1", "list_id": "bench"},
        {"merge_fields": {"CODE": "{{voucher.code}}", "FNAME": "{{customer.first_name}}"}},
        "PUT",
        "/3.0/lists/bench/members/0123456789abcdef0123456789abcdef",
        120,
    ),
    "braze": (
        {"api_key": "bench-key"},
        {"attributes": {"voucher_code": "{{voucher.code}}"}},
        "POST",
        "/users/track",
        80,
    ),
}


def others_cpu_seconds(receiver_pid: int) -> tuple[float, float]:
    """CPU seconds so far of the receiver and of every PostgreSQL process (ours and any other)."""
    return sum(cpu_by_pid([receiver_pid]).values()), server_cpu_seconds("postgres")


def per_message(
    before: tuple[float, float], after: tuple[float, float], message_ids: list[int]
) -> tuple[float, float]:
    """µs of CPU per message, for each of `others_cpu_seconds`' figures."""
    return tuple(
        1e6 * (later - earlier) / len(message_ids) for earlier, later in zip(before, after, strict=True)
    )


def raw_loop(method: str, url: str, body: bytes, count: int) -> float:
    import urllib3

    pool = urllib3.PoolManager(retries=False)
    headers = {"Content-Type": "application/json", "Authorization": "Basic YmVuY2g6YmVuY2g="}
    began = time.perf_counter()
    for _ in range(count):
        response = pool.request(method, url, body=body, headers=headers, timeout=10.0)
        assert response.status == 200
    return time.perf_counter() - began


class StatementTimes:
    """Counts and times the SQL statements run inside it, grouped by their first words."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = collections.defaultdict(list)

    def _wrapper(self, execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times[" ".join(sql.split())[:100]].append(time.perf_counter() - began)

    def __enter__(self):
        from django.db import connection

        self._context = connection.execute_wrapper(self._wrapper)
        self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def print(self, messages: int) -> None:
        total = sum(len(times) for times in self.times.values())
        print(f"{total} statements for {messages} messages")
        for sql, times in sorted(self.times.items(), key=lambda item: -sum(item[1])):
            print(
                f"{len(times):6d} {sum(times) * 1000:8.1f} ms {sum(times) / len(times) * 1000:6.2f} ms  {sql}"
            )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", default="dm_bench_sms")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="raw then ours, this many times; medians")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--profile", action="store_true", help="print where delivery spends its time")
    parser.add_argument("--sql", action="store_true", help="print delivery's SQL statements: count and time")
    args = parser.parse_args(argv)

    from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    port = spare_port()
    receiver = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "webhook_delivery.py"), "--serve", str(port)]
    )
    try:
        with bench_database(args.database, keep=args.keep):
            from django.db import connection

            from bench.generate import load_customers
            from customers.models import Customer
            from messaging.delivery import messages_deliver
            from messaging.models import Message
            from messaging.providers import channel_provider_create
            from messaging.services import (
                DELIVERY_BATCH,
                MessageRow,
                message_stream_open,
                message_template_create,
                messages_enqueue,
            )
            from tenancy.models import Project

            project, _, _ = make_bench_project("bench-sms")
            Project.objects.filter(pk=project.pk).update(allow_private_webhook_targets=True)
            project.refresh_from_db()
            log(f"loading {args.messages:,} customers")
            load_customers(project_id=project.pk, count=args.messages)
            # Every customer needs the address each channel reads.
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE customers_customer SET phone = '+4915112345678',"
                    " email = COALESCE(email, 'bench' || id || '@example.com') WHERE project_id = %s",
                    [project.pk],
                )
            base_url = f"http://127.0.0.1:{port}"
            customer_ids = list(
                Customer.objects.for_project(project).order_by("pk").values_list("pk", flat=True)
            )
            stream = message_stream_open(project=project, owner="distribution:distr_bench")
            result: dict = {"messages_per_round": len(customer_ids), "rounds": args.rounds}
            for channel, (settings, content, method, raw_path, body_size) in CHANNELS.items():
                channel_provider_create(project=project, kind=channel, settings=settings, base_url=base_url)
                template = message_template_create(project=project, channel=channel, content=content)
                for _ in range(50):
                    raw_loop(method, base_url + raw_path, b"{}", 1)
                rounds = []
                beside: list[tuple[tuple[float, float], tuple[float, float]]] = []
                for round_number in range(args.rounds):
                    enqueued = messages_enqueue(
                        project=project,
                        stream=stream,
                        channel=channel,
                        template=template,
                        rows=[
                            MessageRow(
                                customer_id,
                                f"manual:distr_bench{round_number}",
                                {"voucher.code": f"BENCH-{customer_id:08d}"},
                            )
                            for customer_id in customer_ids
                        ],
                    )
                    message_ids = enqueued.queued_ids
                    with connection.cursor() as cursor:
                        cursor.execute("VACUUM ANALYZE messaging_message")
                    cpu_began, thread_began = time.process_time(), time.thread_time()
                    others_began = others_cpu_seconds(receiver.pid)
                    raw_seconds = raw_loop(method, base_url + raw_path, b"x" * body_size, len(message_ids))
                    raw_cpu = (time.process_time() - cpu_began) / len(message_ids)
                    raw_thread = (time.thread_time() - thread_began) / len(message_ids)
                    raw_others = per_message(others_began, others_cpu_seconds(receiver.pid), message_ids)
                    raw_rate = len(message_ids) / raw_seconds

                    before = received_count(port)
                    # This thread's CPU, not wall time: waits for the writer thread would otherwise
                    # show as the costliest calls, and the writer's own CPU as the caller's
                    # (`BENCH_CLOCK=wall` shows them: where the caller waits).
                    clock = time.perf_counter if os.environ.get("BENCH_CLOCK") == "wall" else time.thread_time
                    profiler = cProfile.Profile(clock) if args.profile else None
                    if profiler:
                        profiler.enable()
                    statements = StatementTimes() if args.sql else contextlib.nullcontext()
                    with statements:
                        cpu_began, thread_began = time.process_time(), time.thread_time()
                        others_began = others_cpu_seconds(receiver.pid)
                        began = time.perf_counter()
                        for start in range(0, len(message_ids), DELIVERY_BATCH):
                            messages_deliver(
                                project=project,
                                channel=channel,
                                message_ids=message_ids[start : start + DELIVERY_BATCH],
                            )
                        ours_seconds = time.perf_counter() - began
                        ours_cpu = (time.process_time() - cpu_began) / len(message_ids)
                        ours_thread = (time.thread_time() - thread_began) / len(message_ids)
                        ours_others = per_message(others_began, others_cpu_seconds(receiver.pid), message_ids)
                    if args.sql:
                        statements.print(len(message_ids))
                    if profiler:
                        profiler.disable()
                        stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime"))
                        stats.print_stats(int(os.environ.get("BENCH_LINES", "25")))
                    ours_rate = len(message_ids) / ours_seconds
                    sent = (
                        Message.objects.for_project(project).filter(pk__in=message_ids, state="sent").count()
                    )
                    arrived = received_count(port) - before
                    assert sent == arrived == len(message_ids), (channel, sent, arrived, len(message_ids))
                    share = ours_rate / raw_rate
                    log(
                        f"{channel} round {round_number + 1}: raw {method} loop {raw_rate:,.0f}/s,"
                        f" messages_deliver {ours_rate:,.0f}/s = {share:.0%} of raw;"
                        f" CPU per message here: raw {raw_cpu * 1e6:.0f} µs, ours {ours_cpu * 1e6:.0f} µs"
                        f" (the sending thread's: {raw_thread * 1e6:.0f} / {ours_thread * 1e6:.0f} µs);"
                        f" receiver {raw_others[0]:.0f} / {ours_others[0]:.0f} µs,"
                        f" PostgreSQL {raw_others[1]:.0f} / {ours_others[1]:.0f} µs"
                    )
                    beside.append((raw_others, ours_others))
                    rounds.append((share, raw_rate, ours_rate, raw_cpu, ours_cpu, raw_thread, ours_thread))
                rounds.sort()
                median = rounds[len(rounds) // 2]
                share, raw_rate, ours_rate, raw_cpu, ours_cpu, raw_thread, ours_thread = median
                log(
                    f"{channel}: median of {len(rounds)} rounds: {share:.0%} of raw"
                    f" (raw {raw_rate:,.0f}/s, ours {ours_rate:,.0f}/s; target: 70% or more)"
                )
                result[channel] = {
                    "raw_urllib3_per_second": round(raw_rate),
                    "delivery_per_second": round(ours_rate),
                    "share_of_raw": round(share, 3),
                    "shares_of_raw_per_round": [round(r[0], 3) for r in rounds],
                    # CPU of this process (client side, plus delivery's writer thread) per message.
                    "raw_cpu_us_per_message": round(raw_cpu * 1e6),
                    "delivery_cpu_us_per_message": round(ours_cpu * 1e6),
                    # The sending thread's own CPU (the writer thread's left out).
                    "raw_thread_cpu_us_per_message": round(raw_thread * 1e6),
                    "delivery_thread_cpu_us_per_message": round(ours_thread * 1e6),
                    # The receiver's and PostgreSQL's CPU per message, raw / ours, each round (in
                    # the order run; clock ticks of 10 ms, so a round's figure is ± 10 ms ÷ messages).
                    "receiver_and_postgresql_cpu_us_per_message": [
                        [[round(value) for value in side] for side in pair] for pair in beside
                    ],
                }
            write_result("sms_delivery", result)
            return result
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


if __name__ == "__main__":
    main()
