"""Quote building services: drafts, lines, totals, versions, alternatives, the deal's amount,
the catalog and its import."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook

from crm.customers.tests.factories import AccountFactory, ContactFactory
from crm.sales import quotes
from crm.sales.models import (
    OpportunityEvent,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from crm.sales.tests.factories import OpportunityFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def opportunity(rep):
    account = AccountFactory(owner=rep)
    return OpportunityFactory(
        account=account, contact=ContactFactory(account=account), amount=Decimal("999.00")
    )


@pytest.fixture
def draft(rep, opportunity):
    return quotes.quote_create(actor=rep, opportunity=opportunity, fields={})


def _mark_sent(quote: Quote, *, sequence: int = 1) -> Quote:
    """What the send step (another module) does: number and status."""
    Quote.objects.filter(pk=quote.pk).update(
        status=QuoteStatus.SENT, year=2026, sequence=sequence, number=f"P-2026-{sequence:04d}"
    )
    quote.refresh_from_db()
    return quote


def _line(rep, quote, **values):
    defaults = {"description": "Instalación", "quantity": Decimal(1), "unit_price": Decimal(100)}
    defaults.update(values)
    return quotes.quote_line_add(actor=rep, quote=quote, **defaults)


# -- create and update --


@time_machine.travel(date(2026, 3, 10))
def test_quote_create_takes_the_deals_contact_and_title_and_is_valid_30_days(rep, opportunity):
    quote = quotes.quote_create(actor=rep, opportunity=opportunity, fields={})

    quote.refresh_from_db()
    assert (quote.contact, quote.title, quote.status) == (
        opportunity.contact,
        opportunity.title,
        "draft",
    )
    assert (quote.issue_date, quote.valid_until) == (date(2026, 3, 10), date(2026, 4, 9))
    assert (quote.number, quote.year, quote.sequence, quote.version) == ("", None, None, 1)
    assert quote.created_by == rep
    event = OpportunityEvent.objects.get(opportunity=opportunity, kind="quote")
    assert event.body == f"Quote Draft {quote.pk} created."


def test_quote_create_for_a_deal_the_actor_cannot_see_is_denied(other_rep, opportunity):
    with pytest.raises(PermissionDenied):
        quotes.quote_create(actor=other_rep, opportunity=opportunity, fields={})

    assert Quote.objects.count() == 0


def test_quote_create_refuses_a_contact_of_another_account(rep, opportunity):
    stranger = ContactFactory(account=AccountFactory(owner=rep))

    with pytest.raises(ValidationError) as exc:
        quotes.quote_create(actor=rep, opportunity=opportunity, fields={"contact": stranger})

    assert exc.value.message_dict == {"contact": ["The contact is not a person of this account."]}
    assert Quote.objects.count() == 0


def test_quote_cannot_expire_before_its_date(rep, opportunity):
    with pytest.raises(ValidationError) as exc:
        quotes.quote_create(
            actor=rep,
            opportunity=opportunity,
            fields={"issue_date": date(2026, 5, 1), "valid_until": date(2026, 4, 30)},
        )

    assert exc.value.message_dict == {"valid_until": ["The quote cannot expire before its date."]}


def test_quote_update_changes_a_draft(rep, draft):
    quotes.quote_update(
        actor=rep,
        quote=draft,
        fields={"title": " Oferta A ", "term_months": 24, "notes": "Precios sin IVA"},
    )

    draft.refresh_from_db()
    assert (draft.title, draft.term_months, draft.notes) == ("Oferta A", 24, "Precios sin IVA")


def test_quote_update_of_a_sent_quote_is_refused_and_changes_nothing(rep, draft):
    _mark_sent(draft)

    with pytest.raises(ValidationError):
        quotes.quote_update(actor=rep, quote=draft, fields={"title": "Otro"})

    draft.refresh_from_db()
    assert draft.title == draft.opportunity.title


# -- lines and totals --


def test_line_from_a_product_takes_its_name_unit_price_vat_and_recurrence(rep, draft):
    product = ProductFactory(
        name="Mantenimiento",
        unit="mes",
        unit_price=Decimal("49.90"),
        vat_rate="21",
        recurrence="monthly",
    )

    line = quotes.quote_line_add(actor=rep, quote=draft, product=product, quantity=Decimal(2))

    assert (line.description, line.unit, line.unit_price, line.vat_rate, line.recurrence) == (
        "Mantenimiento",
        "mes",
        Decimal("49.90"),
        "21",
        "monthly",
    )
    assert (line.quantity, line.base, line.position) == (Decimal(2), Decimal("99.80"), 0)
    draft.refresh_from_db()
    assert (draft.subtotal, draft.tax_total, draft.total) == (
        Decimal("99.80"),
        Decimal("20.96"),
        Decimal("120.76"),
    )


def test_an_inactive_product_cannot_be_added(rep, draft):
    product = ProductFactory(is_active=False)

    with pytest.raises(ValidationError):
        quotes.quote_line_add(actor=rep, quote=draft, product=product)

    assert draft.lines.count() == 0


def test_totals_group_vat_per_rate(rep, draft):
    _line(rep, draft, unit_price=Decimal("10.05"), quantity=Decimal(3), vat_rate="21")
    _line(rep, draft, unit_price=Decimal("0.99"), discount_percent=Decimal(50), vat_rate="10")
    _line(rep, draft, unit_price=Decimal(200), vat_rate="exempt")

    draft.refresh_from_db()
    # 30,15 at 21 % = 6,33 (6,3315); 0,50 (0,495 half up) at 10 % = 0,05; 200 exempt
    assert (draft.subtotal, draft.tax_total, draft.total) == (
        Decimal("230.65"),
        Decimal("6.38"),
        Decimal("237.03"),
    )


def test_line_update_recalculates_and_keeps_the_other_values(rep, draft):
    line = _line(rep, draft, unit_price=Decimal(100))

    updated = quotes.quote_line_update(
        actor=rep, line=line, fields={"quantity": Decimal("2.5"), "discount_percent": Decimal(10)}
    )

    assert (updated.quantity, updated.unit_price, updated.base) == (
        Decimal("2.5"),
        Decimal(100),
        Decimal("225.00"),
    )
    draft.refresh_from_db()
    assert draft.total == Decimal("272.25")


def test_line_update_with_a_bad_value_changes_nothing(rep, draft):
    line = _line(rep, draft)

    with pytest.raises(ValidationError) as exc:
        quotes.quote_line_update(actor=rep, line=line, fields={"discount_percent": Decimal(101)})

    assert list(exc.value.message_dict) == ["discount_percent"]
    line.refresh_from_db()
    assert line.discount_percent == Decimal(0)


def test_line_delete_recalculates(rep, draft):
    _line(rep, draft, unit_price=Decimal(100))
    second = _line(rep, draft, unit_price=Decimal(50))

    quotes.quote_line_delete(actor=rep, line=second)

    draft.refresh_from_db()
    assert (draft.lines.count(), draft.subtotal, draft.total) == (
        1,
        Decimal("100.00"),
        Decimal("121.00"),
    )


def test_lines_reorder(rep, draft):
    first, second, third = (_line(rep, draft, description=d) for d in ("A", "B", "C"))

    quotes.quote_lines_reorder(actor=rep, quote=draft, line_ids=[third.pk, first.pk, second.pk])

    assert list(draft.lines.values_list("description", flat=True)) == ["C", "A", "B"]
    with pytest.raises(ValidationError):
        quotes.quote_lines_reorder(actor=rep, quote=draft, line_ids=[third.pk, first.pk])


def test_lines_of_a_sent_quote_cannot_change(rep, draft):
    line = _line(rep, draft)
    _mark_sent(draft)

    with pytest.raises(ValidationError):
        _line(rep, draft)
    with pytest.raises(ValidationError):
        quotes.quote_line_update(actor=rep, line=line, fields={"quantity": Decimal(5)})
    with pytest.raises(ValidationError):
        quotes.quote_line_delete(actor=rep, line=line)

    assert list(draft.lines.values_list("quantity", flat=True)) == [Decimal(1)]


# -- the deal's amount --


def test_deal_amount_follows_the_latest_quote_base(rep, opportunity, draft):
    assert quotes.opportunity_amount_from_quotes(opportunity) is None
    version = opportunity.version

    _line(rep, draft, unit_price=Decimal("1500.00"))

    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("1500.00")
    assert opportunity.version == version + 1


def test_an_empty_new_draft_keeps_the_typed_amount(rep, opportunity, draft):
    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("999.00")


def test_deal_amount_is_the_accepted_quote_even_when_a_newer_one_exists(rep, opportunity, draft):
    _line(rep, draft, unit_price=Decimal(1000))
    Quote.objects.filter(pk=draft.pk).update(status=QuoteStatus.ACCEPTED)
    newer = quotes.quote_create(actor=rep, opportunity=opportunity, fields={})

    _line(rep, newer, unit_price=Decimal(300))

    opportunity.refresh_from_db()
    assert opportunity.amount == Decimal("1000.00")
    assert quotes.opportunity_amount_from_quotes(opportunity) == Decimal("1000.00")


# -- versions and alternatives --


@time_machine.travel(date(2026, 6, 1))
def test_revising_a_sent_quote_makes_version_2_and_keeps_version_1_intact(rep, draft):
    _line(rep, draft, description="Cámara", unit_price=Decimal(250), quantity=Decimal(4))
    Quote.objects.filter(pk=draft.pk).update(valid_until=draft.issue_date + timedelta(days=15))
    draft = _mark_sent(draft, sequence=7)
    v1_lines = list(draft.lines.values_list("description", "quantity", "unit_price", "base"))

    revision = quotes.quote_revise(actor=rep, quote=draft)

    draft.refresh_from_db()
    assert draft.status == QuoteStatus.SUPERSEDED
    assert (draft.number, draft.version, draft.total) == ("P-2026-0007", 1, Decimal("1210.00"))
    assert list(draft.lines.values_list("description", "quantity", "unit_price", "base")) == (
        v1_lines
    )
    assert (revision.status, revision.version, revision.previous) == ("draft", 2, draft)
    assert (revision.year, revision.sequence, revision.number) == (2026, 7, "P-2026-0007")
    assert revision.display_number == "P-2026-0007 v2"
    assert (revision.issue_date, revision.valid_until) == (date(2026, 6, 1), date(2026, 6, 16))
    assert list(revision.lines.values_list("description", "quantity", "unit_price", "base")) == (
        v1_lines
    )
    assert revision.total == Decimal("1210.00")

    # Editing v2 leaves v1 as it was.
    quotes.quote_line_update(
        actor=rep, line=revision.lines.get(), fields={"unit_price": Decimal(200)}
    )
    draft.refresh_from_db()
    assert draft.total == Decimal("1210.00")
    assert list(draft.lines.values_list("unit_price", flat=True)) == [Decimal(250)]


def test_a_draft_or_accepted_quote_cannot_be_revised(rep, draft):
    with pytest.raises(ValidationError):
        quotes.quote_revise(actor=rep, quote=draft)
    Quote.objects.filter(pk=draft.pk).update(status=QuoteStatus.ACCEPTED, number="P-2026-0001")
    with pytest.raises(ValidationError):
        quotes.quote_revise(actor=rep, quote=draft)

    assert Quote.objects.count() == 1


def test_a_replaced_version_cannot_be_revised_twice(rep, draft):
    _mark_sent(draft)
    quotes.quote_revise(actor=rep, quote=draft)

    with pytest.raises(ValidationError):
        quotes.quote_revise(actor=rep, quote=draft)

    assert Quote.objects.count() == 2


@pytest.mark.parametrize("status", ["rejected", "expired"])
def test_a_rejected_or_expired_quote_can_be_revised(rep, draft, status):
    _mark_sent(draft)
    Quote.objects.filter(pk=draft.pk).update(status=status)

    revision = quotes.quote_revise(actor=rep, quote=draft)

    assert revision.version == 2
    draft.refresh_from_db()
    assert draft.status == QuoteStatus.SUPERSEDED


def test_alternative_is_an_unnumbered_draft_with_copied_lines(rep, draft):
    _line(rep, draft, description="Plan básico", unit_price=Decimal(30), recurrence="monthly")
    _mark_sent(draft)

    alternative = quotes.quote_duplicate_as_alternative(actor=rep, quote=draft)

    assert (alternative.status, alternative.number, alternative.sequence) == ("draft", "", None)
    assert (alternative.version, alternative.previous) == (1, None)
    assert alternative.title == f"{draft.title} (alternative)"
    assert list(alternative.lines.values_list("description", "recurrence", "base")) == [
        ("Plan básico", "monthly", Decimal("30.00"))
    ]
    draft.refresh_from_db()
    assert draft.status == QuoteStatus.SENT


def test_alternative_of_a_foreign_quote_is_denied(other_rep, draft):
    with pytest.raises(PermissionDenied):
        quotes.quote_duplicate_as_alternative(actor=other_rep, quote=draft)

    assert Quote.objects.count() == 1


# -- delete --


def test_a_draft_is_deleted_with_its_lines(rep, draft):
    _line(rep, draft)

    quotes.quote_delete(actor=rep, quote=draft)

    assert (Quote.objects.count(), QuoteLine.objects.count()) == (0, 0)


def test_a_sent_quote_is_never_deleted(rep, draft):
    _mark_sent(draft)

    with pytest.raises(ValidationError):
        quotes.quote_delete(actor=rep, quote=draft)

    assert Quote.objects.count() == 1


def test_a_numbered_draft_version_is_never_deleted(rep, draft):
    _mark_sent(draft)
    revision = quotes.quote_revise(actor=rep, quote=draft)

    with pytest.raises(ValidationError):
        quotes.quote_delete(actor=rep, quote=revision)

    assert Quote.objects.count() == 2


# -- catalog --


def test_product_save_by_an_admin(admin):
    category = ProductCategory.objects.create(name="Seguridad")

    product = quotes.product_save(
        actor=admin,
        fields={
            "code": " CAM-01 ",
            "name": "Cámara IP",
            "unit_price": Decimal("129.00"),
            "vat_rate": "21",
            "category": category,
        },
    )

    product.refresh_from_db()
    assert (product.code, product.name, product.category, product.is_active) == (
        "CAM-01",
        "Cámara IP",
        category,
        True,
    )
    assert product.search_text == "cam-01 camara ip"


def test_product_save_by_a_rep_is_denied(rep):
    with pytest.raises(PermissionDenied):
        quotes.product_save(actor=rep, fields={"code": "X", "name": "X", "unit_price": 1})

    assert Product.objects.count() == 0


def test_product_codes_are_unique(admin):
    ProductFactory(code="CAM-01")

    with pytest.raises(ValidationError) as exc:
        quotes.product_save(
            actor=admin, fields={"code": "CAM-01", "name": "Otra", "unit_price": Decimal(1)}
        )

    assert list(exc.value.message_dict) == ["code"]


def test_product_deactivate(admin, rep):
    product = ProductFactory()
    with pytest.raises(PermissionDenied):
        quotes.product_deactivate(actor=rep, product=product)

    quotes.product_deactivate(actor=admin, product=product)

    product.refresh_from_db()
    assert product.is_active is False


# -- import --


def _csv(text: str, encoding: str = "utf-8", name: str = "productos.csv"):
    return SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv")


def test_import_creates_and_updates_by_code_with_spanish_formats(admin):
    ProductCategory.objects.create(name="Seguridad")
    ProductFactory(code="CAM-01", name="Cámara vieja", unit_price=Decimal(100), vat_rate="10")
    upload = _csv(
        "Código;Nombre;Tipo;Unidad;Precio;IVA;Recurrencia;Categoría;Activo\n"
        "CAM-01;Cámara IP;producto;ud.;1.234,56;21 %;puntual;seguridad;sí\n"
        "MAN-01;Mantenimiento;servicio;mes;49,9;10;mensual;;si\n"
        "FOR-01;Formación;servicio;hora;60;exento;;;no\n",
        encoding="cp1252",
    )

    result = quotes.product_import(actor=admin, uploaded_file=upload)

    assert (result.created, result.updated, result.errors) == (2, 1, [])
    rows = list(
        Product.objects.order_by("code").values_list(
            "code", "name", "kind", "unit", "unit_price", "vat_rate", "recurrence", "is_active"
        )
    )
    assert rows == [
        ("CAM-01", "Cámara IP", "product", "ud.", Decimal("1234.56"), "21", "one_off", True),
        ("FOR-01", "Formación", "service", "hora", Decimal("60.00"), "exempt", "one_off", False),
        ("MAN-01", "Mantenimiento", "service", "mes", Decimal("49.90"), "10", "monthly", True),
    ]
    assert Product.objects.get(code="CAM-01").category.name == "Seguridad"


def test_import_reports_bad_rows_and_writes_the_good_ones(admin):
    upload = _csv(
        "code,name,price,vat,category\n"
        "A1,Uno,10,21,\n"
        "A2,Dos,diez,21,\n"
        "A3,Tres,10,15,\n"
        "A4,Cuatro,10,21,Inexistente\n"
        ",Sin código,10,21,\n"
        "A1,Repetido,10,21,\n"
        "A5,,10,21,\n"
    )

    result = quotes.product_import(actor=admin, uploaded_file=upload)

    assert (result.created, result.updated) == (1, 0)
    assert result.errors == [
        (3, "“diez” is not a price such as 1.234,56."),
        (4, "“15” is not a VAT rate (21, 10, 4, 0 or exento)."),
        (5, "There is no category “Inexistente”."),
        (6, "The code is empty."),
        (7, "The code A1 is repeated from row 2."),
        (8, "A new product needs its name and unit price."),
    ]
    assert list(Product.objects.values_list("code", flat=True)) == ["A1"]


def test_import_empty_cells_keep_the_current_values(admin):
    ProductFactory(code="A1", name="Uno", unit_price=Decimal("5.00"), vat_rate="4")

    result = quotes.product_import(
        actor=admin, uploaded_file=_csv("Código;Nombre;Precio;IVA\nA1;;7,5;\n")
    )

    assert (result.created, result.updated) == (0, 1)
    product = Product.objects.get()
    assert (product.name, product.unit_price, product.vat_rate) == ("Uno", Decimal("7.50"), "4")


def test_import_reads_xlsx(admin):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Referencia", "Producto", "PVP", "IVA"])
    sheet.append(["X-1", "Router", 89.9, 21])
    buffer = io.BytesIO()
    workbook.save(buffer)
    upload = SimpleUploadedFile("catalogo.xlsx", buffer.getvalue())

    result = quotes.product_import(actor=admin, uploaded_file=upload)

    assert (result.created, result.errors) == (1, [])
    product = Product.objects.get()
    assert (product.code, product.name, product.unit_price, product.vat_rate) == (
        "X-1",
        "Router",
        Decimal("89.90"),
        "21",
    )


def test_import_without_a_code_column_is_refused(admin):
    with pytest.raises(ValidationError) as exc:
        quotes.product_import(actor=admin, uploaded_file=_csv("Nombre;Precio\nUno;1\n"))

    assert exc.value.message_dict == {"file": ["The file needs a column with the product's code."]}
    assert Product.objects.count() == 0


def test_import_by_a_rep_is_denied(rep):
    with pytest.raises(PermissionDenied):
        quotes.product_import(actor=rep, uploaded_file=_csv("code;name;price\nA;B;1\n"))

    assert Product.objects.count() == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21 %", "21"),
        ("21%", "21"),
        ("10", "10"),
        ("4,0", "4"),
        ("0", "0"),
        ("Exento", "exempt"),
        ("exenta", "exempt"),
    ],
)
def test_vat_rate_from_text(text, expected):
    assert quotes.vat_rate_from_text(text) == expected
