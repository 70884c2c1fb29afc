from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from crm.core import services
from crm.core.forms import CHOICE_LISTS, ChoiceForm, CompanySettingsForm
from crm.core.permissions import admin_required
from crm.core.selectors import company_settings_get


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 otherwise (for load balancers and monitors)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_not_required
@require_GET
def company_logo(request):
    """The company's logo, from whatever storage holds it (local folder or S3)."""
    company = company_settings_get()
    if not company.logo:
        raise Http404
    try:
        return FileResponse(company.logo.open("rb"))
    except FileNotFoundError as exc:
        raise Http404 from exc


@admin_required
@require_http_methods(["GET", "POST"])
def company_settings_update(request):
    company = company_settings_get()
    form = CompanySettingsForm(request.POST or None, request.FILES or None, instance=company)
    if request.method == "POST" and form.is_valid():
        try:
            services.company_settings_update(actor=request.user, fields=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Company settings saved."))
            return redirect("company-settings")
    company.refresh_from_db()
    context = {"form": form, "choice_lists": CHOICE_LISTS}
    return render(request, "core/companysettings_form.html", context)


def _choice_list(kind: str):
    if kind not in CHOICE_LISTS:
        raise Http404
    return CHOICE_LISTS[kind]


@admin_required
@require_http_methods(["GET", "POST"])
def choice_list(request, kind: str):
    """A configurable list (channels, sectors): its values, and a form to add one."""
    model, title, help_text = _choice_list(kind)
    form = ChoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.choice_save(instance=model(), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("choice-list", kind=kind)
    context = {
        "kind": kind,
        "title": title,
        "help_text": help_text,
        "items": model.objects.all(),
        "form": form,
    }
    return render(request, "core/choice_list.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def choice_update(request, kind: str, pk: int):
    model, title, _help = _choice_list(kind)
    item = get_object_or_404(model, pk=pk)
    initial = {"name": item.name, "position": item.position, "is_active": item.is_active}
    form = ChoiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.choice_save(instance=item, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if request.htmx:
                return render(request, "core/choice_list.html#item", {"item": item, "kind": kind})
            messages.success(request, _("Saved."))
            return redirect("choice-list", kind=kind)
    context = {"kind": kind, "title": title, "item": item, "form": form}
    if request.htmx:
        return render(request, "core/choice_list.html#item-form", context)
    return render(request, "core/choice_form.html", context)
