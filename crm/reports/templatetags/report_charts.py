"""The report charts and figures in templates: {% load report_charts %}.

{% bar_chart title=_("Won by month") labels=months series=series value_format="money" %}
{% line_chart title=... labels=... series=... %}
{% funnel_chart title=... steps=... links=... %}
{{ amount|report_value:"money" }}
"""

from django import template
from django.utils.safestring import SafeString

from crm.reports import charts

register = template.Library()


@register.simple_tag(name="bar_chart")
def bar_chart_tag(
    *,
    title: str,
    labels,
    series,
    stacked: bool = False,
    horizontal: bool = False,
    value_format: str = "number",
    links=None,
) -> SafeString:
    return charts.bar_chart(
        title=title,
        labels=labels,
        series=series,
        stacked=stacked,
        horizontal=horizontal,
        value_format=value_format,
        links=links,
    )


@register.simple_tag(name="line_chart")
def line_chart_tag(
    *, title: str, labels, series, value_format: str = "number", links=None
) -> SafeString:
    return charts.line_chart(
        title=title, labels=labels, series=series, value_format=value_format, links=links
    )


@register.simple_tag(name="funnel_chart")
def funnel_chart_tag(*, title: str, steps, value_format: str = "number", links=None) -> SafeString:
    return charts.funnel_chart(title=title, steps=steps, value_format=value_format, links=links)


@register.filter
def report_value(value, value_format: str = "number") -> str:
    """{{ value|report_value:"money" }}: the reports' number format (see charts.format_value)."""
    return charts.format_value(value, value_format)
