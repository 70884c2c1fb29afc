"""Sending a quote: through a real SMTP server on the loopback, numbering, the deal's stage,
and what a failed send leaves behind (nothing)."""

import email
import socket
import threading
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from crm.customers.models import Lifecycle
from crm.sales import delivery
from crm.sales.models import (
    OpportunityEvent,
    Quote,
    QuoteSequence,
    QuoteStatus,
    Stage,
    StageChange,
)
from crm.sales.tests.test_pdf import make_quote

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


class Sink:
    """An SMTP handler that keeps what it receives, or refuses it when told to."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse = False
        self.port = _free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        if self.refuse:
            return "554 Message refused by policy"
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    """A real SMTP server on 127.0.0.1 that Django's SMTP backend talks to."""
    sink = Sink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "presupuestos@alarmasnorte.es"
    yield sink
    sink.stop()


def _parse(envelope):
    return email.message_from_bytes(envelope.original_content, policy=policy.default)


def _stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def _year() -> int:
    return timezone.localdate().year


# -- sending --


def test_send_emails_the_pdf_and_answer_link_numbers_the_quote_and_moves_the_deal(smtp, rep):
    # given
    quote = make_quote(owner=rep, issue_date=timezone.localdate() - timedelta(days=3))
    opportunity = quote.opportunity
    # when
    sent = delivery.quote_send(
        actor=rep, quote=quote, message="Como hablamos ayer.", base_url="https://crm.example.es/"
    )
    # then: the quote
    quote.refresh_from_db()
    number = f"P-{_year()}-0001"
    assert (quote.status, quote.number, quote.year, quote.sequence) == (
        QuoteStatus.SENT,
        number,
        _year(),
        1,
    )
    assert quote.sent_at is not None
    assert quote.issue_date == timezone.localdate()
    assert sent.pk == quote.pk
    # the message that arrived
    assert len(smtp.messages) == 1
    envelope = smtp.messages[0]
    assert envelope.mail_from == "presupuestos@alarmasnorte.es"
    assert envelope.rcpt_tos == [opportunity.contact.email]
    message = _parse(envelope)
    assert message["To"] == opportunity.contact.email
    assert message["Reply-To"] == rep.email
    assert f"{number} — Mi empresa" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = delivery.quote_answer_link(quote, "https://crm.example.es")
    assert link.startswith("https://crm.example.es/q/")
    assert link in body
    assert "Como hablamos ayer." in body
    assert "3.373,63\xa0€" in body
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [f"{number}.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content().startswith(b"%PDF-")
    # the deal moved from "En análisis" to "Oferta presentada", with its history and timeline
    opportunity.refresh_from_db()
    assert opportunity.stage.name == "Oferta presentada"
    assert opportunity.probability == 40
    assert list(
        StageChange.objects.filter(opportunity=opportunity)
        .order_by("id")
        .values_list("from_stage__name", "to_stage__name")
    ) == [("En análisis", "Oferta presentada")]
    assert list(opportunity.events.order_by("id").values_list("kind", flat=True)) == [
        "stage",
        "quote",
    ]
    event = opportunity.events.get(kind="quote")
    assert event.actor == rep
    assert number in event.body
    assert opportunity.contact.email in event.body


def test_numbers_are_sequential_per_year(smtp, rep):
    first, second = make_quote(owner=rep), make_quote(owner=rep)

    delivery.quote_send(actor=rep, quote=second, to="compras@cliente.es")
    delivery.quote_send(actor=rep, quote=first, to="compras@cliente.es")

    second.refresh_from_db()
    first.refresh_from_db()
    assert (second.number, first.number) == (f"P-{_year()}-0001", f"P-{_year()}-0002")
    assert QuoteSequence.objects.get(year=_year()).last_number == 2
    assert [m.rcpt_tos for m in smtp.messages] == [["compras@cliente.es"], ["compras@cliente.es"]]


def _assert_nothing_changed(quote: Quote, stage_name: str = "En análisis") -> None:
    quote.refresh_from_db()
    assert (quote.status, quote.number, quote.sequence, quote.sent_at) == (
        QuoteStatus.DRAFT,
        "",
        None,
        None,
    )
    assert QuoteSequence.objects.filter(year=_year(), last_number__gt=0).count() == 0
    opportunity = quote.opportunity
    opportunity.refresh_from_db()
    assert opportunity.stage.name == stage_name
    assert not StageChange.objects.filter(opportunity=opportunity).exists()
    assert not OpportunityEvent.objects.filter(opportunity=opportunity).exists()


def test_a_server_that_cannot_be_reached_leaves_the_quote_a_draft_and_the_number_free(smtp, rep):
    # given
    quote = make_quote(owner=rep)
    smtp.stop()
    # when
    with pytest.raises(delivery.QuoteDeliveryError):
        delivery.quote_send(actor=rep, quote=quote)
    # then
    _assert_nothing_changed(quote)
    # and the next send that works takes number 1
    smtp.start()
    delivery.quote_send(actor=rep, quote=quote)
    quote.refresh_from_db()
    assert quote.number == f"P-{_year()}-0001"


def test_a_server_that_refuses_the_message_leaves_nothing_changed(smtp, rep):
    quote = make_quote(owner=rep)
    smtp.refuse = True

    with pytest.raises(delivery.QuoteDeliveryError, match="554"):
        delivery.quote_send(actor=rep, quote=quote)

    _assert_nothing_changed(quote)
    assert smtp.messages == []


def test_a_revision_keeps_the_number_with_its_version(smtp, rep):
    # given: version 1 sent, then revised (as the quote builder does: a new draft, v1 replaced)
    first = make_quote(owner=rep)
    delivery.quote_send(actor=rep, quote=first)
    first.refresh_from_db()
    revision = make_quote(opportunity=first.opportunity)
    Quote.objects.filter(pk=revision.pk).update(
        previous=first,
        version=2,
        year=first.year,
        sequence=first.sequence,
        number=first.number,
    )
    Quote.objects.filter(pk=first.pk).update(status=QuoteStatus.SUPERSEDED)
    revision.refresh_from_db()
    # when
    delivery.quote_send(actor=rep, quote=revision)
    # then
    revision.refresh_from_db()
    number = f"P-{_year()}-0001"
    assert (revision.number, revision.version, revision.status) == (number, 2, QuoteStatus.SENT)
    assert revision.display_number == f"{number} v2"
    assert QuoteSequence.objects.get(year=_year()).last_number == 1
    message = _parse(smtp.messages[-1])
    assert f"{number} v2" in message["Subject"]
    assert [a.get_filename() for a in message.iter_attachments()] == [f"{number}-v2.pdf"]


def test_a_revision_without_its_number_copied_takes_the_previous_ones(smtp, rep):
    first = make_quote(owner=rep)
    delivery.quote_send(actor=rep, quote=first)
    revision = make_quote(opportunity=first.opportunity)
    Quote.objects.filter(pk=revision.pk).update(previous=first, version=2)

    delivery.quote_send(actor=rep, quote=revision)

    revision.refresh_from_db()
    first.refresh_from_db()
    assert revision.display_number == f"P-{_year()}-0001 v2"
    assert first.status == QuoteStatus.SUPERSEDED


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("En análisis", "Oferta presentada"),
        ("Oferta presentada", "Oferta presentada"),
        ("En negociación", "En negociación"),
    ],
)
def test_the_deal_moves_to_offer_presented_only_from_an_earlier_stage(smtp, rep, start, expected):
    quote = make_quote(owner=rep)
    opportunity = quote.opportunity
    stage = _stage(start)
    type(opportunity).objects.filter(pk=opportunity.pk).update(stage=stage)
    moves_before = StageChange.objects.filter(opportunity=opportunity).count()

    delivery.quote_send(actor=rep, quote=quote)

    opportunity.refresh_from_db()
    assert opportunity.stage.name == expected
    moved = StageChange.objects.filter(opportunity=opportunity).count() - moves_before
    assert moved == (1 if start == "En análisis" else 0)


def test_a_renamed_offer_stage_is_found_by_its_place_second_open_stage(smtp, rep):
    Stage.objects.filter(name="Oferta presentada").update(name="Propuesta enviada")
    quote = make_quote(owner=rep)

    delivery.quote_send(actor=rep, quote=quote)

    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage.name == "Propuesta enviada"


def test_a_closed_deal_does_not_move(smtp, rep):
    quote = make_quote(owner=rep)
    type(quote.opportunity).objects.filter(pk=quote.opportunity_id).update(stage=_stage("Ganada"))

    delivery.quote_send(actor=rep, quote=quote)

    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage.name == "Ganada"


def test_a_quote_without_recipient_lines_or_validity_is_refused_and_nothing_changes(smtp, rep):
    no_email = make_quote(owner=rep)
    type(no_email.contact).objects.filter(pk=no_email.contact_id).update(email="")
    no_email.refresh_from_db()
    no_lines = make_quote(owner=rep, lines=[])
    out_of_date = make_quote(owner=rep, valid_until=timezone.localdate() - timedelta(days=1))

    with pytest.raises(ValidationError) as no_email_error:
        delivery.quote_send(actor=rep, quote=no_email)
    with pytest.raises(ValidationError) as bad_email_error:
        delivery.quote_send(actor=rep, quote=no_email, to="no-es-un-correo")
    with pytest.raises(ValidationError, match="at least one line"):
        delivery.quote_send(actor=rep, quote=no_lines)
    with pytest.raises(ValidationError, match="valid until"):
        delivery.quote_send(actor=rep, quote=out_of_date)

    assert list(no_email_error.value.error_dict) == ["to"]
    assert list(bad_email_error.value.error_dict) == ["to"]
    for quote in (no_email, no_lines, out_of_date):
        _assert_nothing_changed(quote)
    assert smtp.messages == []


def test_a_sent_quote_cannot_be_sent_again(smtp, rep):
    quote = make_quote(owner=rep)
    delivery.quote_send(actor=rep, quote=quote)

    with pytest.raises(ValidationError, match="Only a draft"):
        delivery.quote_send(actor=rep, quote=quote)

    assert len(smtp.messages) == 1
    assert QuoteSequence.objects.get(year=_year()).last_number == 1


def test_someone_who_does_not_see_the_deal_cannot_send_its_quote(smtp, rep, other_rep):
    quote = make_quote(owner=rep)

    with pytest.raises(PermissionDenied):
        delivery.quote_send(actor=other_rep, quote=quote)

    _assert_nothing_changed(quote)
    assert smtp.messages == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sends_get_distinct_gapless_numbers_on_postgresql(smtp, rep):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers anyway")
    quotes = [make_quote(owner=rep) for _ in range(6)]
    barrier = threading.Barrier(len(quotes))
    errors = []

    def send(quote):
        try:
            barrier.wait()
            delivery.quote_send(actor=rep, quote=quote)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(quote,)) for quote in quotes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    numbers = sorted(Quote.objects.values_list("sequence", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert QuoteSequence.objects.get(year=_year()).last_number == 6
    assert len(smtp.messages) == 6


# -- winning the deal --


def _accept(quote: Quote) -> None:
    Quote.objects.filter(pk=quote.pk).update(status=QuoteStatus.ACCEPTED)
    quote.refresh_from_db()


def test_an_accepted_quote_wins_the_deal_and_makes_the_account_a_customer(rep):
    quote = make_quote(owner=rep)
    _accept(quote)

    opportunity = delivery.quote_win_opportunity(actor=rep, quote=quote)

    opportunity.refresh_from_db()
    assert opportunity.stage.name == "Ganada"
    assert opportunity.closed_at is not None
    assert opportunity.account.lifecycle == Lifecycle.CUSTOMER


def test_only_an_accepted_quote_wins_the_deal(rep):
    quote = make_quote(owner=rep)

    with pytest.raises(ValidationError, match="accepted"):
        delivery.quote_win_opportunity(actor=rep, quote=quote)

    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage.name == "En análisis"


# -- pages --


def test_send_page_offers_the_contacts_address(client, rep):
    quote = make_quote(owner=rep)
    client.force_login(rep)

    response = client.get(reverse("quote-send", args=[quote.pk]))

    assert response.status_code == 200
    assert response.context["form"]["to"].value() == quote.contact.email
    assert 'id="quote-send-form"' in response.content.decode()


def test_send_page_sends_and_goes_back_to_the_quote(client, smtp, rep):
    quote = make_quote(owner=rep)
    client.force_login(rep)

    response = client.post(
        reverse("quote-send", args=[quote.pk]), {"to": "Jefa@Cliente.es", "message": "Hola"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"/quotes/{quote.pk}/"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    assert smtp.messages[0].rcpt_tos == ["jefa@cliente.es"]
    body = _parse(smtp.messages[0]).get_body(preferencelist=("plain",)).get_content()
    assert "http://testserver/q/" in body


def test_send_page_shows_a_clear_message_when_the_mail_server_fails(client, smtp, rep):
    quote = make_quote(owner=rep)
    smtp.stop()
    client.force_login(rep)

    response = client.post(reverse("quote-send", args=[quote.pk]), {"to": "a@cliente.es"})

    assert response.status_code == 200
    content = response.content.decode()
    assert "could not be sent" in content or "no se ha podido enviar" in content
    _assert_nothing_changed(quote)


def test_send_page_reports_a_bad_address_beside_the_field(client, smtp, rep):
    quote = make_quote(owner=rep)
    client.force_login(rep)

    response = client.post(reverse("quote-send", args=[quote.pk]), {"to": "no-es-un-correo"})

    assert response.status_code == 200
    assert response.context["form"].errors["to"]
    assert 'id="id_to_error"' in response.content.decode()
    _assert_nothing_changed(quote)


def test_send_page_of_a_foreign_quote_is_404_and_sends_nothing(client, smtp, rep, other_rep):
    quote = make_quote(owner=rep)
    client.force_login(other_rep)

    get = client.get(reverse("quote-send", args=[quote.pk]))
    post = client.post(reverse("quote-send", args=[quote.pk]), {"to": "a@cliente.es"})

    assert (get.status_code, post.status_code) == (404, 404)
    _assert_nothing_changed(quote)
    assert smtp.messages == []


def test_win_page_wins_the_deal_of_an_accepted_quote(client, rep):
    quote = make_quote(owner=rep)
    _accept(quote)
    client.force_login(rep)

    response = client.post(reverse("quote-win", args=[quote.pk]))

    assert response.status_code == 302
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage.name == "Ganada"


def test_win_page_of_a_foreign_quote_is_404(client, rep, other_rep):
    quote = make_quote(owner=rep)
    _accept(quote)
    client.force_login(other_rep)

    response = client.post(reverse("quote-win", args=[quote.pk]))

    assert response.status_code == 404
    quote.opportunity.refresh_from_db()
    assert quote.opportunity.stage.name == "En análisis"


def test_a_send_button_posting_without_the_form_shows_the_form(client, smtp, rep):
    quote = make_quote(owner=rep)
    client.force_login(rep)

    response = client.post(reverse("quote-send", args=[quote.pk]))

    assert response.status_code == 200
    assert response.context["form"]["to"].value() == quote.contact.email
    assert not response.context["form"].errors
    _assert_nothing_changed(quote)
    assert smtp.messages == []
