"""The catalog of products and services: everyone reads it, administrators change it."""

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.sales import quote_selectors as selectors
from crm.sales import quotes as services
from crm.sales.quote_forms import ProductFilterForm, ProductForm, ProductImportForm

PAGE_SIZE = 25


def _require_admin(request) -> None:
    if not request.user.is_admin:
        raise PermissionDenied


@require_GET
def product_list(request):
    form = ProductFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    paginator = Paginator(selectors.product_list(filters=filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    context = {
        "filter_form": form,
        "page": page,
        "querystring": querystring.urlencode(),
        "can_edit": request.user.is_admin,
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/product_list.html#results", context)
    return render(request, "sales/product_list.html", context)


@require_http_methods(["GET", "POST"])
def product_create(request):
    _require_admin(request)
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_save(actor=request.user, fields=form.fields_for_service())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(product)s added to the catalog.") % {"product": product})
            return redirect("product-list")
    return render(request, "sales/product_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def product_update(request, pk: int):
    _require_admin(request)
    product = selectors.product_get(product_id=pk)
    form = ProductForm(request.POST or None, instance=copy.copy(product))
    if request.method == "POST" and form.is_valid():
        try:
            services.product_save(
                actor=request.user, product=product, fields=form.fields_for_service()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(product)s saved.") % {"product": product})
            return redirect("product-list")
    return render(request, "sales/product_form.html", {"form": form, "product": product})


@require_http_methods(["GET", "POST"])
def product_import(request):
    """Upload a CSV or XLSX file of products; the report lists the rows that failed."""
    _require_admin(request)
    form = ProductImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = services.product_import(
                actor=request.user,
                uploaded_file=form.cleaned_data["file"],
                sheet=form.cleaned_data["sheet"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
    return render(request, "sales/product_import.html", {"form": form, "result": result})
