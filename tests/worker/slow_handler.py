"""Event handlers and an event recorder that only the worker tests use.

A real worker loads `handle` through the CRM_EXTRA_EVENT_HANDLERS hook (crm/core/apps.py);
`python -m tests.worker.slow_handler '<json>'` records events the way a web process does, with
HUEY_IMMEDIATE=0, so that their tasks land in the worker's queue. Each handler writes a side
row (a DomainEvent of another kind, already processed) in the dispatch transaction.
"""

import json
import os
import sys
import time
import uuid
from pathlib import Path

# A hold file that nobody removes must not keep a worker busy forever.
HOLD_AT_MOST_SECONDS = 60


def handle(event) -> None:
    from django.utils import timezone

    from crm.core.models import DomainEvent

    if event.kind not in {"test.slow", "test.count"}:
        return
    DomainEvent.objects.create(
        kind="test.handled",
        model=event.model,
        object_id=event.pk,
        data={"pid": os.getpid()},
        processed_at=timezone.now(),
    )
    if event.kind == "test.count":
        time.sleep(event.data.get("sleep", 0))
        return
    # test.slow: say "I am inside the handler, my row written but not committed", then wait
    # while the hold file exists: the test kills the worker meanwhile.
    Path(event.data["marker"]).touch()
    hold = Path(event.data["hold"])
    deadline = time.monotonic() + HOLD_AT_MOST_SECONDS
    while hold.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def record(kind: str, count: int = 1, lost: bool = False, twice: bool = False, **data) -> list:
    """Record `count` events in one transaction, as a service would. lost: the tasks are never
    enqueued (a web process that died between its commit and the enqueue); twice: each event's
    task is enqueued a second time, so that two workers race for it."""
    from django.db import transaction

    from crm.core import events
    from crm.core.models import Channel
    from crm.core.tasks import dispatch_event

    if lost:
        events._enqueue = lambda event_id: None
    with transaction.atomic():
        channel = Channel.objects.create(name=f"worker-test-{uuid.uuid4().hex[:12]}")
        ids = [events.record_event(kind, channel, **data).pk for _ in range(count)]
    if twice:
        for event_id in ids:
            dispatch_event(event_id)
    return ids


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    print(json.dumps(record(**json.loads(sys.argv[1]))))
