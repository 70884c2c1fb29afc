"""Pages of leads, assignment rules and web forms, and the public web-to-lead form."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.exports import export_response
from crm.core.models import PROVINCES
from crm.core.net import client_ip
from crm.core.permissions import admin_required
from crm.core.search import SearchPaginator
from crm.customers.forms import NoteForm
from crm.customers.models import SizeSegment
from crm.customers.services import DuplicatesFound
from crm.leads import exports, selectors, services
from crm.leads.filters import LeadFilter
from crm.leads.forms import (
    AssignmentRuleForm,
    BulkForm,
    ConvertForm,
    LeadForm,
    LeadSettingsForm,
    PublicLeadForm,
    StatusForm,
    TryRuleForm,
    WebFormForm,
)
from crm.leads.models import AssignmentRule, AssignmentTarget, Lead, LeadStatus, WebForm
from crm.leads.panels import lead_panels

PAGE_SIZE = 25
# Public web form: at most this many posts per address and form in the window.
WEB_FORM_RATE_LIMIT = 5
WEB_FORM_RATE_WINDOW = 10 * 60

STATUS_BADGES = {
    LeadStatus.NEW: "text-bg-info",
    LeadStatus.CONTACTED: "text-bg-primary",
    LeadStatus.QUALIFIED: "text-bg-warning",
    LeadStatus.DISQUALIFIED: "text-bg-secondary",
    LeadStatus.CONVERTED: "text-bg-success",
}


def _badge(lead: Lead) -> str:
    return STATUS_BADGES.get(lead.status, "text-bg-light")


def add_errors(form, exc: ValidationError) -> None:
    """A service's errors beside the form's fields; those of fields it lacks above them."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# -- list, export, bulk --


def _filtersets(request):
    queryset = selectors.lead_list_for_user(user=request.user)
    filterset = LeadFilter(request.GET, queryset=queryset, request=request)
    dense = None
    if request.GET.get("q", "").strip():
        dense = LeadFilter(request.GET, queryset=queryset, request=request, use_index=False)
    return filterset, dense


@require_GET
def lead_list(request):
    filterset, dense = _filtersets(request)
    paginator = SearchPaginator(
        filterset.qs, PAGE_SIZE, dense_object_list=dense.qs if dense is not None else None
    )
    page = paginator.get_page(request.GET.get("page"))
    for lead in page.object_list:
        lead.badge = _badge(lead)
    querystring = request.GET.copy()
    querystring.pop("page", None)
    context = {
        "filter": filterset,
        "page": page,
        "querystring": querystring.urlencode(),
        "full_querystring": request.GET.urlencode(),
        "bulk_form": BulkForm(user=request.user),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "leads/lead_list.html#results", context)
    return render(request, "leads/lead_list.html", context)


@require_GET
def lead_export(request, fmt: str):
    """The list as it is filtered on screen, as CSV or XLSX."""
    filterset = LeadFilter(
        request.GET, queryset=selectors.lead_list_for_user(user=request.user), request=request
    )
    return export_response(
        fmt=fmt,
        filename=slugify(_("leads")),
        headers=exports.LEAD_HEADERS,
        rows=exports.lead_rows(filterset.qs),
    )


def _back_to_list(querystring: str):
    # Only the list's own parameters travel back: never an arbitrary address.
    params = QueryDict(querystring or "")
    url = reverse("lead-list")
    return redirect(f"{url}?{params.urlencode()}" if params else url)


@require_POST
def lead_bulk(request):
    """Assign, change the status of, or delete the ticked leads the user can see."""
    form = BulkForm(request.POST, user=request.user)
    querystring = request.POST.get("querystring", "")
    if not form.is_valid():
        errors = [e for errs in form.errors.values() for e in errs]
        messages.error(request, " ".join(errors))
        return _back_to_list(querystring)
    data = form.cleaned_data
    leads = selectors.lead_list_for_user(user=request.user).filter(pk__in=data["ids"])
    action = data["action"]
    if action == BulkForm.DELETE and not data["confirm"]:
        context = {"bulk": True, "leads": list(leads[:50]), "count": leads.count(), "form": form}
        context["querystring"] = querystring
        return render(request, "leads/lead_confirm_delete.html", context)
    try:
        if action == BulkForm.ASSIGN:
            result = services.lead_bulk_assign(actor=request.user, leads=leads, owner=data["owner"])
        elif action == BulkForm.STATUS:
            result = services.lead_bulk_change_status(
                actor=request.user, leads=leads, status=data["status"], reason=data["reason"]
            )
        else:
            result = services.lead_bulk_delete(actor=request.user, leads=leads)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back_to_list(querystring)
    text = ngettext("%(count)d lead changed.", "%(count)d leads changed.", result.changed) % {
        "count": result.changed
    }
    if result.refused:
        text += " " + ngettext(
            "%(count)d was refused (converted, or not yours to change).",
            "%(count)d were refused (converted, or not yours to change).",
            result.refused,
        ) % {"count": result.refused}
        messages.warning(request, text)
    else:
        messages.success(request, text)
    return _back_to_list(querystring)


# -- one lead --


@require_http_methods(["GET", "POST"])
def lead_create(request):
    form = LeadForm(request.POST or None, user=request.user)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(
                actor=request.user,
                fields=form.service_fields(),
                allow_duplicates=form.cleaned_data["allow_duplicates"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        except DuplicatesFound as exc:
            context["duplicates"] = exc.duplicates
        else:
            if selectors.lead_list_for_user(user=request.user).filter(pk=lead.pk).exists():
                messages.success(request, _("Lead %(name)s created.") % {"name": lead})
                return redirect("lead-detail", pk=lead.pk)
            # The rules gave it to someone outside the creator's scope, or to nobody.
            if lead.owner_id:
                text = _("Lead %(name)s created and given to %(owner)s by the assignment rules.")
            else:
                text = _("Lead %(name)s created; no rule took it, so it waits unassigned.")
            messages.success(request, text % {"name": lead, "owner": lead.owner})
            return redirect("lead-list")
    return render(request, "leads/lead_form.html", context)


def _change_rows(event) -> list[tuple[str, str, str]]:
    rows = []
    for name, values in (event.changes or {}).items():
        try:
            label = str(Lead._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            label = name
        old, new = (list(values) + ["", ""])[:2]
        rows.append((label, old, new))
    return rows


def _timeline(lead: Lead) -> list:
    events = list(selectors.lead_timeline(lead=lead))
    for event in events:
        event.change_rows = _change_rows(event)
    return events


def _origin(lead: Lead) -> str:
    """The first line of a lead's story, from its own fields."""
    if lead.lead_import_id:
        return _("Imported from the file %(file)s") % {"file": lead.lead_import.filename}
    if lead.web_form_id:
        return _("Received through the web form %(form)s") % {"form": lead.web_form.name}
    if lead.created_by_id:
        return _("Created by %(user)s") % {"user": lead.created_by}
    return _("Created")


def _detail_context(request, lead: Lead, **extra) -> dict:
    context = {
        "lead": lead,
        "badge": _badge(lead),
        "origin": _origin(lead),
        "timeline": _timeline(lead),
        "note_form": NoteForm(),
        "status_form": StatusForm(
            initial={"status": lead.status, "reason": lead.disqualify_reason_id}
        ),
        "can_delete": services.lead_can_delete(actor=request.user, lead=lead),
        "panels": lead_panels(user=request.user, lead=lead),
    }
    context.update(extra)
    return context


@require_GET
def lead_detail(request, pk: int):
    lead = selectors.lead_get_for_user(user=request.user, lead_id=pk)
    return render(request, "leads/lead_detail.html", _detail_context(request, lead))


@require_http_methods(["GET", "POST"])
def lead_update(request, pk: int):
    lead = selectors.lead_get_for_user(user=request.user, lead_id=pk)
    if lead.is_converted:
        messages.error(request, _("A converted lead cannot be changed."))
        return redirect("lead-detail", pk=lead.pk)
    form = LeadForm(request.POST or None, instance=lead, user=request.user)
    if request.method == "POST" and form.is_valid():
        stored = selectors.lead_get_for_user(user=request.user, lead_id=pk)
        try:
            services.lead_update(actor=request.user, lead=stored, fields=form.service_fields())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Lead %(name)s saved.") % {"name": stored})
            return redirect("lead-detail", pk=lead.pk)
    return render(request, "leads/lead_form.html", {"form": form, "lead": lead})


@require_http_methods(["GET", "POST"])
def lead_delete(request, pk: int):
    lead = selectors.lead_get_for_user(user=request.user, lead_id=pk)
    if not services.lead_can_delete(actor=request.user, lead=lead):
        raise PermissionDenied
    if request.method == "POST":
        name = str(lead)
        services.lead_delete(actor=request.user, lead=lead)
        messages.success(request, _("Lead %(name)s deleted.") % {"name": name})
        return redirect("lead-list")
    return render(request, "leads/lead_confirm_delete.html", {"lead": lead})


@require_POST
def lead_status(request, pk: int):
    """Inline status change from the lead page (htmx), with a reason when disqualifying."""
    lead = selectors.lead_get_for_user(user=request.user, lead_id=pk)
    form = StatusForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.lead_change_status(
                actor=request.user,
                lead=lead,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
            lead.refresh_from_db()
    else:
        error = " ".join(e for errs in form.errors.values() for e in errs)
    if request.htmx:
        context = _detail_context(request, lead, saved=not error, error=error)
        if error:
            context["status_form"] = form
        return render(request, "leads/lead_detail.html#status", context)
    if error:
        messages.error(request, error)
    return redirect("lead-detail", pk=lead.pk)


@require_POST
def lead_note(request, pk: int):
    lead = selectors.lead_get_for_user(user=request.user, lead_id=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.lead_note_add(actor=request.user, lead=lead, body=form.cleaned_data["body"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            form = NoteForm()
    if request.htmx:
        context = _detail_context(request, lead, note_form=form)
        return render(request, "leads/lead_detail.html#timeline-block", context)
    if form.errors:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("lead-detail", pk=lead.pk)


@require_http_methods(["GET", "POST"])
def lead_convert(request, pk: int):
    """Turn the lead into an account (new or found by NIF/e-mail), a contact and a deal."""
    lead = selectors.lead_get_for_user(user=request.user, lead_id=pk)
    if lead.is_converted:
        messages.info(request, _("This lead has already been converted."))
        return redirect("lead-detail", pk=lead.pk)
    candidates = list(selectors.conversion_account_candidates(user=request.user, lead=lead))
    form = ConvertForm(request.POST or None, lead=lead, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            conversion = services.lead_convert(
                actor=request.user,
                lead=lead,
                account=data["account_obj"],
                create_contact=bool(data["create_contact"]),
                create_opportunity=bool(data["create_opportunity"]),
                opportunity_title=data["opportunity_title"],
                opportunity_amount=data["opportunity_amount"],
                expected_close_date=data["expected_close_date"],
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Lead converted into the account %(name)s.") % {"name": conversion.account},
            )
            return redirect("account-detail", pk=conversion.account.pk)
    context = {"lead": lead, "form": form, "candidates": candidates}
    return render(request, "leads/lead_convert.html", context)


# -- assignment rules (administrators) --


def _join(values) -> str:
    return ", ".join(str(v) for v in values)


def rule_conditions(rule: AssignmentRule) -> list[str]:
    """A rule's conditions in words."""
    words = []
    channels = list(rule.channels.all())
    if channels:
        words.append(_("Channel: %(values)s") % {"values": _join(channels)})
    if rule.provinces:
        names = dict(PROVINCES)
        words.append(
            _("Province: %(values)s") % {"values": _join(names.get(p, p) for p in rule.provinces)}
        )
    sectors = list(rule.sectors.all())
    if sectors:
        words.append(_("Sector: %(values)s") % {"values": _join(sectors)})
    if rule.size_segments:
        sizes = dict(SizeSegment.choices)
        words.append(
            _("Size: %(values)s") % {"values": _join(sizes.get(s, s) for s in rule.size_segments)}
        )
    if rule.min_score is not None:
        words.append(_("Score at least %(score)d") % {"score": rule.min_score})
    if rule.product_contains:
        words.append(_("Product of interest contains “%(text)s”") % {"text": rule.product_contains})
    if rule.text_contains:
        words.append(_("Text contains “%(text)s”") % {"text": rule.text_contains})
    return words or [_("Any lead")]


def rule_target(rule: AssignmentRule) -> str:
    if rule.target == AssignmentTarget.USER:
        return _("User %(user)s") % {"user": rule.target_user or "—"}
    if rule.target == AssignmentTarget.ROUND_ROBIN:
        return _("Round robin over the team %(team)s") % {"team": rule.target_team or "—"}
    return _("Team %(team)s member with the fewest open leads") % {"team": rule.target_team or "—"}


def _rules_context(**extra) -> dict:
    rules = list(selectors.assignment_rule_list())
    for rule in rules:
        rule.conditions_text = rule_conditions(rule)
        rule.target_text = rule_target(rule)
    settings = selectors.lead_settings()
    context = {
        "rules": rules,
        "settings_form": LeadSettingsForm(initial={"fallback_owner": settings.fallback_owner_id}),
        "try_form": TryRuleForm(),
    }
    context.update(extra)
    return context


@admin_required
@require_GET
def assignment_rule_list(request):
    return render(request, "leads/assignmentrule_list.html", _rules_context())


def _rule_form_page(request, rule: AssignmentRule | None):
    form = AssignmentRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.assignment_rule_save(actor=request.user, rule=rule, **form.service_kwargs())
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Assignment rule saved."))
            return redirect("assignment-rule-list")
    return render(request, "leads/assignmentrule_form.html", {"form": form, "rule": rule})


@admin_required
@require_http_methods(["GET", "POST"])
def assignment_rule_create(request):
    return _rule_form_page(request, None)


@admin_required
@require_http_methods(["GET", "POST"])
def assignment_rule_update(request, pk: int):
    rule = get_object_or_404(selectors.assignment_rule_list(), pk=pk)
    if request.method == "POST" and "toggle_active" in request.POST:
        services.assignment_rule_save(
            actor=request.user,
            rule=rule,
            fields={"is_active": not rule.is_active},
            channels=list(rule.channels.all()),
            sectors=list(rule.sectors.all()),
        )
        return redirect("assignment-rule-list")
    return _rule_form_page(request, rule)


@admin_required
@require_http_methods(["GET", "POST"])
def assignment_rule_delete(request, pk: int):
    rule = get_object_or_404(AssignmentRule, pk=pk)
    if request.method == "POST":
        services.assignment_rule_delete(actor=request.user, rule=rule)
        messages.success(request, _("Assignment rule %(name)s deleted.") % {"name": rule.name})
        return redirect("assignment-rule-list")
    return render(request, "leads/lead_confirm_delete.html", {"rule": rule})


@admin_required
@require_POST
def assignment_rule_move(request, pk: int):
    rule = get_object_or_404(AssignmentRule, pk=pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    services.assignment_rule_move(actor=request.user, rule=rule, offset=offset)
    return redirect("assignment-rule-list")


@admin_required
@require_POST
def assignment_rule_try(request):
    """Which rule would take a sample lead, and who would get it (htmx fragment)."""
    form = TryRuleForm(request.POST)
    result = None
    if form.is_valid():
        try:
            result = services.assignment_preview(fields=form.lead_fields())
        except ValidationError as exc:
            add_errors(form, exc)
    context = _rules_context(try_form=form, try_result=result, tried=True)
    if request.htmx:
        return render(request, "leads/assignmentrule_list.html#try-it", context)
    return render(request, "leads/assignmentrule_list.html", context)


@admin_required
@require_POST
def lead_settings_update(request):
    form = LeadSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.lead_settings_update(
                actor=request.user, fallback_owner=form.cleaned_data["fallback_owner"]
            )
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Fallback owner saved."))
            return redirect("assignment-rule-list")
    context = _rules_context(settings_form=form)
    return render(request, "leads/assignmentrule_list.html", context)


# -- web forms (administrators) --


def _public_url(request, web_form: WebForm) -> str:
    return request.build_absolute_uri(reverse("web-form-public", args=[web_form.key]))


@admin_required
@require_GET
def web_form_list(request):
    web_forms = list(selectors.web_form_list())
    for web_form in web_forms:
        web_form.public_url = _public_url(request, web_form)
    return render(request, "leads/webform_list.html", {"web_forms": web_forms})


@admin_required
@require_http_methods(["GET", "POST"])
def web_form_create(request):
    form = WebFormForm(request.POST or None, default_channel=services.channel_named("Web"))
    if request.method == "POST" and form.is_valid():
        try:
            web_form = services.web_form_save(actor=request.user, fields=form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Web form %(name)s created.") % {"name": web_form.name})
            return redirect("web-form-detail", pk=web_form.pk)
    return render(request, "leads/webform_form.html", {"form": form})


def _web_form_for_admin(pk: int) -> WebForm:
    return get_object_or_404(selectors.web_form_list(), pk=pk)


def _snippet_context(request, web_form: WebForm) -> dict:
    form = PublicLeadForm(web_form=web_form)
    return {
        "web_form": web_form,
        "public_url": _public_url(request, web_form),
        "public_form": form,
    }


@admin_required
@require_GET
def web_form_detail(request, pk: int):
    web_form = _web_form_for_admin(pk)
    context = _snippet_context(request, web_form)
    context["lead_count"] = web_form.leads.count()
    return render(request, "leads/webform_detail.html", context)


@admin_required
@require_GET
def web_form_embed_snippet(request, pk: int):
    web_form = _web_form_for_admin(pk)
    return render(
        request, "leads/webform_detail.html#embed-snippet", _snippet_context(request, web_form)
    )


@admin_required
@require_http_methods(["GET", "POST"])
def web_form_update(request, pk: int):
    web_form = _web_form_for_admin(pk)
    form = WebFormForm(request.POST or None, web_form=web_form)
    if request.method == "POST" and form.is_valid():
        try:
            services.web_form_save(actor=request.user, web_form=web_form, fields=form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Web form %(name)s saved.") % {"name": web_form.name})
            return redirect("web-form-detail", pk=web_form.pk)
    return render(request, "leads/webform_form.html", {"form": form, "web_form": web_form})


@admin_required
@require_http_methods(["GET", "POST"])
def web_form_delete(request, pk: int):
    web_form = _web_form_for_admin(pk)
    if request.method == "POST":
        services.web_form_delete(actor=request.user, web_form=web_form)
        messages.success(request, _("Web form %(name)s deleted.") % {"name": web_form.name})
        return redirect("web-form-list")
    return render(request, "leads/lead_confirm_delete.html", {"web_form": web_form})


# -- the public form --


def _over_rate_limit(request, web_form: WebForm) -> bool:
    """Count this post against its address and form; True past the limit."""
    key = f"webform-posts:{web_form.pk}:{client_ip(request)}"
    cache.add(key, 0, timeout=WEB_FORM_RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=WEB_FORM_RATE_WINDOW)
        count = 1
    return count > WEB_FORM_RATE_LIMIT


def _success(request, web_form: WebForm):
    if web_form.redirect_url:
        return redirect(web_form.redirect_url)
    return render(request, "leads/webform_thanks.html", {"web_form": web_form})


@login_not_required
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def web_form_public(request, key: str):
    """The public form (GET) and its endpoint (POST), embeddable in any website.

    A third-party page posts to it (no CSRF token); bots that fill the hidden "website"
    field get the usual answer and create nothing; each address may post a few times only.
    """
    web_form = WebForm.objects.filter(key=key, is_active=True).select_related("channel").first()
    if web_form is None:
        raise Http404
    form = PublicLeadForm(request.POST or None, web_form=web_form)
    if request.method == "POST":
        if _over_rate_limit(request, web_form):
            return render(request, "leads/webform_thanks.html", {"limited": True}, status=429)
        if request.POST.get("website"):
            return _success(request, web_form)
        if form.is_valid():
            try:
                services.web_form_submit(web_form=web_form, data=form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            except PermissionDenied as exc:
                raise Http404 from exc
            else:
                return _success(request, web_form)
    return render(request, "leads/webform_public.html", {"web_form": web_form, "form": form})
