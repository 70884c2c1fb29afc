from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from crm.core import events, tasks
from crm.core.events import current_depth, record_event
from crm.core.models import Channel, DomainEvent
from crm.core.tasks import dispatch, dispatch_pending_events
from crm.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def handled(monkeypatch):
    """Only this test's handler runs (not the automation's); it writes a row per event."""
    seen = []

    def handler(event):
        seen.append(event.pk)
        DomainEvent.objects.create(
            kind="test.handled", model=event.model, object_id=event.pk, processed_at=timezone.now()
        )

    monkeypatch.setattr(events, "EVENT_HANDLERS", [handler])
    return seen


def new_channel() -> Channel:
    return Channel.objects.create(name=f"Canal de prueba {Channel.objects.count()}")


def side_rows() -> list[int]:
    return list(DomainEvent.objects.filter(kind="test.handled").values_list("object_id", flat=True))


def make_event(**fields) -> DomainEvent:
    channel = new_channel()
    return DomainEvent.objects.create(
        kind="test.thing", model="core.channel", object_id=channel.pk, **fields
    )


def test_record_event_writes_the_event_and_dispatches_it_after_commit(
    handled, django_capture_on_commit_callbacks
):
    actor = UserFactory()
    channel = new_channel()
    token = current_depth.set(2)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            event = record_event("test.thing", channel, actor=actor, stage=7)
            assert handled == []  # nothing before the commit
    finally:
        current_depth.reset(token)

    assert len(callbacks) == 1
    event.refresh_from_db()
    assert (event.kind, event.model, event.object_id) == ("test.thing", "core.channel", channel.pk)
    assert event.data == {"stage": 7}
    assert event.actor == actor
    assert event.depth == 2
    assert event.processed_at is not None
    assert handled == [event.pk]
    assert side_rows() == [event.pk]


def test_an_event_recorded_in_a_rolled_back_transaction_is_gone_and_never_dispatched(
    handled, django_capture_on_commit_callbacks
):
    channel = new_channel()

    def record_then_fail():
        with transaction.atomic():
            record_event("test.thing", channel)
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        record_then_fail()

    assert callbacks == []
    assert not DomainEvent.objects.filter(kind="test.thing").exists()
    assert handled == []


def test_an_unsaved_actor_is_stored_as_none():
    channel = new_channel()

    event = record_event("test.thing", channel, actor=UserFactory.build())

    assert event.actor is None


def test_dispatch_runs_the_handlers_and_marks_the_event_processed(handled):
    event = make_event()

    assert dispatch(event.pk) is True

    event.refresh_from_db()
    assert event.processed_at is not None
    assert handled == [event.pk]
    assert side_rows() == [event.pk]


def test_dispatch_twice_runs_the_handlers_once(handled):
    event = make_event()
    dispatch(event.pk)
    processed_at = DomainEvent.objects.get(pk=event.pk).processed_at

    assert dispatch(event.pk) is False

    assert handled == [event.pk]
    assert side_rows() == [event.pk]
    assert DomainEvent.objects.get(pk=event.pk).processed_at == processed_at


def test_dispatch_of_an_unknown_event_does_nothing(handled):
    assert dispatch(987654) is False
    assert handled == []


def test_a_failing_handler_leaves_the_event_unprocessed_and_none_of_the_handlers_writes(
    handled, monkeypatch
):
    def failing(event):
        DomainEvent.objects.create(kind="test.failing", model=event.model, object_id=event.pk)
        raise ValueError("boom")

    # The good handler runs first and writes; the failing one undoes everything.
    monkeypatch.setattr(events, "EVENT_HANDLERS", [*events.EVENT_HANDLERS, failing])
    event = make_event()

    with pytest.raises(ValueError, match="boom"):
        dispatch(event.pk)

    event.refresh_from_db()
    assert event.processed_at is None
    assert side_rows() == []
    assert not DomainEvent.objects.filter(kind="test.failing").exists()

    # Once the handler is fixed, the event is handled (by its retry or by the sweep).
    monkeypatch.setattr(events, "EVENT_HANDLERS", events.EVENT_HANDLERS[:1])
    assert dispatch(event.pk) is True
    assert side_rows() == [event.pk]


def test_the_sweep_dispatches_old_unprocessed_events_only(handled):
    now = timezone.now()
    old = make_event()
    young = make_event()
    done = make_event(processed_at=now)
    DomainEvent.objects.filter(pk__in=[old.pk, done.pk]).update(
        created_at=now - tasks.SWEEP_AFTER - timedelta(seconds=5)
    )
    DomainEvent.objects.filter(pk=young.pk).update(
        created_at=now - tasks.SWEEP_AFTER + timedelta(seconds=30)
    )

    assert dispatch_pending_events.call_local() == 1

    assert handled == [old.pk]
    assert DomainEvent.objects.get(pk=old.pk).processed_at is not None
    assert DomainEvent.objects.get(pk=young.pk).processed_at is None
    assert DomainEvent.objects.get(pk=done.pk).processed_at == now
    # Safe to run twice: nothing left for it.
    assert dispatch_pending_events.call_local() == 0
    assert handled == [old.pk]


def test_the_sweep_takes_at_most_limit_events_oldest_first(handled):
    old = [make_event() for _ in range(3)]
    DomainEvent.objects.filter(pk__in=[e.pk for e in old]).update(
        created_at=timezone.now() - tasks.SWEEP_AFTER - timedelta(minutes=1)
    )

    assert dispatch_pending_events.call_local(limit=2) == 2

    assert handled == [old[0].pk, old[1].pk]
    assert DomainEvent.objects.filter(processed_at__isnull=True).count() == 1


def test_the_sweep_interval_defaults_to_a_minute():
    assert tasks.SWEEP_AFTER.total_seconds() == 60
    assert tasks.SWEEP_EVERY_MINUTES == 1
