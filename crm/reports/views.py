import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.core.selectors import company_settings_get
from crm.reports import exports, metrics, selectors, services, tables
from crm.reports.forms import PeriodForm, ReportForm, YearPeriodForm
from crm.reports.models import TargetMetric
from crm.reports.periods import Period, PeriodKind, check_custom, months_between
from crm.sales.quote_forms import parse_decimal

PAGE_SIZE = 25


def _period_form(request, settings, form_class=PeriodForm, **kwargs):
    return form_class(request.GET, today=settings.today(), fiscal=settings.fiscal, **kwargs)


def _query_without(request, *names) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


@require_GET
def dashboard(request):
    """The home page: the period's figures against the previous period and the same period
    of the previous fiscal year."""
    settings = selectors.report_settings()
    form = _period_form(request, settings)
    context = {"form": form, "settings": settings}
    if not form.is_valid():
        return render(request, "reports/dashboard.html", context, status=400)
    period = form.value
    context.update(selectors.dashboard(user=request.user, period=period, settings=settings))
    context["period"] = period
    context["querystring"] = request.GET.urlencode()
    context["revenue_chart"] = selectors.revenue_by_month_chart(
        user=request.user, period=period, settings=settings
    )
    return render(request, "reports/dashboard.html", context)


@require_GET
def dashboard_export(request, fmt: str):
    """The dashboard's figures and comparisons as CSV, Excel or PDF."""
    settings = selectors.report_settings()
    form = _period_form(request, settings)
    if not form.is_valid():
        return render(request, "reports/dashboard.html", {"form": form}, status=400)
    result = selectors.dashboard(user=request.user, period=form.value, settings=settings)
    chart = selectors.revenue_by_month_chart(
        user=request.user, period=form.value, settings=settings
    )
    return _export(request, tables.dashboard_tables(result, chart=chart), fmt, "dashboard")


# A page shows this many rows per table (a product report may have hundreds); downloads all.
PAGE_ROWS = 40


def _report_from_request(request, settings, *, max_rows: int | None = None):
    form = _period_form(request, settings, ReportForm)
    if not form.is_valid():
        return form, None
    spec = form.spec()
    try:
        result = selectors.report(
            user=request.user, spec=spec, settings=settings, max_rows=max_rows
        )
    except metrics.UnknownName as error:
        form.add_error(None, str(error))
        return form, None
    return form, result


@require_GET
def report_view(request):
    """One report: a figure or ratio by a dimension, month by month, as running totals or
    fiscal year against fiscal year, with its charts and tables."""
    settings = selectors.report_settings()
    form, result = _report_from_request(request, settings, max_rows=PAGE_ROWS)
    context = {
        "form": form,
        "report": result,
        "querystring": request.GET.urlencode(),
        "measure_dimensions": {
            key: metrics.dimensions_for(key) for key in [*metrics.MEASURES, *metrics.RATIOS]
        },
    }
    return render(request, "reports/report.html", context, status=200 if result else 400)


def _export(request, result, fmt: str, name: str):
    settings = selectors.report_settings()
    filename = f"{name}-{settings.today():%Y%m%d}"
    return exports.report_response(
        report=result,
        fmt=fmt,
        filename=filename,
        company_name=company_settings_get().name,
        generated_at=timezone.localtime(timezone.now(), settings.tz),
    )


@require_GET
def report_export(request, fmt: str):
    settings = selectors.report_settings()
    form, result = _report_from_request(request, settings)
    if result is None:
        return render(request, "reports/report.html", {"form": form, "report": None}, status=400)
    return _export(request, result, fmt, result.title)


def _pipeline_context(request):
    settings = selectors.report_settings()
    form = _period_form(request, settings, YearPeriodForm)
    pipelines = list(selectors.pipeline_list_for_user(request.user))
    pipeline = next((p for p in pipelines if str(p.pk) == request.GET.get("pipeline")), None)
    if pipeline is None:
        pipeline = next((p for p in pipelines if p.is_default), pipelines[0] if pipelines else None)
    context = {"form": form, "pipelines": pipelines, "pipeline": pipeline, "data": None}
    if pipeline is None:
        raise Http404
    if not form.is_valid():
        return context, settings
    context["period"] = form.value
    context["data"] = selectors.pipeline_report(
        user=request.user, pipeline=pipeline, period=form.value, settings=settings
    )
    context["report"] = tables.pipeline_report_tables(
        context["data"], pipeline=pipeline, period=form.value
    )
    return context, settings


@require_GET
def pipeline_view(request):
    """The pipeline: open deals by stage, the funnel, time in each stage, ageing."""
    context, _settings = _pipeline_context(request)
    context["querystring"] = request.GET.urlencode()
    return render(request, "reports/pipeline.html", context, status=200 if context["data"] else 400)


@require_GET
def pipeline_export(request, fmt: str):
    context, settings = _pipeline_context(request)
    if context["data"] is None:
        return render(request, "reports/pipeline.html", context, status=400)
    return _export(request, context["report"], fmt, "pipeline")


def _fiscal_year(query, settings) -> int:
    """The fiscal year asked for (`year`), within ten years back and two ahead; this one when
    it is missing or not a number."""
    current = settings.fiscal.year_of(settings.today())
    try:
        year = int(query.get("year", current))
    except ValueError:
        year = current
    return min(max(year, current - 10), current + 2)


def _plan_context(request):
    settings = selectors.report_settings()
    subjects = selectors.plan_subjects_for_user(request.user)
    wanted = request.GET.get("subject")
    subject = next((s for s in subjects if s.key == wanted), None)
    if subject is None:
        subject = subjects[0]
    year = _fiscal_year(request.GET, settings)
    data = selectors.plan(user=request.user, subject=subject, year=year, settings=settings)
    current = settings.fiscal.year_of(settings.today())
    years = [(y, settings.fiscal.year_label(y)) for y in range(current + 1, current - 6, -1)]
    return {
        "subjects": subjects,
        "subject": subject,
        "plan": data,
        "years": years,
        "settings": settings,
        "can_plan": subject.kind != "company"
        and services.can_plan_for(request.user, user=subject.user, team=subject.team),
    }


@require_GET
def planning_view(request):
    """Targets against actual figures by month, with the forecast from the pipeline."""
    context = _plan_context(request)
    context["querystring"] = request.GET.urlencode()
    context["report"] = tables.plan_tables(context["plan"], subject=context["subject"])
    return render(request, "reports/planning.html", context)


@require_GET
def planning_export(request, fmt: str):
    context = _plan_context(request)
    result = tables.plan_tables(context["plan"], subject=context["subject"])
    return _export(request, result, fmt, "planning")


@require_http_methods(["GET", "POST"])
def targets_edit(request):
    """One rep's or team's targets for a fiscal year: a month-by-figure grid."""
    settings = selectors.report_settings()
    subjects = [
        s
        for s in selectors.plan_subjects_for_user(request.user)
        if s.kind != "company" and services.can_plan_for(request.user, user=s.user, team=s.team)
    ]
    source = request.POST if request.method == "POST" else request.GET
    subject = next((s for s in subjects if s.key == source.get("subject")), None)
    if subject is None:
        raise PermissionDenied(_("You cannot set these targets."))
    year = _fiscal_year(source, settings)
    months = months_between(settings.fiscal.year_start(year), settings.fiscal.year_end(year))
    stored = selectors.targets_for_edit(subject=subject, year=year, settings=settings)
    errors = {}
    values = {}
    for month in months:
        for metric in TargetMetric.values:
            name = f"t-{month:%Y-%m}-{metric}"
            if request.method == "POST":
                raw = request.POST.get(name, "")
                try:
                    values[month, metric] = parse_decimal(raw)
                except ValueError:
                    errors[name] = _("Enter a number.")
                    values[month, metric] = None
    if request.method == "POST" and not errors:
        try:
            services.targets_save(
                actor=request.user,
                user=subject.user,
                team=subject.team,
                values=values,
            )
        except ValidationError as error:
            errors["__all__"] = " ".join(error.messages)
        else:
            messages.success(request, _("Targets saved."))
            return redirect(f"{reverse('report-planning')}?subject={subject.key}&year={year}")
    rows = []
    for month in months:
        cells = []
        for metric in TargetMetric.values:
            name = f"t-{month:%Y-%m}-{metric}"
            if request.method == "POST":
                value = request.POST.get(name, "")
            else:
                value = stored.get((month, metric))
                if value is not None and metric != TargetMetric.REVENUE_WON:
                    value = int(value)
            cells.append(
                {"name": name, "value": value, "error": errors.get(name), "metric": metric}
            )
        rows.append({"month": month, "cells": cells})
    context = {
        "subject": subject,
        "subjects": subjects,
        "year": year,
        "year_label": settings.fiscal.year_label(year),
        "rows": rows,
        "metrics": TargetMetric.choices,
        "error": errors.get("__all__"),
        "has_errors": bool(errors),
    }
    return render(request, "reports/target_form.html", context, status=400 if errors else 200)


RECORD_TEMPLATES = {
    "lead": "reports/partials/records_lead.html",
    "opportunity": "reports/partials/records_opportunity.html",
    "quote": "reports/partials/records_quote.html",
    "quote_line": "reports/partials/records_quote_line.html",
    "activity": "reports/partials/records_activity.html",
}


def _parse_day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value or "")
    except ValueError:
        return None


@require_GET
def records_view(request):
    """The records behind one figure: the same rows the figure counts or adds up."""
    settings = selectors.report_settings()
    measure = request.GET.get("measure", "")
    start, end = _parse_day(request.GET.get("start")), _parse_day(request.GET.get("end"))
    error = None
    if start is None and end is None and request.GET.get("period"):
        # A named period (?period=year) as on the other report pages.
        form = _period_form(request, settings)
        if form.is_valid():
            start, end = form.value.start, form.value.end
    if measure not in metrics.MEASURES:
        error = _("Unknown measure: %(name)s.") % {"name": measure[:40]}
    elif start is None or end is None:
        error = _("Give the period's first and last day as YYYY-MM-DD.")
    else:
        error = check_custom(start, end)
    filters = {k: request.GET[k] for k in metrics.DIMENSIONS if request.GET.get(k)}
    if error is None:
        try:
            for key, value in filters.items():
                metrics.check_filter(measure, key, value)
        except metrics.UnknownName as problem:
            error = str(problem)
    if error:
        return render(request, "reports/records.html", {"error": error}, status=400)
    m = metrics.MEASURES[measure]
    period = Period(start, end, PeriodKind.CUSTOM)
    queryset = metrics.measure_queryset(
        user=request.user, measure=measure, period=period, tz=settings.tz, filters=filters
    )
    queryset = selectors.records_for_display(queryset, m.source, m.date_field)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {}
    for key, value in filters.items():
        labels[str(metrics.DIMENSIONS[key])] = metrics.dimension_labels(key, [value]).get(
            value, value
        )
    context = {
        "measure": m,
        "period": period,
        "filters": labels,
        "page": page,
        "querystring": _query_without(request, "page"),
        "row_template": RECORD_TEMPLATES[m.source],
    }
    return render(request, "reports/records.html", context)
