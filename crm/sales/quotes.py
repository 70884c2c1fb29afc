"""Everything that changes quotes while they are built, and the catalog of products.

A quote is edited only as a draft. Its lines' bases and its totals are recalculated by
`services.quote_recalculate` after every change, and the deal's amount follows its quotes
(`opportunity_amount_from_quotes`). Sending (numbering), the PDF and the customer's answer
live in other modules; revising a sent quote makes a new draft version with the same number.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.models import VatRate
from crm.core.tabular import csv_rows, fold_header, inspect_file, is_blank, xlsx_rows
from crm.core.text import fold
from crm.sales import services
from crm.sales.models import (
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    Product,
    ProductCategory,
    ProductKind,
    Quote,
    QuoteLine,
    QuoteStatus,
    Recurrence,
)
from crm.sales.quote_forms import parse_decimal
from crm.users.models import User

QUOTE_FIELDS = {"contact", "title", "issue_date", "valid_until", "term_months", "notes"}
LINE_FIELDS = {
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount_percent",
    "vat_rate",
    "recurrence",
}
PRODUCT_FIELDS = {
    "code",
    "name",
    "description",
    "kind",
    "category",
    "unit",
    "unit_price",
    "vat_rate",
    "recurrence",
    "is_active",
}
DEFAULT_VALIDITY_DAYS = 30
REVISABLE = {QuoteStatus.SENT, QuoteStatus.REJECTED, QuoteStatus.EXPIRED}


def _check_fields(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")


def _check_visible(actor: User, opportunity: Opportunity) -> None:
    if not Opportunity.objects.visible_to(actor).filter(pk=opportunity.pk).exists():
        raise PermissionDenied


def _lock_draft(quote: Quote) -> Quote:
    """The stored quote under a row lock; only a draft may change."""
    current = Quote.objects.select_for_update().select_related("opportunity").get(pk=quote.pk)
    if not current.is_editable:
        raise ValidationError(_("Only a draft quote can be changed; revise it to change it."))
    return current


def _event(actor: User, quote: Quote, body: str) -> None:
    OpportunityEvent.objects.create(
        opportunity_id=quote.opportunity_id,
        kind=OpportunityEventKind.QUOTE,
        actor=actor,
        changes={"quote": quote.pk},
        body=body,
    )


def _check_dates(quote: Quote) -> None:
    if quote.valid_until and quote.issue_date and quote.valid_until < quote.issue_date:
        raise ValidationError({"valid_until": _("The quote cannot expire before its date.")})


def _check_contact(quote: Quote, opportunity: Opportunity) -> None:
    if quote.contact_id and quote.contact.account_id != opportunity.account_id:
        raise ValidationError({"contact": _("The contact is not a person of this account.")})


# -- the deal's amount --


def opportunity_amount_from_quotes(opportunity: Opportunity) -> Decimal | None:
    """The deal's amount as its quotes give it: the accepted quote's base (before VAT), else the
    latest quote's that has lines and is not replaced by a newer version. None when no quote
    gives an amount (the typed amount stays)."""
    quotes = opportunity.quotes.exclude(status=QuoteStatus.SUPERSEDED)
    accepted = quotes.filter(status=QuoteStatus.ACCEPTED).order_by("-answered_at", "-id").first()
    if accepted is not None:
        return accepted.subtotal
    latest = quotes.filter(lines__isnull=False).order_by("-created_at", "-id").first()
    return latest.subtotal if latest is not None else None


def _sync_amount(actor: User, opportunity_id: int) -> None:
    """Store the amount the quotes give on the deal, bumping its version (someone editing the
    deal meanwhile gets a conflict instead of overwriting it). No timeline row: it follows
    every keystroke of the quote builder."""
    opportunity = Opportunity.objects.select_for_update(of=("self",)).get(pk=opportunity_id)
    amount = opportunity_amount_from_quotes(opportunity)
    if amount is None or amount == opportunity.amount:
        return
    Opportunity.objects.filter(pk=opportunity_id).update(
        amount=amount, version=F("version") + 1, updated_by=actor, updated_at=timezone.now()
    )


def _recalculate(actor: User, quote: Quote) -> Quote:
    services.quote_recalculate(quote)
    _sync_amount(actor, quote.opportunity_id)
    return quote


# -- quotes --


@transaction.atomic
def quote_create(*, actor: User, opportunity: Opportunity, fields: dict[str, Any]) -> Quote:
    """A new draft quote for a deal the actor sees. The contact defaults to the deal's, the
    title to the deal's, the date to today and the validity to 30 days after it."""
    _check_fields(fields, QUOTE_FIELDS)
    _check_visible(actor, opportunity)
    values = {k: v for k, v in fields.items() if v not in (None, "")}
    values.setdefault("contact", opportunity.contact)
    values.setdefault("title", opportunity.title)
    values.setdefault("issue_date", timezone.localdate())
    values.setdefault("valid_until", values["issue_date"] + timedelta(days=DEFAULT_VALIDITY_DAYS))
    quote = Quote(opportunity=opportunity, created_by=actor, **values)
    quote.title = quote.title.strip()[:200]
    _check_contact(quote, opportunity)
    _check_dates(quote)
    quote.full_clean()
    quote.save()
    _event(actor, quote, _("Quote %(number)s created.") % {"number": quote.display_number})
    return quote


@transaction.atomic
def quote_update(*, actor: User, quote: Quote, fields: dict[str, Any]) -> Quote:
    """Change a draft's header: contact, title, dates, term and notes."""
    _check_fields(fields, QUOTE_FIELDS)
    current = _lock_draft(quote)
    for name, value in fields.items():
        if name in {"issue_date", "valid_until", "term_months"} and value in (None, ""):
            continue
        setattr(current, name, value.strip() if isinstance(value, str) else value)
    if not current.title:
        current.title = current.opportunity.title
    _check_contact(current, current.opportunity)
    _check_dates(current)
    current.full_clean()
    current.save()
    return current


@transaction.atomic
def quote_delete(*, actor: User, quote: Quote) -> None:
    """Delete a draft that was never numbered (a sent quote and its versions are kept)."""
    current = _lock_draft(quote)
    if current.number:
        raise ValidationError(_("A numbered quote is never deleted; it stays in the record."))
    opportunity_id = current.opportunity_id
    _event(actor, current, _("Quote %(number)s deleted.") % {"number": current.display_number})
    current.delete()
    _sync_amount(actor, opportunity_id)


def _copy(source: Quote, **values: Any) -> Quote:
    """A new draft with the source's header and copies of its lines."""
    today = timezone.localdate()
    validity = max((source.valid_until - source.issue_date).days, 1)
    header = {
        "opportunity_id": source.opportunity_id,
        "contact_id": source.contact_id,
        "title": source.title,
        "issue_date": today,
        "valid_until": today + timedelta(days=validity),
        "term_months": source.term_months,
        "notes": source.notes,
        "subtotal": source.subtotal,
        "tax_total": source.tax_total,
        "total": source.total,
        "status": QuoteStatus.DRAFT,
    }
    quote = Quote(**(header | values))
    quote.full_clean(validate_unique=False)
    quote.save()
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            position=line.position,
            product_id=line.product_id,
            description=line.description,
            quantity=line.quantity,
            unit=line.unit,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            vat_rate=line.vat_rate,
            recurrence=line.recurrence,
            base=line.base,
        )
        for line in source.lines.all()
    )
    return quote


@transaction.atomic
def quote_revise(*, actor: User, quote: Quote) -> Quote:
    """Revise a sent, rejected or expired quote: a new draft version (v2, v3...) with the same
    number and copies of the lines; the old version is marked replaced and kept intact."""
    current = Quote.objects.select_for_update().get(pk=quote.pk)
    if current.status not in REVISABLE or not current.can_transition_to(QuoteStatus.SUPERSEDED):
        raise ValidationError(
            _("Only a sent, rejected or expired quote can be revised (this one is %(status)s).")
            % {"status": current.get_status_display().lower()}
        )
    revision = _copy(
        current,
        year=current.year,
        sequence=current.sequence,
        number=current.number,
        version=current.version + 1,
        previous=current,
        created_by=actor,
    )
    current.status = QuoteStatus.SUPERSEDED
    current.save(update_fields=["status", "updated_at"])
    _event(
        actor,
        revision,
        _("Quote %(old)s revised as %(new)s.")
        % {"old": current.display_number, "new": revision.display_number},
    )
    _sync_amount(actor, revision.opportunity_id)
    return revision


@transaction.atomic
def quote_duplicate_as_alternative(*, actor: User, quote: Quote) -> Quote:
    """A new draft alternative for the same deal, with copies of the lines (unnumbered until
    it is sent), to compare side by side with the others."""
    _check_visible(actor, quote.opportunity)
    source = Quote.objects.get(pk=quote.pk)
    title = _("%(title)s (alternative)") % {"title": source.title}
    alternative = _copy(source, title=title[:200], created_by=actor)
    _event(
        actor,
        alternative,
        _("Quote %(new)s created as an alternative to %(old)s.")
        % {"new": alternative.display_number, "old": source.display_number},
    )
    _sync_amount(actor, alternative.opportunity_id)
    return alternative


# -- lines --


def _clean_line(line: QuoteLine) -> None:
    line.description = (line.description or "").strip()
    line.unit = (line.unit or "").strip()
    try:
        line.full_clean(exclude=["quote", "base"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


@transaction.atomic
def quote_line_add(
    *,
    actor: User,
    quote: Quote,
    product: Product | None = None,
    description: str = "",
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    discount_percent: Decimal | None = None,
    vat_rate: str = "",
    recurrence: str = "",
) -> QuoteLine:
    """Add a line at the end of a draft: from a catalog product (its name, unit, price, VAT and
    recurrence unless typed) or free text."""
    current = _lock_draft(quote)
    if product is not None and not product.is_active:
        raise ValidationError({"product": _("This product is no longer sold.")})
    values = services.quote_line_values(
        product=product,
        description=description,
        quantity=quantity,
        unit_price=unit_price,
        discount_percent=discount_percent,
        vat_rate=vat_rate,
        recurrence=recurrence,
    )
    last = current.lines.aggregate(last=Max("position"))["last"]
    line = QuoteLine(quote=current, position=0 if last is None else last + 1, **values)
    _clean_line(line)
    line.save()
    _recalculate(actor, current)
    line.refresh_from_db()
    return line


@transaction.atomic
def quote_line_update(*, actor: User, line: QuoteLine, fields: dict[str, Any]) -> QuoteLine:
    """Change a draft's line: description, quantity, unit, price, discount, VAT, recurrence."""
    _check_fields(fields, LINE_FIELDS)
    current = _lock_draft(line.quote)
    stored = current.lines.get(pk=line.pk)
    for name, value in fields.items():
        setattr(stored, name, value)
    if not stored.description.strip():
        raise ValidationError({"description": _("Describe the line or choose a product.")})
    _clean_line(stored)
    stored.save()
    _recalculate(actor, current)
    stored.refresh_from_db()
    return stored


@transaction.atomic
def quote_line_delete(*, actor: User, line: QuoteLine) -> Quote:
    """Remove a line from a draft."""
    current = _lock_draft(line.quote)
    current.lines.filter(pk=line.pk).delete()
    return _recalculate(actor, current)


@transaction.atomic
def quote_lines_reorder(*, actor: User, quote: Quote, line_ids: list[int]) -> Quote:
    """Put a draft's lines in the given order (every line of the quote, once)."""
    current = _lock_draft(quote)
    lines = {line.pk: line for line in current.lines.all()}
    if sorted(line_ids) != sorted(lines):
        raise ValidationError(_("The new order must name every line of the quote once."))
    changed = []
    for position, line_id in enumerate(line_ids):
        line = lines[line_id]
        if line.position != position:
            line.position = position
            changed.append(line)
    QuoteLine.objects.bulk_update(changed, ["position"])
    return current


# -- catalog --


def _check_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied


@transaction.atomic
def product_save(*, actor: User, fields: dict[str, Any], product: Product | None = None) -> Product:
    """Create a product or service of the catalog, or change one (administrators only)."""
    _check_admin(actor)
    _check_fields(fields, PRODUCT_FIELDS)
    product = product if product is not None else Product()
    for name, value in fields.items():
        setattr(product, name, value.strip() if isinstance(value, str) else value)
    product.refresh_search_text()
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def product_deactivate(*, actor: User, product: Product) -> Product:
    """Stop offering a product in new quotes; quotes that have it keep it."""
    _check_admin(actor)
    product.is_active = False
    product.save(update_fields=["is_active", "updated_at"])
    return product


# -- catalog import --

PRODUCT_HEADER_ALIASES = {
    "code": "codigo|code|referencia|ref|sku|cod",
    "name": "nombre|name|producto|servicio|articulo|product",
    "description": "descripcion|description|detalle",
    "kind": "tipo|kind|type|clase",
    "unit": "unidad|unit|ud|unidad de medida",
    "unit_price": "precio|precio unitario|unit price|price|pvp|importe|precio sin iva",
    "vat_rate": "iva|vat|tipo iva|tipo de iva|vat rate|impuesto",
    "recurrence": "recurrencia|periodicidad|recurrence|facturacion|cuota",
    "category": "categoria|category|familia|grupo",
    "is_active": "activo|active|estado|en venta",
}
_KINDS = {
    "producto": ProductKind.PRODUCT,
    "product": ProductKind.PRODUCT,
    "articulo": ProductKind.PRODUCT,
    "servicio": ProductKind.SERVICE,
    "service": ProductKind.SERVICE,
}
_RECURRENCES = {
    "puntual": Recurrence.ONE_OFF,
    "unico": Recurrence.ONE_OFF,
    "unica": Recurrence.ONE_OFF,
    "una vez": Recurrence.ONE_OFF,
    "one off": Recurrence.ONE_OFF,
    "one-off": Recurrence.ONE_OFF,
    "one_off": Recurrence.ONE_OFF,
    "no": Recurrence.ONE_OFF,
    "mensual": Recurrence.MONTHLY,
    "monthly": Recurrence.MONTHLY,
    "mes": Recurrence.MONTHLY,
    "anual": Recurrence.YEARLY,
    "yearly": Recurrence.YEARLY,
    "annual": Recurrence.YEARLY,
    "ano": Recurrence.YEARLY,
}
_EXEMPT = {"exento", "exenta", "exempt", "ex"}
_TRUE = {"si", "yes", "1", "true", "x", "activo", "activa", "verdadero", "s"}
_FALSE = {"no", "0", "false", "inactivo", "inactiva", "falso", "n", "baja"}


def vat_rate_from_text(text: str) -> str:
    """ "21 %", "21", "21,0", "10%", "4", "0", "exento" -> a VatRate value; ValueError else."""
    folded = fold(text).strip()
    if folded in _EXEMPT:
        return VatRate.EXEMPT
    number = parse_decimal(folded)
    if number is None:
        raise ValueError(text)
    for value in ("21", "10", "4", "0"):
        if number == Decimal(value):
            return value
    raise ValueError(text)


@dataclass
class ProductImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)
    unmapped: list[str] = field(default_factory=list)  # headers not understood


def product_import_mapping(headers: list[str]) -> dict[int, str]:
    """{column index: product field} from the headers (Spanish or English), first wins."""
    aliases = {
        alias: name for name, names in PRODUCT_HEADER_ALIASES.items() for alias in names.split("|")
    }
    mapping: dict[int, str] = {}
    for index, header in enumerate(headers):
        name = aliases.get(fold_header(header), "")
        if name and name not in mapping.values():
            mapping[index] = name
    return mapping


def _row_fields(cells: dict[str, str], categories: dict[str, ProductCategory]) -> dict[str, Any]:
    """The product's fields from a row's non-empty cells; ValidationError per bad cell."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, text in cells.items():
        if not text:
            continue
        folded = fold(text).strip()
        if name in {"code", "name", "description", "unit"}:
            values[name] = text
        elif name == "unit_price":
            try:
                values[name] = parse_decimal(text)
            except ValueError:
                errors[name] = _("“%(value)s” is not a price such as 1.234,56.") % {"value": text}
        elif name == "vat_rate":
            try:
                values[name] = vat_rate_from_text(text)
            except ValueError:
                errors[name] = _("“%(value)s” is not a VAT rate (21, 10, 4, 0 or exento).") % {
                    "value": text
                }
        elif name == "kind":
            if folded not in _KINDS:
                errors[name] = _("“%(value)s” is not producto or servicio.") % {"value": text}
            else:
                values[name] = _KINDS[folded]
        elif name == "recurrence":
            if folded not in _RECURRENCES:
                errors[name] = _("“%(value)s” is not puntual, mensual or anual.") % {"value": text}
            else:
                values[name] = _RECURRENCES[folded]
        elif name == "category":
            if folded not in categories:
                errors[name] = _("There is no category “%(value)s”.") % {"value": text}
            else:
                values[name] = categories[folded]
        elif name == "is_active":
            if folded in _TRUE:
                values[name] = True
            elif folded in _FALSE:
                values[name] = False
            else:
                errors[name] = _("“%(value)s” is not sí or no.") % {"value": text}
    if errors:
        raise ValidationError(errors)
    return values


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(" ".join(messages) for messages in exc.message_dict.values())
    return " ".join(exc.messages)


def _read_table(uploaded_file: UploadedFile, sheet: str):
    """(headers, iterator of (row number, cells)) read by crm.core.tabular, as every import
    reads files: CSV encoding and separator detection, or an XLSX sheet."""

    binary = uploaded_file.file if hasattr(uploaded_file, "file") else uploaded_file
    binary.seek(0)
    info = inspect_file(binary, uploaded_file.name, sheet)
    binary.seek(0)
    if info.kind == "csv":
        rows = csv_rows(binary, info.encoding, info.delimiter)
    else:
        rows = xlsx_rows(binary, info.sheet)

    def numbered():
        header_seen = False
        for number, row in enumerate(rows, start=1):
            if is_blank(row):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield number, [cell.strip() for cell in row]

    return info.headers, numbered()


@transaction.atomic
def product_import(
    *, actor: User, uploaded_file: UploadedFile, sheet: str = ""
) -> ProductImportResult:
    """Create or update catalog products by code from a CSV or XLSX file, in one transaction.

    Prices may be written the Spanish way ("1.234,56"), VAT as "21 %", "10" or "exento",
    the category by name. Empty cells keep a product's current value. A row with an error is
    not written and is reported with its number; the other rows are.
    """
    _check_admin(actor)
    headers, rows = _read_table(uploaded_file, sheet)
    mapping = product_import_mapping(headers)
    if "code" not in mapping.values():
        raise ValidationError({"file": _("The file needs a column with the product's code.")})
    result = ProductImportResult(
        unmapped=[h for i, h in enumerate(headers) if i not in mapping and h]
    )
    categories = {fold(c.name): c for c in ProductCategory.objects.all()}
    seen: dict[str, int] = {}
    for number, row in rows:
        cells = {name: row[index] if index < len(row) else "" for index, name in mapping.items()}
        code = cells.get("code", "")
        if not code:
            result.errors.append((number, _("The code is empty.")))
            continue
        if code in seen:
            result.errors.append(
                (
                    number,
                    _("The code %(code)s is repeated from row %(row)d.")
                    % {
                        "code": code,
                        "row": seen[code],
                    },
                )
            )
            continue
        seen[code] = number
        try:
            with transaction.atomic():
                fields = _row_fields(cells, categories)
                existing = Product.objects.filter(code=code).first()
                if existing is None:
                    missing = [n for n in ("name", "unit_price") if n not in fields]
                    if missing:
                        raise ValidationError(_("A new product needs its name and unit price."))
                product_save(actor=actor, fields=fields, product=existing)
        except ValidationError as exc:
            result.errors.append((number, _error_text(exc)))
            continue
        if existing is None:
            result.created += 1
        else:
            result.updated += 1
    return result
