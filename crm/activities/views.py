"""Pages for activities: my day, team, calendar, list, one activity, and the iCal feed."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.activities import ical, selectors, services
from crm.activities.forms import ActivityForm, CancelForm, CompleteForm, LogCallForm
from crm.activities.models import ActivityStatus
from crm.activities.panels import panel_context
from crm.customers.selectors import account_get_for_user, contact_get_for_user
from crm.leads.selectors import lead_get_for_user
from crm.sales.models import Quote
from crm.sales.selectors import opportunity_get_for_user

PAGE_SIZE = 25


def _quote_get_for_user(*, user, quote_id: int) -> Quote:
    return get_object_or_404(Quote.objects.visible_to(user), pk=quote_id)


RECORD_GETTERS = {
    "lead": lambda user, pk: lead_get_for_user(user=user, lead_id=pk),
    "account": lambda user, pk: account_get_for_user(user=user, account_id=pk),
    "contact": lambda user, pk: contact_get_for_user(user=user, contact_id=pk),
    "opportunity": lambda user, pk: opportunity_get_for_user(user=user, opportunity_id=pk),
    "quote": lambda user, pk: _quote_get_for_user(user=user, quote_id=pk),
}
RECORD_URLS = {
    "lead": "lead-detail",
    "account": "account-detail",
    "contact": "contact-detail",
    "opportunity": "opportunity-detail",
    "quote": "quote-detail",
}


def _records(request, source) -> dict:
    """The records named in ?lead=|account=|contact=|opportunity=|quote= (404 if not visible)."""
    records = {}
    for name, getter in RECORD_GETTERS.items():
        value = source.get(name)
        if value:
            try:
                pk = int(value)
            except ValueError:
                continue
            records[name] = getter(request.user, pk)
    return records


def _record_url(activity) -> str:
    for name in ("opportunity", "contact", "account", "lead", "quote"):
        if getattr(activity, f"{name}_id"):
            return reverse(RECORD_URLS[name], args=[getattr(activity, f"{name}_id")])
    return ""


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return default


@require_GET
def activity_my_day(request):
    context = {"day": selectors.my_day(user=request.user), "today": timezone.localdate()}
    return render(request, "activities/activity_my_day.html", context)


@require_GET
def activity_team(request):
    if not (request.user.is_admin or request.user.is_manager):
        raise PermissionDenied
    groups = selectors.team_view(user=request.user)
    return render(
        request,
        "activities/activity_team.html",
        {"groups": groups, "today_start": services.day_start(timezone.localdate())},
    )


def _parse_date(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@require_GET
def activity_calendar(request):
    view = "week" if request.GET.get("view") == "week" else "month"
    anchor = _parse_date(request.GET.get("date"))
    first, last = selectors.calendar_range(view=view, anchor=anchor)
    days = selectors.calendar(user=request.user, first=first, last=last)
    if view == "week":
        previous, following = anchor - timedelta(days=7), anchor + timedelta(days=7)
    else:
        month_first = anchor.replace(day=1)
        previous = (month_first - timedelta(days=1)).replace(day=1)
        following = (month_first + timedelta(days=32)).replace(day=1)
    weeks = []
    ordered = sorted(days.items())
    for i in range(0, len(ordered), 7):
        weeks.append(ordered[i : i + 7])
    context = {
        "view": view,
        "anchor": anchor,
        "first": first,
        "last": last,
        "weeks": weeks,
        "agenda": [(day, items) for day, items in ordered if items],
        "previous": previous,
        "following": following,
        "today": timezone.localdate(),
        "weekdays": [first + timedelta(days=i) for i in range(7)],
    }
    return render(request, "activities/activity_calendar.html", context)


@require_GET
def activity_list(request):
    queryset = selectors.activity_list_for_user(user=request.user)
    status = request.GET.get("status", "pending")
    if status in ActivityStatus.values:
        queryset = queryset.filter(status=status)
    mine = request.GET.get("mine", "1") == "1"
    if mine:
        queryset = queryset.filter(assignee=request.user)
    order = ("due_at", "id") if status == "pending" else ("-due_at", "-id")
    page = Paginator(queryset.order_by(*order), PAGE_SIZE).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    context = {
        "page": page,
        "status": status,
        "mine": mine,
        "statuses": ActivityStatus.choices,
        "querystring": querystring.urlencode(),
    }
    return render(request, "activities/activity_list.html", context)


@require_http_methods(["GET", "POST"])
def activity_create(request):
    source = request.POST if request.method == "POST" else request.GET
    records = _records(request, source)
    form = ActivityForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.activity_create(
                actor=request.user, fields={**form.service_fields(), **records}
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Activity %(subject)s created.") % {"subject": activity})
            return redirect(_next_url(request, reverse("activity-detail", args=[activity.pk])))
    context = {"form": form, "records": records, "next": _next_url(request, "")}
    return render(request, "activities/activity_form.html", context)


@require_GET
def activity_detail(request, pk: int):
    activity = selectors.activity_get_for_user(user=request.user, activity_id=pk)
    context = {
        "activity": activity,
        "record_url": _record_url(activity),
        "follow_ups": activity.follow_ups.all(),
    }
    return render(request, "activities/activity_detail.html", context)


@require_http_methods(["GET", "POST"])
def activity_update(request, pk: int):
    activity = selectors.activity_get_for_user(user=request.user, activity_id=pk)
    if not activity.is_pending:
        messages.error(request, _("Only a pending activity can be changed."))
        return redirect("activity-detail", pk=activity.pk)
    form = ActivityForm(request.POST or None, user=request.user, activity=activity)
    if request.method == "POST" and form.is_valid():
        try:
            services.activity_update(
                actor=request.user, activity=activity, fields=form.service_fields()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Activity %(subject)s saved.") % {"subject": activity})
            return redirect("activity-detail", pk=activity.pk)
    return render(request, "activities/activity_form.html", {"form": form, "activity": activity})


@require_http_methods(["GET", "POST"])
def activity_complete(request, pk: int):
    activity = selectors.activity_get_for_user(user=request.user, activity_id=pk)
    if not activity.is_pending:
        messages.error(request, _("Only a pending activity can be changed."))
        return redirect("activity-detail", pk=activity.pk)
    form = CompleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _done, follow_up = services.activity_complete(
                actor=request.user,
                activity=activity,
                outcome=form.cleaned_data["outcome"],
                follow_up=form.follow_up_fields(),
            )
        except ValidationError as exc:
            activity.refresh_from_db()
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    target = field if field in form.fields else None
                    form.add_error(target, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("Activity %(subject)s done.") % {"subject": activity})
            if follow_up is not None:
                messages.info(
                    request, _("Follow-up %(subject)s scheduled.") % {"subject": follow_up}
                )
            return redirect(_next_url(request, reverse("activity-detail", args=[activity.pk])))
    context = {
        "activity": activity,
        "form": form,
        "outcome_required": activity.kind in services.OUTCOME_REQUIRED,
        "next": _next_url(request, ""),
    }
    return render(request, "activities/activity_complete.html", context)


@require_POST
def activity_cancel(request, pk: int):
    activity = selectors.activity_get_for_user(user=request.user, activity_id=pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.activity_cancel(actor=request.user, activity=activity, reason=reason)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Activity %(subject)s cancelled.") % {"subject": activity})
    return redirect("activity-detail", pk=activity.pk)


@require_POST
def activity_log_call(request):
    """The inline "log a call" form of a record's panel (htmx), or a plain POST."""
    records = _records(request, request.POST)
    if not records:
        raise PermissionDenied
    form = LogCallForm(request.POST)
    saved = None
    if form.is_valid():
        try:
            saved = services.activity_log_call(
                actor=request.user,
                subject=form.cleaned_data["subject"],
                outcome=form.cleaned_data["outcome"],
                duration_minutes=form.cleaned_data["duration_minutes"],
                **records,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
    if request.htmx:
        name, record = next(iter(records.items()))
        if name == "quote":
            name, record = "opportunity", record.opportunity
        context = panel_context(user=request.user, **{name: record})
        if saved is None:
            context["log_form"] = form
        context["logged"] = saved
        return render(request, "activities/partials/record_panel.html", {"panel": context})
    if saved is not None:
        messages.success(request, _("Call logged."))
    else:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    name, record = next(iter(records.items()))
    return redirect(_next_url(request, reverse(RECORD_URLS[name], args=[record.pk])))


@require_http_methods(["GET", "POST"])
def calendar_feed(request):
    """The user's secret calendar address: see it, copy it, revoke it."""
    if request.method == "POST":
        feed = services.calendar_feed_revoke(user=request.user)
        messages.success(request, _("A new address has been issued; the old one stops working."))
        return redirect("calendar-feed")
    feed = services.calendar_feed_get_or_create(user=request.user)
    url = request.build_absolute_uri(reverse("calendar-feed-ics", args=[feed.token]))
    return render(request, "activities/calendar_feed.html", {"feed": feed, "feed_url": url})


STATUS_MAP = {"pending": "CONFIRMED", "done": "CONFIRMED", "cancelled": "CANCELLED"}


@login_not_required
@require_GET
def calendar_feed_ics(request, token: str):
    feed = selectors.feed_for_token(token=token)
    now = timezone.now()
    host = request.get_host().split(":")[0] or "crm"
    events = []
    for activity in selectors.feed_activities(user=feed.user):
        local_day = timezone.localtime(activity.due_at).date()
        start = local_day if activity.all_day else activity.due_at
        summary = activity.subject
        if activity.status == ActivityStatus.DONE:
            summary = "✓ " + summary
        description = "\n".join(
            part
            for part in (
                activity.get_kind_display(),
                str(activity.account or activity.lead or ""),
                activity.description,
                activity.outcome,
            )
            if part
        )
        events.append(
            ical.Event(
                uid=f"activity-{activity.pk}@{host}",
                start=start,
                end=ical.default_end(start, activity.duration_minutes),
                summary=summary,
                description=description,
                url=request.build_absolute_uri(reverse("activity-detail", args=[activity.pk])),
                status=STATUS_MAP[activity.status],
                stamp=activity.updated_at,
            )
        )
    body = ical.calendar(events, name=_("CRM activities"), now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="activities.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
