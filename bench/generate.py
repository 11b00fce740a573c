"""Load generated customers (later also orders and events) for a project with PostgreSQL COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dm_bench \\
        .venv/bin/python bench/generate.py --project-slug bench --customers 1000000
    .venv/bin/python bench/generate.py --fresh-db dm_bench_data --project-slug bench --customers 1000000

The first form loads into an existing, migrated database; the second creates and migrates
database `dm_bench_data` first (dropping an old one of that name) and keeps it afterwards.
The project is created when missing (its API key is printed as `X-App-Id:` / `X-App-Token:` lines).
Rows are written straight into the tables, in one transaction, as the app would have stored them:
public ids with their prefix, source ids `<prefix><n>` (default `bench-cust-<n>`, n from --start),
realistic names, emails, phones, addresses and metadata, `created_at` spread over the last year. No
outbox events are written for them: this is fixture data, not API traffic.

Other benchmarks import `load_customers()`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FIRST_NAMES = (
    "Ada Alan Grace Linus Margaret Ken Barbara Dennis Frances Edsger Hedy Tim Radia Guido Anita John "
    "Mary Piotr Anna Jan Ewa Marta Tomasz Sofia Lucas Emma Noah Olivia Liam Mia"
).split()
LAST_NAMES = (
    "Lovelace Turing Hopper Torvalds Hamilton Thompson Liskov Ritchie Allen Dijkstra Lamarr Perlman Rossum "
    "Borg Kowalski Nowak Wisniewska Smith Jones Garcia Muller Rossi Silva Dubois"
).split()
CITIES = [
    ("Warsaw", "PL", "00-001"),
    ("Berlin", "DE", "10115"),
    ("Paris", "FR", "75001"),
    ("Madrid", "ES", "28001"),
    ("London", "GB", "SW1A 1AA"),
    ("New York", "US", "10001"),
    ("Austin", "US", "73301"),
    ("Lisbon", "PT", "1000-001"),
    ("Krakow", "PL", "30-001"),
    ("Rome", "IT", "00118"),
    ("Vienna", "AT", "1010"),
    ("Prague", "CZ", "110 00"),
]
TIERS = ("Bronze", "Silver", "Gold", "Platinum")
CATEGORIES = ("shoes", "books", "coffee", "garden", "games", "toys", "sport")
CUSTOMER_COLUMNS = (
    "project_id",
    "public_id",
    "source_id",
    "name",
    "description",
    "email",
    "phone",
    "birthdate",
    "address_city",
    "address_state",
    "address_line_1",
    "address_line_2",
    "address_country",
    "address_postal_code",
    "metadata",
    "system_metadata",
    "created_at",
    "updated_at",
)
COPY_CHUNK = 50_000
NULL = "\\N"


def _customer_lines(*, project_id: int, start: int, count: int, prefix: str, seed: int) -> list[str]:
    """COPY text-format lines. Generated values never contain tabs, newlines or backslashes.

    Random picks are drawn a column at a time (`choices(k=count)`), and timestamps and dates come
    from precomputed strings: per-row `random.choice`, `json.dumps` and `isoformat` would make the
    generator, not PostgreSQL, the slow part of a million-row load.
    """
    rng = random.Random(seed)
    salt = f"{seed & 0xFFFFFFFF:08x}"
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=offset)).isoformat() for offset in range(1, 366)]
    birthdates = [
        f"{year}-{month:02d}-{day:02d}"
        for year in range(1950, 2006)
        for month in range(1, 13)
        for day in range(1, 29)
    ]
    clock = [f"{h:02d}:{m:02d}:{s:02d}+00" for h in range(24) for m in range(60) for s in range(0, 60, 7)]
    metadata = [
        f'{{"club_level":"{tier}","newsletter":{newsletter},"favourite_category":"{category}","lifetime_orders":{orders}}}'
        for tier in TIERS
        for newsletter in ("true", "false", "true")
        for category in CATEGORIES
        for orders in range(41)
    ]
    names = [
        (first, last, f"{first} {last}", f"{first}.{last}".lower())
        for first in FIRST_NAMES
        for last in LAST_NAMES
    ]
    prefix_line = f"{project_id}\tcust_{salt}"
    columns = zip(
        range(start, start + count),
        rng.choices(names, k=count),
        rng.choices(CITIES, k=count),
        rng.choices(birthdates, k=count),
        rng.choices(metadata, k=count),
        rng.choices(days, k=count),
        rng.choices(clock, k=count),
        rng.choices((True, True, True, True, True, True, True, False, False, False), k=count),
        rng.choices(range(1, 201), k=count),
        strict=True,
    )
    return [
        f"{prefix_line}{number:016x}\t{prefix}{number}\t{full}\t\t{handle}.{number}@bench.example\t"
        f"{f'+4860{number:08d}' if has_phone else NULL}\t{birthdate}\t{city}\t{NULL}\t"
        f"{street} Market Street\t"
        f"{NULL}\t{country}\t{postal}\t{meta}\t{{}}\t{day} {time_of_day}\t{NULL}"
        for number, (_first, _last, full, handle), (
            city,
            country,
            postal,
        ), birthdate, meta, day, time_of_day, has_phone, street in columns
    ]


def _debug(message: str) -> None:
    if os.environ.get("BENCH_DEBUG"):
        print(f"  generate: {message}", file=sys.stderr, flush=True)


def _produce_customers(*, fd: int, project_id: int, start: int, count: int, prefix: str, seed: int) -> None:
    with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as out:
        for offset in range(0, count, COPY_CHUNK):
            size = min(COPY_CHUNK, count - offset)
            lines = _customer_lines(
                project_id=project_id, start=start + offset, count=size, prefix=prefix, seed=seed + offset
            )
            out.write("\n".join(lines))
            out.write("\n")


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str, str | None]]:
    """(name, CREATE statement, constraint name or None) for every index but the primary key."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid), c.conname
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.contype = 'u'
        WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
        """,
        [table],
    )
    return cursor.fetchall()


def load_customers(
    *,
    project_id: int,
    count: int,
    start: int = 1,
    prefix: str = "bench-cust-",
    seed: int | None = None,
    rebuild_indexes: bool | None = None,
) -> float:
    """COPY `count` customers into the project in one transaction; returns the seconds it took.

    For big loads (by default when adding at least as many rows as the table holds) the secondary
    indexes are dropped and rebuilt inside the same transaction: one sorted build per index is several
    times faster than a million random b-tree inserts through a small buffer cache. A failure rolls
    the whole load back, indexes included.
    """
    from django.db import connection, transaction

    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
    table = "customers_customer"
    copy_sql = f"COPY {table} ({', '.join(CUSTOMER_COLUMNS)}) FROM STDIN"
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM tenancy_project WHERE id = %s", [project_id])
        if cursor.fetchone() is None:
            raise ValueError(f"No project with id {project_id}")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            # The project was checked above; skipping the per-row foreign key trigger saves ~10 s a million.
            cursor.execute("SET LOCAL session_replication_role = replica")
        if rebuild_indexes is None:
            cursor.execute(f"SELECT reltuples FROM pg_class WHERE oid = '{table}'::regclass")
            rebuild_indexes = count >= 50_000 and count >= max(cursor.fetchone()[0], 0)
        indexes = _secondary_indexes(cursor, table) if rebuild_indexes else []
        for name, _definition, constraint in indexes:
            if constraint:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            else:
                cursor.execute(f'DROP INDEX "{name}"')
        # A child process generates the rows into a pipe while PostgreSQL parses them on the other core.
        read_fd, write_fd = os.pipe()
        producer = multiprocessing.get_context("fork").Process(
            target=_produce_customers,
            kwargs={
                "fd": write_fd,
                "project_id": project_id,
                "start": start,
                "count": count,
                "prefix": prefix,
                "seed": seed,
            },
            daemon=True,
        )
        producer.start()
        os.close(write_fd)
        try:
            with os.fdopen(read_fd, "r", encoding="utf-8") as rows:
                cursor.cursor.copy_expert(copy_sql, rows, size=1 << 16)  # psycopg2's own cursor
        finally:
            producer.join()
        if producer.exitcode != 0:
            raise RuntimeError(f"row generator exited with {producer.exitcode}")
        _debug(f"copy done at {time.perf_counter() - began:.1f} s")
        if indexes:
            # Django's foreign keys are deferred; queued checks (if any) must run before an index build.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for name, definition, constraint in indexes:
                cursor.execute(definition)
                if constraint:
                    cursor.execute(
                        f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" UNIQUE USING INDEX "{name}"'
                    )
                _debug(f"{name} built at {time.perf_counter() - began:.1f} s")
    _debug(f"committed at {time.perf_counter() - began:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - began


def _load(args: argparse.Namespace) -> None:
    from tenancy.models import Project

    project = Project.objects.filter(slug=args.project_slug).first()
    if project is None:
        from bench.common import make_bench_project

        project, app_id, token = make_bench_project(args.project_slug)
        print(f"Created project {project.slug}")
        print(f"X-App-Id: {app_id}")
        print(f"X-App-Token: {token}")
    if args.customers:
        seconds = load_customers(
            project_id=project.pk, count=args.customers, start=args.start, prefix=args.source_prefix
        )
        print(
            f"Loaded {args.customers:,} customers in {seconds:.1f} s ({args.customers / seconds:,.0f} rows/s)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-slug", required=True)
    parser.add_argument("--customers", type=int, default=0, help="how many customers to load")
    parser.add_argument("--start", type=int, default=1, help="first source id number")
    parser.add_argument("--source-prefix", default="bench-cust-")
    parser.add_argument(
        "--fresh-db",
        metavar="NAME",
        help="(re)create and migrate database NAME (dm_bench*) first, load into it and keep it",
    )
    parser.add_argument("--drop", action="store_true", help="with --fresh-db: drop the database at the end")
    args = parser.parse_args(argv)

    if args.fresh_db:
        from bench.common import bench_database

        with bench_database(args.fresh_db, keep=not args.drop) as env:
            _load(args)
            print(f"DATABASE_URL={env.database_url}")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-generator")
    import django

    django.setup()
    _load(args)


if __name__ == "__main__":
    main()
