"""Benchmark `POST /v1/redemptions` under gunicorn, load from a client in a second process.

    .venv/bin/python bench/redemptions.py                         # the documented configuration
    .venv/bin/python bench/redemptions.py --codes 2000 --duration 5 --connections 4   # a quick check

Creates database dm_bench_redemptions, loads --customers customers with bench/generate.py's COPY and
a discount campaign of --codes one-use codes, then for each --server configuration starts gunicorn
(DEBUG=0), warms it up and, for each --connections value, runs a load client (a separate process:
threads on keep-alive connections, urllib3) for --duration seconds. Every request redeems a code
not used before (10% off an order of 100.00) for an existing customer, with an order: the customer
lookup, the order upsert and its event, the code's conditional UPDATE, the redemption row and
`customer.redemption.succeeded` are all on the path. A --gift-share of requests redeem credits from
gift cards instead. Reports requests/s, p50/p90/p99 latency, status codes and the CPU seconds spent by
gunicorn and PostgreSQL. Drops the database at the end. Target: >= 150 req/s.
With --orders every request creates a new PAID order instead (`POST /v1/orders`; target >= 300 req/s,
p99 < 100 ms), with the same customers, server and client.

wrk (used by bench/api_upsert.py) is not needed: the client is this file, run with `--client`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_upsert import cpu_by_pid, cpu_spent, parse_server, postgres_backend_pids, process_tree
from bench.common import (
    ROOT,
    VENV_BIN,
    Processes,
    bench_database,
    celery_worker_args,
    gunicorn_args,
    log,
    make_bench_project,
    wait_http,
    write_result,
)

GIFT_CARD_BALANCE = 1_000_000  # cents: enough for every gift request of a run


def run_client(args: argparse.Namespace) -> None:
    """The load client (`--client`): reads its codes from a file, prints one JSON line of results."""
    import urllib3

    codes = Path(args.codes_file).read_text().split()
    cards = Path(args.cards_file).read_text().split() if args.cards_file else []
    lock = threading.Lock()
    next_code = iter(codes)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    pool = urllib3.PoolManager(maxsize=args.connections)
    headers = {"Content-Type": "application/json", "X-App-Id": args.app_id, "X-App-Token": args.token}
    url = f"http://127.0.0.1:{args.port}/v1/{'orders' if args.orders else 'redemptions'}"
    deadline = time.monotonic() + args.duration

    def worker(number: int) -> None:
        counter = 0
        while time.monotonic() < deadline:
            counter += 1
            customer = f"bench-cust-{(number * 7919 + counter) % args.customers + 1}"
            order = {"amount": 10000, "status": "PAID", "metadata": {"bench": True}}
            if args.orders:
                body = {"source_id": f"bench-ord-{os.getpid()}-{number}-{counter}", **order}
                body["customer"] = {"source_id": customer}
                send(body)
                continue
            if cards and counter % 100 < args.gift_share * 100:
                redeemable = {"object": "voucher", "id": cards[counter % len(cards)], "gift": {"credits": 1}}
            else:
                with lock:
                    code = next(next_code, None)
                if code is None:
                    return
                redeemable = {"object": "voucher", "id": code}
            send({"redeemables": [redeemable], "customer": {"source_id": customer}, "order": order})

    def send(body: dict) -> None:
        started = time.perf_counter()
        response = pool.request("POST", url, body=json.dumps(body).encode(), headers=headers, retries=False)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            statuses[response.status] = statuses.get(response.status, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()

    def percentile(share: float) -> float:
        return round(latencies[min(int(len(latencies) * share), len(latencies) - 1)], 2) if latencies else 0.0

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "wall_s": round(wall, 2),
                "requests_per_s": round(len(latencies) / wall, 1),
                "latency_p50_ms": percentile(0.50),
                "latency_p90_ms": percentile(0.90),
                "latency_p99_ms": percentile(0.99),
                "latency_max_ms": round(latencies[-1], 2) if latencies else 0.0,
                "statuses": statuses,
            }
        )
    )


def seed(project, *, codes: int, cards: int) -> tuple[list[str], list[str]]:
    """A one-use discount campaign of `codes` codes and a gift card campaign of `cards` cards."""
    from campaigns import codes as code_generation
    from campaigns.models import Voucher
    from campaigns.services import campaign_create

    discount = campaign_create(
        project=project,
        fields={
            "name": "Bench 10% off",
            "campaign_type": "DISCOUNT_COUPONS",
            "type": "STATIC",
            "voucher": {
                "type": "DISCOUNT_VOUCHER",
                "discount": {"type": "PERCENT", "percent_off": 10},
                "redemption": {"quantity": 1},
                "code_config": {"pattern": "BENCH-########"},
            },
        },
    )
    code_generation.generate_codes(campaign=discount, count=codes)
    gift = campaign_create(
        project=project,
        fields={
            "name": "Bench gift cards",
            "campaign_type": "GIFT_VOUCHERS",
            "type": "STATIC",
            "voucher": {
                "type": "GIFT_VOUCHER",
                "gift": {"amount": GIFT_CARD_BALANCE},
                "code_config": {"pattern": "BGIFT-########"},
            },
        },
    )
    if cards:
        code_generation.generate_codes(campaign=gift, count=cards)
    vouchers = Voucher.objects.for_project(project)
    return (
        list(vouchers.filter(campaign=discount).values_list("code", flat=True)),
        list(vouchers.filter(campaign=gift).values_list("code", flat=True)),
    )


def measure(
    *, env, server: dict, args: argparse.Namespace, app_id: str, token: str, codes, cards
) -> list[dict]:
    results = []
    work = ROOT / "var" / "bench" / "redemptions"
    work.mkdir(parents=True, exist_ok=True)
    cards_file = work / "cards.txt"
    cards_file.write_text("\n".join(cards))
    remaining = list(codes)
    with Processes() as processes:
        if args.celery_worker:
            processes.start(
                "celery", celery_worker_args(concurrency=1), env.process_env(), work / "celery.log"
            )
        gunicorn = processes.start(
            "gunicorn",
            gunicorn_args(
                port=args.port,
                workers=server["workers"],
                threads=server["threads"],
                worker_class=server["worker_class"],
            ),
            env.process_env(),
            work / "gunicorn.log",
        )
        wait_http(f"http://127.0.0.1:{args.port}/healthz")
        for label, connections, duration in [
            ("warm-up", max(args.connections), args.warmup),
            *((f"c={c}", c, args.duration) for c in args.connections),
        ]:
            codes_file = work / "codes.txt"
            codes_file.write_text("\n".join(remaining))
            web_before = cpu_by_pid(process_tree(gunicorn.pid))
            db_before = cpu_by_pid(postgres_backend_pids(env.database))
            output = subprocess.run(
                [
                    str(VENV_BIN / "python"),
                    str(Path(__file__).resolve()),
                    "--client",
                    f"--port={args.port}",
                    f"--app-id={app_id}",
                    f"--token={token}",
                    f"--codes-file={codes_file}",
                    f"--cards-file={cards_file}",
                    f"--customers={args.customers}",
                    f"--gift-share={args.gift_share}",
                    f"--duration={duration}",
                    f"--connections={connections}",
                    *(["--orders"] if args.orders else []),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result = json.loads(output.strip().splitlines()[-1])
            used = result["requests"]
            remaining = remaining[used:]  # at most `used` codes were taken, in file order
            if label == "warm-up":
                log(f"{server['label']}: warm-up {result['requests']} requests")
                continue
            result.update(
                server=server["label"],
                connections=connections,
                cpu_gunicorn_s=round(cpu_spent(web_before, cpu_by_pid(process_tree(gunicorn.pid))), 1),
                cpu_postgres_backends_s=round(
                    cpu_spent(db_before, cpu_by_pid(postgres_backend_pids(env.database))), 1
                ),
            )
            log(
                f"{server['label']} {label}: {result['requests_per_s']:.0f} req/s, "
                f"p50 {result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms, "
                f"statuses {result['statuses']}"
            )
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="dm_bench_redemptions")
    parser.add_argument("--customers", type=int, default=20_000, help="customers loaded before the run")
    parser.add_argument("--codes", type=int, default=60_000, help="one-use codes (one per request)")
    parser.add_argument("--cards", type=int, default=100, help="gift cards")
    parser.add_argument(
        "--gift-share", type=float, default=0.2, help="share of requests redeeming gift credits"
    )
    parser.add_argument(
        "--server", action="append", help="sync:N or gthread:NxT (repeatable); default sync:3"
    )
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--port", type=int, default=8932)
    parser.add_argument("--celery-worker", action="store_true", help="consume the events during the run")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--orders",
        action="store_true",
        help="POST /v1/orders instead (a new PAID order of 100.00 for an existing customer per request)",
    )
    # The load client's own options (`--client` runs only the client).
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--app-id", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--codes-file", help=argparse.SUPPRESS)
    parser.add_argument("--cards-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        args.connections = args.connections[0]
        run_client(args)
        return None
    servers = [parse_server(spec) for spec in (args.server or ["sync:3"])]

    with bench_database(args.db, keep=args.keep_db) as env:
        from bench.generate import load_customers

        project, app_id, token = make_bench_project("bench-redemptions")
        seconds = load_customers(project_id=project.pk, count=args.customers)
        log(f"loaded {args.customers:,} customers in {seconds:.1f} s")
        started = time.perf_counter()
        codes, cards = seed(project, codes=args.codes, cards=args.cards)
        elapsed = time.perf_counter() - started
        log(f"generated {len(codes):,} codes and {len(cards):,} gift cards in {elapsed:.1f} s")
        runs = []
        for server in servers:
            runs += measure(
                env=env, server=server, args=args, app_id=app_id, token=token, codes=codes, cards=cards
            )
        from campaigns.models import Redemption

        succeeded = Redemption.objects.for_project(project).filter(result="SUCCESS").count()
        log(f"{succeeded:,} successful redemptions recorded")
    best = max(runs, key=lambda run: run["requests_per_s"])
    result = {
        "benchmark": "redemptions",
        "target": {"requests_per_s": 150},
        "parameters": {
            key: value
            for key, value in vars(args).items()
            if key not in ("keep_db", "client", "app_id", "token", "codes_file", "cards_file")
        },
        "runs": runs,
        "successful_redemptions": succeeded,
        "best": best,
    }
    write_result("redemptions", result)
    return result


if __name__ == "__main__":
    main()
