"""The quote builder: header, lines edited inline with live totals (htmx), versions and the
side-by-side comparison of a deal's alternatives. Every page answers 404 for a quote whose
deal the user cannot see."""

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.models import VatRate
from crm.sales import quote_selectors as selectors
from crm.sales import quotes as services
from crm.sales.models import Quote, Recurrence
from crm.sales.quote_forms import ProductSearchForm, QuoteForm, QuoteLineForm


def _opportunity_url(quote: Quote) -> str:
    return f"/opportunities/{quote.opportunity_id}/"


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _builder_context(quote: Quote, **extra) -> dict:
    lines = selectors.quote_lines(quote=quote)
    context = {
        "quote": quote,
        "opportunity": quote.opportunity,
        "lines": lines,
        "figures": selectors.quote_figures(quote=quote, lines=lines),
        "add_form": QuoteLineForm(),
        "vat_choices": [
            (value, _("Exempt") if value == VatRate.EXEMPT else f"{value} %")
            for value in VatRate.values
        ],
        "recurrence_choices": Recurrence.choices,
    }
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
def quote_create(request):
    """A new draft for the deal named in ?opportunity=<id>."""
    try:
        opportunity_id = int(request.GET.get("opportunity", ""))
    except ValueError as exc:
        raise Http404 from exc
    opportunity = selectors.opportunity_get_for_user(
        user=request.user, opportunity_id=opportunity_id
    )
    form = QuoteForm(
        request.POST or None,
        instance=Quote(opportunity=opportunity, contact=opportunity.contact),
        opportunity=opportunity,
    )
    if request.method == "POST" and form.is_valid():
        try:
            quote = services.quote_create(
                actor=request.user, opportunity=opportunity, fields=dict(form.cleaned_data)
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Quote created; add its lines."))
            return redirect("quote-detail", pk=quote.pk)
    context = {"form": form, "opportunity": opportunity}
    return render(request, "sales/quote_form.html", context)


@require_GET
def quote_detail(request, pk: int):
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    context = _builder_context(
        quote,
        versions=selectors.quote_versions(quote=quote),
        alternatives=selectors.quote_alternatives(quote=quote),
        product_search_form=ProductSearchForm(),
    )
    return render(request, "sales/quote_detail.html", context)


@require_http_methods(["GET", "POST"])
def quote_update(request, pk: int):
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    if not quote.is_editable:
        messages.error(request, _("Only a draft quote can be changed; revise it to change it."))
        return redirect("quote-detail", pk=quote.pk)
    form = QuoteForm(request.POST or None, instance=copy.copy(quote), opportunity=quote.opportunity)
    if request.method == "POST" and form.is_valid():
        try:
            services.quote_update(actor=request.user, quote=quote, fields=dict(form.cleaned_data))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Quote saved."))
            return redirect("quote-detail", pk=quote.pk)
    context = {"form": form, "quote": quote, "opportunity": quote.opportunity}
    return render(request, "sales/quote_form.html", context)


@require_POST
def quote_delete(request, pk: int):
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    try:
        services.quote_delete(actor=request.user, quote=quote)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("quote-detail", pk=quote.pk)
    messages.success(request, _("Quote deleted."))
    return redirect(_opportunity_url(quote))


@require_POST
def quote_revise(request, pk: int):
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    try:
        revision = services.quote_revise(actor=request.user, quote=quote)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("quote-detail", pk=quote.pk)
    messages.success(
        request,
        _("Version %(version)d created; the previous one is kept as it was.")
        % {"version": revision.version},
    )
    return redirect("quote-detail", pk=revision.pk)


@require_POST
def quote_duplicate(request, pk: int):
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    alternative = services.quote_duplicate_as_alternative(actor=request.user, quote=quote)
    messages.success(request, _("Alternative created; change it and compare both."))
    return redirect("quote-detail", pk=alternative.pk)


@require_GET
def quote_totals(request, pk: int):
    """The totals block (htmx partial)."""
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    return render(request, "sales/quote_detail.html#totals", _builder_context(quote))


def _lines_response(request, quote: Quote, **extra) -> HttpResponse:
    """The lines block with the totals out-of-band."""
    context = _builder_context(quote, oob_totals=True, **extra)
    return render(request, "sales/quote_detail.html#lines-with-totals", context)


@require_POST
def quote_line_add(request, pk: int):
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    form = QuoteLineForm(request.POST)
    added = False
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.quote_line_add(
                actor=request.user,
                quote=quote,
                product=data["product"],
                description=data["description"],
                quantity=data["quantity"],
                unit_price=data["unit_price"],
                discount_percent=data["discount_percent"],
                vat_rate=data["vat_rate"],
                recurrence=data["recurrence"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            added = True
    if request.htmx:
        quote.refresh_from_db()
        context = _builder_context(
            quote,
            add_form=QuoteLineForm() if added else form,
            oob_lines=added,
            oob_totals=added,
        )
        return render(request, "sales/quote_detail.html#line-add", context)
    if not added:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("quote-detail", pk=quote.pk)


@require_POST
def quote_line_update(request, pk: int, line_pk: int):
    """Save one line as it is typed: the row comes back with the totals out-of-band."""
    line = selectors.quote_line_get_for_user(user=request.user, quote_id=pk, line_id=line_pk)
    quote = line.quote
    form = QuoteLineForm(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            line = services.quote_line_update(
                actor=request.user, line=line, fields=form.line_fields()
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    else:
        errors = dict(form.errors)
    # Errors that belong to no field show under the description ("general").
    if "__all__" in errors:
        errors = {**errors, "general": errors.pop("__all__")}
    if request.htmx:
        quote.refresh_from_db()
        context = _builder_context(
            quote, line=line, posted=request.POST, line_errors=errors, oob_totals=True
        )
        return render(request, "sales/quote_detail.html#line-with-totals", context)
    if errors:
        messages.error(request, " ".join(e for errs in errors.values() for e in errs))
    return redirect("quote-detail", pk=quote.pk)


@require_POST
def quote_line_delete(request, pk: int, line_pk: int):
    line = selectors.quote_line_get_for_user(user=request.user, quote_id=pk, line_id=line_pk)
    quote = line.quote
    error = ""
    try:
        services.quote_line_delete(actor=request.user, line=line)
    except ValidationError as exc:
        error = _error_text(exc)
    if request.htmx:
        quote.refresh_from_db()
        return _lines_response(request, quote, lines_error=error)
    if error:
        messages.error(request, error)
    return redirect("quote-detail", pk=quote.pk)


@require_POST
def quote_line_move(request, pk: int, line_pk: int):
    """Move a line one place up or down (?direction=up|down)."""
    line = selectors.quote_line_get_for_user(user=request.user, quote_id=pk, line_id=line_pk)
    quote = line.quote
    ids = [item.pk for item in selectors.quote_lines(quote=quote)]
    index = ids.index(line.pk)
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    error = ""
    if 0 <= target < len(ids):
        ids[index], ids[target] = ids[target], ids[index]
        try:
            services.quote_lines_reorder(actor=request.user, quote=quote, line_ids=ids)
        except ValidationError as exc:
            error = _error_text(exc)
    if request.htmx:
        return _lines_response(request, quote, lines_error=error)
    if error:
        messages.error(request, error)
    return redirect("quote-detail", pk=quote.pk)


@require_GET
def quote_product_search(request, pk: int):
    """Catalog products to add to the quote (htmx partial)."""
    quote = selectors.quote_get_for_user(user=request.user, quote_id=pk)
    form = ProductSearchForm(request.GET)
    term = form.cleaned_data["q"] if form.is_valid() else ""
    context = {"quote": quote, "products": selectors.product_search(term=term), "term": term}
    return render(request, "sales/quote_detail.html#product-results", context)


def _compare_ids(request) -> list[int]:
    ids = []
    for value in request.GET.getlist("ids"):
        for part in value.split(","):
            part = part.strip()
            if part:
                if not part.isdigit():
                    raise Http404
                ids.append(int(part))
    return ids


@require_GET
def quote_compare(request):
    """Two to four quotes of one deal side by side (?ids=1,2,3)."""
    comparison = selectors.quote_comparison_for_user(
        user=request.user, quote_ids=_compare_ids(request)
    )
    return render(request, "sales/quote_compare.html", {"comparison": comparison})
