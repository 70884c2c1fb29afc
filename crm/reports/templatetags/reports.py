import datetime as dt
from dataclasses import replace
from decimal import Decimal
from urllib.parse import urlsplit

from django import template
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.reports import charts

register = template.Library()

# Each chart is drawn at these viewBox widths and the page shows the one that suits the width of
# its column (static/crm/charts.css): its 14-unit text stays 11–17 px on screen, on a phone as
# in a full-width card on a desktop. (name, viewBox width, plot height)
CHART_SIZES = (("sm", 330, 190), ("md", 540, 210), ("lg", 840, 220))
TOP_SERIES = 5  # a chart split by a dimension draws these and "Others"


def _shown_series(chart) -> list:
    if chart.kind == "funnel":
        return chart.series
    return charts.top_series(
        chart.series,
        value_format=chart.value_format,
        keep=TOP_SERIES,
        others=pgettext("chart series", "Others"),
    )


def _month_abbreviations() -> dict[str, str]:
    """Full month names in the active language against their abbreviation: Enero -> Ene."""
    months = [dt.date(2001, month, 1) for month in range(1, 13)]
    return {date_format(month, "F"): date_format(month, "M") for month in months}


def _axis_labels(labels) -> list[str]:
    """Month names, when every label is one, abbreviated: the table keeps them in full."""
    labels = [str(label) for label in labels]
    short = _month_abbreviations()
    if labels and all(label in short for label in labels):
        return [short[label] for label in labels]
    return labels


def _draw(chart, width: int, plot_height: int):
    if chart.kind == "funnel":
        values = chart.series[0][1] if chart.series else []
        return charts.funnel_chart(
            title=chart.title,
            steps=list(zip(chart.labels, values, strict=True)),
            value_format=chart.value_format,
            links=chart.links,
            width=width,
        )
    draw = charts.line_chart if chart.kind == "line" else charts.bar_chart
    options = {"horizontal": chart.kind == "hbar"} if chart.kind != "line" else {}
    return draw(
        title=chart.title,
        labels=_axis_labels(chart.labels),
        series=chart.series,
        value_format=chart.value_format,
        links=chart.links,
        width=width,
        plot_height=plot_height,
        **options,
    )


@register.simple_tag
def render_chart(chart):
    """A report's chart (see selectors.Chart) as inline SVG, at each of CHART_SIZES (the page
    shows one), with at most TOP_SERIES series and "Others" (see chart_series_note)."""
    shown = replace(chart, series=_shown_series(chart))
    return format_html(
        '<div class="chart-frame">{}</div>',
        format_html_join(
            "",
            '<div class="chart-size chart-size-{}">{}</div>',
            ((name, _draw(shown, width, height)) for name, width, height in CHART_SIZES),
        ),
    )


@register.filter
def chart_series_note(chart) -> str:
    """The note under a chart that leaves series out ("5 of 9 — see the table"); else ""."""
    total = len(chart.series)
    named = [name for name, _values in _shown_series(chart)]
    if chart.kind == "funnel" or len(named) == total:
        return ""
    if len(named) > TOP_SERIES:  # the last one is "Others"
        named = named[:-1]
    return _("%(shown)s of %(total)s — see the table") % {"shown": len(named), "total": total}


@register.filter
def figure(value, value_format="number"):
    """A figure as the tables show it; "points" is a signed difference of percentages."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return value
    if value_format == "points":
        shown = charts.format_value(abs(Decimal(value)), "number")
        sign = "+" if value > 0 else "−" if value < 0 else ""
        return _("%(sign)s%(value)s p.p.") % {"sign": sign, "value": shown}
    return charts.format_value(value, value_format)


@register.filter
def signed_figure(value, value_format="number"):
    """A difference, with its sign."""
    if value is None:
        return "—"
    if value_format == "points":
        return figure(value, "points")
    shown = figure(abs(Decimal(value)), value_format)
    return f"+{shown}" if value > 0 else f"−{shown}" if value < 0 else shown


@register.filter
def tone_text(tone: str) -> str:
    """The text colour class of a figure's tone: Bootstrap's yellow is too light on white
    (WCAG 1.4.3), its darker "emphasis" shade is not."""
    if not tone:
        return ""
    return "text-warning-emphasis" if tone == "warning" else f"text-{tone}"


@register.filter
def target_input(value) -> str:
    """A stored target as it is typed back: 1.500 or 1.500,50 (what the targets form reads);
    a value sent back after an error as it was typed."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    number = Decimal(value)
    whole = number == number.to_integral_value()
    text = f"{number:,.0f}" if whole else f"{number:,.2f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


@register.filter
def same_dates(period, other) -> bool:
    """Whether two periods cover the same days (a year against its previous period and against
    a fiscal year before)."""
    if period is None or other is None:
        return False
    return (period.start, period.end) == (other.start, other.end)


@register.simple_tag(takes_context=True)
def report_back(context) -> dict:
    """Where "Back to the report" goes from the records behind a figure, and the tab to mark:
    the page the user came from when it is this site's dashboard or one of its reports, else
    the reports page."""
    request = context["request"]
    fallback = {"url": reverse("report"), "tab": "report"}
    referer = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return fallback
    parts = urlsplit(referer)
    path = parts.path
    if path == reverse("home"):
        tab = "home"
    elif not path.startswith(reverse("report")) or path.startswith(reverse("report-records")):
        return fallback
    elif path.startswith(reverse("report-pipeline")):
        tab = "pipeline"
    elif path.startswith(reverse("report-planning")):
        tab = "planning"
    else:
        tab = "report"
    return {"url": path + (f"?{parts.query}" if parts.query else ""), "tab": tab}


@register.filter
def chart_rows(chart):
    """A chart's figures by label, for the table beside it: [(label, [value per series])]."""
    return [
        (label, [values[index] for _name, values in chart.series])
        for index, label in enumerate(chart.labels)
    ]


@register.filter
def index(items, position):
    """items[position], or None past the end."""
    try:
        return items[position]
    except (IndexError, TypeError):
        return None
