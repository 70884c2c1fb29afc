"""Filters of the account and contact lists, shared by the pages, the exports and the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from crm.core.models import PROVINCES, Channel, Sector
from crm.customers.models import Account, AccountKind, Contact, Lifecycle, SizeSegment, Tag
from crm.customers.selectors import (
    ACCOUNT_SORTS,
    CONTACT_SORTS,
    contact_search_filter,
    search_filter,
)
from crm.users.models import Team, User


def _users(request):
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    # Deactivated users too: an admin hands over the accounts of someone who left.
    return User.objects.all()


class SortFilter(django_filters.ChoiceFilter):
    """`?sort=name` / `?sort=-created`: a fixed list of orderings, each with a tie-breaker."""

    def __init__(self, *args, sorts: dict[str, tuple[str, ...]], **kwargs):
        self.sorts = sorts
        kwargs.setdefault("choices", [(key, key) for key in sorts])
        kwargs.setdefault("empty_label", None)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        # Called with an empty value too, so that every page has a stable order.
        return qs.order_by(*self.sorts.get(value or "", next(iter(self.sorts.values()))))


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search")
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=AccountKind.choices)
    lifecycle = django_filters.ChoiceFilter(label=_("Lifecycle"), choices=Lifecycle.choices)
    province = django_filters.ChoiceFilter(
        label=_("Province"), field_name="billing_province", choices=PROVINCES
    )
    sector = django_filters.ModelChoiceFilter(label=_("Sector"), queryset=Sector.objects.all())
    channel = django_filters.ModelChoiceFilter(label=_("Channel"), queryset=Channel.objects.all())
    size_segment = django_filters.ChoiceFilter(label=_("Size"), choices=SizeSegment.choices)
    owner = django_filters.ModelChoiceFilter(label=_("Owner"), queryset=_users)
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.all())
    tag = django_filters.ModelChoiceFilter(
        label=_("Tag"), field_name="tags", queryset=Tag.objects.all()
    )
    sort = SortFilter(label=_("Sort by"), sorts=ACCOUNT_SORTS)

    class Meta:
        model = Account
        fields = ["q", "kind", "lifecycle", "province", "sector", "channel", "size_segment"]

    def __init__(self, *args, use_index: bool = True, **kwargs):
        self.use_index = use_index
        super().__init__(*args, **kwargs)

    def filter_search(self, queryset, name, value):
        return queryset.filter(search_filter(value, use_index=self.use_index))


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="filter_search")
    account = django_filters.NumberFilter(
        label=_("Account"), field_name="account_id", min_value=1, max_value=2**63 - 1
    )
    is_active = django_filters.BooleanFilter(label=_("Active"))
    marketing_consent = django_filters.BooleanFilter(label=_("Accepts marketing"))
    sort = SortFilter(label=_("Sort by"), sorts=CONTACT_SORTS)

    class Meta:
        model = Contact
        fields = ["q", "account", "is_active", "marketing_consent"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(contact_search_filter(value))
