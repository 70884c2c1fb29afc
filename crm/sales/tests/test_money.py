"""Quote arithmetic (crm.sales.money), the money filter and the Spanish decimal parser."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from crm.sales import money
from crm.sales.quote_forms import format_decimal, parse_decimal
from crm.sales.templatetags.sales import decimal_short
from crm.sales.templatetags.sales import money as money_filter

RATES = ["21", "10", "4", "0", "exempt"]
quantities = st.decimals(min_value="0.001", max_value="10000", places=3)
prices = st.decimals(min_value="0", max_value="100000", places=2)
discounts = st.decimals(min_value="0", max_value="100", places=2)
bases = st.decimals(min_value="0", max_value="1000000", places=2)
lines = st.lists(st.tuples(bases, st.sampled_from(RATES)), max_size=30)


@given(lines)
def test_totals_equal_the_sum_of_the_groups(items):
    result = money.totals(items)

    assert result.subtotal == sum((g.base for g in result.groups), Decimal(0))
    assert result.tax_total == sum((g.tax for g in result.groups), Decimal(0))
    assert result.total == result.subtotal + result.tax_total
    assert result.subtotal == sum((base for base, _ in items), Decimal(0))
    assert [g.rate for g in result.groups] == [r for r in RATES if r in {r for _, r in items}]


@given(lines)
def test_vat_is_rounded_once_per_rate_half_up(items):
    result = money.totals(items)

    for group in result.groups:
        exact = group.base * money.VAT_PERCENT[group.rate] / 100
        assert group.tax == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert abs(group.tax - exact) <= Decimal("0.005")


def test_vat_per_rate_differs_from_the_sum_of_per_line_vat():
    # Three lines of 0,05 at 10 %: 0,005 each would round up to 0,01 (0,03 in all); the quote
    # rounds once per rate: 0,015 -> 0,02.
    items = [(Decimal("0.05"), "10")] * 3

    result = money.totals(items)

    assert result.groups[0].tax == Decimal("0.02")
    per_line = sum(money.cents(b * 10 / 100) for b, _ in items)
    assert per_line == Decimal("0.03")


@given(quantities, prices, discounts)
def test_line_base_is_rounded_half_up_to_cents(quantity, price, discount):
    base = money.line_base(quantity, price, discount)

    exact = quantity * price * (100 - discount) / 100
    assert base == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert base.as_tuple().exponent == -2


@given(quantities, prices)
def test_a_100_percent_discount_is_zero(quantity, price):
    assert money.line_base(quantity, price, Decimal(100)) == Decimal("0.00")


def test_half_cent_rounds_up():
    assert money.line_base(Decimal(1), Decimal("0.99"), Decimal(50)) == Decimal("0.50")
    assert money.cents(Decimal("2.675")) == Decimal("2.68")
    assert money.cents(Decimal("-0.005")) == Decimal("-0.01")


@given(
    st.lists(st.tuples(bases, st.sampled_from(["one_off", "monthly", "yearly"])), max_size=20),
    st.integers(min_value=1, max_value=120),
)
def test_recurring_value(items, term):
    value = money.recurring_value(items, term)

    one_off = sum((b for b, r in items if r == "one_off"), Decimal(0))
    monthly = sum((b for b, r in items if r == "monthly"), Decimal(0))
    yearly = sum((b for b, r in items if r == "yearly"), Decimal(0))
    assert value.one_off == one_off
    assert value.yearly == monthly * 12 + yearly
    # Within a cent: see test_yearly_lines_are_divided_once below.
    assert abs(value.monthly - money.cents(monthly + yearly / 12)) <= Decimal("0.01")
    assert abs(value.term_total - money.cents(one_off + (monthly + yearly / 12) * term)) <= (
        Decimal("0.01")
    )
    assert value.term_months == term


def test_yearly_lines_are_divided_once():
    value = money.recurring_value([(Decimal("0.01"), "yearly")] * 6, 12)

    assert value.monthly == Decimal("0.01")


def test_recurring_value_example():
    value = money.recurring_value(
        [(Decimal("49.90"), "monthly"), (Decimal("120.00"), "yearly"), (Decimal(300), "one_off")],
        24,
    )

    assert (value.monthly, value.yearly, value.one_off, value.term_total) == (
        Decimal("59.90"),
        Decimal("718.80"),
        Decimal("300.00"),
        Decimal("1737.60"),
    )


# -- typed decimals --


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", Decimal("1234.56")),
        ("1234,56", Decimal("1234.56")),
        ("12,5", Decimal("12.5")),
        ("12.5", Decimal("12.5")),
        ("1234.56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("1.234", Decimal("1234")),
        ("12.500", Decimal("12500")),
        ("0.125", Decimal("0.125")),
        ("1.234.567,8", Decimal("1234567.8")),
        (" 1 234,56 € ", Decimal("1234.56")),
        ("21 %", Decimal("21")),
        ("-3,5", Decimal("-3.5")),
        ("", None),
        ("  ", None),
    ],
)
def test_parse_decimal(text, expected):
    assert parse_decimal(text) == expected


@pytest.mark.parametrize("text", ["abc", "1,2,3", "1..2", "12,5x", "NaN", "Infinity", "1e5"])
def test_parse_decimal_refuses_what_is_not_a_number(text):
    with pytest.raises(ValueError, match=".*"):
        parse_decimal(text)


@given(st.decimals(min_value="0", max_value="99999999", places=2))
def test_spanish_text_of_any_amount_parses_back(amount):
    with translation.override("es"):
        shown = money_filter(amount, "")
    assert parse_decimal(shown) == amount
    assert parse_decimal(format_decimal(amount)) == amount
    assert parse_decimal(str(amount)) == amount


@given(st.decimals(min_value="0", max_value="99999", places=3))
def test_input_text_of_a_quantity_parses_back(quantity):
    assert parse_decimal(format_decimal(quantity)) == quantity


def test_money_filter_spanish_and_english():
    with translation.override("es"):
        assert money_filter(Decimal("1234.565")) == "1.234,57\xa0€"
        assert money_filter(Decimal("0")) == "0,00\xa0€"
        assert money_filter(None) == ""
        assert decimal_short(Decimal("2.500")) == "2,5"
        assert decimal_short(Decimal("21.00")) == "21"
    # The English interface keeps Spanish numbers (config/formats/en).
    with translation.override("en"):
        assert money_filter(Decimal("1234567.8")) == "1.234.567,80\xa0€"
