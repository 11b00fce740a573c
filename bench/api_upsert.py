"""Benchmark `POST /v1/customers` (upsert) under gunicorn, load from wrk in a second process.

    .venv/bin/python bench/api_upsert.py                      # the documented configuration
    .venv/bin/python bench/api_upsert.py --server sync:2 --server gthread:2x4 --connections 8 16

Creates database dm_bench, loads --existing customers with bench/generate.py's COPY, creates a
project with the rate limit lifted and an API key, then for each --server configuration starts
gunicorn (DEBUG=0), warms it up, and runs wrk (bench/upsert.lua: a --new-ratio share of new
source ids, the rest updates of existing ones) for --duration seconds per --connections value.
Reports requests/s, p50/p90/p99 latency, status codes, and the CPU seconds spent by gunicorn,
PostgreSQL and wrk. Drops the database at the end. Target: >= 300 req/s with p99 < 100 ms.

Each upsert also publishes its `customer.*` event to Redis after commit, as in production. With
--celery-worker a worker (-Q events -c 1) consumes them during the run; without it they wait in
this run's Redis queue and are deleted with the run's keys at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
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
    wait_http,
    write_result,
)

LUA = Path(__file__).resolve().parent / "upsert.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def parse_server(spec: str) -> dict:
    """`sync:3` (3 sync workers) or `gthread:2x4` (2 workers of 4 threads)."""
    kind, _, size = spec.partition(":")
    if kind == "gthread":
        workers, _, threads = size.partition("x")
        return {
            "worker_class": "gthread",
            "workers": int(workers),
            "threads": int(threads or 4),
            "label": spec,
        }
    return {"worker_class": "sync", "workers": int(size or 2), "threads": 1, "label": spec}


def process_tree(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
    return seconds


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two samples; a process that ended in between is missing its last part."""
    return sum(max(value - before.get(pid, 0.0), 0.0) for pid, value in after.items())


def postgres_backend_pids(database: str) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        )
        return [row[0] for row in cursor.fetchall()]


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


def run_wrk(*, port: int, connections: int, threads: int, duration: int, args: list[str]) -> dict:
    command = [
        shutil.which("wrk") or "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}/v1/customers",
        "--",
        *args,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK_JSON "))
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["requests_per_s"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def measure(
    *,
    env,
    server: dict,
    port: int,
    connections_list: list[int],
    wrk_threads: int,
    duration: int,
    warmup: int,
    existing: int,
    new_ratio: float,
    app_id: str,
    token: str,
    celery_worker: bool,
) -> list[dict]:
    results = []
    with Processes() as processes:
        logs = ROOT / "var" / "bench" / "logs"
        if celery_worker:
            processes.start(
                "celery", celery_worker_args(concurrency=1), env.process_env(), logs / "upsert-celery.log"
            )
        gunicorn = processes.start(
            "gunicorn",
            gunicorn_args(
                port=port,
                workers=server["workers"],
                threads=server["threads"],
                worker_class=server["worker_class"],
            ),
            env.process_env(),
            logs / "upsert-gunicorn.log",
        )
        wait_http(f"http://127.0.0.1:{port}/healthz")
        tag = f"{os.getpid()}-{server['label'].replace(':', '')}"
        log(f"{server['label']}: warm-up {warmup} s")
        run_wrk(
            port=port,
            connections=max(connections_list),
            threads=wrk_threads,
            duration=warmup,
            args=[app_id, token, str(existing), str(new_ratio), f"{tag}-warm"],
        )
        for connections in connections_list:
            web_before = cpu_by_pid(process_tree(gunicorn.pid))
            db_before = cpu_by_pid(postgres_backend_pids(env.database))
            busy_before, total_before = machine_busy_seconds()
            started = time.perf_counter()
            result = run_wrk(
                port=port,
                connections=connections,
                threads=wrk_threads,
                duration=duration,
                args=[app_id, token, str(existing), str(new_ratio), f"{tag}-c{connections}"],
            )
            wall = time.perf_counter() - started
            busy_after, total_after = machine_busy_seconds()
            result.update(
                server=server["label"],
                connections=connections,
                wrk_threads=wrk_threads,
                cpu_gunicorn_s=round(cpu_spent(web_before, cpu_by_pid(process_tree(gunicorn.pid))), 1),
                cpu_postgres_backends_s=round(
                    cpu_spent(db_before, cpu_by_pid(postgres_backend_pids(env.database))), 1
                ),
                cpu_machine_busy_pct=round(
                    100 * (busy_after - busy_before) / (total_after - total_before), 1
                ),
                wall_s=round(wall, 1),
            )
            log(
                f"{server['label']} c={connections}: {result['requests_per_s']:.0f} req/s, "
                f"p50 {result['latency_p50_ms']:.1f} ms, p99 {result['latency_p99_ms']:.1f} ms, "
                f"statuses {result['statuses']}, cpu gunicorn {result['cpu_gunicorn_s']} s / "
                f"postgres {result['cpu_postgres_backends_s']} s, "
                f"machine busy {result['cpu_machine_busy_pct']}%"
            )
            results.append(result)
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="dm_bench")
    parser.add_argument("--existing", type=int, default=100_000, help="customers loaded before the run")
    parser.add_argument("--new-ratio", type=float, default=0.5, help="share of requests with a new source_id")
    parser.add_argument(
        "--server", action="append", help="sync:N or gthread:NxT (repeatable); default sync:3 and sync:4"
    )
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--celery-worker", action="store_true", help="consume the events during the run")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    servers = [parse_server(spec) for spec in (args.server or ["sync:3", "sync:4"])]

    with bench_database(args.db, keep=args.keep_db) as env:
        from bench.generate import load_customers

        project, app_id, token = make_bench_project("bench-upsert")
        seconds = load_customers(project_id=project.pk, count=args.existing)
        log(f"loaded {args.existing:,} existing customers in {seconds:.1f} s")
        runs = []
        for server in servers:
            runs += measure(
                env=env,
                server=server,
                port=args.port,
                connections_list=args.connections,
                wrk_threads=args.wrk_threads,
                duration=args.duration,
                warmup=args.warmup,
                existing=args.existing,
                new_ratio=args.new_ratio,
                app_id=app_id,
                token=token,
                celery_worker=args.celery_worker,
            )
    best = max(runs, key=lambda run: run["requests_per_s"] if run["latency_p99_ms"] < 100 else 0)
    result = {
        "benchmark": "api_upsert",
        "target": {"requests_per_s": 300, "p99_ms": 100},
        "parameters": {key: value for key, value in vars(args).items() if key != "keep_db"},
        "runs": runs,
        "best_under_p99_target": best,
    }
    write_result("api_upsert", result)
    return result


if __name__ == "__main__":
    main()
