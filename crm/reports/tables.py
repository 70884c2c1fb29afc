"""The pipeline and planning figures as tables and charts: what their pages show and what
their CSV, XLSX and PDF exports contain (one shape, so the page and the file agree)."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.reports.periods import Period
from crm.reports.selectors import Cell, Chart, PlanSubject, Report, Row, Table


def _ageing_label(low: int, high: int | None) -> str:
    if high is None:
        return _("over %(days)s days") % {"days": low - 1}
    return _("%(low)s–%(high)s days") % {"low": low, "high": high}


def dashboard_tables(result: dict, *, chart: Chart) -> Report:
    """The dashboard: each figure, the previous period's and a fiscal year before's, with the
    change in %."""
    current, previous, last_year = result["periods"]
    rows = []
    for kpi in result["kpis"]:
        cells = [Cell(kpi.values[0], kpi.value_format)]
        for comparison in kpi.comparisons:
            moved = comparison["change"]
            tone = moved.get("tone", "") if moved else ""
            cells.append(Cell(comparison["value"], kpi.value_format))
            cells.append(Cell(moved["percent"] if moved else None, "percent", "", tone))
        rows.append(Row(kpi.label, cells, kpi.key))
    table = Table(
        _("Dashboard"),
        [
            _("Figure"),
            current.label(),
            _("Previous period"),
            _("Change"),
            _("A fiscal year before"),
            _("Change"),
        ],
        rows,
    )
    subtitle = _("%(period)s, against %(previous)s and %(last_year)s") % {
        "period": current.label(),
        "previous": previous.label(),
        "last_year": last_year.label(),
    }
    return Report(_("Dashboard"), subtitle, [table], [chart])


def pipeline_report_tables(data: dict, *, pipeline, period: Period) -> Report:
    board = reverse("opportunity-list")
    stages = Table(
        _("Open deals by stage (now)"),
        [_("Stage"), _("Deals"), _("Amount"), _("Weighted")],
        [
            Row(
                r["stage"].name,
                [
                    Cell(r["count"], "number", r["link"]),
                    Cell(r["amount"], "money", r["link"]),
                    Cell(r["weighted"], "money", r["link"]),
                ],
                str(r["stage"].pk),
            )
            for r in data["stages"]
        ],
        Row(
            _("Total"),
            [
                Cell(data["stage_totals"]["count"], "number", board),
                Cell(data["stage_totals"]["amount"], "money"),
                Cell(data["stage_totals"]["weighted"], "money"),
            ],
        ),
    )
    funnel = Table(
        _("Funnel of the deals created in the period"),
        [_("Stage reached"), _("Deals"), _("From the previous stage")],
        [
            Row(step["label"], [Cell(step["count"], "number"), Cell(step["conversion"], "percent")])
            for step in data["funnel"]
        ],
    )
    time_in_stage = Table(
        _("Time in each stage"),
        [_("Stage"), _("Moves out in the period"), _("Average days"), _("Open deals there now")],
        [
            Row(
                r["stage"].name,
                [
                    Cell(r["moves"], "number"),
                    Cell(r["average_days"], "days"),
                    Cell(r["open_now"], "number"),
                ],
            )
            for r in data["time_in_stage"]
        ],
    )
    bucket_labels = [_ageing_label(low, high) for low, high in data["ageing_buckets"]]
    ageing = Table(
        _("Age of open deals (days since created)"),
        [_("Stage"), *bucket_labels],
        [
            Row(r["stage"].name, [Cell(b["count"], "number") for b in r["buckets"]])
            for r in data["ageing"]
        ],
        Row(_("Total"), [Cell(t["count"], "number") for t in data["ageing_totals"]]),
    )
    ageing_amount = Table(
        _("Amount of open deals by age"),
        [_("Stage"), *bucket_labels],
        [
            Row(r["stage"].name, [Cell(b["amount"], "money") for b in r["buckets"]])
            for r in data["ageing"]
        ],
        Row(_("Total"), [Cell(t["amount"], "money") for t in data["ageing_totals"]]),
    )
    charts = [
        Chart(
            "hbar",
            stages.title,
            [r.label for r in stages.rows],
            [
                (_("Amount"), [r.cells[1].value for r in stages.rows]),
                (_("Weighted"), [r.cells[2].value for r in stages.rows]),
            ],
            "money",
            [r.cells[0].link for r in stages.rows],
        ),
        Chart(
            "funnel",
            funnel.title,
            [step["label"] for step in data["funnel"]],
            [(_("Deals"), [step["count"] for step in data["funnel"]])],
            "number",
        ),
        Chart(
            "hbar",
            time_in_stage.title,
            [r.label for r in time_in_stage.rows],
            [(_("Average days"), [r.cells[1].value for r in time_in_stage.rows])],
            "days",
        ),
        Chart(
            "bar",
            ageing.title,
            bucket_labels,
            [(_("Deals"), [t["count"] for t in data["ageing_totals"]])],
            "number",
        ),
    ]
    subtitle = f"{pipeline.name} · {period.label()}"
    return Report(
        _("Pipeline"), subtitle, [stages, funnel, time_in_stage, ageing, ageing_amount], charts
    )


def plan_tables(plan: dict, *, subject: PlanSubject) -> Report:
    tables = []
    month_labels = [formats.date_format(r["month"], "M Y") for r in plan["rows"]]
    for metric in plan["metrics"]:
        fmt = "money" if metric == "revenue_won" else "number"
        rows = []
        for r, label in zip(plan["rows"], month_labels, strict=True):
            figure = r["figures"][metric]
            rows.append(
                Row(
                    label,
                    [
                        Cell(figure["target"], fmt),
                        Cell(figure["actual"], fmt, figure["link"]),
                        Cell(figure["attainment"], "percent", "", _tone(figure["attainment"])),
                    ],
                )
            )
        total = plan["totals"][metric]
        tables.append(
            Table(
                metric.label,
                [_("Month"), pgettext("planning", "Target"), _("Actual"), _("Attainment")],
                rows,
                Row(
                    _("Total"),
                    [
                        Cell(total["target"], fmt),
                        Cell(total["actual"], fmt),
                        Cell(total["attainment"], "percent", "", _tone(total["attainment"])),
                    ],
                ),
            )
        )
    forecast_link = reverse("opportunity-list")
    tables.append(
        Table(
            _("Forecast"),
            [
                _("Month"),
                _("Revenue target"),
                _("Open pipeline"),
                _("Weighted pipeline"),
                _("Won + weighted"),
            ],
            [
                Row(
                    label,
                    [
                        Cell(r["figures"]["revenue_won"]["target"], "money"),
                        Cell(
                            r["pipeline"]["amount"],
                            "money",
                            _open_deals_link(forecast_link, r["month"]),
                        ),
                        Cell(r["pipeline"]["weighted"], "money"),
                        Cell(r["expected"], "money"),
                    ],
                )
                for r, label in zip(plan["rows"], month_labels, strict=True)
            ],
            Row(
                _("Total"),
                [
                    Cell(plan["totals"]["revenue_won"]["target"], "money"),
                    Cell(sum(r["pipeline"]["amount"] for r in plan["rows"]), "money"),
                    Cell(sum(r["pipeline"]["weighted"] for r in plan["rows"]), "money"),
                    Cell(plan["forecast_total"], "money"),
                ],
            ),
        )
    )
    revenue = tables[0]
    charts = [
        Chart(
            "bar",
            _("Revenue: target and actual"),
            month_labels,
            [
                (pgettext("planning", "Target"), [r.cells[0].value for r in revenue.rows]),
                (_("Actual"), [r.cells[1].value for r in revenue.rows]),
            ],
            "money",
        ),
        Chart(
            "line",
            _("Forecast: won + weighted pipeline"),
            month_labels,
            [
                (
                    _("Revenue target"),
                    [r["figures"]["revenue_won"]["target"] for r in plan["rows"]],
                ),
                (_("Won + weighted"), [r["expected"] for r in plan["rows"]]),
            ],
            "money",
        ),
    ]
    title = _("Planning %(year)s") % {"year": plan["year_label"]}
    return Report(title, subject.label, tables, charts)


def _tone(attainment) -> str:
    if attainment is None:
        return ""
    return "success" if attainment >= 100 else "warning" if attainment >= 80 else "danger"


def _open_deals_link(base: str, month) -> str:
    return f"{base}?{urlencode({'status': 'open', 'month': month.strftime('%Y-%m')})}"
