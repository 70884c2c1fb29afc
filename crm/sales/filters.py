"""Filters of the deal list and the board, shared by the pages (and the API, when it comes)."""

from datetime import date

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from crm.core.models import Channel
from crm.customers.filters import SortFilter
from crm.sales.models import Opportunity, Pipeline, Stage, StageKind
from crm.sales.selectors import OPPORTUNITY_SORTS, search_filter
from crm.users.models import Team, User

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def _users(request):
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    return User.objects.all()


class MonthFilter(django_filters.Filter):
    """`2026-03`: deals expected to close in that month."""

    field_class = forms.CharField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "validators", [RegexValidator(MONTH_PATTERN, _("Give the month as YYYY-MM."))]
        )
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        year, month = (int(part) for part in value.split("-"))
        start = date(year, month, 1)
        end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
        return qs.filter(expected_close_date__gte=start, expected_close_date__lt=end)


class BoardFilter(django_filters.FilterSet):
    """What the board filters by: its counts and its cards alike."""

    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all())
    channel = django_filters.ModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.all())
    month = MonthFilter(
        label=_("Expected close month"),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "2026-01"}),
    )

    class Meta:
        model = Opportunity
        fields = ["owner", "team", "channel"]


class OpportunityFilter(BoardFilter):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search")
    pipeline = django_filters.ModelChoiceFilter(
        label=_("Pipeline"), queryset=Pipeline.objects.all()
    )
    stage = django_filters.ModelChoiceFilter(
        label=_("Stage"), queryset=Stage.objects.select_related("pipeline")
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        method="filter_status",
        choices=[
            ("open", _("Open")),
            ("closed", _("Closed")),
            ("won", _("Won")),
            ("lost", _("Lost")),
        ],
    )
    sort = SortFilter(label=_("Sort by"), sorts=OPPORTUNITY_SORTS)

    class Meta:
        model = Opportunity
        fields = ["q", "owner", "team", "channel", "pipeline", "stage"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_filter(value))

    def filter_status(self, queryset, name, value):
        if value == "open":
            return queryset.filter(stage__kind=StageKind.OPEN)
        if value == "closed":
            return queryset.exclude(stage__kind=StageKind.OPEN)
        return queryset.filter(stage__kind=value)
