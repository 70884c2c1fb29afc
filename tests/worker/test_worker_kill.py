"""Real Huey workers (`manage.py run_huey` subprocesses) on the database of the test run.

On PostgreSQL the workers use pytest-django's test database; on SQLite a file copy of it. The
queue is a temporary Huey SQLite file or, when Redis answers, a queue of its own in Redis.
A worker is killed with SIGKILL inside an event handler: nothing of the handler is committed,
the event stays unprocessed, and the next worker's sweep handles it exactly once.
"""

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.worker

BASE_DIR = Path(settings.BASE_DIR)
REDIS_URL = os.environ.get("CRM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HANDLER = "tests.worker.slow_handler.handle"
WAIT_SECONDS = 30


def redis_answers() -> bool:
    url = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((url.hostname, url.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def wait_for(condition, what: str, seconds: float = WAIT_SECONDS, logs=()):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.1)
    tails = "\n".join(f"--- {log}\n{Path(log).read_text()[-3000:]}" for log in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}")


class Setup:
    """The environment that the workers and the event recorder share, and a way to read the
    database they write."""

    def __init__(self, tmp_path: Path, storage: str):
        self.tmp_path = tmp_path
        self.workers: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "REDIS_URL", "HUEY_NAME", "HUEY_SQLITE_PATH"}
        }
        env |= {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CRM_TESTING": "1",
            "HUEY_IMMEDIATE": "0",
            "HUEY_WORKERS": "2",
            "CRM_EVENT_SWEEP_SECONDS": "1",
            "CRM_EXTRA_EVENT_HANDLERS": HANDLER,
            "CRM_VAR_DIR": str(tmp_path),
            "PYTHONUNBUFFERED": "1",
        }
        if connection.vendor == "postgresql":
            db = connection.settings_dict
            auth = quote(db["USER"] or "", safe="")
            if db["PASSWORD"]:
                auth += ":" + quote(db["PASSWORD"], safe="")
            host = db["HOST"] or "localhost"
            port = db["PORT"] or 5432
            env["DATABASE_URL"] = f"postgres://{auth}@{host}:{port}/{quote(db['NAME'])}"
            self.sqlite_path = None
        else:
            # The workers cannot see the in-memory test database: copy it to the file that
            # settings use under CRM_VAR_DIR.
            self.sqlite_path = tmp_path / "crm.sqlite3"
            connection.ensure_connection()
            target = sqlite3.connect(self.sqlite_path)
            connection.connection.backup(target)
            target.close()
        if storage == "redis":
            env |= {"REDIS_URL": REDIS_URL, "HUEY_NAME": f"crm-test-{uuid.uuid4().hex[:12]}"}
        else:
            env["HUEY_SQLITE_PATH"] = str(tmp_path / "huey.sqlite3")
        self.storage = storage
        self.env = env

    def rows(self, sql: str, params=()) -> list[tuple]:
        if self.sqlite_path is None:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=20)) as db:
            return db.execute(sql.replace("%s", "?"), params).fetchall()

    def processed(self, event_ids) -> bool:
        placeholders = ", ".join(["%s"] * len(event_ids))
        sql = f"SELECT COUNT(*) FROM core_domainevent WHERE processed_at IS NOT NULL AND id IN ({placeholders})"  # noqa: E501, S608
        return self.rows(sql, list(event_ids))[0][0] == len(event_ids)

    def handled(self, event_id: int) -> int:
        sql = "SELECT COUNT(*) FROM core_domainevent WHERE kind = %s AND object_id = %s"
        return self.rows(sql, ["test.handled", event_id])[0][0]

    def record(self, kind: str, **options) -> list[int]:
        """Record events in a separate process, as a web process would."""
        done = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-m",
                "tests.worker.slow_handler",
                json.dumps({"kind": kind, **options}),
            ],
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start_worker(self, *options: str) -> subprocess.Popen:
        log = self.tmp_path / f"worker-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("w") as out:
            worker = subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "run_huey", "--delay", "0.05", "--max-delay", "0.5"]
                + list(options),
                cwd=BASE_DIR,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )
        self.workers.append(worker)
        return worker

    def kill(self, worker: subprocess.Popen, sig=signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, sig)
        worker.wait(timeout=WAIT_SECONDS)

    def wait_for(self, condition, what: str):
        return wait_for(condition, what, logs=self.logs)

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                self.kill(worker)
        if self.storage == "redis":
            from huey import PriorityRedisHuey

            PriorityRedisHuey(self.env["HUEY_NAME"], url=REDIS_URL).storage.flush_all()


@pytest.fixture(params=["sqlite", "redis"])
def setup(request, django_db_serialized_rollback, transactional_db, tmp_path):
    if request.param == "redis" and not redis_answers():
        if os.environ.get("CRM_REQUIRE_REDIS"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    setup = Setup(tmp_path, request.param)
    yield setup
    setup.close()


@pytest.mark.parametrize("lost_task", [False, True], ids=["in-task", "in-sweep"])
def test_a_worker_killed_inside_a_handler_leaves_no_trace_and_the_next_one_handles_it_once(
    setup, tmp_path, lost_task
):
    marker, hold = tmp_path / "inside-handler", tmp_path / "hold"
    hold.touch()
    if lost_task:
        # The task was never enqueued: the first worker's sweep (run as it starts, once the
        # event is older than CRM_EVENT_SWEEP_SECONDS) picks the event up, holding the sweep's
        # lock when it dies.
        [event_id] = setup.record("test.slow", lost=True, marker=str(marker), hold=str(hold))
        time.sleep(1.2)
        first = setup.start_worker()
    else:
        first = setup.start_worker("--no-periodic")
        [event_id] = setup.record("test.slow", marker=str(marker), hold=str(hold))

    setup.wait_for(marker.exists, "the first worker to be inside the handler")
    setup.kill(first)

    assert first.returncode == -signal.SIGKILL
    assert setup.handled(event_id) == 0
    assert not setup.processed([event_id])

    hold.unlink()
    marker.unlink()
    setup.start_worker()
    setup.wait_for(lambda: setup.processed([event_id]), "the next worker's sweep")

    assert setup.handled(event_id) == 1
    assert marker.exists()


def test_two_workers_handle_each_event_exactly_once(setup):
    setup.start_worker()
    setup.start_worker("--no-periodic")
    setup.wait_for(
        lambda: all("Huey consumer started" in log.read_text() for log in setup.logs),
        "both workers to start",
    )
    # Every event's task is enqueued twice, so the two workers race for the same events.
    event_ids = setup.record("test.count", count=20, twice=True, sleep=0.1)

    setup.wait_for(lambda: setup.processed(event_ids), "the events to be processed")
    time.sleep(1)  # the duplicate tasks run out

    placeholders = ", ".join(["%s"] * len(event_ids))
    counts = setup.rows(
        "SELECT object_id, COUNT(*) FROM core_domainevent WHERE kind = %s"  # noqa: S608
        f" AND object_id IN ({placeholders}) GROUP BY object_id",
        ["test.handled", *event_ids],
    )
    assert sorted(counts) == [(event_id, 1) for event_id in event_ids]
    # Handled by these workers (each handler row carries its worker's process id); which of the
    # two took which event depends on timing, so only that is checked.
    pids = setup.rows(
        "SELECT DISTINCT data FROM core_domainevent WHERE kind = %s", ["test.handled"]
    )
    assert {
        json.loads(data)["pid"] if isinstance(data, str) else data["pid"] for (data,) in pids
    } <= {worker.pid for worker in setup.workers}
