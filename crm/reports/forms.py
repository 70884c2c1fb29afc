"""The reports' query parameters: a period, and what a report view shows.

Everything comes from the URL (so every view can be bookmarked and shared); bad values give
a form error shown on the page, never a 500.
"""

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.reports import metrics
from crm.reports.periods import FiscalCalendar, Period, PeriodKind, check_custom, period_for
from crm.reports.selectors import ReportSpec


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=gettext_lazy("Period"), choices=PeriodKind.CHOICES, required=False
    )
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label=pgettext_lazy("period end", "To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    default_kind = PeriodKind.MONTH

    def __init__(self, data=None, *, today: dt.date, fiscal: FiscalCalendar, **kwargs):
        self.today = today
        self.fiscal = fiscal
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("period") or self.default_kind
        if kind != PeriodKind.CUSTOM and not (cleaned.get("start") or cleaned.get("end")):
            cleaned["period_value"] = period_for(kind, today=self.today, fiscal=self.fiscal)
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        if "start" in self.errors or "end" in self.errors:
            return cleaned
        if start is None or end is None:
            raise ValidationError(_("Give both dates of a custom period."))
        problem = check_custom(start, end)
        if problem:
            raise ValidationError(problem)
        cleaned["period_value"] = Period(start, end, PeriodKind.CUSTOM)
        return cleaned

    @property
    def value(self) -> Period:
        return self.cleaned_data["period_value"]


def _choices(items: dict) -> list[tuple[str, str]]:
    return [(key, item.label) for key, item in items.items()]


class ReportForm(PeriodForm):
    measure = forms.ChoiceField(label=gettext_lazy("Figure"), required=False)
    dimension = forms.ChoiceField(label=gettext_lazy("By"), required=False)
    granularity = forms.ChoiceField(
        label=gettext_lazy("Every"),
        required=False,
        choices=[
            ("month", gettext_lazy("Month")),
            ("quarter", gettext_lazy("Quarter")),
            ("year", gettext_lazy("Fiscal year")),
        ],
    )
    view = forms.ChoiceField(
        label=gettext_lazy("View"),
        required=False,
        choices=[
            ("monthly", gettext_lazy("Period by period")),
            ("cumulative", gettext_lazy("Running total in the fiscal year")),
            ("yoy", gettext_lazy("Fiscal year against the previous one")),
        ],
    )

    default_kind = PeriodKind.YEAR

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["measure"].choices = [
            (gettext_lazy("Figures"), _choices(metrics.MEASURES)),
            (gettext_lazy("Ratios"), _choices(metrics.RATIOS)),
        ]
        self.fields["dimension"].choices = [("", gettext_lazy("Nothing (totals)"))] + [
            (key, label) for key, label in metrics.DIMENSIONS.items()
        ]
        # Filters on a dimension's value come as ?owner=7, ?channel=2, ...
        self.filters = {}
        if data is not None:
            for key in metrics.DIMENSIONS:
                if data.get(key):
                    self.filters[key] = data.get(key)

    def spec(self):
        """The report the valid form asks for (the page, its downloads and the API)."""
        data = self.cleaned_data
        return ReportSpec(
            measure=data["measure"],
            dimension=data["dimension"],
            granularity=data["granularity"],
            view=data["view"],
            period=self.value,
            filters=tuple(sorted(self.filters.items())),
        )

    def clean(self):
        cleaned = super().clean()
        measure = cleaned.get("measure") or "revenue_won"
        cleaned["measure"] = measure
        cleaned["granularity"] = cleaned.get("granularity") or "month"
        cleaned["view"] = cleaned.get("view") or "monthly"
        dimension = cleaned.get("dimension") or None
        cleaned["dimension"] = dimension
        if dimension and dimension not in metrics.dimensions_for(measure):
            self.add_error(
                "dimension",
                _("%(measure)s cannot be split by %(dimension)s.")
                % {
                    "measure": metrics.label_of(measure),
                    "dimension": str(metrics.DIMENSIONS[dimension]).lower(),
                },
            )
        for key, value in self.filters.items():
            try:
                metrics.check_filter(measure, key, value)
            except metrics.UnknownName as error:
                raise ValidationError(str(error)) from error
        return cleaned


class YearPeriodForm(PeriodForm):
    """A period that starts as this fiscal year (the pipeline's funnel needs time)."""

    default_kind = PeriodKind.YEAR
