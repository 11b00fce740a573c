"""What every benchmark shares: its own database, its own Redis key prefix, the app's processes.

A benchmark run creates a fresh PostgreSQL database (``dm_bench`` unless told otherwise), migrates it,
runs against it and drops it at the end; it never touches another database. Redis is shared with
the machine, so each run uses a key prefix of its own (``dmbench<pid>``, which also prefixes
Celery's queues) and deletes exactly those keys when it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SERVER_URL = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
# Where the app's code is run from: a snapshot of the work tree taken when the benchmark starts, so
# that edits made to the tree during a long run cannot mix two versions of the code.
SOURCE = ROOT
PROTECTED_DATABASES = {
    "postgres",
    "template0",
    "template1",
    "distribution_manager",
    "test_distribution_manager",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _server_connection():
    connection = psycopg2.connect(SERVER_URL)
    connection.autocommit = True
    return connection


def create_database(name: str) -> None:
    if name in PROTECTED_DATABASES or not name.startswith(("dm_bench", "bench")):
        raise SystemExit(f"Refusing to use database {name!r}: benchmark databases are named dm_bench*.")
    with contextlib.closing(_server_connection()) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    if name in PROTECTED_DATABASES or not name.startswith(("dm_bench", "bench")):
        return
    with contextlib.closing(_server_connection()) as connection, connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class BenchEnv:
    """The environment the app's processes (and this process's Django) run with."""

    database: str
    redis_prefix: str = field(default_factory=lambda: f"dmbench{os.getpid()}")

    @property
    def database_url(self) -> str:
        return database_url(self.database)

    def variables(self) -> dict[str, str]:
        return {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": self.redis_prefix,
            "DEBUG": "0",
            "TESTING": "0",
            "SECRET_KEY": "benchmark-only-secret-key-0123456789abcdef0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": "http://127.0.0.1:8000",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.variables()}

    def apply_to_this_process(self) -> None:
        os.environ.update(self.variables())


def snapshot_source() -> Path:
    """Copy the work tree's code (no .git, .venv, var/) to a temporary folder and run from there."""
    global SOURCE
    target = Path(tempfile.mkdtemp(prefix="dm_bench_src_"))
    shutil.copytree(
        ROOT,
        target,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", "node_modules"
        ),
    )
    SOURCE = target
    sys.path.insert(0, str(target))
    return target


def source_facts(source: Path) -> dict[str, str]:
    facts = {}
    with contextlib.suppress(Exception):
        facts["git_head"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
        facts["work_tree_changes"] = str(len(changed))
    return facts


@contextlib.contextmanager
def bench_database(name: str, *, keep: bool = False) -> Iterator[BenchEnv]:
    """A freshly migrated database with this process's Django set up on it; dropped afterwards.

    The app's code runs from a snapshot of the work tree (see `snapshot_source`).
    """
    env = BenchEnv(database=name)
    # A plain `kill` (SIGTERM) should clean up too: turn it into SystemExit so the finally runs.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    source = snapshot_source()
    BACKGROUND.update(source_facts(source))
    log(f"creating database {name}; code from {source}")
    create_database(name)
    try:
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=source,
            env=env.process_env(),
            check=True,
        )
        missing = subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "makemigrations", "--check", "--dry-run"],
            cwd=source,
            env=env.process_env(),
            capture_output=True,
            text=True,
        )
        if missing.returncode != 0:
            log("WARNING: models and migrations differ in this snapshot of the work tree:\n" + missing.stdout)
        env.apply_to_this_process()
        import django

        django.setup()
        yield env
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        purge_redis_prefix(env.redis_prefix)
        if keep:
            log(f"keeping database {name}")
        else:
            log(f"dropping database {name}")
            drop_database(name)
        shutil.rmtree(source, ignore_errors=True)


def purge_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])


def wait_for_worker(node_prefix: str, timeout: float = 60) -> None:
    """Until a Celery worker whose node name starts with `node_prefix` answers a ping."""
    from config.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=1.0)
        if any(name.startswith(node_prefix) for reply in replies for name in reply):
            return
    raise RuntimeError("the Celery worker did not answer a ping")


def make_bench_project(slug: str = "bench", *, requests_per_minute: int = 1_000_000_000):
    """A project with an owner and an API key, with the rate limit lifted for load tests."""
    from tenancy.models import Project
    from tenancy.services import api_key_create, project_create, user_get_or_create

    owner, _ = user_get_or_create(email=f"owner@{slug}.bench.example")
    project = Project.objects.filter(slug=slug).first() or project_create(
        name=f"Benchmark {slug}",
        owner=owner,
        slug=slug,
        plan=Project.Plan.ENTERPRISE,
        message_limit_per_day=None,
        message_limit_per_month=None,
    )
    Project.objects.filter(pk=project.pk).update(api_requests_per_minute=requests_per_minute)
    project.refresh_from_db()
    api_key, token = api_key_create(project=project, name="Benchmark key")
    return project, api_key.app_id, token


class Processes:
    """Child processes started by a benchmark, each in its own process group, stopped in reverse."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(log_path, "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            args, cwd=SOURCE, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, process))
        return process

    def stop_all(self) -> None:
        # SIGTERM to the main process only: gunicorn and Celery then stop their own children gracefully.
        for _name, process in reversed(self.children):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.children.clear()

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()


def gunicorn_args(
    *,
    port: int,
    workers: int,
    threads: int = 1,
    worker_class: str = "sync",
    wsgi: str = "config.wsgi:application",
) -> list[str]:
    args = [
        str(VENV_BIN / "gunicorn"),
        wsgi,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--backlog",
        "2048",
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    if worker_class == "gthread":
        args += ["--threads", str(threads)]
    return args


def celery_worker_args(*, concurrency: int = 2, queues: str = "events", app: str = "config") -> list[str]:
    return [
        str(VENV_BIN / "celery"),
        "-A",
        app,
        "worker",
        "-Q",
        queues,
        "-c",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "-n",
        f"bench{os.getpid()}@%h",
    ]


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # the server answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def machine_busy_pct(seconds: float = 5.0) -> float:
    """How busy the whole machine's CPUs were over the next `seconds`, in percent."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values) - values[3] - values[4], sum(values)

    busy_before, total_before = sample()
    time.sleep(seconds)
    busy_after, total_after = sample()
    return round(100 * (busy_after - busy_before) / max(total_after - total_before, 1), 1)


BACKGROUND: dict[str, float] = {}


def wait_for_quiet(max_seconds: float, threshold_pct: float = 15.0) -> float:
    """Wait (up to `max_seconds`) until other work on the machine stops; the figures need idle cores.

    Records the CPU use measured just before the start, which every result file reports.
    """
    deadline = time.monotonic() + max_seconds
    busy = machine_busy_pct()
    while busy > threshold_pct and time.monotonic() < deadline:
        log(f"machine {busy}% busy with other work; waiting for it to settle")
        time.sleep(10)
        busy = machine_busy_pct()
    BACKGROUND["busy_pct_before_start"] = busy
    log(f"machine {busy}% busy before the start")
    return busy


def machine_facts() -> dict[str, str]:
    facts = {"nproc": str(os.cpu_count()), "python": platform.python_version()}
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
        facts["memory"] = f"{total_kb / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
        facts["cpu"] = model
    with contextlib.suppress(Exception), contextlib.closing(_server_connection()) as connection:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            facts["postgresql"] = cursor.fetchone()[0]
    return facts


def write_result(name: str, result: dict) -> Path:
    """Results go to var/bench/<name>-<timestamp>.json (var/ is git-ignored)."""
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    facts = {"machine": machine_facts(), **BACKGROUND, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
    path.write_text(json.dumps({**facts, **result}, indent=2))
    log(f"result written to {path.relative_to(ROOT)}")
    return path
