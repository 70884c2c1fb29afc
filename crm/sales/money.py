"""Quote arithmetic in Decimal, rounded to cents half up as Spanish invoices and quotes are.

A line's base is quantity × unit price − discount, rounded to cents. The VAT of a quote is
computed per rate on the sum of the bases at that rate (one rounding per rate, the way the
tax breakdown is printed), never as a sum of per-line VAT amounts.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# The rate of each VAT choice; "exempt" is 0 % but printed apart (exenta).
VAT_PERCENT = {
    "21": Decimal(21),
    "10": Decimal(10),
    "4": Decimal(4),
    "0": Decimal(0),
    "exempt": Decimal(0),
}
VAT_ORDER = ["21", "10", "4", "0", "exempt"]


def cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def line_base(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity × price less the discount, rounded to cents."""
    gross = Decimal(quantity) * Decimal(unit_price)
    return cents(gross * (HUNDRED - Decimal(discount_percent)) / HUNDRED)


@dataclass(frozen=True)
class VatGroup:
    rate: str
    base: Decimal
    tax: Decimal

    @property
    def percent(self) -> Decimal:
        return VAT_PERCENT[self.rate]


@dataclass
class Totals:
    groups: list[VatGroup] = field(default_factory=list)
    subtotal: Decimal = ZERO
    tax_total: Decimal = ZERO
    total: Decimal = ZERO


def totals(lines: Iterable[tuple[Decimal, str]]) -> Totals:
    """Totals from (line base, VAT rate) pairs: base and VAT per rate, and overall."""
    bases: dict[str, Decimal] = {}
    for base, rate in lines:
        if rate not in VAT_PERCENT:
            raise ValueError(f"unknown VAT rate {rate!r}")
        bases[rate] = bases.get(rate, ZERO) + Decimal(base)
    groups = [
        VatGroup(
            rate=rate, base=cents(bases[rate]), tax=cents(bases[rate] * VAT_PERCENT[rate] / HUNDRED)
        )
        for rate in VAT_ORDER
        if rate in bases
    ]
    subtotal = sum((g.base for g in groups), ZERO)
    tax_total = sum((g.tax for g in groups), ZERO)
    return Totals(groups=groups, subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total)


@dataclass
class RecurringValue:
    """What a quote is worth over time: one-off lines once, monthly and yearly lines over the
    contract's term (before VAT)."""

    one_off: Decimal = ZERO
    monthly: Decimal = ZERO  # monthly value of the recurring lines (yearly ones / 12)
    yearly: Decimal = ZERO  # yearly value of the recurring lines (monthly ones × 12)
    term_months: int = 12
    term_total: Decimal = ZERO  # one-off + recurring over the whole term


def recurring_value(lines: Iterable[tuple[Decimal, str]], term_months: int) -> RecurringValue:
    """From (line base, recurrence) pairs: monthly, yearly and whole-term value."""
    one_off = monthly_sum = yearly_sum = ZERO
    for base, recurrence in lines:
        if recurrence == "monthly":
            monthly_sum += Decimal(base)
        elif recurrence == "yearly":
            yearly_sum += Decimal(base)
        else:
            one_off += Decimal(base)
    # Divided once, on the sums: twelfths of each line would round each line apart.
    monthly = monthly_sum + yearly_sum / 12
    yearly = monthly_sum * 12 + yearly_sum
    term = one_off + monthly * term_months
    return RecurringValue(
        one_off=cents(one_off),
        monthly=cents(monthly),
        yearly=cents(yearly),
        term_months=term_months,
        term_total=cents(term),
    )
