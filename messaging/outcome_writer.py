"""Where delivery's claims and outcomes are written: inline on the caller's connection, or on a
writer thread with a connection of its own that a calling thread keeps across its batches.

A worker thread delivers batch after batch. Opening a connection (and preparing the statements on
it) for each 200-message batch cost more than the batch's own writes, so each calling thread keeps
one `WriterThread`, and with it one connection whose statements stay prepared, for as long as it
delivers. What makes that safe:

- A connection that broke while idle (PostgreSQL restarted, an administrator terminated it, a
  network timeout) is noticed before the batch sends anything: Django's own check runs first
  (`close_if_unusable_or_obsolete`, which also honours `CONN_MAX_AGE`), and if the batch's first
  round trip still fails on the connection, it is reopened and that round trip run again. The first
  round trip of a batch only claims (it carries no outcome), and a claim is conditional, so running
  it twice claims nothing twice.
- Nothing is left open for long: a writer thread idle for `IDLE_SECONDS` closes its connection and
  ends (the next batch starts another), so a worker that stops delivering, or a test whose worker
  thread went away, holds no connection for long. `close_writer_threads` closes every one at once;
  it runs at interpreter exit, when a Celery worker (or a prefork child) shuts down, and after each
  test (tests/conftest.py), since an idle connection to the test database would block its DROP.
- A forked child (Celery's prefork pool) starts with no writer threads: they are not inherited.
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import threading
import zlib
from collections.abc import Callable
from concurrent.futures import Future
from functools import cache
from typing import Any

from celery.signals import worker_process_shutdown, worker_shutdown
from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections

WITHOUT_WAITING_FOR_DISK = "SET LOCAL synchronous_commit TO OFF;"

# Long enough to carry a busy worker from one batch to the next; short enough that a worker gone
# quiet lets go of its connection soon.
IDLE_SECONDS = 15.0


class WriterThread:
    """A thread running jobs one after another with a database connection of its own, kept until
    it has been idle for `IDLE_SECONDS` or is closed."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.is_open = True
        # Statements prepared on the connection, and the DB-API connection they were prepared on (a
        # reopened connection has none).
        self.prepared: set[str] = set()
        self.prepared_on: Any = None
        self._thread = threading.Thread(target=self._run, name="delivery-outcome-writer", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., Any], *args: Any) -> Future | None:
        """The job's future, or None when the thread has closed (idle, or told to)."""
        with self._lock:
            if not self.is_open:
                return None
            future: Future = Future()
            self._jobs.put((future, job, args))
            return future

    def close(self, *, timeout: float | None = None) -> None:
        """Run the jobs already submitted, close the connection and end the thread."""
        with self._lock:
            if self.is_open:
                self.is_open = False
                self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=IDLE_SECONDS)
                except queue.Empty:
                    with self._lock:
                        if not self._jobs.empty():
                            continue
                        self.is_open = False
                    break
                if job is None:
                    break
                future, function, args = job
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    result = function(*args)
                except BaseException as error:
                    future.set_exception(error)
                else:
                    future.set_result(result)
        finally:
            with self._lock:
                self.is_open = False
            connections.close_all()
            _forget(self)


_local = threading.local()
_live: set[WriterThread] = set()
_live_lock = threading.Lock()


def _writer_thread() -> WriterThread:
    """The calling thread's writer thread, started anew when it has none open."""
    writer = getattr(_local, "writer", None)
    if writer is None or not writer.is_open:
        writer = _local.writer = WriterThread()
        with _live_lock:
            _live.add(writer)
    return writer


def _forget(writer: WriterThread) -> None:
    with _live_lock:
        _live.discard(writer)


def close_writer_threads(*_args: Any, **_kwargs: Any) -> None:
    """Close every writer thread of this process and its connection (shutdown, end of a test)."""
    with _live_lock:
        writers = list(_live)
    for writer in writers:
        writer.close(timeout=30)


def _forget_inherited_threads() -> None:
    # The parent's threads did not come along, and its lock may have been held by one of them.
    global _local, _live, _live_lock
    _local, _live, _live_lock = threading.local(), set(), threading.Lock()


atexit.register(close_writer_threads)
os.register_at_fork(after_in_child=_forget_inherited_threads)
worker_shutdown.connect(close_writer_threads, weak=False)
worker_process_shutdown.connect(close_writer_threads, weak=False)


class OutcomeWriter:
    """Runs one batch's statements in order, one round trip at a time: on the calling thread's
    `WriterThread` (`overlapping`), so that writing one part of a slice overlaps sending the next,
    or inline on the caller's connection.

    Inline when the caller holds a transaction (its messages may not be visible to another
    connection) or the batch is a single slice (nothing to overlap). A round trip is submitted only
    after the previous one has finished, which is what bounds the messages sent but not recorded.
    The writer thread's statements are prepared once per connection (planning was about a quarter
    of their server time, 0.5 of 1.9 ms per slice).
    """

    def __init__(self, *, overlapping: bool) -> None:
        self.overlapping = overlapping
        self._running: Future | None = None
        self._thread: WriterThread | None = None
        self._first = True

    def submit(self, statements: list[str], params: dict) -> Future:
        self.wait()
        if not self.overlapping:
            done: Future = Future()
            done.set_result(_execute(statements, params, None))
            return done
        job = _execute_first if self._first else _execute
        self._first = False
        future = self._thread.submit(job, statements, params, self._thread) if self._thread else None
        while future is None:
            # The batch's first round trip, or the thread closed while idle between two of them (a
            # slow send): a fresh one runs it, still one round trip at a time.
            self._thread = _writer_thread()
            future = self._thread.submit(job, statements, params, self._thread)
        self._running = future
        return future

    def wait(self) -> None:
        """Until the round trip last submitted has finished; raises what it raised."""
        running, self._running = self._running, None
        if running is not None:
            running.result()

    def close(self) -> None:
        self.wait()


def _execute_first(statements: list[str], params: dict, writer: WriterThread) -> dict[int, tuple]:
    """A batch's first round trip, on a connection that may have broken since the last batch."""
    connection.close_if_unusable_or_obsolete()
    try:
        return _execute(statements, params, writer)
    except (OperationalError, InterfaceError):
        # Broken while idle, after the check: it only claimed (conditionally), so run it again on a
        # new connection.
        connection.close()
        return _execute(statements, params, writer)


def _execute(statements: list[str], params: dict, writer: WriterThread | None) -> dict[int, tuple]:
    if not statements:
        return {}
    with connection.cursor() as cursor:
        if writer is not None:
            if writer.prepared_on is not connection.connection:
                writer.prepared, writer.prepared_on = set(), connection.connection
            unprepared = [sql for sql in statements if sql not in writer.prepared]
            if unprepared:
                cursor.execute(
                    "SET plan_cache_mode TO force_generic_plan;"
                    + "".join(_prepared(sql)[0] for sql in unprepared)
                )
                writer.prepared.update(unprepared)
            statements = [_prepared(sql)[1] for sql in statements]
        try:
            cursor.execute("".join([WITHOUT_WAITING_FOR_DISK, *statements]), params)
        except DatabaseError:
            if writer is not None:
                # Whether the failed round trip prepared anything is unknown: prepare again.
                writer.prepared_on = None
            raise
        if cursor.description is None:
            return {}
        return {message_id: (attempts, first) for message_id, attempts, first in cursor.fetchall()}


_PARAMETER = re.compile(r"%\((\w+)\)s(::[\w\[\]]+)?")


@cache
def _prepared(sql: str) -> tuple[str, str]:
    """`PREPARE` for one of delivery's statements, and the `EXECUTE` taking the same parameters
    (by name, each cast as where it first appears)."""
    name = f"delivery_{zlib.crc32(sql.encode()):08x}"
    numbers: dict[str, int] = {}
    casts: dict[str, str] = {}

    def positional(match: re.Match) -> str:
        parameter, cast = match.group(1), match.group(2) or ""
        if parameter not in numbers:
            numbers[parameter], casts[parameter] = len(numbers) + 1, cast
        return f"${numbers[parameter]}{cast}"

    body = _PARAMETER.sub(positional, sql).strip().rstrip(";")
    arguments = ", ".join(f"%({parameter})s{casts[parameter]}" for parameter in numbers)
    return f"PREPARE {name} AS {body};", f"EXECUTE {name}({arguments});"
