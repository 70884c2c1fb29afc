"""Sent quotes expire the day after their validity date."""

from datetime import date

import pytest

from crm.sales import delivery, tasks
from crm.sales.models import OpportunityEvent, Quote, QuoteStatus
from crm.sales.tests.test_pdf import make_quote
from crm.sales.tests.test_public_answer import sent_quote

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 27)


def test_sent_quotes_past_their_validity_expire_with_an_event_on_each_deal(rep):
    # given
    past = sent_quote(owner=rep, valid_until=date(2026, 11, 26))
    past_too = sent_quote(owner=rep, sequence=2, valid_until=date(2026, 10, 1))
    last_day = sent_quote(owner=rep, sequence=3, valid_until=TODAY)
    accepted = sent_quote(owner=rep, sequence=4, valid_until=date(2026, 11, 1))
    Quote.objects.filter(pk=accepted.pk).update(status=QuoteStatus.ACCEPTED)
    draft = make_quote(owner=rep, valid_until=date(2026, 11, 1))
    # when
    expired = delivery.quote_expire_due(TODAY)
    # then
    assert expired == 2
    statuses = dict(Quote.objects.values_list("pk", "status"))
    assert statuses == {
        past.pk: QuoteStatus.EXPIRED,
        past_too.pk: QuoteStatus.EXPIRED,
        last_day.pk: QuoteStatus.SENT,
        accepted.pk: QuoteStatus.ACCEPTED,
        draft.pk: QuoteStatus.DRAFT,
    }
    events = OpportunityEvent.objects.filter(kind="quote").order_by("opportunity_id")
    assert [(e.opportunity_id, e.actor) for e in events] == [
        (past.opportunity_id, None),
        (past_too.opportunity_id, None),
    ]
    assert past.number in events[0].body


def test_expiring_twice_changes_nothing_the_second_time(rep):
    sent_quote(owner=rep, valid_until=date(2026, 11, 26))

    first = delivery.quote_expire_due(TODAY)
    second = delivery.quote_expire_due(TODAY)

    assert (first, second) == (1, 0)
    assert OpportunityEvent.objects.filter(kind="quote").count() == 1


def test_expiry_works_through_batches(rep, monkeypatch):
    monkeypatch.setattr(delivery, "EXPIRY_CHUNK", 2)
    first = sent_quote(owner=rep, valid_until=date(2026, 11, 1))
    for sequence in range(2, 6):
        sent_quote(opportunity=first.opportunity, sequence=sequence, valid_until=date(2026, 11, 1))

    assert delivery.quote_expire_due(TODAY) == 5
    assert set(Quote.objects.values_list("status", flat=True)) == {QuoteStatus.EXPIRED}
    assert OpportunityEvent.objects.filter(kind="quote").count() == 5


def test_the_periodic_task_expires_due_quotes(rep):
    quote = sent_quote(owner=rep, valid_until=date(2020, 1, 31))

    assert tasks.quote_expiry.call_local() == 1

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.EXPIRED
