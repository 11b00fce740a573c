"""A real Celery worker (threads) on the test broker, for tests whose work crosses processes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from celery.signals import setup_logging

from config.celery import app


def _leave_logging_alone(**kwargs) -> None:
    """A `setup_logging` receiver: its presence stops Celery from reconfiguring the root logger."""


@contextmanager
def running_worker(queues: Sequence[str], *, concurrency: int = 4) -> Iterator[None]:
    """A worker consuming `queues`, emptied first so no earlier test's task runs in this one.

    On the way out it stops taking tasks and then waits for the ones it is running: Celery's test
    worker stops with a cold shutdown, which leaves its pool's threads running their tasks, and one
    still committing would deadlock with the test database's flush.
    """
    setup_logging.connect(_leave_logging_alone, weak=False)
    with app.connection_for_write() as broker:
        for queue in queues:
            broker.default_channel.queue_purge(queue)
    worker = None
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            queues=list(queues),
            perform_ping_check=False,
            shutdown_timeout=15,
        ) as worker:
            yield
    finally:
        if worker is not None:
            worker.pool.executor.shutdown(wait=True)
        setup_logging.disconnect(_leave_logging_alone)
