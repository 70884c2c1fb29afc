"""Money and number formats of the sales pages: 1.234,56 € (the active language's format)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

register = template.Library()

CENT = Decimal("0.01")


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None


@register.filter
def money(value, currency: str = "€") -> str:
    """An amount rounded half up to cents, grouped in the active language, with its currency."""
    number = _decimal(value)
    if number is None:
        return ""
    number = number.quantize(CENT, rounding=ROUND_HALF_UP)
    text = number_format(number, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{text}\xa0{currency}" if currency else text


@register.filter
def decimal_short(value) -> str:
    """A quantity or percentage without useless zeros: 2,000 -> 2; 12,50 -> 12,5."""
    number = _decimal(value)
    if number is None:
        return ""
    if number == number.to_integral_value():
        number = number.quantize(Decimal(1))
    else:
        number = number.normalize()
    places = max(0, -number.as_tuple().exponent)
    return number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def decimal_input(value) -> str:
    """A decimal as typed back into a text input (Spanish mark, no grouping)."""
    from crm.sales.quote_forms import format_decimal

    number = _decimal(value)
    return "" if number is None else format_decimal(number)


@register.filter
def index(sequence, position: int):
    """sequence[position], or None out of range (columns of the quote comparison)."""
    try:
        return sequence[int(position)]
    except (IndexError, TypeError, ValueError):
        return None
