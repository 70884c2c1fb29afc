"""Input parsing for the quote builder and the catalog pages. The rules live in
crm.sales.quotes (services)."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.models import VatRate
from crm.sales.models import Product, ProductCategory, ProductKind, Quote, Recurrence

# "1.234" and "12.500" are thousands the Spanish way; "0.125" and "12.5" are decimals.
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_decimal(value: str | Decimal | int | None) -> Decimal | None:
    """A number typed the Spanish way ("1.234,56", "12,5") or plainly ("1234.56", "12.5").

    Spaces, non-breaking spaces, "€" and "%" are ignored. With both separators the last one
    is the decimal mark; a lone "." followed by groups of three digits ("1.234") is a
    thousands separator. Empty text is None; anything else raises ValueError.
    """
    if value is None:
        return None
    if isinstance(value, Decimal | int):
        return Decimal(value)
    text = str(value).strip()
    for ignored in (" ", "\xa0", "\u202f", "€", "%"):
        text = text.replace(ignored, "")
    if not text:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if text.count(",") > 1:
            raise ValueError(value)
        text = text.replace(",", ".")
    elif _THOUSANDS.fullmatch(text):
        text = text.replace(".", "")
    if not _NUMBER.fullmatch(text):
        raise ValueError(value)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern rules it out
        raise ValueError(value) from exc
    return number


class SpanishDecimalField(forms.CharField):
    """A decimal typed as people in Spain write it (see parse_decimal)."""

    def __init__(self, *, decimal_places: int = 2, min_value=None, max_value=None, **kwargs):
        self.decimal_places = decimal_places
        self.min_value = None if min_value is None else Decimal(min_value)
        self.max_value = None if max_value is None else Decimal(max_value)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        try:
            number = parse_decimal(value)
        except ValueError as exc:
            raise forms.ValidationError(
                _("Write a number such as 1.234,56."), code="invalid"
            ) from exc
        if number is None:
            return None
        if -number.as_tuple().exponent > self.decimal_places:
            raise forms.ValidationError(
                _("Use at most %(places)d decimals.") % {"places": self.decimal_places},
                code="decimals",
            )
        if self.min_value is not None and number < self.min_value:
            raise forms.ValidationError(
                _("It cannot be less than %(min)s.") % {"min": self.min_value}, code="min"
            )
        if self.max_value is not None and number > self.max_value:
            raise forms.ValidationError(
                _("It cannot be more than %(max)s.") % {"max": self.max_value}, code="max"
            )
        return number

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return format_decimal(value)
        return value


def format_decimal(value: Decimal | None) -> str:
    """A decimal as typed back into an input: Spanish mark, no trailing zeros beyond cents
    ("1234,5" -> "1234,50", "2,000" -> "2")."""
    if value is None:
        return ""
    value = Decimal(value)
    if value == value.to_integral_value():
        text = f"{value.quantize(Decimal(1)):f}"
    else:
        text = f"{value.normalize():f}"
        decimals = len(text.split(".")[1])
        if decimals < 2:
            text = f"{value.quantize(Decimal('0.01')):f}"
    return text.replace(".", ",")


class QuoteForm(forms.ModelForm):
    """The header of a quote: who it is for, its dates and notes."""

    class Meta:
        model = Quote
        fields = ["title", "contact", "issue_date", "valid_until", "term_months", "notes"]
        widgets = {
            "issue_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "valid_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "term_months": forms.NumberInput(attrs={"min": 1, "max": 120, "inputmode": "numeric"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        contacts = opportunity.account.contacts.filter(is_active=True)
        if self.instance.contact_id:
            contacts = contacts | opportunity.account.contacts.filter(pk=self.instance.contact_id)
        self.fields["contact"].queryset = contacts.order_by("first_name", "last_name")
        self.fields["valid_until"].required = False
        self.fields["issue_date"].required = False
        self.fields["valid_until"].help_text = _("Empty: 30 days after the date.")
        self.fields["title"].help_text = _("Empty: the opportunity's title.")


LINE_FIELDS = [
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "vat_rate",
    "recurrence",
]


class QuoteLineForm(forms.Form):
    """One line typed in the builder; on an update only the posted fields change."""

    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.filter(is_active=True), required=False
    )
    description = forms.CharField(label=_("Description"), max_length=500, required=False)
    quantity = SpanishDecimalField(
        label=_("Quantity"), decimal_places=3, min_value="0.001", required=False
    )
    unit_price = SpanishDecimalField(label=_("Unit price"), min_value=0, required=False)
    discount_percent = SpanishDecimalField(
        label=_("Discount %"), min_value=0, max_value=100, required=False
    )
    vat_rate = forms.ChoiceField(
        label=_("VAT"), choices=[("", "")] + list(VatRate.choices), required=False
    )
    recurrence = forms.ChoiceField(
        label=_("Recurrence"), choices=[("", "")] + list(Recurrence.choices), required=False
    )

    def line_fields(self) -> dict:
        """The values posted (not missing ones), for quote_line_update."""
        return {
            name: self.cleaned_data[name]
            for name in LINE_FIELDS
            if name in self.data and self.cleaned_data.get(name) not in (None, "")
        }


class ProductSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=ProductCategory.objects.all(),
        required=False,
        empty_label=_("All"),
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("All"))] + list(ProductKind.choices), required=False
    )
    active = forms.ChoiceField(
        label=_("Active"),
        choices=[("yes", _("Active")), ("no", _("Inactive")), ("all", _("All"))],
        required=False,
    )


class ProductForm(forms.ModelForm):
    unit_price = SpanishDecimalField(label=_("Unit price"), min_value=0)

    class Meta:
        model = Product
        fields = [
            "code",
            "name",
            "description",
            "kind",
            "category",
            "unit",
            "unit_price",
            "vat_rate",
            "recurrence",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        categories = ProductCategory.objects.filter(is_active=True)
        if self.instance.category_id:
            categories = categories | ProductCategory.objects.filter(pk=self.instance.category_id)
        self.fields["category"].queryset = categories

    def fields_for_service(self) -> dict:
        return dict(self.cleaned_data)


class ProductImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV or Excel (XLSX); the first row holds the column names."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
    sheet = forms.CharField(
        label=_("Sheet"),
        required=False,
        max_length=100,
        help_text=_("Excel only; empty: the first sheet."),
    )
