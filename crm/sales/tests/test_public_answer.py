"""The customer's answer through the signed link: no login, one quote, one answer, until the
quote's validity date."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from crm.sales import delivery
from crm.sales.models import OpportunityEvent, Quote, QuoteStatus
from crm.sales.tests.test_pdf import make_quote

pytestmark = pytest.mark.django_db

CUSTOMER_IP = "203.0.113.7"


def sent_quote(*, owner=None, opportunity=None, sequence=1, version=1, **fields) -> Quote:
    """A quote as sending leaves it (numbered, sent), without going through SMTP."""
    quote = make_quote(owner=owner, opportunity=opportunity, **fields)
    year = timezone.localdate().year
    Quote.objects.filter(pk=quote.pk).update(
        status=QuoteStatus.SENT,
        year=year,
        sequence=sequence,
        version=version,
        number=f"P-{year}-{sequence:04d}",
        sent_at=timezone.now(),
    )
    quote.refresh_from_db()
    return quote


def _url(quote: Quote, name: str = "quote-public") -> str:
    return reverse(name, args=[delivery.quote_answer_token(quote)])


def _accept(client, quote, name="Ana Gil"):
    return client.post(
        _url(quote), {"action": "accept", "accept-name": name}, REMOTE_ADDR=CUSTOMER_IP
    )


def _unchanged(quote: Quote, status: str = QuoteStatus.SENT) -> None:
    quote.refresh_from_db()
    assert (quote.status, quote.answered_at, quote.answered_by_name, quote.answered_ip) == (
        status,
        None,
        "",
        None,
    )


# -- the page --


def test_the_customer_sees_the_quote_without_logging_in(client, rep):
    quote = sent_quote(owner=rep)

    response = client.get(_url(quote))

    assert response.status_code == 200
    content = response.content.decode()
    assert quote.number in content
    assert "3.373,63\xa0€" in content
    assert 'id="accept-form"' in content
    assert 'id="reject-form"' in content
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_accepting_records_name_time_and_address_and_sets_the_deals_amount(client, rep):
    # given
    quote = sent_quote(owner=rep)
    before = timezone.now()
    # when
    response = _accept(client, quote, name="  Ana   Gil ")
    # then
    assert response.status_code == 302
    assert response["Location"] == _url(quote)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert quote.answered_by_name == "Ana Gil"
    assert quote.answered_ip == CUSTOMER_IP
    assert before <= quote.answered_at <= timezone.now()
    opportunity = quote.opportunity
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("2842.00")  # the quote's base, before VAT
    assert opportunity.stage.name == "En análisis"  # winning is the owner's decision
    event = OpportunityEvent.objects.get(opportunity=opportunity, kind="quote")
    assert event.actor is None
    assert "Ana Gil" in event.body
    assert quote.number in event.body
    # and the link now says it was answered
    page = client.get(_url(quote))
    assert 'id="answer-accepted"' in page.content.decode()
    assert "Ana Gil" in page.content.decode()


def test_accepting_needs_a_name_beside_the_field(client, rep):
    quote = sent_quote(owner=rep)

    response = _accept(client, quote, name="   ")

    assert response.status_code == 200
    assert response.context["accept_form"].errors["name"]
    assert 'id="id_accept-name_error"' in response.content.decode()
    _unchanged(quote)


def test_rejecting_records_the_reason_and_leaves_the_amount(client, rep):
    quote = sent_quote(owner=rep)

    response = client.post(
        _url(quote),
        {"action": "reject", "reject-name": "", "reject-note": "Demasiado caro"},
        REMOTE_ADDR=CUSTOMER_IP,
    )

    assert response.status_code == 302
    quote.refresh_from_db()
    assert (quote.status, quote.answer_note, quote.answered_ip) == (
        QuoteStatus.REJECTED,
        "Demasiado caro",
        CUSTOMER_IP,
    )
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.amount is None
    assert "Demasiado caro" in OpportunityEvent.objects.get(kind="quote").body
    assert 'id="answer-rejected"' in client.get(_url(quote)).content.decode()


def test_an_answered_quote_cannot_be_answered_again(client, rep):
    quote = sent_quote(owner=rep)
    _accept(client, quote)
    token = delivery.quote_answer_token(quote)

    response = client.post(_url(quote), {"action": "reject", "reject-note": "Cambio de idea"})
    with pytest.raises(delivery.QuoteLinkClosed) as closed:
        delivery.quote_answer(token=token, accept=False, name="Otro", ip=CUSTOMER_IP)

    assert response.status_code == 200
    assert 'id="answer-accepted"' in response.content.decode()
    assert closed.value.reason == "answered"
    quote.refresh_from_db()
    assert (quote.status, quote.answered_by_name, quote.answer_note) == (
        QuoteStatus.ACCEPTED,
        "Ana Gil",
        "",
    )
    assert OpportunityEvent.objects.filter(kind="quote").count() == 1


@pytest.mark.parametrize("status", [QuoteStatus.SENT, QuoteStatus.EXPIRED])
def test_an_expired_link_says_so_and_accepts_nothing(client, rep, status):
    quote = sent_quote(owner=rep, valid_until=timezone.localdate() - timedelta(days=1))
    Quote.objects.filter(pk=quote.pk).update(status=status)

    page = client.get(_url(quote))
    post = _accept(client, quote)
    pdf = client.get(_url(quote, "quote-public-pdf"))

    for response in (page, post, pdf):
        assert response.status_code == 200
        assert 'id="link-expired"' in response.content.decode()
    _unchanged(quote, status)
    with pytest.raises(delivery.QuoteLinkClosed) as closed:
        delivery.quote_answer(
            token=delivery.quote_answer_token(quote), accept=True, name="Ana", ip=CUSTOMER_IP
        )
    assert closed.value.reason == "expired"


def test_the_last_day_of_validity_still_accepts(client, rep):
    quote = sent_quote(owner=rep, valid_until=timezone.localdate())

    response = _accept(client, quote)

    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED


def _tamper(token: str, payload_of: str) -> str:
    """The signature of one token on the payload of another."""
    return payload_of.rsplit(":", 1)[0] + ":" + token.rsplit(":", 1)[1]


def test_forged_or_altered_links_answer_404(client, rep):
    quote = sent_quote(owner=rep)
    other = sent_quote(owner=rep, sequence=2)
    token = delivery.quote_answer_token(quote)
    forged = [
        "cualquier-cosa",
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        _tamper(token, delivery.quote_answer_token(other)),
        signing.Signer(salt="otra-sal").sign_object({"q": quote.pk, "v": 1, "n": quote.number}),
        signing.dumps({"q": quote.pk, "v": 1, "n": quote.number}),
        signing.Signer(salt=delivery.ANSWER_SALT).sign_object({"q": 999999, "v": 1, "n": "x"}),
        signing.Signer(salt=delivery.ANSWER_SALT).sign_object({"q": quote.pk}),
    ]

    for bad in forged:
        assert client.get(reverse("quote-public", args=[bad])).status_code == 404, bad
        assert (
            client.post(
                reverse("quote-public", args=[bad]), {"action": "accept", "accept-name": "X"}
            ).status_code
            == 404
        )
        assert client.get(reverse("quote-public-pdf", args=[bad])).status_code == 404
        with pytest.raises(delivery.QuoteLinkInvalid):
            delivery.quote_answer(token=bad, accept=True, name="X", ip=CUSTOMER_IP)
    _unchanged(quote)
    _unchanged(other)


def test_the_link_of_one_quote_answers_only_that_quote(client, rep):
    quote_a = sent_quote(owner=rep)
    quote_b = sent_quote(opportunity=quote_a.opportunity, sequence=2)

    _accept(client, quote_a)

    quote_a.refresh_from_db()
    assert quote_a.status == QuoteStatus.ACCEPTED
    _unchanged(quote_b)


def test_a_link_carries_the_version_and_number_it_was_made_for(client, rep):
    quote = sent_quote(owner=rep)
    token = delivery.quote_answer_token(quote)
    Quote.objects.filter(pk=quote.pk).update(number="P-2020-0099")

    assert client.get(reverse("quote-public", args=[token])).status_code == 404


@pytest.mark.parametrize("old_status", [QuoteStatus.SENT, QuoteStatus.SUPERSEDED])
def test_the_link_of_version_1_stops_working_once_version_2_exists(client, rep, old_status):
    # given
    first = sent_quote(owner=rep)
    second = make_quote(opportunity=first.opportunity)
    Quote.objects.filter(pk=second.pk).update(
        previous=first, version=2, year=first.year, sequence=1, number=first.number
    )
    Quote.objects.filter(pk=first.pk).update(status=old_status)
    # when
    page = client.get(_url(first))
    post = _accept(client, first)
    # then
    for response in (page, post):
        assert response.status_code == 200
        assert 'id="link-replaced"' in response.content.decode()
    _unchanged(first, old_status)
    second.refresh_from_db()
    assert second.status == QuoteStatus.DRAFT
    # and a draft (version 2 before it is sent) has no working link at all
    assert client.get(_url(second)).status_code == 404


def test_the_page_shows_nothing_of_the_crm_beyond_the_quote(client, rep):
    # given: a deal with internal data and another quote
    quote = sent_quote(owner=rep)
    opportunity = quote.opportunity
    type(opportunity).objects.filter(pk=opportunity.pk).update(
        next_step="Llamar al director financiero", amount=Decimal("99999.00")
    )
    type(opportunity.account).objects.filter(pk=opportunity.account_id).update(
        notes="Cliente moroso en 2024"
    )
    other = sent_quote(opportunity=opportunity, sequence=2, title="Alternativa barata")
    # when
    content = client.get(_url(quote)).content.decode()
    # then
    for secret in [
        opportunity.title,
        "Llamar al director financiero",
        "99.999",
        "Cliente moroso",
        other.number,
        "Alternativa barata",
        rep.email,
        rep.get_full_name(),
        "logout",
        "/accounts/",
        "/opportunities/",
    ]:
        assert secret not in content, secret


def test_the_customer_downloads_the_pdf_through_the_link(client, rep):
    quote = sent_quote(owner=rep)

    response = client.get(_url(quote, "quote-public-pdf"), {"download": "1"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{quote.number}.pdf"'
    assert response.content.startswith(b"%PDF-")
