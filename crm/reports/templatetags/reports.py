from decimal import Decimal

from django import template
from django.utils.translation import gettext as _

from crm.reports import charts

register = template.Library()


@register.simple_tag
def render_chart(chart):
    """A report's chart (see selectors.Chart) as inline SVG."""
    if chart.kind == "funnel":
        values = chart.series[0][1] if chart.series else []
        return charts.funnel_chart(
            title=chart.title,
            steps=list(zip(chart.labels, values, strict=True)),
            value_format=chart.value_format,
            links=chart.links,
        )
    if chart.kind == "line":
        return charts.line_chart(
            title=chart.title,
            labels=chart.labels,
            series=chart.series,
            value_format=chart.value_format,
            links=chart.links,
        )
    return charts.bar_chart(
        title=chart.title,
        labels=chart.labels,
        series=chart.series,
        horizontal=chart.kind == "hbar",
        value_format=chart.value_format,
        links=chart.links,
    )


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
