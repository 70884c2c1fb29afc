"""The figures' scope against the records' visibility, and the vocabulary's consistency."""

import pytest

from crm.reports import metrics
from crm.reports.tests.fixtures import build_data_set

pytestmark = pytest.mark.django_db

VISIBLE = {
    "lead": lambda user: metrics.Lead.objects.visible_to(user),
    "opportunity": lambda user: metrics.Opportunity.objects.visible_to(user),
    "quote": lambda user: metrics.Quote.objects.visible_to(user),
    "quote_line": lambda user: metrics.QuoteLine.objects.filter(
        quote__in=metrics.Quote.objects.visible_to(user)
    ),
    "activity": lambda user: metrics.Activity.objects.visible_to(user),
}


@pytest.mark.parametrize("who", ["admin", "marta", "ana", "bruno"])
@pytest.mark.parametrize("source", sorted(VISIBLE))
def test_a_users_figures_are_made_only_of_records_they_may_see(who, source):
    data = build_data_set()
    user = getattr(data, who)

    in_figures = set(metrics._queryset(source, user).values_list("pk", flat=True))
    visible = set(VISIBLE[source](user).values_list("pk", flat=True))

    assert in_figures
    assert in_figures <= visible


def test_an_inactive_user_has_no_figures():
    data = build_data_set()
    data.ana.is_active = False

    assert not metrics._queryset("opportunity", data.ana).exists()


def test_every_measure_has_a_source_with_its_date_field_and_dimensions():
    for key, measure in metrics.MEASURES.items():
        assert measure.source in metrics.DIMENSION_PATHS, key
        assert metrics.dimensions_for(key), key
    for key, ratio in metrics.RATIOS.items():
        assert ratio.numerator in metrics.MEASURES, key
        assert ratio.denominator in metrics.MEASURES, key


def test_a_ratio_splits_only_by_what_both_parts_know():
    assert "product" not in metrics.dimensions_for("activities_per_won")
    assert "owner" in metrics.dimensions_for("activities_per_won")
    assert "channel" in metrics.dimensions_for("win_rate")
