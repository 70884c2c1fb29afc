"""A quote as a document: the HTML that the customer's page shows and the PDF that WeasyPrint
makes from it.

Numbers and dates are written the Spanish way (1.234,56 €, 27/11/2026) whatever language the
reader chose, and the labels speak the company's language (settings.LANGUAGE_CODE): the
document goes to a Spanish customer.

WeasyPrint fetches every image, stylesheet and font a document names through a URL fetcher.
Ours (`LockedURLFetcher`) serves only the project's own static files and the data: URIs this
module built itself (the company's logo, read from storage here); it refuses everything else
(http, https, file, ftp, other paths, any other data: URI), so no text typed into a quote can
make the server fetch a URL or read a local file, even if it escaped the template's escaping.
"""

import base64
import gc
import mimetypes
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from crm.core.models import CompanySettings
from crm.core.selectors import company_settings_get
from crm.core.validation import format_phone
from crm.sales import money
from crm.sales.models import Quote, Recurrence

# Relative URLs of the document resolve against this base; the host is reserved (.invalid),
# so nothing outside this module could ever answer for it.
BASE_URL = "https://crm-document.invalid/"
LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


# -- Spanish formats --


def format_number(value: Decimal | int | None, places: int = 2) -> str:
    """1234.5 -> "1.234,50" (places decimals, half-up, thousands with dots)."""
    if value is None:
        return ""
    quantized = money.cents(value) if places == 2 else Decimal(value).quantize(Decimal(1))
    sign = "-" if quantized < 0 else ""
    whole, _dot, fraction = f"{abs(quantized):.{places}f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups)
    return f"{sign}{text},{fraction}" if fraction else f"{sign}{text}"


def format_money(value: Decimal | None) -> str:
    """1234.5 -> "1.234,50 €" (with a non-breaking space before the sign)."""
    if value is None:
        return ""
    return f"{format_number(value)}\xa0€"


def format_quantity(value: Decimal) -> str:
    """A quantity without the zeros it doesn't need: 2 -> "2", 1.500 -> "1,5"."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return format_number(value, places=0)
    text = format(value.normalize(), "f")
    whole, _dot, fraction = text.partition(".")
    return f"{format_number(Decimal(whole), places=0)},{fraction}"


def format_percent(value: Decimal) -> str:
    return f"{format_quantity(value)}\xa0%"


def format_date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def vat_label(rate: str) -> str:
    if rate == "exempt":
        return _("Exempt")
    return format_percent(money.VAT_PERCENT[rate])


# -- the document's data --


def _logo_data_uri(company: CompanySettings) -> str:
    """The logo, read from storage by this code and inlined; "" when there is none."""
    if not company.logo:
        return ""
    mime = LOGO_TYPES.get(PurePosixPath(company.logo.name).suffix.lower())
    if mime is None:
        return ""
    try:
        with company.logo.open("rb") as handle:
            data = handle.read(LOGO_MAX_BYTES + 1)
    except OSError:
        return ""
    if not data or len(data) > LOGO_MAX_BYTES:
        return ""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _address(street: str, postal_code: str, city: str, province: str) -> list[str]:
    place = " ".join(part for part in (postal_code, city) if part)
    if province and province not in place:
        place = f"{place} ({province})" if place else province
    return [line for line in (street, place) if line]


@dataclass
class QuoteDocument:
    """What the PDF and the customer's page print, already formatted."""

    context: dict[str, Any]
    logo_uri: str


def quote_document(quote: Quote) -> QuoteDocument:
    """Everything the document shows, with numbers and dates already written the Spanish way
    (a 200-line quote formats in Python once instead of through template filters), and its
    labels in the company's language."""
    with translation.override(settings.LANGUAGE_CODE):
        return _quote_document(quote)


def _quote_document(quote: Quote) -> QuoteDocument:
    company = company_settings_get()
    opportunity = quote.opportunity
    account = opportunity.account
    contact = quote.contact or opportunity.contact
    lines = list(quote.lines.select_related("product"))
    rows = []
    for index, line in enumerate(lines, start=1):
        recurrence = ""
        if line.recurrence == Recurrence.MONTHLY:
            recurrence = _("per month")
        elif line.recurrence == Recurrence.YEARLY:
            recurrence = _("per year")
        rows.append(
            {
                "number": index,
                "code": line.product.code if line.product else "",
                "description": line.description,
                "quantity": format_quantity(line.quantity),
                "unit": line.unit,
                "unit_price": format_money(line.unit_price),
                "discount": format_percent(line.discount_percent) if line.discount_percent else "",
                "vat": vat_label(line.vat_rate),
                "amount": format_money(line.base),
                "recurrence": recurrence,
            }
        )
    totals = money.totals((line.base, line.vat_rate) for line in lines)
    groups = [
        {
            "label": vat_label(group.rate),
            "base": format_money(group.base),
            "tax": format_money(group.tax),
        }
        for group in totals.groups
    ]
    recurring = None
    if any(line.recurrence != Recurrence.ONE_OFF for line in lines):
        value = money.recurring_value(
            ((line.base, line.recurrence) for line in lines), quote.term_months
        )
        recurring = {
            "one_off": format_money(value.one_off),
            "monthly": format_money(value.monthly),
            "yearly": format_money(value.yearly),
            "term_months": value.term_months,
            "term_total": format_money(value.term_total),
        }
    logo_uri = _logo_data_uri(company)
    context = {
        "quote": quote,
        "number": quote.display_number,
        "is_draft": not quote.number,
        "issue_date": format_date(quote.issue_date),
        "valid_until": format_date(quote.valid_until),
        "company": {
            "name": company.name,
            "nif": company.nif,
            "address": _address(
                company.street,
                company.postal_code,
                company.city,
                company.get_province_display() if company.province else "",
            ),
            "phone": format_phone(company.phone),
            "email": company.email,
            "website": company.website,
        },
        "logo_uri": logo_uri,
        "customer": {
            "name": account.name,
            "nif": account.nif,
            "address": _address(
                account.billing_street,
                account.billing_postal_code,
                account.billing_city,
                account.get_billing_province_display() if account.billing_province else "",
            ),
            "contact": contact.full_name if contact else "",
            "email": contact.email if contact else "",
        },
        "rows": rows,
        "groups": groups,
        "show_groups": len(groups) > 1 or any(g.rate != "21" for g in totals.groups),
        "subtotal": format_money(totals.subtotal),
        "tax_total": format_money(totals.tax_total),
        "total": format_money(totals.total),
        "recurring": recurring,
    }
    return QuoteDocument(context=context, logo_uri=logo_uri)


def render_quote_html(quote: Quote, document: QuoteDocument | None = None) -> str:
    """The HTML that becomes the PDF, in the company's language."""
    document = document or quote_document(quote)
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string("sales/quote_pdf.html", document.context)


# -- the URL fetcher --


class ResourceRefused(ValueError):
    """A document named a resource it may not have."""


class LockedURLFetcher(URLFetcher):
    """Serves the project's own static files and the data: URIs it was given; refuses the rest.

    It never calls urllib (the parent's `fetch`): there is no fallback to the network or the
    file system.
    """

    def __init__(self, data_uris: tuple[str, ...] = ()) -> None:
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        self._data_uris = frozenset(uri for uri in data_uris if uri)
        base = urlsplit(BASE_URL)
        self._origin = (base.scheme, base.netloc)
        self._static_prefix = urlsplit(settings.STATIC_URL).path or "/static/"
        if not self._static_prefix.startswith("/"):
            self._static_prefix = "/" + self._static_prefix
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        try:
            if url.startswith("data:"):
                return self._data(url)
            return self._static(url)
        except ResourceRefused:
            self.refused.append(url)
            raise

    def _data(self, url: str) -> URLFetcherResponse:
        if url not in self._data_uris:
            raise ResourceRefused(f"data URI not built by the document: {url[:40]}")
        header, _comma, payload = url.partition(",")
        mime = header.removeprefix("data:").removesuffix(";base64")
        return URLFetcherResponse(
            url, body=base64.b64decode(payload), headers={"Content-Type": mime}
        )

    def _static(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            raise ResourceRefused(f"not one of the project's files: {url}")
        if not parts.path.startswith(self._static_prefix):
            raise ResourceRefused(f"not a static file: {url}")
        name = unquote(parts.path[len(self._static_prefix) :])
        segments = name.split("/")
        if (
            not name
            or "\\" in name
            or "\x00" in name
            or name.startswith("/")
            or any(segment in ("", ".", "..") for segment in segments)
        ):
            raise ResourceRefused(f"not a static file: {url}")
        body = self._read_static(name)
        if body is None:
            raise ResourceRefused(f"no such static file: {url}")
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=body, headers={"Content-Type": mime})

    @staticmethod
    def _read_static(name: str) -> bytes | None:
        """The file from the apps' and project's static folders (development), else from the
        collected static files (production, where names carry a hash)."""
        try:
            found = finders.find(name)
            if found:
                with open(found, "rb") as handle:  # noqa: PTH123
                    return handle.read()
            if staticfiles_storage.exists(name):
                with staticfiles_storage.open(name) as handle:
                    return handle.read()
        except (OSError, SuspiciousFileOperation):
            return None
        return None


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _cyclic_gc_paused():
    """Pause Python's cyclic garbage collector while WeasyPrint lays a document out.

    WeasyPrint allocates millions of small objects; each of them counts towards a collection,
    and every full collection walks all the objects of the Django process too (a quarter of a
    200-line quote's time, bench/quote_pdf.py). Reference counting still frees what it can;
    the cycles are collected once the collector runs again. Counted, so that renders in
    several threads leave it as they found it.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def html_to_pdf(
    html: str, *, data_uris: tuple[str, ...] = (), fetcher: LockedURLFetcher | None = None
) -> bytes:
    """PDF bytes of an HTML document, fetching through the locked fetcher only."""
    fetcher = fetcher or LockedURLFetcher(data_uris=data_uris)
    with _cyclic_gc_paused():
        return HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf()


def quote_pdf(quote: Quote) -> bytes:
    """The quote's PDF, A4, with the company's logo and data, lines and tax breakdown."""
    document = quote_document(quote)
    html = render_quote_html(quote, document)
    return html_to_pdf(html, data_uris=(document.logo_uri,))


def quote_pdf_filename(quote: Quote) -> str:
    if not quote.number:
        return f"presupuesto-borrador-{quote.pk}.pdf"
    suffix = f"-v{quote.version}" if quote.version > 1 else ""
    return f"{quote.number}{suffix}.pdf"
