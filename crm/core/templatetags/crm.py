from django import template
from django.utils.html import format_html

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
