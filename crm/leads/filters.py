"""Filters of the lead list, shared by the page, the export and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from crm.core.models import PROVINCES, Channel, Sector
from crm.customers.filters import SortFilter
from crm.customers.models import SizeSegment
from crm.leads.models import Lead, LeadImport, LeadStatus
from crm.leads.selectors import LEAD_SORTS, lead_search_filter
from crm.users.models import Team, User


def _users(request):
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    return User.objects.all()


def _imports(request):
    if request is None or not request.user.is_authenticated:
        return LeadImport.objects.none()
    return LeadImport.objects.visible_to(request.user)


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search")
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=LeadStatus.choices)
    open = django_filters.BooleanFilter(label=_("Open only"), method="filter_open")
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    unassigned = django_filters.BooleanFilter(
        label=_("Unassigned"), field_name="owner", lookup_expr="isnull"
    )
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all())
    channel = django_filters.ModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.all())
    province = django_filters.ChoiceFilter(label=_("Province"), choices=PROVINCES)
    sector = django_filters.ModelChoiceFilter(label=_("Sector"), queryset=Sector.objects.all())
    size_segment = django_filters.ChoiceFilter(label=_("Size"), choices=SizeSegment.choices)
    campaign = django_filters.CharFilter(label=_("Campaign"), lookup_expr="iexact")
    score_min = django_filters.NumberFilter(
        label=_("Score at least"), field_name="score", lookup_expr="gte", min_value=0, max_value=100
    )
    lead_import = django_filters.ModelChoiceFilter(label=_("Import"), queryset=_imports)
    created_after = django_filters.DateFilter(
        label=_("Created from"), field_name="created_at", lookup_expr="date__gte"
    )
    created_before = django_filters.DateFilter(
        label=_("Created until"), field_name="created_at", lookup_expr="date__lte"
    )
    sort = SortFilter(label=_("Sort by"), sorts=LEAD_SORTS)

    class Meta:
        model = Lead
        fields = ["q", "status", "owner", "team", "channel", "province", "sector", "size_segment"]

    def __init__(self, *args, use_index: bool = True, **kwargs):
        self.use_index = use_index
        super().__init__(*args, **kwargs)

    def filter_search(self, queryset, name, value):
        return queryset.filter(lead_search_filter(value, use_index=self.use_index))

    def filter_open(self, queryset, name, value):
        return queryset.open() if value else queryset
