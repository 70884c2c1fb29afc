"""Read queries for quotes and the catalog. A quote is visible exactly when its opportunity is
(`Quote.objects.visible_to`); the catalog is read by everyone."""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from crm.core.search import matches, search_words
from crm.core.text import fold
from crm.sales import money
from crm.sales.models import (
    Opportunity,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    Recurrence,
)
from crm.users.models import User

MAX_COMPARED = 4


def quote_get_for_user(*, user: User, quote_id: int) -> Quote:
    """One quote, or 404 when it does not exist or its deal is outside the user's scope."""
    queryset = Quote.objects.visible_to(user).select_related(
        "opportunity__account", "opportunity__contact", "opportunity__stage", "contact", "previous"
    )
    return get_object_or_404(queryset, pk=quote_id)


def quote_line_get_for_user(*, user: User, quote_id: int, line_id: int) -> QuoteLine:
    """A line of a quote the user sees, or 404."""
    quote = quote_get_for_user(user=user, quote_id=quote_id)
    line = get_object_or_404(QuoteLine.objects.select_related("product"), quote=quote, pk=line_id)
    line.quote = quote
    return line


def opportunity_get_for_user(*, user: User, opportunity_id: int) -> Opportunity:
    queryset = Opportunity.objects.visible_to(user).select_related("account", "contact")
    return get_object_or_404(queryset, pk=opportunity_id)


def quote_lines(*, quote: Quote) -> list[QuoteLine]:
    return list(quote.lines.select_related("product").order_by("position", "id"))


def quotes_of_opportunity(*, opportunity: Opportunity) -> QuerySet[Quote]:
    """A deal's quotes, newest first (replaced versions included)."""
    return opportunity.quotes.order_by("-created_at", "-id")


def quote_versions(*, quote: Quote) -> list[Quote]:
    """The versions of a numbered quote (v1, v2...), oldest first; a draft never sent has one."""
    if quote.sequence is None:
        return [quote]
    return list(
        Quote.objects.filter(
            opportunity_id=quote.opportunity_id, year=quote.year, sequence=quote.sequence
        ).order_by("version")
    )


@dataclass
class QuoteFigures:
    """What the builder and the comparison show of a quote: tax breakdown and recurring value."""

    totals: money.Totals
    recurring: money.RecurringValue
    has_recurring: bool


def quote_figures(*, quote: Quote, lines: list[QuoteLine]) -> QuoteFigures:
    totals = money.totals((line.base, line.vat_rate) for line in lines)
    recurring = money.recurring_value(
        ((line.base, line.recurrence) for line in lines), quote.term_months
    )
    has_recurring = any(line.recurrence != Recurrence.ONE_OFF for line in lines)
    return QuoteFigures(totals=totals, recurring=recurring, has_recurring=has_recurring)


@dataclass
class CompareRow:
    label: str
    cells: list[QuoteLine | None]


@dataclass
class CompareColumn:
    quote: Quote
    figures: QuoteFigures


@dataclass
class Comparison:
    opportunity: Opportunity
    columns: list[CompareColumn] = field(default_factory=list)
    rows: list[CompareRow] = field(default_factory=list)


def _line_key(line: QuoteLine) -> str:
    return f"p{line.product_id}" if line.product_id else f"d{fold(line.description).strip()}"


def quote_comparison_for_user(*, user: User, quote_ids: list[int]) -> Comparison:
    """Two to four quotes of the same deal side by side: one row per product (or free-text
    description) with each quote's line in its column, and each quote's totals and recurring
    value. A quote the user cannot see answers 404; quotes of different deals too."""
    ids = list(dict.fromkeys(quote_ids))[:MAX_COMPARED]
    quotes = {
        q.pk: q
        for q in Quote.objects.visible_to(user)
        .filter(pk__in=ids)
        .select_related("opportunity__account", "contact")
    }
    if len(ids) < 2 or len(quotes) != len(ids):
        raise Http404
    ordered = [quotes[pk] for pk in ids]
    if len({q.opportunity_id for q in ordered}) != 1:
        raise Http404
    lines_by_quote: dict[int, list[QuoteLine]] = {pk: [] for pk in ids}
    for line in (
        QuoteLine.objects.filter(quote_id__in=ids)
        .select_related("product")
        .order_by("position", "id")
    ):
        lines_by_quote[line.quote_id].append(line)
    comparison = Comparison(opportunity=ordered[0].opportunity)
    rows: dict[str, CompareRow] = {}
    for column, quote in enumerate(ordered):
        lines = lines_by_quote[quote.pk]
        comparison.columns.append(
            CompareColumn(quote=quote, figures=quote_figures(quote=quote, lines=lines))
        )
        used: dict[str, int] = {}
        for line in lines:
            # The same product twice in one quote gets a row of its own.
            key = _line_key(line)
            used[key] = used.get(key, 0) + 1
            key = f"{key}#{used[key]}"
            if key not in rows:
                rows[key] = CompareRow(label=line.description, cells=[None] * len(ordered))
            rows[key].cells[column] = line
    comparison.rows = list(rows.values())
    return comparison


def quote_alternatives(*, quote: Quote) -> list[Quote]:
    """The deal's other quotes that can be compared with this one (not replaced versions)."""
    return list(
        quote.opportunity.quotes.exclude(pk=quote.pk)
        .exclude(status=QuoteStatus.SUPERSEDED)
        .order_by("-created_at", "-id")
    )


# -- catalog --


def product_list(*, filters: dict) -> QuerySet[Product]:
    """The catalog filtered by search words, category, kind and active state (default active)."""
    queryset = Product.objects.select_related("category").order_by("name", "id")
    term = (filters.get("q") or "").strip()
    if term:
        queryset = queryset.filter(matches(Product, search_words(term)))
    if filters.get("category"):
        queryset = queryset.filter(category=filters["category"])
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    active = filters.get("active") or "yes"
    if active != "all":
        queryset = queryset.filter(is_active=active == "yes")
    return queryset


def product_get(*, product_id: int) -> Product:
    return get_object_or_404(Product.objects.select_related("category"), pk=product_id)


def product_search(*, term: str, limit: int = 15) -> list[Product]:
    """Active products to add to a quote: by code or words of the name or description."""
    queryset = Product.objects.filter(is_active=True).order_by("name", "id")
    term = (term or "").strip()
    if term:
        queryset = queryset.filter(
            Q(code__iexact=term) | matches(Product, search_words(term), use_index=False)
        )
    return list(queryset[:limit])
