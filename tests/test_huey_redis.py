"""Smoke test: a real Huey worker on a real Redis runs a real job against the database.

Everything runs in subprocesses (`manage.py` with REDIS_URL set), as in production; the test
process only starts Redis and the worker and reads what the job returned.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)
SUBPROCESS_TIMEOUT = 180
STOP_TIMEOUT = 15


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Terminate, wait a bounded time, then kill."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def _settings_variables() -> set[str]:
    source = (ROOT / "exportdesk" / "settings.py").read_text()
    return set(re.findall(r"""env_\w+\(\s*["']([A-Z0-9_]+)["']""", source))


def _manage_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """A clean environment: defaults (SQLite in var_dir) plus what the test sets."""
    strip = _settings_variables() | {"DJANGO_SETTINGS_MODULE", "EXPORTDESK_TESTING"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in strip and not key.startswith(("PYTEST", "HUEY_"))
    }
    env["EXPORTDESK_VAR_DIR"] = str(var_dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(overrides)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(PYTHON), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _shell(env: dict[str, str], code: str) -> str:
    """Run code in `manage.py shell` and return what it printed after "RESULT "."""
    result = _manage(env, "shell", "--no-imports", "-c", code)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0].removeprefix("RESULT ")


@pytest.fixture
def redis_url(tmp_path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is required in CI (apt-get install redis-server)")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    log = (redis_dir / "redis.log").open("w")
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(redis_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        for _ in range(100):
            if server.poll() is not None:
                pytest.fail(f"redis-server exited: {(redis_dir / 'redis.log').read_text()}")
            try:
                if client.ping():
                    break
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("redis-server did not answer PING")
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(server)
        log.close()


@pytest.fixture
def huey_env(tmp_path, redis_url) -> dict[str, str]:
    var_dir = tmp_path / "var"
    env = _manage_env(var_dir, REDIS_URL=redis_url, HUEY_NAME=f"exportdesk-test-{uuid.uuid4().hex}")
    _manage(env, "migrate", "--noinput")
    return env


@pytest.fixture
def worker(huey_env, tmp_path) -> Iterator[subprocess.Popen]:
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    # --no-periodic: the schedule must not run the same purge behind the test's back.
    process = subprocess.Popen(
        [str(PYTHON), "manage.py", "run_huey", "--workers", "1", "--no-periodic"],
        cwd=ROOT,
        env={**huey_env, "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        _stop(process)
        log.close()
        if process.returncode not in (0, -15):
            print(log_path.read_text())


_SEED = """
from datetime import timedelta
from django.utils import timezone
from exportdesk.accounts.models import SecurityEvent

now = timezone.now()
for days, ip in ((120, "192.0.2.1"), (91, "192.0.2.2"), (1, "192.0.2.3")):
    SecurityEvent.objects.create(
        kind=SecurityEvent.Kind.LOGIN_FAILED,
        email_tried="nobody@example.com",
        ip_address=ip,
        created_at=now - timedelta(days=days),
    )
print("RESULT", SecurityEvent.objects.count())
"""

_ENQUEUE = """
from huey.api import Result
from exportdesk.accounts.tasks import purge_security_events

result = purge_security_events()  # calling a task wrapper enqueues it for the worker
assert isinstance(result, Result), type(result)
print("RESULT", result.id)
"""

_REMAINING = """
from exportdesk.accounts.models import SecurityEvent
print("RESULT", ",".join(str(e.ip_address) for e in SecurityEvent.objects.all()))
"""


def _wait_for_task(worker: subprocess.Popen, log_path: Path, task_id: str) -> str:
    """Read the worker's log until it reports the task finished (bounded); return the log.

    Huey never stores the return value of a periodic task (huey/api.py: `store = self.results
    and not isinstance(task, PeriodicTask)`), so Result.get() on one would only time out: the
    worker's own log line and the database are what show the job ran.
    """
    for _ in range(600):
        log = log_path.read_text()
        if f"{task_id} executed in" in log:
            return log
        if task_id in log and "Unhandled exception" in log:
            pytest.fail(f"the job failed on the worker:\n{log}")
        if worker.poll() is not None:
            pytest.fail(f"the worker exited with {worker.returncode}:\n{log}")
        time.sleep(0.1)
    pytest.fail(f"the worker did not run task {task_id}:\n{log_path.read_text()}")


def test_it_runs_the_security_event_purge_on_a_redis_worker(huey_env, worker, tmp_path):
    assert _shell(huey_env, _SEED) == "3"

    task_id = _shell(huey_env, _ENQUEUE)
    log = _wait_for_task(worker, tmp_path / "worker.log", task_id)

    assert f"Executing exportdesk.accounts.tasks.purge_security_events: {task_id}" in log
    # The two events older than the 90-day retention are gone; yesterday's stays.
    assert _shell(huey_env, _REMAINING) == "192.0.2.3"


def test_it_uses_redis_for_the_queue_when_redis_url_is_set(huey_env):
    code = (
        "from huey.contrib.djhuey import HUEY\n"
        "print('RESULT', type(HUEY).__name__, HUEY.name, HUEY.immediate)"
    )
    assert _shell(huey_env, code) == f"RedisHuey {huey_env['HUEY_NAME']} False"
