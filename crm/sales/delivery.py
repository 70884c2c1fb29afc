"""A quote on its way to the customer and back: sending it by e-mail with its PDF, the signed
link where the customer accepts or rejects it, winning the deal from an accepted quote, and
the expiry of quotes whose validity date has passed.

Sending numbers the quote, marks it sent, moves the deal and sends the e-mail in ONE
transaction, the e-mail last: if the mail server refuses or cannot be reached, everything
rolls back, the quote stays a draft and its number is given back (numbers have no gaps). The
price is that concurrent senders wait for each other's SMTP conversation (the number's row
lock is held until commit); for a business of 1 to 15 users that is seconds at worst, and
the connection has a timeout (settings.EMAIL_TIMEOUT, else 30 s).

The answer link carries the quote's id, version and number, signed with the project's secret
(salt "quote-answer"): it cannot be forged, it opens only the quote it was made for, and it
stops working when the quote expires, is answered, or is replaced by a newer version.
"""

import smtplib
from datetime import date

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email, validate_ipv46_address
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.core.events import record_event
from crm.core.selectors import company_settings_get
from crm.sales import pdf, services
from crm.sales.delivery_selectors import quote_get_by_id
from crm.sales.models import (
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    Pipeline,
    Quote,
    QuoteStatus,
    Stage,
    StageKind,
)
from crm.users.models import User

ANSWER_SALT = "quote-answer"
# The stage a deal reaches when its quote is sent, by name; see `offered_stage`.
OFFERED_STAGE_NAME = "Oferta presentada"
NAME_MAX = 200
NOTE_MAX = 2000
EXPIRY_CHUNK = 500


class QuoteDeliveryError(Exception):
    """The e-mail could not be sent; nothing was changed."""


class QuoteLinkInvalid(Exception):
    """A forged, altered or unknown answer link (the page answers 404)."""


class QuoteLinkClosed(Exception):
    """A genuine link that can no longer be used to answer."""

    def __init__(self, reason: str, quote: Quote) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired", "answered" or "replaced"
        self.quote = quote


# -- the answer link --


def quote_answer_token(quote: Quote) -> str:
    """The same token every time for the same quote version: expiry comes from the quote's
    validity date, not from the token."""
    return signing.Signer(salt=ANSWER_SALT).sign_object(
        {"q": quote.pk, "v": quote.version, "n": quote.number}
    )


def quote_answer_link(quote: Quote, base_url: str = "") -> str:
    """The customer's link, absolute when base_url ("https://crm.example.com") is given."""
    path = reverse("quote-public", args=[quote_answer_token(quote)])
    return f"{base_url.rstrip('/')}{path}" if base_url else path


def quote_from_token(token: str) -> Quote:
    """The quote a genuine link names; QuoteLinkInvalid for anything else."""
    try:
        data = signing.Signer(salt=ANSWER_SALT).unsign_object(token)
        quote_id, version, number = int(data["q"]), int(data["v"]), str(data["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise QuoteLinkInvalid from exc
    quote = quote_get_by_id(quote_id)
    if quote is None or not number or (quote.version, quote.number) != (version, number):
        raise QuoteLinkInvalid
    return quote


def quote_answer_state(quote: Quote, today: date | None = None) -> str:
    """ "open" while the customer may answer; otherwise why not: "answered", "replaced",
    "expired"; "invalid" for a quote that was never sent."""
    today = today or timezone.localdate()
    if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.REJECTED):
        return "answered"
    if quote.status == QuoteStatus.SUPERSEDED or Quote.objects.filter(previous=quote).exists():
        return "replaced"
    if quote.status == QuoteStatus.EXPIRED or (
        quote.status == QuoteStatus.SENT and today > quote.valid_until
    ):
        return "expired"
    if quote.status == QuoteStatus.SENT:
        return "open"
    return "invalid"


# -- sending --


def offered_stage(pipeline: Pipeline) -> Stage | None:
    """The stage that means "the offer is with the customer": the open stage named
    "Oferta presentada" if the pipeline has one, else its second open stage (the default
    pipeline's order: analysis, offer, negotiation), else none."""
    stages = list(
        pipeline.stages.filter(kind=StageKind.OPEN, is_active=True).order_by("position", "id")
    )
    for stage in stages:
        if stage.name.strip().casefold() == OFFERED_STAGE_NAME.casefold():
            return stage
    return stages[1] if len(stages) >= 2 else None


def quote_recipient(quote: Quote) -> str:
    """Whom the quote goes to by default: its contact, else the deal's."""
    contact = quote.contact or quote.opportunity.contact
    return contact.email if contact and contact.email else ""


def _event(opportunity_id: int, actor: User | None, body: str, changes: dict) -> OpportunityEvent:
    return OpportunityEvent(
        opportunity_id=opportunity_id,
        kind=OpportunityEventKind.QUOTE,
        actor=actor,
        body=body,
        changes=changes,
    )


def _status_change(old: str, new: str) -> dict:
    return {"status": [str(QuoteStatus(old).label), str(QuoteStatus(new).label)]}


def _email(*, quote: Quote, actor: User, to: str, message: str, base_url: str) -> EmailMessage:
    company = company_settings_get()
    contact = quote.contact or quote.opportunity.contact
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Quote %(number)s — %(company)s") % {
            "number": quote.display_number,
            "company": company.name,
        }
        body = render_to_string(
            "sales/emails/quote_email.txt",
            {
                "quote": quote,
                "number": quote.display_number,
                "company": company,
                "contact_name": contact.first_name if contact else "",
                "message": message,
                "link": quote_answer_link(quote, base_url),
                "valid_until": pdf.format_date(quote.valid_until),
                "total": pdf.format_money(quote.total),
                "sender": actor.get_full_name() or actor.get_username(),
            },
        )
        attachment = pdf.quote_pdf(quote)
    email = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[actor.email] if actor.email else None,
        connection=get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 30),
    )
    email.attach(pdf.quote_pdf_filename(quote), attachment, "application/pdf")
    return email


@transaction.atomic
def quote_send(
    *, actor: User, quote: Quote, to: str | None = None, message: str = "", base_url: str = ""
) -> Quote:
    """Send a draft quote to the customer by e-mail, with its PDF and answer link.

    The quote gets its number (P-<year>-NNNN, the year it is sent; a revision keeps its
    number), today's date, and the status sent; the deal moves to the offered stage if it was
    earlier in its pipeline. Raises ValidationError (field "to" for the address) for what the
    user can fix, QuoteDeliveryError when the mail server fails: then nothing is changed.
    """
    if not Quote.objects.visible_to(actor).filter(pk=quote.pk).exists():
        raise PermissionDenied
    current = (
        Quote.objects.select_for_update(of=("self",))
        .select_related("opportunity__pipeline", "opportunity__stage", "contact", "previous")
        .get(pk=quote.pk)
    )
    if not current.can_transition_to(QuoteStatus.SENT):
        raise ValidationError(
            _("Only a draft can be sent; this quote is %(status)s.")
            % {"status": current.get_status_display().lower()}
        )
    if not current.lines.exists():
        raise ValidationError(_("Add at least one line before sending the quote."))
    today = timezone.localdate()
    if current.valid_until < today:
        raise ValidationError(
            _("The quote was valid until %(date)s; change its validity date before sending it.")
            % {"date": pdf.format_date(current.valid_until)}
        )
    recipient = (to or "").strip().lower() or quote_recipient(current)
    if not recipient:
        raise ValidationError({"to": _("The contact has no e-mail address: write one.")})
    try:
        validate_email(recipient)
    except ValidationError as exc:
        raise ValidationError({"to": _("Enter a valid e-mail address.")}) from exc

    opportunity = current.opportunity
    target = offered_stage(opportunity.pipeline)
    if (
        target is not None
        and opportunity.stage.is_open
        and opportunity.stage.position < target.position
    ):
        services.opportunity_move(actor=actor, opportunity=opportunity, stage=target)

    previous = current.previous
    if previous is not None and previous.status == QuoteStatus.SENT:
        # A revision sent while the old version was still open replaces it.
        Quote.objects.filter(pk=previous.pk).update(
            status=QuoteStatus.SUPERSEDED, updated_at=timezone.now()
        )

    # The number last among the writes: its row lock is held until commit.
    if not current.number:
        if previous is not None and previous.number:
            current.year, current.sequence = previous.year, previous.sequence
            current.number = previous.number
        else:
            current.year = today.year
            current.sequence = services.quote_number_next(today.year)
            current.number = services.format_quote_number(current.year, current.sequence)
    current.status = QuoteStatus.SENT
    current.sent_at = timezone.now()
    current.issue_date = today
    current.save(
        update_fields=[
            "year",
            "sequence",
            "number",
            "status",
            "sent_at",
            "issue_date",
            "updated_at",
        ]
    )
    OpportunityEvent.objects.bulk_create(
        [
            _event(
                opportunity.pk,
                actor,
                _("Quote %(number)s sent to %(email)s")
                % {"number": current.display_number, "email": recipient},
                _status_change(QuoteStatus.DRAFT, QuoteStatus.SENT),
            )
        ]
    )

    record_event("quote.sent", current, actor=actor)
    # The e-mail last: if it fails, the exception rolls all of the above back.
    email = _email(
        quote=current, actor=actor, to=recipient, message=message.strip(), base_url=base_url
    )
    try:
        email.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        raise QuoteDeliveryError(str(exc) or exc.__class__.__name__) from exc
    return current


# -- the customer's answer --


def quote_answer(*, token: str, accept: bool, name: str, ip: str, note: str = "") -> Quote:
    """The customer accepts or rejects the quote through its link (no login).

    Records who (the name they typed), when and from which address; an accepted quote sets the
    deal's amount (its base before VAT). The deal is not won automatically: its owner marks it
    won from the quote's page (`quote_win_opportunity`).
    Raises QuoteLinkInvalid (404), QuoteLinkClosed (expired, answered, replaced) or
    ValidationError (field "name").
    """
    quote = quote_from_token(token)
    with transaction.atomic():
        current = (
            Quote.objects.select_for_update(of=("self",))
            .select_related("opportunity")
            .get(pk=quote.pk)
        )
        state = quote_answer_state(current)
        if state != "open":
            raise QuoteLinkClosed(state, current)
        name = " ".join((name or "").split())
        note = (note or "").strip()
        if accept and not name:
            raise ValidationError({"name": _("Write your name to accept the quote.")})
        if len(name) > NAME_MAX:
            raise ValidationError(
                {"name": _("Use at most %(max)s characters.") % {"max": NAME_MAX}}
            )
        if len(note) > NOTE_MAX:
            raise ValidationError(
                {"note": _("Use at most %(max)s characters.") % {"max": NOTE_MAX}}
            )
        try:
            validate_ipv46_address(ip)
        except ValidationError:
            ip = None
        status = QuoteStatus.ACCEPTED if accept else QuoteStatus.REJECTED
        if not current.can_transition_to(status):
            raise QuoteLinkClosed("answered", current)
        current.status = status
        current.answered_at = timezone.now()
        current.answered_by_name = name
        current.answered_ip = ip
        current.answer_note = note
        current.save(
            update_fields=[
                "status",
                "answered_at",
                "answered_by_name",
                "answered_ip",
                "answer_note",
                "updated_at",
            ]
        )
        with translation.override(settings.LANGUAGE_CODE):
            values = {"number": current.display_number, "name": name or "—"}
            if accept:
                body = _("Quote %(number)s accepted by %(name)s") % values
            else:
                body = _("Quote %(number)s rejected by %(name)s") % values
            if note:
                body = f"{body}: {note}"
            changes = _status_change(QuoteStatus.SENT, status)
        OpportunityEvent.objects.bulk_create([_event(current.opportunity_id, None, body, changes)])
        record_event("quote.accepted" if accept else "quote.rejected", current)
        if accept and current.opportunity.amount != current.subtotal:
            services.opportunity_update(
                actor=None,  # type: ignore[arg-type]  # the customer, not a user
                opportunity=current.opportunity,
                fields={"amount": current.subtotal},
            )
    return current


def quote_win_opportunity(*, actor: User, quote: Quote) -> Opportunity:
    """Win the deal of an accepted quote: move it to its pipeline's won stage."""
    if not Quote.objects.visible_to(actor).filter(pk=quote.pk).exists():
        raise PermissionDenied
    quote = Quote.objects.select_related("opportunity__stage", "opportunity__pipeline").get(
        pk=quote.pk
    )
    if quote.status != QuoteStatus.ACCEPTED:
        raise ValidationError(_("Only an accepted quote can win the deal."))
    opportunity = quote.opportunity
    if not opportunity.stage.is_open:
        raise ValidationError(_("The deal is already closed."))
    won = (
        opportunity.pipeline.stages.filter(kind=StageKind.WON, is_active=True)
        .order_by("position", "id")
        .first()
    )
    if won is None:
        raise ValidationError(_("The pipeline has no won stage."))
    return services.opportunity_move(actor=actor, opportunity=opportunity, stage=won)


# -- expiry --


def quote_expire_due(today: date | None = None) -> int:
    """Mark sent quotes whose validity date has passed as expired (the day after it), with an
    event on each deal. Set-based and safe to run twice; returns how many expired."""
    today = today or timezone.localdate()
    expired = 0
    while True:
        with transaction.atomic():
            rows = list(
                Quote.objects.select_for_update()
                .filter(status=QuoteStatus.SENT, valid_until__lt=today)
                .order_by("pk")
                .values_list("pk", "opportunity_id", "number", "version")[:EXPIRY_CHUNK]
            )
            if not rows:
                return expired
            Quote.objects.filter(pk__in=[row[0] for row in rows]).update(
                status=QuoteStatus.EXPIRED, updated_at=timezone.now()
            )
            with translation.override(settings.LANGUAGE_CODE):
                changes = _status_change(QuoteStatus.SENT, QuoteStatus.EXPIRED)
                events = [
                    _event(
                        opportunity_id,
                        None,
                        _("Quote %(number)s expired") % {"number": _display(number, version)},
                        changes,
                    )
                    for _pk, opportunity_id, number, version in rows
                ]
            OpportunityEvent.objects.bulk_create(events)
        expired += len(rows)


def _display(number: str, version: int) -> str:
    return number if version == 1 else f"{number} v{version}"
