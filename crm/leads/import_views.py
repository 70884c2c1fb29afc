"""Pages of the lead import: upload, mapping with preview, progress, result, history, undo."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.exports import export_response
from crm.leads import imports, selectors
from crm.leads.models import ImportMapping, ImportStatus, LeadImport, OnDuplicate

PAGE_SIZE = 25
PREVIEW_ROWS = 20
RUNNING = (ImportStatus.QUEUED, ImportStatus.RUNNING)


class UploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV (separated by ; , tab or |, in any encoding Excel writes) or Excel (XLSX). "
            "The first row holds the column names."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    sheet = forms.CharField(
        label=gettext_lazy("Sheet (Excel)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Empty: the first sheet."),
    )


def _field_choices():
    return [("", _("— Ignore this column —"))] + [
        (name, str(label)) for name, label in imports.FIELD_LABELS.items()
    ]


class MappingForm(forms.Form):
    """One select per column of the file, the duplicate choice and an optional template name."""

    on_duplicate = forms.ChoiceField(
        label=gettext_lazy("Rows that match an existing lead, account or contact"),
        choices=OnDuplicate.choices,
        initial=OnDuplicate.SKIP,
        widget=forms.RadioSelect,
    )
    save_mapping_as = forms.CharField(
        label=gettext_lazy("Save this mapping as"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Optional: a name to reuse it with files of the same columns."),
    )

    def __init__(self, *args, lead_import: LeadImport, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead_import = lead_import
        choices = _field_choices()
        self.column_names = []
        for index, header in enumerate(lead_import.headers):
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(label=header, choices=choices, required=False)
            self.column_names.append(name)

    def columns(self):
        return [self[name] for name in self.column_names]

    def mapping(self) -> dict[str, str]:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            name.removeprefix("col_"): data.get(name, "")
            for name in self.column_names
            if data.get(name)
        }

    def clean(self):
        cleaned = super().clean()
        try:
            imports.clean_mapping(self.mapping(), self.lead_import.headers)
        except ValidationError as exc:
            raise forms.ValidationError(exc.message_dict["mapping"]) from exc
        return cleaned


def _initial(lead_import: LeadImport, template: ImportMapping | None) -> dict:
    mapping = (
        imports.suggest_mapping(lead_import.headers, template)
        if template
        else lead_import.mapping or imports.suggest_mapping(lead_import.headers)
    )
    initial = {f"col_{index}": name for index, name in mapping.items()}
    initial["on_duplicate"] = lead_import.on_duplicate
    return initial


def _preview(lead_import: LeadImport, mapping: dict[str, str]) -> tuple[list, str]:
    try:
        clean = imports.clean_mapping(mapping, lead_import.headers)
    except ValidationError as exc:
        return [], " ".join(exc.messages)
    try:
        return imports.lead_import_preview(
            lead_import=lead_import, mapping=clean, rows=PREVIEW_ROWS
        ), ""
    except ValidationError as exc:
        return [], " ".join(exc.messages)


@require_GET
def lead_import_list(request):
    """The history of imports the user may see, newest first."""
    queryset = selectors.lead_import_list_for_user(user=request.user)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "leads/leadimport_list.html", {"page": page, "querystring": ""})


@require_http_methods(["GET", "POST"])
def lead_import_create(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_import = imports.lead_import_create(
                actor=request.user,
                uploaded_file=form.cleaned_data["file"],
                sheet=form.cleaned_data["sheet"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("lead-import-mapping", pk=lead_import.pk)
    return render(request, "leads/leadimport_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def lead_import_mapping(request, pk: int):
    """Map the columns, see the first rows with their errors, choose what to do with
    duplicates, and start."""
    lead_import = selectors.lead_import_get_for_user(user=request.user, import_id=pk)
    if lead_import.status != ImportStatus.UPLOADED:
        return redirect("lead-import-detail", pk=lead_import.pk)
    templates = selectors.import_mapping_list()
    template = None
    if request.GET.get("template", "").isdigit():
        template = templates.filter(pk=request.GET["template"]).first()
    if request.method == "POST":
        form = MappingForm(request.POST, lead_import=lead_import)
        if form.is_valid():
            try:
                imports.lead_import_start(
                    actor=request.user,
                    lead_import=lead_import,
                    mapping=form.mapping(),
                    on_duplicate=form.cleaned_data["on_duplicate"],
                    save_mapping_as=form.cleaned_data["save_mapping_as"],
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("The import has started."))
                return redirect("lead-import-detail", pk=lead_import.pk)
        mapping = form.mapping() if form.is_bound and hasattr(form, "cleaned_data") else {}
    else:
        form = MappingForm(initial=_initial(lead_import, template), lead_import=lead_import)
        mapping = {
            k.removeprefix("col_"): v for k, v in form.initial.items() if k.startswith("col_")
        }
    rows, preview_error = _preview(lead_import, mapping)
    context = {
        "lead_import": lead_import,
        "form": form,
        "templates": templates,
        "template": template,
        "rows": rows,
        "preview_error": preview_error,
        "earlier": imports.previous_imports_of_same_file(lead_import=lead_import)[:3],
    }
    return render(request, "leads/leadimport_mapping.html", context)


@require_GET
def lead_import_preview(request, pk: int):
    """The preview table for the mapping being chosen (htmx, on every change)."""
    lead_import = selectors.lead_import_get_for_user(user=request.user, import_id=pk)
    params: QueryDict = request.GET
    mapping = {
        str(index): params.get(f"col_{index}", "")
        for index in range(len(lead_import.headers))
        if params.get(f"col_{index}", "")
    }
    rows, preview_error = _preview(lead_import, mapping)
    context = {"lead_import": lead_import, "rows": rows, "preview_error": preview_error}
    return render(request, "leads/leadimport_mapping.html#preview", context)


@require_GET
def lead_import_detail(request, pk: int):
    """Progress while it runs (the bar polls every second), then the result."""
    lead_import = selectors.lead_import_get_for_user(user=request.user, import_id=pk)
    context = {
        "lead_import": lead_import,
        "running": lead_import.status in RUNNING,
        "stale": imports.lead_import_is_stale(lead_import),
        "can_undo": lead_import.status in (ImportStatus.DONE, ImportStatus.FAILED),
        "leads_url": f"{reverse('lead-list')}?lead_import={lead_import.pk}",
    }
    if request.htmx:
        return render(request, "leads/leadimport_detail.html#progress", context)
    return render(request, "leads/leadimport_detail.html", context)


@require_GET
def lead_import_failures(request, pk: int):
    """The rows not imported, with the original columns and the reason, as CSV."""
    lead_import = selectors.lead_import_get_for_user(user=request.user, import_id=pk)
    headers, rows = imports.failure_rows(lead_import=lead_import)
    name = slugify(_("rows not imported")) + f"-{lead_import.pk}"
    return export_response(fmt="csv", filename=name, headers=headers, rows=rows)


@require_http_methods(["GET", "POST"])
def lead_import_undo(request, pk: int):
    """Ask, then delete the leads that the import created."""
    lead_import = selectors.lead_import_get_for_user(user=request.user, import_id=pk)
    if request.method == "POST":
        try:
            result = imports.lead_import_undo(actor=request.user, lead_import=lead_import)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            message = _("Import undone: %(count)d leads deleted.") % {"count": result.deleted}
            if result.kept_converted:
                message += " " + _(
                    "%(count)d converted leads were kept: they are customers now."
                ) % {"count": result.kept_converted}
            messages.success(request, message)
        return redirect("lead-import-detail", pk=lead_import.pk)
    created = lead_import.leads.count()
    return render(
        request,
        "leads/leadimport_confirm_undo.html",
        {"lead_import": lead_import, "created": created},
    )


@require_POST
def lead_import_resume(request, pk: int):
    lead_import = selectors.lead_import_get_for_user(user=request.user, import_id=pk)
    try:
        imports.lead_import_resume(actor=request.user, lead_import=lead_import)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("lead-import-detail", pk=lead_import.pk)
