"""Webhook delivery rate, beside a raw urllib3 POST loop to the same receiver in the same run.

    .venv/bin/python bench/webhook_delivery.py [--messages 5000] [--database dm_bench_webhooks]

Target (issue 5): 1,000 messages/s or better, and 40% or more of the raw loop. The receiver is a
minimal asyncio HTTP/1.1 server in a child process (keep-alive, answers 200 at once), standing in for
nginx, which this machine does not have. Both sides run in one Python process and one thread, the
way one worker thread delivers:

- raw: `urllib3.PoolManager().request("POST", …)` of a body the size of ours, in a loop;
- ours: `messaging.delivery.messages_deliver` over batches of 200 ids (what each delivery task
  runs): claim, render the payload design, build the envelope, sign it both ways, POST, and write
  the attempt and outcome rows.

It then checks that every message is `sent` and that the receiver counted each request once.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import socket
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RESPONSE = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


# --- The receiver (child process) ------------------------------------------------------------


class _Receiver(asyncio.Protocol):
    count = 0

    def connection_made(self, transport) -> None:
        self.transport, self.buffer = transport, b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                length = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            if head.startswith(b"get /count"):
                body = str(_Receiver.count).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            else:
                _Receiver.count += 1
                self.transport.write(RESPONSE)


def serve(port: int) -> None:
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(_Receiver, "127.0.0.1", port, backlog=512))
    try:
        loop.run_forever()
    finally:
        server.close()


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def received_count(port: int) -> int:
    import urllib3

    return int(urllib3.request("GET", f"http://127.0.0.1:{port}/count").data)


# --- The benchmark ---------------------------------------------------------------------------


def raw_loop(url: str, body: bytes, count: int) -> float:
    import urllib3

    pool = urllib3.PoolManager(retries=False)
    headers = {"Content-Type": "application/json"}
    began = time.perf_counter()
    for _ in range(count):
        response = pool.request("POST", url, body=body, headers=headers, timeout=10.0)
        assert response.status == 200
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database", default="dm_bench_webhooks")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--profile", action="store_true", help="print where delivery spends its time")
    args = parser.parse_args(argv)

    from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    port = spare_port()
    receiver = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        with bench_database(args.database, keep=args.keep):
            from django.db import connection

            from bench.generate import load_customers
            from customers.models import Customer
            from messaging.delivery import messages_deliver
            from messaging.models import Message
            from messaging.services import (
                DELIVERY_BATCH,
                MessageRow,
                message_stream_open,
                message_template_create,
                messages_enqueue,
            )
            from tenancy.models import Project
            from webhooks_out.services import webhook_endpoint_create

            project, _, _ = make_bench_project("bench-webhooks")
            Project.objects.filter(pk=project.pk).update(allow_private_webhook_targets=True)
            project.refresh_from_db()
            log(f"loading {args.messages:,} customers")
            load_customers(project_id=project.pk, count=args.messages)
            url = f"http://127.0.0.1:{port}/hooks"
            endpoint = webhook_endpoint_create(project=project, url=url, name="bench")
            template = message_template_create(
                project=project,
                channel="webhook",
                content={
                    "endpoint": endpoint.public_id,
                    "event_name": "bench.code",
                    "payload": {
                        "customer": {"id": "{{customer.id}}", "name": "{{customer.name | friend}}"},
                        "code": "{{voucher.code}}",
                    },
                },
            )
            stream = message_stream_open(project=project, owner="distribution:distr_bench")
            customer_ids = list(
                Customer.objects.for_project(project).order_by("pk").values_list("pk", flat=True)
            )
            began = time.perf_counter()
            enqueued = messages_enqueue(
                project=project,
                stream=stream,
                channel="webhook",
                template=template,
                rows=[
                    MessageRow(
                        customer_id, "manual:distr_bench", {"voucher.code": f"BENCH-{customer_id:08d}"}
                    )
                    for customer_id in customer_ids
                ],
            )
            enqueue_seconds = time.perf_counter() - began
            message_ids = enqueued.queued_ids
            log(f"{len(message_ids):,} messages enqueued in {enqueue_seconds:.2f} s")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE messaging_message")

            for _ in range(50):  # both sides start with a warm connection pool
                raw_loop(url, b"{}", 1)
            body_size = 520  # about the size of one of our envelopes
            raw_seconds = raw_loop(url, b"x" * body_size, len(message_ids))
            raw_rate = len(message_ids) / raw_seconds
            log(f"raw urllib3 loop: {len(message_ids):,} POSTs in {raw_seconds:.2f} s = {raw_rate:,.0f}/s")

            before = received_count(port)
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            began = time.perf_counter()
            for start in range(0, len(message_ids), DELIVERY_BATCH):
                messages_deliver(
                    project=project,
                    channel="webhook",
                    message_ids=message_ids[start : start + DELIVERY_BATCH],
                )
            ours_seconds = time.perf_counter() - began
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            ours_rate = len(message_ids) / ours_seconds
            log(
                f"messages_deliver: {len(message_ids):,} messages in {ours_seconds:.2f} s"
                f" = {ours_rate:,.0f}/s"
            )

            sent = Message.objects.for_project(project).filter(state="sent").count()
            arrived = received_count(port) - before
            assert sent == arrived == len(message_ids), (sent, arrived, len(message_ids))
            share = ours_rate / raw_rate
            log(f"ours / raw = {share:.0%} (target: 40% or more, and 1,000/s or more)")
            result = {
                "messages": len(message_ids),
                "enqueue_seconds": round(enqueue_seconds, 2),
                "raw_urllib3_per_second": round(raw_rate),
                "delivery_per_second": round(ours_rate),
                "share_of_raw": round(share, 3),
            }
            write_result("webhook_delivery", result)
            return result
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
