"""Read queries of the reports: the dashboard, the report views, the pipeline and planning.

All figures come from `crm.reports.metrics` (and its `scope_q`: whose figures a user sees),
grouped by month in the database and folded here into quarters, fiscal years, running totals
and comparisons, so a page costs a handful of grouped queries whatever the data's size.
"""

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from crm.activities.models import Activity, ActivityStatus
from crm.core.selectors import company_settings_get
from crm.reports import metrics
from crm.reports.metrics import NONE_VALUE, UnknownName
from crm.reports.models import PipelineSnapshot, Target, TargetMetric
from crm.reports.periods import (
    FiscalCalendar,
    Period,
    add_months,
    month_end,
    month_start,
    months_between,
)
from crm.sales.models import Opportunity, Pipeline, Stage, StageChange, StageKind
from crm.sales.selectors import weighted_sum, weighted_value
from crm.users.models import Team, User

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ReportSettings:
    tz: ZoneInfo
    fiscal: FiscalCalendar

    def today(self) -> dt.date:
        return timezone.localtime(timezone.now(), self.tz).date()


def report_settings() -> ReportSettings:
    """The company's time zone and fiscal year, which every figure follows."""
    company = company_settings_get()
    return ReportSettings(
        ZoneInfo(company.time_zone), FiscalCalendar(company.fiscal_year_start_month)
    )


def records_link(measure: str, start: dt.date, end: dt.date, filters: dict | None = None) -> str:
    """The drill-down page listing the records behind one figure."""
    query = {"measure": measure, "start": start.isoformat(), "end": end.isoformat()}
    query.update(filters or {})
    return f"{_records_url()}?{urlencode(query)}"


@functools.cache
def _records_url() -> str:
    # A report may have thousands of cells: resolve the URL once.
    return reverse("report-records")


def change(current, previous) -> dict | None:
    """How a figure moved: the difference, the % of the previous value (None when that was
    zero or unknown) and the direction."""
    if current is None or previous is None:
        return None
    difference = Decimal(current) - Decimal(previous)
    percent = None
    if previous:
        percent = (difference * 100 / abs(Decimal(previous))).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )
    direction = "up" if difference > 0 else "down" if difference < 0 else "same"
    return {"difference": difference, "percent": percent, "direction": direction}


# -- dashboard --


@dataclass
class Kpi:
    key: str
    label: str
    value_format: str
    values: list  # this period, the previous one, the same one a fiscal year before
    lower_is_better: bool = False
    link: str = ""
    help: str = ""
    comparisons: list = field(default_factory=list)

    def __post_init__(self):
        self.comparisons = []
        for other in self.values[1:]:
            moved = change(self.values[0], other)
            if moved is not None and moved["direction"] != "same":
                good = (moved["direction"] == "up") != self.lower_is_better
                moved["tone"] = "success" if good else "danger"
            elif moved is not None:
                moved["tone"] = "secondary"
            self.comparisons.append({"value": other, "change": moved})


# The dashboard's figures over a period, in the order; snapshot figures come apart.
DASHBOARD_FIGURES = [
    ("leads_new", False),
    ("lead_conversion", False),
    ("deals_won", False),
    ("deals_lost", True),
    ("win_rate", False),
    ("revenue_won", False),
    ("average_deal", False),
    ("sales_cycle", True),
    ("quotes_sent", False),
    ("quotes_accepted", False),
    ("acceptance_rate", False),
    ("activities_done", False),
]


def _live_snapshot(user) -> dict:
    """Now, in the figures' scope (the same as the stored snapshots'), so that they compare."""
    deals = Opportunity.objects.filter(
        metrics.scope_q("opportunity", user),
        # The ids themselves (not a subquery) let PostgreSQL read the stage index alone.
        stage__in=list(Stage.objects.filter(kind=StageKind.OPEN).values_list("pk", flat=True)),
    )
    activities = Activity.objects.filter(
        metrics.scope_q("activity", user),
        status=ActivityStatus.PENDING,
        due_at__lt=timezone.now(),
    )
    row = deals.order_by().aggregate(
        n=Count("*"), sum_amount=Sum("amount"), sum_weighted=weighted_sum()
    )
    return {
        "open_amount": Decimal(row["sum_amount"] or 0).quantize(CENT, ROUND_HALF_UP),
        "weighted_amount": weighted_value(row["sum_weighted"]),
        "overdue_activities": activities.order_by().count(),
    }


def _stored_snapshots(user, days: list[dt.date]) -> dict[dt.date, dict]:
    """The stored figures at the end of each day; a day with a snapshot but none of the
    user's rows is zero, a day without any snapshot is unknown (missing)."""
    if not days:
        return {}
    stored = set(
        PipelineSnapshot.objects.filter(day__in=days)
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )
    zero = {"open_amount": Decimal(0), "weighted_amount": Decimal(0), "overdue_activities": 0}
    result = {day: dict(zero) for day in stored}
    rows = (
        PipelineSnapshot.objects.filter(metrics.summary_scope(user), day__in=days)
        .order_by()
        .values("day")
        .annotate(
            open_amount=Sum("open_amount"),
            weighted_amount=Sum("weighted_amount"),
            overdue_activities=Sum("overdue_activities"),
        )
    )
    for row in rows:
        result[row["day"]] = {
            "open_amount": Decimal(row["open_amount"] or 0),
            "weighted_amount": Decimal(row["weighted_amount"] or 0),
            "overdue_activities": int(row["overdue_activities"] or 0),
        }
    return result


def dashboard(*, user, period: Period, settings: ReportSettings) -> dict:
    """The home page's figures for `period`, each beside the previous period's and the same
    period's a fiscal year before."""
    periods = [period, period.previous(), period.previous_year()]
    bases = list(
        dict.fromkeys(b for key, _ in DASHBOARD_FIGURES for b in metrics.base_measures(key))
    )
    values = metrics.totals(user=user, measures=bases, periods=periods, tz=settings.tz)
    kpis = []
    for key, lower_is_better in DASHBOARD_FIGURES:
        drill = metrics.base_measures(key)[0]
        ratio = metrics.RATIOS.get(key)
        kpis.append(
            Kpi(
                key=key,
                label=str(metrics.label_of(key)),
                value_format=metrics.format_of(key),
                values=[metrics.compute(key, v) for v in values],
                lower_is_better=lower_is_better,
                link=records_link(drill, period.start, period.end),
                help=str(ratio.help if ratio else metrics.MEASURES[key].help),
            )
        )
    # Moments, not periods: now against the stored end of the earlier periods.
    today = settings.today()
    live = _live_snapshot(user)
    ends = [p.end for p in periods[1:]]
    stored = _stored_snapshots(user, [d for d in ends if d < today])
    snapshots = [live] + [live if d >= today else stored.get(d) for d in ends]
    board = reverse("opportunity-board")
    for key, label, value_format, lower_is_better, link in [
        ("open_amount", _("Open pipeline"), "money", False, board),
        ("weighted_amount", _("Weighted pipeline"), "money", False, board),
        (
            "overdue_activities",
            _("Overdue activities"),
            "number",
            True,
            reverse("activity-my-day"),
        ),
    ]:
        kpis.append(
            Kpi(
                key=key,
                label=str(label),
                value_format=value_format,
                values=[s[key] if s is not None else None for s in snapshots],
                lower_is_better=lower_is_better,
                link=link,
                help=str(_("Now, against the stored figure at the end of each earlier period.")),
            )
        )
    return {"kpis": kpis, "periods": periods}


# -- report views --


@dataclass
class Cell:
    value: object
    value_format: str = "number"
    link: str = ""
    tone: str = ""


@dataclass
class Row:
    label: str
    cells: list[Cell]
    key: str | None = None


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[Row]
    total: Row | None = None
    hidden_rows: int = 0  # rows left out of a page (the downloads have them all)


@dataclass
class Chart:
    kind: str  # bar, line, hbar, funnel
    title: str
    labels: list[str]
    series: list[tuple[str, list]]
    value_format: str = "number"
    links: list | None = None


@dataclass
class Report:
    title: str
    subtitle: str
    tables: list[Table]
    charts: list[Chart]


@dataclass(frozen=True)
class Bucket:
    label: str
    start: dt.date
    end: dt.date
    months: tuple[dt.date, ...]


GRANULARITIES = {"month", "quarter", "year"}
VIEWS = {"monthly", "cumulative", "yoy"}
CHART_BARS = 15  # a bar chart by dimension shows the first ones; the table has them all
PAGE_CELLS = 2400  # figures a report page's table shows at most (the downloads have all)


def buckets_for(period: Period, granularity: str, fiscal: FiscalCalendar) -> list[Bucket]:
    """The months, fiscal quarters or fiscal years a period covers, clipped to it."""
    groups: dict[tuple, list[dt.date]] = {}
    for month in months_between(period.start, period.end):
        if granularity == "month":
            key = (month,)
        elif granularity == "quarter":
            key = (fiscal.quarter_start(month),)
        else:
            key = (fiscal.year_start(fiscal.year_of(month)),)
        groups.setdefault(key, []).append(month)
    buckets = []
    for (first,), months in groups.items():
        if granularity == "month":
            label = formats.date_format(first, "M Y")
        elif granularity == "quarter":
            label = fiscal.quarter_label(first)
        else:
            label = fiscal.year_label(fiscal.year_of(first))
        start = max(months[0], period.start)
        end = min(month_end(months[-1]), period.end)
        buckets.append(Bucket(label, start, end, tuple(months)))
    return buckets


def _sum_months(data: dict, bases: list[str], value_key, months) -> dict:
    sums = {}
    for base in bases:
        cells = data[base]
        sums[base] = sum((cells.get((value_key, m), 0) for m in months), 0)
    return sums


def _sum_all(sums: list[dict], bases: list[str]) -> dict:
    return {base: sum((s[base] for s in sums), 0) for base in bases}


def _order_values(dimension: str | None, values: set, totals: dict) -> list:
    if dimension is None:
        return [None]
    natural = metrics.dimension_order(dimension, values)
    if natural is not None:
        ordered = [v for v in natural if v in values]
        ordered += sorted(v for v in values if v not in ordered and v != NONE_VALUE)
    else:
        ordered = sorted(
            (v for v in values if v != NONE_VALUE),
            key=lambda v: (-(totals.get(v) if totals.get(v) is not None else -1), v),
        )
    if NONE_VALUE in values:
        ordered.append(NONE_VALUE)
    return ordered


@dataclass(frozen=True)
class ReportSpec:
    measure: str
    dimension: str | None
    granularity: str
    view: str
    period: Period
    filters: tuple = ()  # ((dimension, value), ...)

    def check(self) -> None:
        if self.measure not in metrics.MEASURES and self.measure not in metrics.RATIOS:
            raise UnknownName(_("Unknown measure: %(name)s.") % {"name": self.measure})
        if self.dimension is not None and self.dimension not in metrics.DIMENSIONS:
            raise UnknownName(_("Unknown dimension: %(name)s.") % {"name": self.dimension})
        if self.dimension is not None and self.dimension not in metrics.dimensions_for(
            self.measure
        ):
            raise UnknownName(
                _("%(measure)s cannot be split by %(dimension)s.")
                % {
                    "measure": metrics.label_of(self.measure),
                    "dimension": str(metrics.DIMENSIONS[self.dimension]).lower(),
                }
            )
        for dimension, _value in self.filters:
            if dimension not in metrics.dimensions_for(self.measure):
                raise UnknownName(_("Unknown filter: %(name)s.") % {"name": dimension})
        if self.granularity not in GRANULARITIES:
            raise UnknownName(_("Unknown granularity: %(name)s.") % {"name": self.granularity})
        if self.view not in VIEWS:
            raise UnknownName(_("Unknown view: %(name)s.") % {"name": self.view})


def report(
    *, user, spec: ReportSpec, settings: ReportSettings, max_rows: int | None = None
) -> Report:
    """One report view: a measure or ratio by a dimension over time, as monthly figures,
    running totals within the fiscal year, or this fiscal year against the previous one.
    With `max_rows`, each table keeps its first rows (the biggest, or the dimension's own
    order) and says how many it left out; its total still covers them all."""
    spec.check()
    if spec.view == "yoy":
        result = _report_yoy(user=user, spec=spec, settings=settings)
    else:
        result = _report_series(user=user, spec=spec, settings=settings, max_rows=max_rows)
    if max_rows is not None:
        for table in result.tables:
            if len(table.rows) > max_rows:
                table.hidden_rows = len(table.rows) - max_rows
                table.rows = table.rows[:max_rows]
    return result


def _drill_measure(key: str) -> str:
    return metrics.base_measures(key)[0]


def _dimension_rows(spec: ReportSpec, data: dict, bases: list[str], months: list[dt.date]):
    """The dimension values found, their names, and each one's total over `months`."""
    values = {k[0] for base in bases for k in data[base]} if spec.dimension else {None}
    labels = metrics.dimension_labels(spec.dimension, values) if spec.dimension else {}
    totals = {v: metrics.compute(spec.measure, _sum_months(data, bases, v, months)) for v in values}
    return _order_values(spec.dimension, values, totals), labels, totals


def _report_series(
    *, user, spec: ReportSpec, settings: ReportSettings, max_rows: int | None = None
) -> Report:
    fiscal = settings.fiscal
    bases = metrics.base_measures(spec.measure)
    fmt = metrics.format_of(spec.measure)
    cumulative = spec.view == "cumulative"
    buckets = buckets_for(spec.period, spec.granularity, fiscal)
    query_period = spec.period
    if cumulative:  # running totals start at the fiscal year's first day
        query_period = Period(fiscal.year_start(fiscal.year_of(spec.period.start)), spec.period.end)
    filters = dict(spec.filters)
    data = metrics.monthly(
        user=user,
        measures=bases,
        period=query_period,
        tz=settings.tz,
        dimension=spec.dimension,
        filters=filters,
    )
    period_months = months_between(spec.period.start, spec.period.end)
    ordered, labels, _totals = _dimension_rows(spec, data, bases, period_months)
    drill = _drill_measure(spec.measure)

    def cell_range(bucket: Bucket) -> tuple[dt.date, dt.date, list[dt.date]]:
        if not cumulative:
            return bucket.start, bucket.end, list(bucket.months)
        fy_start = fiscal.year_start(fiscal.year_of(bucket.start))
        return fy_start, bucket.end, months_between(fy_start, bucket.end)

    def row_for(value_key, label) -> Row:
        cells = []
        extra = dict(filters)
        if spec.dimension:
            extra[spec.dimension] = value_key
        for bucket in buckets:
            start, end, months = cell_range(bucket)
            sums = _sum_months(data, bases, value_key, months)
            cells.append(
                Cell(
                    metrics.compute(spec.measure, sums), fmt, records_link(drill, start, end, extra)
                )
            )
        if not cumulative:
            sums = _sum_months(data, bases, value_key, period_months)
            cells.append(
                Cell(
                    metrics.compute(spec.measure, sums),
                    fmt,
                    records_link(drill, spec.period.start, spec.period.end, extra),
                )
            )
        return Row(label, cells, value_key)

    # Rows past the limit are not built at all (hundreds of products × 120 months of cells);
    # a wide table (many months) shows fewer rows so that a page stays about the same size.
    if max_rows is not None:
        max_rows = min(max_rows, max(10, PAGE_CELLS // (len(buckets) + 1)))
    shown = ordered if max_rows is None else ordered[:max_rows]
    rows = [row_for(v, labels.get(v, str(v)) if spec.dimension else _("Total")) for v in shown]
    total = None
    if spec.dimension:
        # Totals add the parts (not the rows' ratios) over every value.
        merged: dict[str, dict] = {base: defaultdict(int) for base in bases}
        for base in bases:
            for (_v, month), amount in data[base].items():
                merged[base][None, month] += amount
        total = _total_row(spec, merged, bases, buckets, cell_range, cumulative, filters, fmt)
    headers = [str(metrics.DIMENSIONS[spec.dimension]) if spec.dimension else ""]
    headers += [b.label for b in buckets]
    if not cumulative:
        headers.append(_("Total"))
    title = str(metrics.label_of(spec.measure))
    table = Table(title, headers, rows, total, hidden_rows=len(ordered) - len(shown))
    charts = _series_charts(spec, rows, total, buckets, fmt, cumulative)
    return Report(title, _subtitle(spec, settings), [table], charts)


def _total_row(spec, merged, bases, buckets, cell_range, cumulative, filters, fmt) -> Row:
    drill = _drill_measure(spec.measure)
    cells = []
    for bucket in buckets:
        start, end, months = cell_range(bucket)
        sums = _sum_months(merged, bases, None, months)
        cells.append(
            Cell(metrics.compute(spec.measure, sums), fmt, records_link(drill, start, end, filters))
        )
    if not cumulative:
        months = months_between(spec.period.start, spec.period.end)
        cells.append(
            Cell(
                metrics.compute(spec.measure, _sum_months(merged, bases, None, months)),
                fmt,
                records_link(drill, spec.period.start, spec.period.end, filters),
            )
        )
    return Row(str(_("Total")), cells)


def _series_charts(spec, rows, total, buckets, fmt, cumulative) -> list[Chart]:
    labels = [b.label for b in buckets]
    width = len(buckets)
    charts = []
    if spec.dimension is None:
        series = [(rows[0].label, [c.value for c in rows[0].cells[:width]])]
        links = [c.link for c in rows[0].cells[:width]]
        kind = "line" if cumulative or width > 12 else "bar"
        charts.append(Chart(kind, str(metrics.label_of(spec.measure)), labels, series, fmt, links))
        return charts
    # Every series: the chart tag folds all but the biggest into "Others" and says so.
    series = [(r.label, [c.value for c in r.cells[:width]]) for r in rows]
    charts.append(Chart("line", str(metrics.label_of(spec.measure)), labels, series, fmt))
    if not cumulative:
        charts.append(
            Chart(
                "hbar",
                _("%(measure)s by %(dimension)s")
                % {
                    "measure": metrics.label_of(spec.measure),
                    "dimension": str(metrics.DIMENSIONS[spec.dimension]).lower(),
                },
                [r.label for r in rows[:CHART_BARS]],
                [(str(_("Total")), [r.cells[-1].value for r in rows[:CHART_BARS]])],
                fmt,
                [r.cells[-1].link for r in rows[:CHART_BARS]],
            )
        )
    return charts


def _subtitle(spec: ReportSpec, settings: ReportSettings) -> str:
    period = spec.period.label()
    if spec.view == "yoy":
        year = settings.fiscal.year_of(spec.period.end)
        period = _("Fiscal year %(year)s against %(previous)s") % {
            "year": settings.fiscal.year_label(year),
            "previous": settings.fiscal.year_label(year - 1),
        }
    parts = [period]
    if spec.dimension:
        parts.append(
            _("by %(dimension)s") % {"dimension": str(metrics.DIMENSIONS[spec.dimension]).lower()}
        )
    if spec.view == "cumulative":
        parts.append(_("running total within each fiscal year"))
    return " · ".join(str(p) for p in parts)


def _yoy_cells(spec, current, previous, fmt, links) -> list[Cell]:
    moved = change(current, previous)
    is_points = fmt == "percent"
    difference = moved["difference"] if moved else None
    tone = ""
    if moved and moved["direction"] != "same":
        tone = "success" if moved["direction"] == "up" else "danger"
    return [
        Cell(previous, fmt, links[0]),
        Cell(current, fmt, links[1]),
        Cell(difference, "points" if is_points else fmt, "", tone),
        Cell(moved["percent"] if moved else None, "percent", "", tone),
    ]


def _report_yoy(*, user, spec: ReportSpec, settings: ReportSettings) -> Report:
    fiscal = settings.fiscal
    bases = metrics.base_measures(spec.measure)
    fmt = metrics.format_of(spec.measure)
    year = fiscal.year_of(spec.period.end)
    this_start, this_end = fiscal.year_start(year), fiscal.year_end(year)
    last_start = fiscal.year_start(year - 1)
    filters = dict(spec.filters)
    data = metrics.monthly(
        user=user,
        measures=bases,
        period=Period(last_start, this_end),
        tz=settings.tz,
        dimension=spec.dimension,
        filters=filters,
    )
    # While the year runs, its total is to date and the previous year's runs to the same
    # day a year before (like the dashboard).
    today = settings.today()
    this_months = months_between(this_start, this_end)
    elapsed = [m for m in this_months if m <= today] or this_months[:1]
    current_end = min(max(today, this_start), this_end)
    last_end = add_months(current_end, -12, month_end=True)
    # Whole months of the previous year come from the query above; only a month cut short
    # (the same day a year ago) needs a query of its own.
    cut = month_start(last_end)
    last_data = {
        base: {key: value for key, value in data[base].items() if key[1] < cut} for base in bases
    }
    if last_end < month_end(last_end):
        partial = metrics.monthly(
            user=user,
            measures=bases,
            period=Period(cut, last_end),
            tz=settings.tz,
            dimension=spec.dimension,
            filters=filters,
        )
    else:
        partial = {
            base: {key: value for key, value in data[base].items() if key[1] == cut}
            for base in bases
        }
    for base in bases:
        last_data[base].update(partial[base])
    last_months = months_between(last_start, last_end)
    last_merged: dict[str, dict] = {base: defaultdict(int) for base in bases}
    for base in bases:
        for (_v, month), amount in last_data[base].items():
            last_merged[base][None, month] += amount
    last_of = {m: add_months(m, -12) for m in this_months}
    merged: dict[str, dict] = {base: defaultdict(int) for base in bases}
    for base in bases:
        for (_v, month), amount in data[base].items():
            merged[base][None, month] += amount
    drill = _drill_measure(spec.measure)
    step = 3 if spec.granularity == "quarter" else 1
    rows = []
    for index in range(0, 12, step):
        months = this_months[index : index + step]
        previous_months = [last_of[m] for m in months]
        current = metrics.compute(spec.measure, _sum_months(merged, bases, None, months))
        previous = metrics.compute(spec.measure, _sum_months(merged, bases, None, previous_months))
        if months[0] > today:
            current = None
        label = (
            formats.date_format(months[0], "F")
            if step == 1
            else _("Q%(quarter)s") % {"quarter": index // 3 + 1}
        )
        links = [
            records_link(drill, previous_months[0], month_end(previous_months[-1]), filters),
            records_link(drill, months[0], month_end(months[-1]), filters),
        ]
        rows.append(Row(str(label), _yoy_cells(spec, current, previous, fmt, links)))
    total_links = [
        records_link(drill, last_start, last_end, filters),
        records_link(drill, this_start, current_end, filters),
    ]
    total = Row(
        str(_("Total to date")) if len(elapsed) < 12 else str(_("Total")),
        _yoy_cells(
            spec,
            metrics.compute(spec.measure, _sum_months(merged, bases, None, elapsed)),
            metrics.compute(spec.measure, _sum_months(last_merged, bases, None, last_months)),
            fmt,
            total_links,
        ),
    )
    headers = [
        "",
        fiscal.year_label(year - 1),
        fiscal.year_label(year),
        str(_("Difference")),
        "%",
    ]
    title = str(metrics.label_of(spec.measure))
    tables = [Table(title, headers, rows, total)]
    chart_labels = [r.label for r in rows]
    charts = [
        Chart(
            "bar",
            title,
            chart_labels,
            [
                (fiscal.year_label(year - 1), [r.cells[0].value for r in rows]),
                (fiscal.year_label(year), [r.cells[1].value for r in rows]),
            ],
            fmt,
        )
    ]
    if spec.dimension:
        values = {k[0] for base in bases for k in data[base]}
        values |= {k[0] for base in bases for k in last_data[base]}
        labels = metrics.dimension_labels(spec.dimension, values)
        totals = {
            v: metrics.compute(spec.measure, _sum_months(data, bases, v, elapsed)) for v in values
        }
        by_value = []
        for v in _order_values(spec.dimension, values, totals):
            extra = {**filters, spec.dimension: v}
            links = [
                records_link(drill, last_start, last_end, extra),
                records_link(drill, this_start, current_end, extra),
            ]
            by_value.append(
                Row(
                    labels.get(v, v),
                    _yoy_cells(
                        spec,
                        totals[v],
                        metrics.compute(
                            spec.measure, _sum_months(last_data, bases, v, last_months)
                        ),
                        fmt,
                        links,
                    ),
                    v,
                )
            )
        dimension_label = str(metrics.DIMENSIONS[spec.dimension])
        tables.append(
            Table(
                _("%(measure)s by %(dimension)s")
                % {"measure": title, "dimension": dimension_label.lower()},
                [dimension_label, *headers[1:]],
                by_value,
            )
        )
        top = by_value[:CHART_BARS]
        charts.append(
            Chart(
                "hbar",
                tables[-1].title,
                [r.label for r in top],
                [
                    (fiscal.year_label(year - 1), [r.cells[0].value for r in top]),
                    (fiscal.year_label(year), [r.cells[1].value for r in top]),
                ],
                fmt,
            )
        )
    return Report(title, _subtitle(spec, settings), tables, charts)


# -- pipeline --

AGEING_BUCKETS = [(0, 30), (31, 60), (61, 90), (91, 180), (181, None)]


def pipeline_list_for_user(user):
    return Pipeline.objects.filter(is_active=True).order_by("position", "id")


def pipeline_report(
    *,
    user,
    pipeline: Pipeline,
    period: Period,
    settings: ReportSettings,
    filters: dict | None = None,
) -> dict:
    """Open deals by stage with their age, the funnel of the deals created in `period`, and
    the average time deals spent in each stage (stays that ended in `period`); three grouped
    queries, none joining the stage table."""
    filters = filters or {}
    deals = Opportunity.objects.filter(
        metrics.scope_q("opportunity", user),
        metrics.filters_q("opportunity", filters),
        pipeline=pipeline,
    )
    stages = list(pipeline.stages.order_by("position", "id"))
    by_id = {s.pk: s for s in stages}
    open_stages = [s for s in stages if s.kind == StageKind.OPEN]
    won_stages = [s for s in stages if s.kind == StageKind.WON]
    start, end = period.bounds(settings.tz)
    today = settings.today()

    # 1. Open deals now, by stage, with their ages (days since created).
    # COUNT(*) rather than COUNT(id): the stage index covers every other column.
    aggregates = {"n": Count("*"), "sum_amount": Sum("amount"), "sum_weighted": weighted_sum()}
    for index, (low, high) in enumerate(AGEING_BUCKETS):
        newest = dt.datetime.combine(
            today - dt.timedelta(days=low - 1), dt.time.min, tzinfo=settings.tz
        )
        condition = Q(created_at__lt=newest)
        if high is not None:
            oldest = dt.datetime.combine(
                today - dt.timedelta(days=high), dt.time.min, tzinfo=settings.tz
            )
            condition &= Q(created_at__gte=oldest)
        aggregates[f"n{index}"] = Count(Value(1), filter=condition)
        aggregates[f"a{index}"] = Sum("amount", filter=condition)
    by_stage = {
        row["stage_id"]: row
        for row in deals.filter(stage__in=[s.pk for s in open_stages])
        .order_by()
        .values("stage_id")
        .annotate(**aggregates)
    }
    board = reverse("opportunity-list")
    stage_rows, ageing_rows = [], []
    for stage in open_stages:
        row = by_stage.get(stage.pk, {})
        stage_rows.append(
            {
                "stage": stage,
                "count": row.get("n", 0),
                "amount": Decimal(row.get("sum_amount") or 0).quantize(CENT, ROUND_HALF_UP),
                "weighted": weighted_value(row.get("sum_weighted")),
                "link": f"{board}?{urlencode({'stage': stage.pk, **filters})}",
            }
        )
        ageing_rows.append(
            {
                "stage": stage,
                "buckets": [
                    {
                        "count": row.get(f"n{i}", 0),
                        "amount": Decimal(row.get(f"a{i}") or 0).quantize(CENT, ROUND_HALF_UP),
                    }
                    for i in range(len(AGEING_BUCKETS))
                ],
            }
        )
    ageing_totals = [
        {
            "count": sum(r["buckets"][i]["count"] for r in ageing_rows),
            "amount": sum((r["buckets"][i]["amount"] for r in ageing_rows), Decimal(0)),
        }
        for i in range(len(AGEING_BUCKETS))
    ]

    # 2. Funnel: of the deals created in the period, how many reached each open stage (the
    # furthest one each deal has been in; a won deal reached them all).
    reached: dict[int, int] = defaultdict(int)
    won_count = 0
    for row in (
        deals.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values("stage_id", "furthest_stage_id")
        .annotate(n=Count("*"))
    ):
        stage = by_id.get(row["stage_id"])
        if stage is not None and stage.kind == StageKind.WON:
            won_count += row["n"]
            continue
        furthest = by_id.get(row["furthest_stage_id"])
        if furthest is not None:
            reached[furthest.position] += row["n"]
    funnel = []
    for stage in open_stages:
        count = won_count + sum(n for position, n in reached.items() if position >= stage.position)
        funnel.append({"label": stage.name, "count": count, "stage": stage})
    funnel.append(
        {
            "label": str(_("Won")),
            "count": won_count,
            "stage": won_stages[0] if won_stages else None,
        }
    )
    previous = None
    for step in funnel:
        step["conversion"] = (
            (Decimal(step["count"]) * 100 / previous).quantize(Decimal("0.1"), ROUND_HALF_UP)
            if previous
            else None
        )
        previous = step["count"]
    funnel_link = records_link("deals_new", period.start, period.end, filters)

    # 3. Time in stage: the stays that ended in the period (the deal moved on).
    stay = ExpressionWrapper(F("left_at") - F("changed_at"), output_field=DurationField())
    changes = StageChange.objects.filter(
        to_stage__in=[s.pk for s in open_stages], left_at__gte=start, left_at__lt=end
    )
    if not user.is_admin or filters:
        changes = changes.filter(opportunity__in=deals.values("pk"))
    ended = {
        row["to_stage_id"]: row
        for row in changes.order_by().values("to_stage_id").annotate(n=Count("*"), total=Sum(stay))
    }
    time_rows = []
    for stage in open_stages:
        row = ended.get(stage.pk)
        average = None
        if row and row["n"]:
            average = (metrics.MEASURES["cycle_days_won"].clean(row["total"]) / row["n"]).quantize(
                Decimal("0.1"), ROUND_HALF_UP
            )
        time_rows.append(
            {
                "stage": stage,
                "moves": row["n"] if row else 0,
                "average_days": average,
                "open_now": by_stage.get(stage.pk, {}).get("n", 0),
            }
        )
    return {
        "stages": stage_rows,
        "stage_totals": {
            "count": sum(r["count"] for r in stage_rows),
            "amount": sum((r["amount"] for r in stage_rows), Decimal(0)),
            "weighted": sum((r["weighted"] for r in stage_rows), Decimal(0)),
        },
        "funnel": funnel,
        "funnel_link": funnel_link,
        "time_in_stage": time_rows,
        "ageing": ageing_rows,
        "ageing_totals": ageing_totals,
        "ageing_buckets": AGEING_BUCKETS,
    }


# -- planning --


@dataclass(frozen=True)
class PlanSubject:
    """Whose plan: one rep, one team, or (administrators) the whole company."""

    kind: str  # user, team, company
    user: User | None = None
    team: Team | None = None

    @property
    def key(self) -> str:
        if self.kind == "user":
            return f"user-{self.user.pk}"
        if self.kind == "team":
            return f"team-{self.team.pk}"
        return "company"

    @property
    def label(self) -> str:
        if self.kind == "user":
            return str(self.user)
        if self.kind == "team":
            return str(self.team)
        return str(_("Whole company"))

    def filters(self) -> dict:
        if self.kind == "user":
            return {"owner": str(self.user.pk)}
        if self.kind == "team":
            return {"team": str(self.team.pk)}
        return {}


def plan_subjects_for_user(user) -> list[PlanSubject]:
    """The plans a user may look at: their own; a manager's teams and their members; an
    administrator's company, every team and every active user."""
    subjects = []
    if user.is_admin:
        subjects.append(PlanSubject("company"))
        teams = Team.objects.order_by("name")
        users = User.objects.filter(is_active=True)
    elif user.scope_team_ids():
        teams = Team.objects.filter(pk__in=user.scope_team_ids()).order_by("name")
        users = User.objects.filter(
            Q(team_id__in=user.scope_team_ids()) | Q(pk=user.pk), is_active=True
        )
    else:
        teams = Team.objects.none()
        users = User.objects.filter(pk=user.pk)
    subjects += [PlanSubject("team", team=t) for t in teams]
    subjects += [
        PlanSubject("user", user=u) for u in users.order_by("first_name", "last_name", "username")
    ]
    return subjects


PLAN_METRICS = [TargetMetric.REVENUE_WON, TargetMetric.DEALS_WON, TargetMetric.ACTIVITIES_DONE]


def plan(*, user, subject: PlanSubject, year: int, settings: ReportSettings) -> dict:
    """Targets against actual figures, month by month through a fiscal year, with the
    attainment, and the forecast: revenue won so far plus the weighted open pipeline by
    expected close month."""
    fiscal = settings.fiscal
    start, end = fiscal.year_start(year), fiscal.year_end(year)
    months = months_between(start, end)
    today = settings.today()
    targets = Target.objects.filter(month__gte=start, month__lte=end)
    if subject.kind == "user":
        targets = targets.filter(user=subject.user)
    elif subject.kind == "team":
        targets = targets.filter(team=subject.team)
    else:
        targets = targets.filter(team__isnull=False)
    planned: dict[tuple, Decimal] = defaultdict(Decimal)
    for target in targets.order_by():
        planned[target.month, target.metric] += target.value
    filters = subject.filters()
    actual = metrics.monthly(
        user=user,
        measures=[str(m) for m in PLAN_METRICS],
        period=Period(start, end),
        tz=settings.tz,
        filters=filters,
    )
    # Forecast: open deals' weighted amounts by the month they are expected to close.
    open_deals = Opportunity.objects.filter(
        metrics.scope_q("opportunity", user),
        metrics.filters_q("opportunity", filters),
        stage__in=list(Stage.objects.filter(kind=StageKind.OPEN).values_list("pk", flat=True)),
        expected_close_date__isnull=False,
    )
    # One pass over the open deals (their stage index holds every column read): by month,
    # then the year's months and those before this month ("should have closed") apart.
    this_month = today.replace(day=1)
    pipeline = {}
    overdue = {"count": 0, "amount": Decimal(0), "weighted": Decimal(0)}
    for row in (
        open_deals.annotate(month=TruncMonth("expected_close_date"))
        .order_by()
        .values("month")
        .annotate(sum_amount=Sum("amount"), sum_weighted=weighted_sum(), n=Count("*"))
    ):
        month = row["month"]
        month = month.date() if isinstance(month, dt.datetime) else month
        figures = {
            "amount": Decimal(row["sum_amount"] or 0).quantize(CENT, ROUND_HALF_UP),
            "weighted": weighted_value(row["sum_weighted"]),
            "count": row["n"],
        }
        if start <= month <= end:
            pipeline[month] = figures
        if month < this_month:
            for key in overdue:
                overdue[key] += figures[key]
    rows = []
    sums = {m: {"target": Decimal(0), "actual": Decimal(0)} for m in PLAN_METRICS}
    forecast_total = Decimal(0)
    for month in months:
        figures = {}
        for metric in PLAN_METRICS:
            value = actual[str(metric)].get((None, month), 0)
            target = planned.get((month, metric))
            figures[metric] = {
                "target": target,
                "actual": value if month <= today else None,
                "attainment": _attainment(value, target) if month <= today else None,
                "link": records_link(str(metric), month, month_end(month), filters),
            }
            sums[metric]["target"] += target or 0
            sums[metric]["actual"] += value if month <= today else 0
        forecast = pipeline.get(month, {"amount": Decimal(0), "weighted": Decimal(0), "count": 0})
        won = figures[TargetMetric.REVENUE_WON]["actual"] or Decimal(0)
        expected = won + (forecast["weighted"] if month_end(month) >= today else Decimal(0))
        forecast_total += expected
        rows.append(
            {"month": month, "figures": figures, "pipeline": forecast, "expected": expected}
        )
    totals = {
        metric: {
            "target": sums[metric]["target"] or None,
            "actual": sums[metric]["actual"],
            "attainment": _attainment(sums[metric]["actual"], sums[metric]["target"]),
        }
        for metric in PLAN_METRICS
    }
    revenue_target = sums[TargetMetric.REVENUE_WON]["target"]
    return {
        "year": year,
        "year_label": fiscal.year_label(year),
        "rows": rows,
        "totals": totals,
        "metrics": PLAN_METRICS,
        "forecast_total": forecast_total,
        "forecast_attainment": _attainment(forecast_total, revenue_target),
        "overdue_pipeline": overdue,
    }


def _attainment(actual, target) -> Decimal | None:
    if not target:
        return None
    return (Decimal(actual or 0) * 100 / Decimal(target)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def targets_for_edit(*, subject: PlanSubject, year: int, settings: ReportSettings) -> dict:
    """The stored targets of one rep or team for a fiscal year, {(month, metric): value}."""
    start, end = settings.fiscal.year_start(year), settings.fiscal.year_end(year)
    targets = Target.objects.filter(month__gte=start, month__lte=end)
    targets = (
        targets.filter(user=subject.user)
        if subject.kind == "user"
        else targets.filter(team=subject.team)
    )
    return {(t.month, t.metric): t.value for t in targets}


def revenue_by_month_chart(*, user, period: Period, settings: ReportSettings) -> Chart:
    """Revenue won month by month in the period's fiscal year against the year before."""
    fiscal = settings.fiscal
    year = fiscal.year_of(period.end)
    data = metrics.monthly(
        user=user,
        measures=["revenue_won"],
        period=Period(fiscal.year_start(year - 1), fiscal.year_end(year)),
        tz=settings.tz,
    )["revenue_won"]
    months = months_between(fiscal.year_start(year), fiscal.year_end(year))
    today = settings.today()
    return Chart(
        "bar",
        _("Revenue won by month"),
        [formats.date_format(m, "M") for m in months],
        [
            (
                fiscal.year_label(year - 1),
                [data.get((None, add_months(m, -12)), Decimal(0)) for m in months],
            ),
            (
                fiscal.year_label(year),
                [data.get((None, m), Decimal(0)) if m <= today else None for m in months],
            ),
        ],
        "money",
        [records_link("revenue_won", m, month_end(m)) for m in months],
    )


_DISPLAY_RELATED = {
    "lead": ["owner", "channel"],
    "opportunity": ["account", "owner", "stage"],
    "quote": ["opportunity__account"],
    "quote_line": ["quote__opportunity__account", "product"],
    "activity": ["assignee", "account"],
}


def records_for_display(queryset, source: str, date_field: str):
    """A drill-down's rows with what the list shows, newest first."""
    return queryset.select_related(*_DISPLAY_RELATED[source]).order_by(f"-{date_field}", "-pk")
