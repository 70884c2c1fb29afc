from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from crm.core.validation import format_phone

register = template.Library()


@register.filter
def phone(value: str) -> str:
    """An E.164 number as people read it."""
    return format_phone(value)


@register.simple_tag(takes_context=True)
def sort_link(context, label: str, key: str):
    """A column header that sorts the list by `key`, and reverses it on a second click."""
    request = context["request"]
    params = request.GET.copy()
    current = params.get("sort", "")
    new = f"-{key}" if current == key else key
    params["sort"] = new
    params.pop("page", None)
    arrow = ""
    aria = ""
    if current == key:
        arrow, aria = " ▲", "ascending"
    elif current == f"-{key}":
        arrow, aria = " ▼", "descending"
    if aria:
        return format_html(
            '<a href="?{}" class="link-body-emphasis" aria-sort="{}">{}{}</a>',
            params.urlencode(),
            aria,
            label,
            arrow,
        )
    return format_html('<a href="?{}" class="link-body-emphasis">{}</a>', params.urlencode(), label)


@register.simple_tag
def fast_select(bound_field):
    """A filter's single-choice <select>, rendered in one pass.

    Django renders each option through a template; with a dozen filters of many options that
    was most of a list page's time. The markup is the same as the widget's.
    """
    current = bound_field.value()
    current = "" if current is None else str(current)
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (str(value), mark_safe(" selected") if str(value) == current else "", label)  # noqa: S308
            for value, label in bound_field.field.choices
        ),
    )
    return format_html(
        '<select name="{}" id="{}" class="form-select">{}</select>',
        bound_field.html_name,
        bound_field.auto_id,
        options,
    )
