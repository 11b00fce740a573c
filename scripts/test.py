#!/usr/bin/env python3
"""The README's test command: the whole suite on real PostgreSQL and Redis.

    python3 scripts/test.py [pytest arguments]

Creates `.venv` and installs the project with its test dependencies when needed. Runs on the servers
that DATABASE_URL / REDIS_URL name when set (CI sets both); otherwise starts the same embedded servers
as the run command, with their own data (var/test-pgdata, var/test-redis.sock), and stops them after.
Exits with pytest's exit code.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack

# scripts/ is on sys.path as the folder of the running script; both use the standard library only.
import bootstrap
import embedded

DATABASE_NAME = "distribution_manager"  # pytest-django creates and uses test_distribution_manager


def main() -> int:
    # The smoke test runs the run command, with its embedded servers and SMTP sink.
    bootstrap.ensure_environment({"embedded", "smtp-sink", "test"})
    # Until pytest runs, a SIGTERM or SIGHUP unwinds like Ctrl-C, so that no server is left behind.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
    var = bootstrap.var_dir()
    env = dict(os.environ, TESTING="1")
    ensure_chromium()
    try:
        with ExitStack() as stack:  # stops the servers after pytest, in reverse order
            if not env.get("DATABASE_URL"):
                print(f"==> Embedded PostgreSQL for the tests in {var / 'test-pgdata'}", flush=True)
                env["DATABASE_URL"] = stack.enter_context(
                    embedded.postgres(var / "test-pgdata", database=DATABASE_NAME)
                )
            if not env.get("REDIS_URL"):
                print(f"==> Embedded Redis for the tests on {var / 'test-redis.sock'}", flush=True)
                env["REDIS_URL"] = stack.enter_context(
                    embedded.redis(var / "test-redis.sock", log_path=var / "log" / "test-redis.log")
                )
                env.pop("CELERY_BROKER_URL", None)  # the settings derive it from REDIS_URL
            return run_pytest(sys.argv[1:], env)
    except embedded.EmbeddedError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium: install it when missing and we may (root, apt-get).

    Otherwise leave it: the browser tests then fail with a message saying what to install.
    """
    if os.environ.get("CHROMIUM_PATH") or shutil.which("chromium"):
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        print("==> No Chromium: the browser tests need Debian's chromium (or CHROMIUM_PATH)", flush=True)
        return
    print("==> Installing Chromium from Debian's packages for the browser tests", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False)


def run_pytest(args: list[str], env: dict[str, str]) -> int:
    pytest = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=bootstrap.ROOT, env=env)

    # pytest shares our process group, so a Ctrl-C at the terminal reaches it directly; we only wait
    # for it to finish its teardown before stopping the servers under it. A SIGTERM or SIGHUP sent to
    # us alone is passed on. (A handler, not SIG_IGN: an ignored signal would stay ignored in pytest.)
    def pass_on(signum, frame):
        if signum != signal.SIGINT:
            pytest.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, pass_on)
    code = pytest.wait()
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(main())
