"""Email delivery rate into an SMTP sink, beside a raw Django `send_messages` loop into the same sink.

    .venv/bin/python bench/email_delivery.py [--messages 2000] [--database dm_bench_email]

Target (issue 6): 70% or more of the raw loop, with the same number of SMTP connections. The sink is
Postfix's `smtp-sink` (Debian package postfix) when it is installed, otherwise aiosmtpd in a child
process (which saturates first, so the share it shows is flattering; the result says which ran).
Both sides run in one Python process and one thread, the way one worker thread delivers:

- raw (alternating with ours batch by batch): one Django SMTP connection per 200 messages,
  `send_messages([message])` of a prebuilt multipart message the size of ours, in a loop;
- ours: `messaging.delivery.messages_deliver` over batches of 200 ids (what each delivery task runs,
  one SMTP session each): claim, fill the precompiled HTML and text per customer (the MJML compile
  happened once, at save: the benchmark asserts the compile counter did not move), build the
  headers (Message-ID, List-Unsubscribe with a signed link), send, write the attempt and outcome.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BATCH = 200


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_sink(port: int) -> tuple[subprocess.Popen, str]:
    smtp_sink = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if smtp_sink:
        # -u: smtp-sink refuses to keep root privileges; 512: the listen backlog.
        process = subprocess.Popen([smtp_sink, "-u", "nobody", f"127.0.0.1:{port}", "512"])
        kind = "postfix smtp-sink"
    else:
        process = subprocess.Popen([sys.executable, __file__, "--aiosmtpd", str(port)])
        kind = "aiosmtpd (smtp-sink not installed)"
    wait_listening(port)
    return process, kind


def serve_aiosmtpd(port: int) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def raw_loop(message, count: int) -> float:
    from django.core.mail import get_connection

    began = time.perf_counter()
    for start in range(0, count, BATCH):
        connection = get_connection(fail_silently=False)
        connection.open()
        for _ in range(min(BATCH, count - start)):
            assert connection.send_messages([message]) == 1
        connection.close()
    return time.perf_counter() - began


def prebuilt_message(project, template, customer):
    """The raw loop's message: ours for `customer`, rendered from the compiled template and built
    with our headers once, so that sending it again costs only the MIME serialisation and SMTP."""
    from messaging.channels.email import build_message, message_id_header, sender_of
    from messaging.email import compiler
    from messaging.links import unsubscribe_url
    from messaging.rendering import RenderContext

    rendered = compiler.compiled_email(template).render(
        RenderContext(customer=customer, variables={"voucher.code": "BENCH-1"}, project=project)
    )
    from_header, reply_to = sender_of(project)
    return build_message(
        rendered,
        to=customer.email,
        from_header=from_header,
        reply_to=reply_to,
        message_id=message_id_header("msg_raw", from_header),
        unsubscribe=unsubscribe_url(project, customer, "email"),
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--database", default="dm_bench_email")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    parser.add_argument("--profile", action="store_true", help="print where delivery spends its time")
    args = parser.parse_args(argv)

    from bench.common import bench_database, log, make_bench_project, wait_for_quiet, write_result

    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    port = spare_port()
    sink, sink_kind = start_sink(port)
    log(f"sink: {sink_kind} on port {port}")
    try:
        with bench_database(args.database, keep=args.keep):
            from django.db import connection
            from django.test import override_settings

            from bench.generate import load_customers
            from customers.models import Customer
            from messaging.channels import get_channel
            from messaging.delivery import messages_deliver
            from messaging.email import compiler
            from messaging.email.starters import starter
            from messaging.models import Message
            from messaging.services import (
                MessageRow,
                message_stream_open,
                message_template_create,
                messages_enqueue,
            )
            from tenancy.models import Project

            project, _, _ = make_bench_project("bench-email")
            Project.objects.filter(pk=project.pk).update(
                email_from_name="Bench Shop", email_from_address="offers@bench.example"
            )
            project.refresh_from_db()
            log(f"loading {args.messages:,} customers")
            load_customers(project_id=project.pk, count=args.messages)
            template = message_template_create(project=project, channel="email", content=starter("flier"))
            stream = message_stream_open(project=project, owner="distribution:distr_bench_email")
            customer_ids = list(
                Customer.objects.for_project(project).order_by("pk").values_list("pk", flat=True)
            )
            enqueued = messages_enqueue(
                project=project,
                stream=stream,
                channel="email",
                template=template,
                rows=[
                    MessageRow(customer_id, "manual:bench", {"voucher.code": f"BENCH-{customer_id:08d}"})
                    for customer_id in customer_ids
                ],
            )
            message_ids = enqueued.queued_ids
            log(f"{len(message_ids):,} messages enqueued")
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE messaging_message")

            smtp = {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": port,
                "EMAIL_USE_TLS": False,
                "EMAIL_HOST_USER": "",
                "EMAIL_HOST_PASSWORD": "",
            }
            with override_settings(**smtp):
                # The raw side sends one of our rendered messages, prebuilt: same size, no work per message.
                sample = Customer.objects.for_project(project).get(pk=customer_ids[0])
                prebuilt = prebuilt_message(project, template, sample)
                log(f"one message is {len(prebuilt.message().as_bytes()):,} bytes")
                raw_loop(prebuilt, 50)  # warm up
                # The two sides alternate batch by batch, so that load from elsewhere on the machine
                # falls on both alike.
                compiles_before = compiler.mjml_compile_count
                # Time inside the channel's send (building the MIME message and the SMTP exchange),
                # to split our figure into "the same work as raw" and "the delivery loop's own".
                channel = get_channel("email")
                send_seconds = [0.0]
                unwrapped_send = channel.send

                def timed_send(rendered, batch):
                    began = time.perf_counter()
                    try:
                        return unwrapped_send(rendered, batch)
                    finally:
                        send_seconds[0] += time.perf_counter() - began

                channel.send = timed_send
                profiler = cProfile.Profile() if args.profile else None
                raw_seconds = ours_seconds = 0.0
                for start in range(0, len(message_ids), BATCH):
                    batch = message_ids[start : start + BATCH]
                    raw_seconds += raw_loop(prebuilt, len(batch))
                    if profiler:
                        profiler.enable()
                    began = time.perf_counter()
                    messages_deliver(project=project, channel="email", message_ids=batch)
                    ours_seconds += time.perf_counter() - began
                    if profiler:
                        profiler.disable()
                del channel.send
                assert compiler.mjml_compile_count == compiles_before, "MJML compiled during delivery"
                if profiler:
                    stats = pstats.Stats(profiler).sort_stats("tottime")
                    stats.print_stats(25)
                    stats.sort_stats("cumulative").print_stats("messaging|mail|signing", 25)
            raw_rate = len(message_ids) / raw_seconds
            log(f"raw send_messages loop: {len(message_ids):,} in {raw_seconds:.2f} s = {raw_rate:,.0f}/s")
            ours_rate = len(message_ids) / ours_seconds
            log(f"messages_deliver: {len(message_ids):,} in {ours_seconds:.2f} s = {ours_rate:,.0f}/s")
            sent = Message.objects.for_project(project).filter(state="sent").count()
            assert sent == len(message_ids), (sent, len(message_ids))
            per_message_ms = {
                "raw": 1000 * raw_seconds / len(message_ids),
                "ours_send": 1000 * send_seconds[0] / len(message_ids),
                "ours_rest": 1000 * (ours_seconds - send_seconds[0]) / len(message_ids),
            }
            log(
                "per message: raw {raw:.2f} ms; ours {ours_send:.2f} ms in send (MIME + SMTP) +"
                " {ours_rest:.2f} ms claim, render, outcome".format(**per_message_ms)
            )
            share = ours_rate / raw_rate
            log(f"ours / raw = {share:.0%} (target: 70% or more)")
            result = {
                "sink": sink_kind,
                "messages": len(message_ids),
                "smtp_connections_each_side": -(-len(message_ids) // BATCH),
                "raw_send_messages_per_second": round(raw_rate),
                "delivery_per_second": round(ours_rate),
                "share_of_raw": round(share, 3),
                "per_message_ms": {k: round(v, 3) for k, v in per_message_ms.items()},
            }
            write_result("email_delivery", result)
            return result
    finally:
        sink.terminate()
        sink.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--aiosmtpd":
        serve_aiosmtpd(int(sys.argv[2]))
    else:
        main()
