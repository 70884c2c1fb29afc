"""Reports for integrations (a BI tool, a spreadsheet): the same figures as the pages, from
the same forms and selectors, as JSON. Amounts are strings, exact to the cent."""

from decimal import Decimal

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from crm.reports import metrics, selectors
from crm.reports.forms import PeriodForm, ReportForm
from crm.reports.periods import PeriodKind

PERIOD_PARAMETERS = [
    OpenApiParameter("period", OpenApiTypes.STR, enum=[k for k, _label in PeriodKind.CHOICES]),
    OpenApiParameter("start", OpenApiTypes.DATE, description="With period=custom."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="With period=custom."),
]


def _number(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def _errors(form) -> Response:
    return Response({"errors": form.errors.get_json_data()}, status=400)


def _period(period) -> dict:
    return {"start": period.start, "end": period.end}


@extend_schema(
    tags=["reports"],
    summary="The dashboard's figures, with the previous period and a fiscal year before",
    parameters=PERIOD_PARAMETERS,
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def dashboard(request):
    settings = selectors.report_settings()
    form = PeriodForm(request.GET, today=settings.today(), fiscal=settings.fiscal)
    if not form.is_valid():
        return _errors(form)
    result = selectors.dashboard(user=request.user, period=form.value, settings=settings)
    return Response(
        {
            "periods": [_period(p) for p in result["periods"]],
            "figures": [
                {
                    "key": kpi.key,
                    "label": kpi.label,
                    "format": kpi.value_format,
                    "values": [_number(v) for v in kpi.values],
                    "changes": [
                        {
                            "difference": _number(c["change"]["difference"]),
                            "percent": _number(c["change"]["percent"]),
                        }
                        if c["change"]
                        else None
                        for c in kpi.comparisons
                    ],
                }
                for kpi in result["kpis"]
            ],
        }
    )


def _row(row) -> dict:
    return {
        "label": row.label,
        "key": row.key,
        "values": [_number(cell.value) for cell in row.cells],
    }


@extend_schema(
    tags=["reports"],
    summary="One report view: a figure or ratio by a dimension over time",
    parameters=[
        OpenApiParameter("measure", OpenApiTypes.STR, enum=[*metrics.MEASURES, *metrics.RATIOS]),
        OpenApiParameter("dimension", OpenApiTypes.STR, enum=list(metrics.DIMENSIONS)),
        OpenApiParameter("granularity", OpenApiTypes.STR, enum=["month", "quarter", "year"]),
        OpenApiParameter("view", OpenApiTypes.STR, enum=["monthly", "cumulative", "yoy"]),
        *PERIOD_PARAMETERS,
    ],
    responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def report(request):
    settings = selectors.report_settings()
    form = ReportForm(request.GET, today=settings.today(), fiscal=settings.fiscal)
    if not form.is_valid():
        return _errors(form)
    spec = form.spec()
    try:
        result = selectors.report(user=request.user, spec=spec, settings=settings)
    except metrics.UnknownName as error:  # the form checks first; the selector has the last word
        return Response({"errors": {"__all__": [{"message": str(error)}]}}, status=400)
    return Response(
        {
            "title": result.title,
            "subtitle": result.subtitle,
            "format": metrics.format_of(spec.measure),
            "period": _period(spec.period),
            "tables": [
                {
                    "title": table.title,
                    "headers": table.headers,
                    "rows": [_row(r) for r in table.rows],
                    "total": _row(table.total) if table.total else None,
                }
                for table in result.tables
            ],
        }
    )


@extend_schema(
    tags=["reports"],
    summary="The figures, ratios and dimensions reports know, and which apply together",
    responses={200: OpenApiTypes.OBJECT},
)
@api_view(["GET"])
def vocabulary(request):
    return Response(
        {
            "measures": [
                {"key": key, "label": str(m.label), "format": m.value_format}
                for key, m in metrics.MEASURES.items()
            ],
            "ratios": [
                {"key": key, "label": str(r.label), "format": r.value_format}
                for key, r in metrics.RATIOS.items()
            ],
            "dimensions": [
                {
                    "key": key,
                    "label": str(label),
                    "applies_to": [
                        k
                        for k in [*metrics.MEASURES, *metrics.RATIOS]
                        if key in metrics.dimensions_for(k)
                    ],
                }
                for key, label in metrics.DIMENSIONS.items()
            ],
        }
    )


urlpatterns = [
    path("dashboard/", dashboard, name="api-report-dashboard"),
    path("report/", report, name="api-report"),
    path("vocabulary/", vocabulary, name="api-report-vocabulary"),
]
