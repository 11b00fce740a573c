"""The README's run command, end to end, as a person uses it from a fresh checkout.

`scripts/run.py` runs as a real subprocess with its own data folder (DM_VAR_DIR) and none of the test
run's servers in its environment, so it brings up the embedded PostgreSQL and Redis, migrates, seeds
the demo, starts web, worker and beat, and prints a login. We use what it printed, then press Ctrl-C
and check that nothing it started is left running.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import requests

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# The budget is 3 minutes for boot, seed, health and one API call; a warm boot takes ~15 s.
BOOT_DEADLINE_SECONDS = 150
STOP_DEADLINE_SECONDS = 30
# What the test run itself was given; the run command must start its own servers instead.
TEST_RUN_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
    "TESTING",
    "REDIS_KEY_PREFIX",
    "PORT",
    "DM_VAR_DIR",
)


class RunCommand:
    """The running `scripts/run.py`, with its output read line by line as it comes."""

    def __init__(self, process: subprocess.Popen, var_dir: Path, port: int):
        self.process = process
        self.var_dir = var_dir
        self.base_url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._new_lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self._new_lines.put(line.rstrip("\n"))
        self._new_lines.put(None)  # end of output: the process has exited

    def wait_for_line(self, pattern: str, deadline: float) -> re.Match:
        for line in self.lines:
            if match := re.search(pattern, line):
                return match
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._new_lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"run.py exited before printing {pattern!r}:\n{self.output()}")
            self.lines.append(line)
            if match := re.search(pattern, line):
                return match
        pytest.fail(f"run.py did not print {pattern!r} in time:\n{self.output()}")

    def output(self) -> str:
        while not self._new_lines.empty():
            line = self._new_lines.get()
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    def postmaster_pid(self) -> int | None:
        pid_file = self.var_dir / "pgdata" / "postmaster.pid"
        return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def has_exited(process: psutil.Process) -> bool:
    """Gone, or a zombie: exited, waiting for a parent (or a lazy init) to reap it."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def poll_until(check: Callable[[], bool], deadline: float, what: str) -> None:
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: when we are root, the embedded PostgreSQL runs as another user that
    # must reach its data through every parent folder, and pytest makes its own root private (0700)
    # again whenever another session starts on the machine.
    parent = Path(tempfile.mkdtemp(prefix="dm-smoke-"))
    yield parent / "var"
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def run_command(var_dir):
    env = {name: value for name, value in os.environ.items() if name not in TEST_RUN_VARIABLES}
    port = free_port()
    env.update(PORT=str(port), DM_VAR_DIR=str(var_dir))
    process = subprocess.Popen(
        [sys.executable, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = RunCommand(process, var_dir, port)
    yield run
    # Only when the test failed before its own Ctrl-C: leave nothing running for the next test.
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()  # its children get SIGTERM from the kernel (PR_SET_PDEATHSIG)
            process.wait()
    if (postmaster := run.postmaster_pid()) is not None:
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(postmaster).send_signal(signal.SIGINT)  # a fast shutdown


def test_run_command_boots_everything_prints_a_working_login_and_stops_everything(run_command):
    started = time.monotonic()
    deadline = started + BOOT_DEADLINE_SECONDS
    http = requests.Session()
    http.trust_env = False  # a proxy from the environment must not see requests to 127.0.0.1

    # Given the run command has printed its summary
    base_url = run_command.wait_for_line(r"Dashboard: (http://\S+)/$", deadline).group(1)
    email, password = run_command.wait_for_line(r"Login: (\S+) / (\S+)$", deadline).groups()
    app_id = run_command.wait_for_line(r"X-App-Id: (\S+)$", deadline).group(1)
    app_token = run_command.wait_for_line(r"X-App-Token: (\S+)$", deadline).group(1)
    assert base_url == run_command.base_url

    # Then /healthz answers 200 with the database, the broker and the worker up
    poll_until(
        lambda: http.get(f"{base_url}/healthz", timeout=5).status_code == 200, deadline, "/healthz 200"
    )
    health = http.get(f"{base_url}/healthz", timeout=5).json()
    assert {part: health[part]["status"] for part in ("database", "broker", "worker")} == {
        "database": "up",
        "broker": "up",
        "worker": "up",
    }

    # And the printed API keys read the seeded customers
    customers = http.get(
        f"{base_url}/v1/customers",
        headers={"X-App-Id": app_id, "X-App-Token": app_token},
        timeout=10,
    )
    assert customers.status_code == 200, customers.text
    assert customers.json()["total"] >= 1

    # And the printed login opens the dashboard
    login_page = http.get(f"{base_url}/login/", timeout=10)
    csrf_token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
    login = http.post(
        f"{base_url}/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": csrf_token},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 302, login.text
    assert "/login/" not in login.headers["Location"]
    assert http.get(f"{base_url}{login.headers['Location']}", timeout=10).status_code == 200

    # And an order over $99 sets off the demo's live distribution, whose email the run command's SMTP
    # sink keeps in the sandbox inbox
    assert "keeps every email in the Sandbox inbox" in run_command.wait_for_line(r"Email: ", deadline).string
    order = http.post(
        f"{base_url}/v1/orders",
        json={"customer": {"source_id": "demo-customer-00001"}, "amount": 12000, "status": "PAID"},
        headers={"X-App-Id": app_id, "X-App-Token": app_token},
        timeout=10,
    )
    assert order.status_code in (200, 201), order.text
    poll_until(
        lambda: "A code for you," in http.get(f"{base_url}/sandbox/", timeout=10).text,
        time.monotonic() + 60,
        "the demo email in the sandbox inbox",
    )

    # When Ctrl-C reaches the run command
    launcher = psutil.Process(run_command.process.pid)
    # redis, gunicorn, celery and their workers, the SMTP sink
    started_processes = launcher.children(recursive=True)
    assert len(started_processes) >= 7
    postmaster = psutil.Process(run_command.postmaster_pid())
    run_command.process.send_signal(signal.SIGINT)
    exit_code = run_command.process.wait(STOP_DEADLINE_SECONDS)

    # Then it exits cleanly, and nothing it started, the embedded PostgreSQL included, is left running
    assert exit_code == 0, run_command.output()
    assert "Stopped." in run_command.output()
    assert run_command.postmaster_pid() is None, run_command.output()  # removed by a clean shutdown
    # A process can outlive its pid file or its parent's wait by a moment, while it exits.
    poll_until(
        lambda: all(has_exited(process) for process in [*started_processes, postmaster]),
        time.monotonic() + 10,
        "every started process and the embedded PostgreSQL to exit",
    )
    assert time.monotonic() - started < 180
