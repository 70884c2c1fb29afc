"""The quote's document: Spanish formats, the PDF, and the URL fetcher that keeps WeasyPrint
from reaching anything but the project's own static files."""

import base64
import gc
import io
import shutil
import subprocess
import urllib.request
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from crm.core.selectors import company_settings_get
from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.sales import pdf, services
from crm.sales.models import Quote, QuoteLine
from crm.sales.tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

# (description, quantity, unit price, discount %, VAT, recurrence)
LINES = [
    ("Instalación de alarma", "2", "1234.50", "10", "21", "one_off"),
    ("Mantenimiento anual", "1", "300.00", "0", "21", "yearly"),
    ("Cuota de conexión", "1", "19.90", "0", "10", "monthly"),
    ("Formación exenta", "3", "100.00", "0", "exempt", "one_off"),
]


def make_quote(*, owner=None, opportunity=None, lines=LINES, **fields) -> Quote:
    """A draft quote with its lines and totals, built with the models and quote_recalculate."""
    if opportunity is None:
        account = AccountFactory(
            **({"owner": owner} if owner else {}),
            name="Talleres Pérez SL",
            nif="B12345674",
            billing_street="Calle Mayor 1",
            billing_postal_code="28013",
        )
        contact = ContactFactory(account=account, first_name="Ana", last_name="Gil")
        opportunity = OpportunityFactory(account=account, contact=contact, title="Alarmas 2026")
    fields.setdefault("valid_until", timezone.localdate() + timedelta(days=30))
    fields.setdefault("title", "Seguridad para la nave")
    quote = Quote.objects.create(opportunity=opportunity, contact=opportunity.contact, **fields)
    for position, (description, quantity, price, discount, vat, recurrence) in enumerate(lines):
        QuoteLine.objects.create(
            quote=quote,
            position=position,
            description=description,
            quantity=Decimal(quantity),
            unit="ud.",
            unit_price=Decimal(price),
            discount_percent=Decimal(discount),
            vat_rate=vat,
            recurrence=recurrence,
        )
    return services.quote_recalculate(quote)


# -- formats --


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.5"), "1.234,50\xa0€"),
        (Decimal("0"), "0,00\xa0€"),
        (Decimal("999.995"), "1.000,00\xa0€"),
        (Decimal("1234567.891"), "1.234.567,89\xa0€"),
        (Decimal("-12.3"), "-12,30\xa0€"),
    ],
)
def test_money_is_written_the_spanish_way(value, expected):
    assert pdf.format_money(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(Decimal("2.000"), "2"), (Decimal("1.500"), "1,5"), (Decimal("1000"), "1.000")],
)
def test_quantities_lose_the_zeros_they_dont_need(value, expected):
    assert pdf.format_quantity(value) == expected


def test_dates_are_day_month_year():
    assert pdf.format_date(date(2026, 11, 27)) == "27/11/2026"


# -- the document --


def test_document_shows_company_customer_lines_taxes_and_totals_in_spanish_formats(rep):
    # given
    company = company_settings_get()
    company.name, company.nif, company.city = "Alarmas Norte SL", "B87654321", "Bilbao"
    company.save()
    quote = make_quote(owner=rep, issue_date=date(2026, 11, 27), valid_until=date(2026, 12, 27))
    # when: even for a reader who chose English
    with translation.override("en"):
        html = pdf.render_quote_html(quote)
    # then
    with translation.override("es"):
        draft_number = quote.display_number  # "Borrador 12", in the company's language
    assert (quote.subtotal, quote.tax_total, quote.total) == (
        Decimal("2842.00"),
        Decimal("531.63"),
        Decimal("3373.63"),
    )
    for text in [
        "Alarmas Norte SL",
        "B87654321",
        "Talleres Pérez SL",
        "B12345674",
        "Calle Mayor 1",
        "28013 Madrid",
        "Ana Gil",
        "27/11/2026",
        "27/12/2026",
        "Seguridad para la nave",
        "Instalación de alarma",
        "1.234,50\xa0€",
        "2.222,10\xa0€",
        '<td class="num" id="quote-subtotal">2.842,00\xa0€</td>',
        '<td class="num" id="quote-tax">531,63\xa0€</td>',
        '<td class="num" id="quote-total">3.373,63\xa0€</td>',
        f'<td id="quote-number">{draft_number}</td>',
    ]:
        assert text in html, text
    assert "Alarmas 2026" not in html  # the deal's own title stays inside the CRM


def test_document_shows_the_tax_breakdown_per_rate_and_the_recurring_value(rep):
    quote = make_quote(owner=rep, term_months=24)

    context = pdf.quote_document(quote).context

    assert context["groups"] == [
        {"label": "21\xa0%", "base": "2.522,10\xa0€", "tax": "529,64\xa0€"},
        {"label": "10\xa0%", "base": "19,90\xa0€", "tax": "1,99\xa0€"},
        {"label": "Exento", "base": "300,00\xa0€", "tax": "0,00\xa0€"},
    ]
    assert context["recurring"] == {
        "one_off": "2.522,10\xa0€",
        "monthly": "44,90\xa0€",  # 19.90 + 300 / 12
        "yearly": "538,80\xa0€",  # 19.90 × 12 + 300
        "term_months": 24,
        "term_total": "3.599,70\xa0€",  # 2522.10 + 44.90 × 24
    }
    assert (context["subtotal"], context["tax_total"], context["total"]) == (
        "2.842,00\xa0€",
        "531,63\xa0€",
        "3.373,63\xa0€",
    )


def test_a_sent_quote_shows_its_number_and_version(rep):
    quote = make_quote(owner=rep)
    Quote.objects.filter(pk=quote.pk).update(
        year=2026, sequence=7, number="P-2026-0007", version=2, status="sent"
    )
    quote.refresh_from_db()

    html = pdf.render_quote_html(quote)

    assert '<td id="quote-number">P-2026-0007 v2</td>' in html
    assert "qd-draft" not in html.split("<body>")[1]
    assert pdf.quote_pdf_filename(quote) == "P-2026-0007-v2.pdf"


def test_pdf_is_an_a4_document_and_a_long_quote_repeats_over_pages(rep):
    long_lines = [(f"Línea {n} de material", "1", "10.00", "0", "21", "one_off") for n in range(80)]
    quote = make_quote(owner=rep, lines=long_lines)
    document = pdf.quote_document(quote)
    html = pdf.render_quote_html(quote, document)

    data = pdf.quote_pdf(quote)
    rendered = HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.LockedURLFetcher()).render()

    assert data.startswith(b"%PDF-")
    assert len(data) > 5000
    assert len(rendered.pages) >= 2
    first = rendered.pages[0]
    assert (round(first.width * 25.4 / 96), round(first.height * 25.4 / 96)) == (210, 297)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
def test_pdf_text_has_the_number_lines_and_totals_in_spanish_formats(rep, tmp_path):
    quote = make_quote(owner=rep, issue_date=date(2026, 11, 27), valid_until=date(2026, 12, 27))
    Quote.objects.filter(pk=quote.pk).update(year=2026, sequence=3, number="P-2026-0003")
    quote.refresh_from_db()
    path = tmp_path / "quote.pdf"
    path.write_bytes(pdf.quote_pdf(quote))

    text = subprocess.run(  # noqa: S603
        ["pdftotext", "-layout", str(path), "-"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    for expected in [
        "P-2026-0003",
        "27/11/2026",
        "27/12/2026",
        "Talleres Pérez SL",
        "Instalación de alarma",
        "2.222,10",
        "2.842,00",
        "531,63",
        "3.373,63",
        "Exento",
    ]:
        assert expected in text, expected


# -- the URL fetcher --


def test_fetcher_serves_a_real_static_file():
    fetcher = pdf.LockedURLFetcher()

    response = fetcher.fetch(pdf.BASE_URL + "static/crm/app.css")

    with open(finders.find("crm/app.css"), "rb") as handle:  # noqa: PTH123
        assert response.read() == handle.read()
    assert response.content_type == "text/css"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "http://example.com/logo.png",
        "https://example.com/static/crm/app.css",
        "http://127.0.0.1:8000/static/crm/app.css",
        "ftp://example.com/x",
        pdf.BASE_URL + "etc/passwd",
        pdf.BASE_URL + "media/company/logo.png",
        pdf.BASE_URL + "static/../../../etc/passwd",
        pdf.BASE_URL + "static/%2e%2e/%2e%2e/etc/passwd",
        pdf.BASE_URL + "static//etc/passwd",
        pdf.BASE_URL + "static/crm/..%5c..%5csettings.py",
        pdf.BASE_URL + "static/no-such-file.css",
        "data:image/png;base64,iVBORw0KGgo=",
        "data:text/css,body{background:url(file:///etc/passwd)}",
    ],
)
def test_fetcher_refuses_everything_else(url, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the fetcher fell back to urllib")

    monkeypatch.setattr(URLFetcher, "fetch", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    fetcher = pdf.LockedURLFetcher()

    with pytest.raises(pdf.ResourceRefused):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_only_the_data_uris_it_was_given():
    logo = "data:image/png;base64," + base64.b64encode(b"not-really-a-png").decode()
    fetcher = pdf.LockedURLFetcher(data_uris=(logo,))

    assert fetcher.fetch(logo).read() == b"not-really-a-png"
    with pytest.raises(pdf.ResourceRefused):
        fetcher.fetch(logo + "AAAA")


def test_malicious_css_and_html_reaching_weasyprint_are_refused(monkeypatch):
    """Even markup that got past the template's escaping can't fetch anything."""

    def no_network(*args, **kwargs):
        raise AssertionError("the fetcher fell back to urllib")

    monkeypatch.setattr(URLFetcher, "fetch", no_network)
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", no_network)
    html = """<html><head>
      <link rel="stylesheet" href="http://evil.example/x.css">
      <style>@import url("file:///etc/passwd");
        body { background: url(file:///etc/shadow); }
        p { background-image: url('https://evil.example/track.png'); }
        @font-face { font-family: x; src: url(/etc/passwd); }
      </style></head>
      <body><p style="background: url(http://169.254.169.254/latest/meta-data)">x</p>
      <img src="file:///etc/passwd"><img src="../../../../etc/hostname">
      <object data="file:///etc/passwd"></object><p style="font-family: x">y</p></body></html>"""
    fetcher = pdf.LockedURLFetcher()

    data = pdf.html_to_pdf(html, fetcher=fetcher)

    assert data.startswith(b"%PDF-")
    assert set(fetcher.refused) >= {
        "http://evil.example/x.css",
        "file:///etc/passwd",
        "file:///etc/shadow",
    }
    assert b"root:" not in data


def test_markup_typed_into_a_quote_is_printed_as_text_and_fetches_nothing(rep, monkeypatch):
    # given
    calls = []
    monkeypatch.setattr(URLFetcher, "fetch", lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(
        pdf.LockedURLFetcher, "fetch", lambda self, url, headers=None: calls.append(url)
    )
    evil = '<img src="file:///etc/passwd"><link rel=stylesheet href="http://evil.example/x.css">'
    quote = make_quote(
        owner=rep,
        lines=[(evil, "1", "10.00", "0", "21", "one_off")],
        notes='<style>body{background:url("file:///etc/passwd")}</style>',
        title='<script src="http://evil.example/x.js"></script>',
    )
    # when
    html = pdf.render_quote_html(quote)
    data = pdf.quote_pdf(quote)
    # then
    assert data.startswith(b"%PDF-")
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html
    assert "&lt;style&gt;" in html
    assert "<script" not in html
    assert calls == []


def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (18, 58, 107)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_company_logo_is_read_from_storage_and_inlined(rep, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    company = company_settings_get()
    company.logo.save("logo.png", ContentFile(_png_bytes()), save=True)
    quote = make_quote(owner=rep)
    fetched = []
    original = pdf.LockedURLFetcher.fetch

    def spy(self, url, headers=None):
        fetched.append(url[:22])
        return original(self, url, headers)

    document = pdf.quote_document(quote)
    html = pdf.render_quote_html(quote, document)
    fetcher = pdf.LockedURLFetcher(data_uris=(document.logo_uri,))
    pdf.LockedURLFetcher.fetch = spy
    try:
        data = pdf.html_to_pdf(html, fetcher=fetcher)
    finally:
        pdf.LockedURLFetcher.fetch = original

    assert document.logo_uri == "data:image/png;base64," + base64.b64encode(_png_bytes()).decode()
    assert f'src="{document.logo_uri}"' in html
    assert fetched == ["data:image/png;base64,"]
    assert fetcher.refused == []
    assert data.startswith(b"%PDF-")


# -- the page --


def test_pdf_page_answers_a_pdf_to_whoever_sees_the_deal(client, rep, manager):
    quote = make_quote(owner=rep)
    client.force_login(manager)

    response = client.get(reverse("quote-pdf", args=[quote.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == f'inline; filename="presupuesto-borrador-{quote.pk}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")


def test_pdf_page_of_a_foreign_quote_is_404(client, rep, other_rep):
    quote = make_quote(owner=rep)
    client.force_login(other_rep)

    response = client.get(reverse("quote-pdf", args=[quote.pk]))

    assert response.status_code == 404


def test_pdf_page_needs_a_login(client, rep):
    quote = make_quote(owner=rep)

    response = client.get(reverse("quote-pdf", args=[quote.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_rendering_pauses_the_cyclic_gc_and_always_restores_it():
    assert gc.isenabled()
    with pdf._cyclic_gc_paused():
        with pdf._cyclic_gc_paused():  # another thread's render at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()

    with pytest.raises(RuntimeError), pdf._cyclic_gc_paused():
        raise RuntimeError

    assert gc.isenabled()
    pdf.html_to_pdf("<p>hola</p>")
    assert gc.isenabled()
