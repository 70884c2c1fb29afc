"""What can be measured, and by what: the reports' one vocabulary.

A *measure* counts or sums one kind of record placed in time by one of its moments (leads by
when they came in, deals won by when they closed...). A *ratio* divides two measures, so that
totals, quarters and running totals divide sums rather than average averages. A *dimension*
splits a measure by an attribute of its records (channel, owner, stage...).

Every figure and every drill-down list come from the same queryset (`_queryset`, limited by
`scope_q`: the user's own records, their teams', or all): a figure and the records listed
behind it are the same rows.
"""

import datetime as dt
import functools
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from crm.activities.models import Activity, ActivityKind, ActivityStatus
from crm.core.models import PROVINCES, Channel, Sector
from crm.customers.models import SizeSegment
from crm.leads.models import Lead
from crm.reports.models import DailyFigure, SummaryState
from crm.reports.periods import Period
from crm.sales.models import (
    Opportunity,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    Stage,
    StageKind,
)
from crm.users.models import Role, Team, User

NONE_VALUE = "-"  # a dimension value in URLs meaning "not set"
DAY = Decimal(86400)


class UnknownName(ValueError):
    """A measure, ratio or dimension that does not exist or does not apply."""


# -- sources: the record kinds figures are made of --


# Whose figures a user sees: "a sales rep their own, a manager their teams', an administrator
# all". Figures go by each record's owner and team (an activity's assignee), which is a part of
# what `visible_to` lets the user see (tested), so a drill-down never lists a hidden record.
_OWNERS = {
    "lead": ("owner", "team"),
    "opportunity": ("owner", "team"),
    "quote": ("opportunity__owner", "opportunity__team"),
    "quote_line": ("quote__opportunity__owner", "quote__opportunity__team"),
    "activity": ("assignee", None),  # a team's activities are its members'
}
_MODELS = {
    "lead": Lead,
    "opportunity": Opportunity,
    "quote": Quote,
    "quote_line": QuoteLine,
    "activity": Activity,
}


def team_member_ids(user) -> list[int]:
    """The members of the teams a user leads or belongs to, as a list: literal ids give
    PostgreSQL the estimates that make it join the few rows, not scan the table."""
    if not hasattr(user, "_report_member_ids"):
        user._report_member_ids = list(
            User.objects.filter(team_id__in=user.scope_team_ids()).values_list("pk", flat=True)
        )
    return user._report_member_ids


def scope_q(source: str, user) -> Q:
    """The records whose figures `user` sees, as a condition on `source`'s owner and team."""
    if not (user and user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if user.is_admin:
        return Q()
    owner, team = _OWNERS[source]
    scope = Q(**{f"{owner}_id": user.pk})
    team_ids = user.scope_team_ids()
    if team_ids:
        scope |= Q(**{f"{owner}_id__in": team_member_ids(user)})
        if team:
            scope |= Q(**{f"{team}_id__in": team_ids})
    return scope


def _queryset(source: str, user):
    model = _MODELS.get(source)
    if model is None:
        raise UnknownName(source)
    return model.objects.filter(scope_q(source, user))


def source_model(source: str):
    return _MODELS[source]


# The daily summary (DailyFigure) holds every measure of these sources per day, owner and
# team; it can answer when a figure is split or filtered by nothing else.
SUMMARY_OWNERS = {
    "lead": ("owner", "team"),
    "opportunity": ("owner", "team"),
    "quote": ("opportunity__owner", "opportunity__team"),
    "activity": ("assignee", "assignee__team"),
}
SUMMARY_DIMENSIONS = {"owner": "owner", "team": "team", "role": "owner__role"}


_DEAL_PATHS = {
    "channel": "channel",
    "owner": "owner",
    "role": "owner__role",
    "team": "team",
    "stage": "stage",
    "province": "account__billing_province",
    "sector": "account__sector",
    "size": "account__size_segment",
}

# Which field of each source holds each dimension.
DIMENSION_PATHS: dict[str, dict[str, str]] = {
    "lead": {
        "channel": "channel",
        "owner": "owner",
        "role": "owner__role",
        "team": "team",
        "province": "province",
        "sector": "sector",
        "size": "size_segment",
    },
    "opportunity": dict(_DEAL_PATHS),
    "quote": {key: f"opportunity__{path}" for key, path in _DEAL_PATHS.items()},
    "quote_line": {
        "product": "product",
        "category": "product__category",
        **{key: f"quote__opportunity__{path}" for key, path in _DEAL_PATHS.items()},
    },
    "activity": {
        "owner": "assignee",
        "role": "assignee__role",
        "team": "assignee__team",
        "kind": "kind",
    },
}


# -- measures and ratios --


@dataclass(frozen=True)
class Measure:
    key: str
    label: Promise
    source: str
    date_field: str  # the moment that places a record in a period
    condition: Q = field(default_factory=Q)
    aggregate: str = "count"  # count, sum (of `field`) or days (closed - created, summed)
    sum_field: str = ""
    value_format: str = "number"
    help: Promise | str = ""

    def expression(self):
        condition = self.condition or None
        if self.aggregate == "count":
            # COUNT(1), not COUNT(id): the covering indexes hold every other column read.
            return Count(Value(1), filter=condition)
        if self.aggregate == "sum":
            return Sum(self.sum_field, filter=condition)
        if self.aggregate == "days":
            span = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
            return Sum(span, filter=condition)
        raise UnknownName(self.aggregate)

    def clean(self, value) -> Decimal | int:
        """A database answer as an exact number: counts int, sums Decimal, days Decimal."""
        if value is None:
            return 0 if self.aggregate == "count" else Decimal(0)
        if self.aggregate == "count":
            return int(value)
        if self.aggregate == "days":
            if isinstance(value, dt.timedelta):
                seconds = (
                    Decimal(value.days) * DAY + value.seconds + Decimal(value.microseconds) / 10**6
                )
            else:  # microseconds, on databases without an interval type
                seconds = Decimal(value) / 10**6
            return seconds / DAY
        return Decimal(value).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Ratio:
    key: str
    label: Promise
    numerator: str
    denominator: str
    scale: int = 1  # 100 for percentages
    value_format: str = "number"
    help: Promise | str = ""

    def compute(self, numerator, denominator) -> Decimal | None:
        if not denominator:
            return None
        # Money to the cent, other ratios to one decimal; half up, like every other figure.
        places = Decimal("0.01") if self.value_format == "money" else Decimal("0.1")
        value = Decimal(numerator) * self.scale / Decimal(denominator)
        return value.quantize(places, ROUND_HALF_UP)


# A subquery on the few stages rather than a join on every deal row.
_WON = Q(stage__in=Stage.objects.filter(kind=StageKind.WON).values("pk"))
_LOST = Q(stage__in=Stage.objects.filter(kind=StageKind.LOST).values("pk"))
_CLOSED = Q(stage__in=Stage.objects.exclude(kind=StageKind.OPEN).values("pk"))

MEASURES: dict[str, Measure] = {
    m.key: m
    for m in [
        Measure(
            "leads_new",
            _("New leads"),
            "lead",
            "created_at",
            help=_("Leads that came in during the period."),
        ),
        Measure(
            "leads_converted",
            _("Leads turned into deals"),
            "lead",
            "created_at",
            Q(converted_opportunity__isnull=False),
            help=_("Of the leads that came in during the period, those converted with a deal."),
        ),
        Measure("deals_new", _("New deals"), "opportunity", "created_at"),
        Measure(
            "pipeline_created",
            _("Amount of new deals"),
            "opportunity",
            "created_at",
            aggregate="sum",
            sum_field="amount",
            value_format="money",
        ),
        Measure("deals_won", _("Deals won"), "opportunity", "closed_at", _WON),
        Measure(
            "revenue_won",
            _("Revenue won"),
            "opportunity",
            "closed_at",
            _WON,
            aggregate="sum",
            sum_field="amount",
            value_format="money",
        ),
        Measure("deals_lost", _("Deals lost or cancelled"), "opportunity", "closed_at", _LOST),
        Measure(
            "amount_lost",
            _("Amount lost or cancelled"),
            "opportunity",
            "closed_at",
            _LOST,
            aggregate="sum",
            sum_field="amount",
            value_format="money",
        ),
        Measure("deals_closed", _("Deals closed"), "opportunity", "closed_at", _CLOSED),
        Measure(
            "cycle_days_won",
            _("Days from creation to win (sum)"),
            "opportunity",
            "closed_at",
            _WON,
            aggregate="days",
            value_format="days",
        ),
        Measure("quotes_sent", _("Quotes sent"), "quote", "sent_at"),
        Measure(
            "quotes_sent_amount",
            _("Amount quoted"),
            "quote",
            "sent_at",
            aggregate="sum",
            sum_field="subtotal",
            value_format="money",
            help=_("Quote bases before VAT."),
        ),
        Measure(
            "quotes_accepted",
            _("Quotes accepted"),
            "quote",
            "sent_at",
            Q(status=QuoteStatus.ACCEPTED),
            help=_("Of the quotes sent during the period, those the customer accepted."),
        ),
        Measure(
            "product_quoted",
            _("Amount quoted (lines)"),
            "quote_line",
            "quote__sent_at",
            aggregate="sum",
            sum_field="base",
            value_format="money",
        ),
        Measure(
            "product_sold",
            _("Amount sold (lines of accepted quotes)"),
            "quote_line",
            "quote__answered_at",
            Q(quote__status=QuoteStatus.ACCEPTED),
            aggregate="sum",
            sum_field="base",
            value_format="money",
        ),
        Measure(
            "activities_done",
            _("Activities done"),
            "activity",
            "completed_at",
            Q(status=ActivityStatus.DONE),
        ),
    ]
}

RATIOS: dict[str, Ratio] = {
    r.key: r
    for r in [
        Ratio(
            "lead_conversion",
            _("Lead conversion"),
            "leads_converted",
            "leads_new",
            100,
            "percent",
            _("Leads turned into deals per 100 new leads."),
        ),
        Ratio(
            "win_rate",
            _("Win rate"),
            "deals_won",
            "deals_closed",
            100,
            "percent",
            _("Deals won per 100 deals closed (won, lost or cancelled)."),
        ),
        Ratio("average_deal", _("Average deal size"), "revenue_won", "deals_won", 1, "money"),
        Ratio(
            "sales_cycle",
            _("Average sales cycle"),
            "cycle_days_won",
            "deals_won",
            1,
            "days",
            _("Days from a won deal's creation to its win, on average."),
        ),
        Ratio("quotes_per_won", _("Quotes per deal won"), "quotes_sent", "deals_won"),
        Ratio("activities_per_won", _("Activities per deal won"), "activities_done", "deals_won"),
        Ratio(
            "acceptance_rate",
            _("Quote acceptance rate"),
            "quotes_accepted",
            "quotes_sent",
            100,
            "percent",
            _("Quotes accepted per 100 quotes sent."),
        ),
    ]
}

DIMENSIONS: dict[str, Promise] = {
    "channel": _("Channel"),
    "owner": _("Owner"),
    "role": _("Role"),
    "team": _("Team"),
    "stage": _("Stage"),
    "product": _("Product"),
    "category": _("Product category"),
    "province": _("Province"),
    "sector": _("Sector"),
    "size": _("Company size"),
    "kind": _("Activity kind"),
}


def base_measures(key: str) -> list[str]:
    """The measures a measure or ratio is made of."""
    if key in MEASURES:
        return [key]
    if key in RATIOS:
        return [RATIOS[key].numerator, RATIOS[key].denominator]
    raise UnknownName(key)


def label_of(key: str) -> Promise:
    if key in MEASURES:
        return MEASURES[key].label
    return RATIOS[key].label


def format_of(key: str) -> str:
    if key in MEASURES:
        return MEASURES[key].value_format
    return RATIOS[key].value_format


def dimensions_for(key: str) -> list[str]:
    """The dimensions a measure or ratio can be split by (those of all its parts)."""
    allowed = None
    for name in base_measures(key):
        paths = set(DIMENSION_PATHS[MEASURES[name].source])
        allowed = paths if allowed is None else allowed & paths
    return [d for d in DIMENSIONS if d in (allowed or set())]


def compute(key: str, values: dict[str, Decimal | int]) -> Decimal | int | None:
    """A measure's value, or a ratio's from its parts' values."""
    if key in MEASURES:
        return values.get(key, 0)
    ratio = RATIOS[key]
    return ratio.compute(values.get(ratio.numerator, 0), values.get(ratio.denominator, 0))


# -- the queries --


def _check_dimension(measures: list[str], dimension: str | None) -> None:
    if dimension is None:
        return
    if dimension not in DIMENSIONS:
        raise UnknownName(dimension)
    for name in measures:
        if dimension not in DIMENSION_PATHS[MEASURES[name].source]:
            raise UnknownName(dimension)


_CHOICE_VALUES = {
    "role": Role.values,
    "province": [code for code, _label in PROVINCES],
    "size": SizeSegment.values,
    "kind": ActivityKind.values,
}


def check_filter(key: str, dimension: str, value: str) -> None:
    """Refuse a filter that does not apply to a measure or whose value cannot be one of the
    dimension's (so that ?owner=abc is a message, not a database error)."""
    if dimension not in dimensions_for(key):
        raise UnknownName(
            _("%(measure)s cannot be filtered by %(dimension)s.")
            % {"measure": label_of(key), "dimension": str(DIMENSIONS[dimension]).lower()}
        )
    if value == NONE_VALUE:
        return
    allowed = _CHOICE_VALUES.get(dimension)
    valid = value in allowed if allowed is not None else value.isascii() and value.isdigit()
    if not valid or len(value) > 18:
        raise UnknownName(
            _("Unknown %(dimension)s: %(value)s.")
            % {"dimension": str(DIMENSIONS[dimension]).lower(), "value": value[:40]}
        )


def filters_q(source: str, filters: dict[str, str] | None) -> Q:
    """Restrict a source to dimension values, e.g. {"owner": "7"}; "-" means not set."""
    condition = Q()
    for dimension, value in (filters or {}).items():
        path = DIMENSION_PATHS[source].get(dimension)
        if path is None:
            raise UnknownName(dimension)
        if value == NONE_VALUE and dimension in _CHOICE_VALUES:  # text columns: blank
            condition &= Q(**{f"{path}__isnull": True}) | Q(**{path: ""})
        elif value == NONE_VALUE:
            condition &= Q(**{f"{path}__isnull": True})
        else:
            condition &= Q(**{path: value})
    return condition


def _groups(measures: list[str]) -> dict[tuple[str, str], list[Measure]]:
    groups: dict[tuple[str, str], list[Measure]] = defaultdict(list)
    for name in dict.fromkeys(measures):
        measure = MEASURES.get(name)
        if measure is None:
            raise UnknownName(name)
        groups[measure.source, measure.date_field].append(measure)
    return groups


def summary_groups() -> dict[tuple[str, str], list[Measure]]:
    """The measures the daily summary holds, by kind of record and moment."""
    return _groups([k for k, m in MEASURES.items() if m.source in SUMMARY_OWNERS])


def _summary_until(tz: ZoneInfo) -> dt.date | None:
    """The first day not in the daily summary, when a summary of today or yesterday exists
    for this time zone; None to count everything from the records."""
    state = SummaryState.objects.filter(pk=SummaryState.SINGLETON_ID).first()
    if state is None or state.time_zone != str(tz):
        return None
    # Yesterday's summary still holds complete days (the live window just grows by one), so
    # the hour after midnight before the next rebuild does not count everything again.
    today = timezone.localtime(timezone.now(), tz).date()
    if not today - dt.timedelta(days=1) <= state.built_on <= today:
        return None
    return state.until


def summary_scope(user) -> Q:
    """`scope_q` on the owner and team columns of the summaries (daily figures, snapshots)."""
    if user.is_admin:
        return Q()
    scope = Q(owner_id=user.pk)
    team_ids = user.scope_team_ids()
    if team_ids:
        scope |= Q(owner_id__in=team_member_ids(user)) | Q(team_id__in=team_ids)
    return scope


def _summary_usable(group: list[Measure], dimension, filters) -> bool:
    return (
        group[0].source in SUMMARY_OWNERS
        and (dimension is None or dimension in SUMMARY_DIMENSIONS)
        and all(key in SUMMARY_DIMENSIONS for key in (filters or {}))
    )


def _summary_rows(user, start: dt.date, end: dt.date, filters):
    """Daily summary rows of a user's scope from `start` to `end` (both included)."""
    rows = DailyFigure.objects.filter(summary_scope(user), day__gte=start, day__lte=end)
    for dimension, value in (filters or {}).items():
        path = SUMMARY_DIMENSIONS[dimension]
        rows = rows.filter(**({f"{path}__isnull": True} if value == NONE_VALUE else {path: value}))
    return rows.order_by()


def _summary_value(measure: Measure, value):
    if measure.aggregate == "count":
        return int(value or 0)
    return Decimal(value or 0)


def _split(period: Period, until: dt.date | None) -> tuple[Period | None, Period | None]:
    """The part of a period the summary answers (days before `until`) and the live part."""
    if until is None or period.start >= until:
        return None, period
    if period.end < until:
        return period, None
    return (
        Period(period.start, until - dt.timedelta(days=1)),
        Period(until, period.end),
    )


def _any_condition(group: list[Measure]) -> Q:
    """The rows any measure of a group counts: as a WHERE clause it lets the database skip
    the others instead of reading them only to filter them out of every aggregate."""
    if any(not m.condition for m in group):
        return Q()
    return functools.reduce(operator.or_, (m.condition for m in group))


def _dimension_value(value) -> str:
    return NONE_VALUE if value in (None, "") else str(value)


def monthly(
    *,
    user,
    measures: list[str],
    period: Period,
    tz: ZoneInfo,
    dimension: str | None = None,
    filters: dict[str, str] | None = None,
) -> dict[str, dict[tuple[str | None, dt.date], Decimal | int]]:
    """Each measure by (dimension value, first day of the month), for the months the period
    covers; one grouped query per kind of record and moment (two when the daily summary
    answers the older days)."""
    _check_dimension(measures, dimension)
    result: dict[str, dict] = {name: {} for name in measures}
    until = _summary_until(tz)

    def add(measure: Measure, value_key, month, value):
        cell = result[measure.key]
        cell[value_key, month] = cell.get((value_key, month), 0) + value

    for (source, date_field), group in _groups(measures).items():
        live = period
        if _summary_usable(group, dimension, filters):
            stored, live = _split(period, until)
            if stored is not None:
                keys = ["month"]
                rows = _summary_rows(user, stored.start, stored.end, filters).annotate(
                    month=TruncMonth("day")
                )
                if dimension:
                    rows = rows.annotate(dimension_value=F(SUMMARY_DIMENSIONS[dimension]))
                    keys.insert(0, "dimension_value")
                for row in rows.values(*keys).annotate(**{m.key: Sum(m.key) for m in group}):
                    value_key = _dimension_value(row.get("dimension_value")) if dimension else None
                    for m in group:
                        add(m, value_key, row["month"], _summary_value(m, row[m.key]))
        if live is None:
            continue
        start, end = live.bounds(tz)
        queryset = _queryset(source, user).filter(
            filters_q(source, filters),
            _any_condition(group),
            **{f"{date_field}__gte": start, f"{date_field}__lt": end},
        )
        keys = ["month"]
        if dimension:
            queryset = queryset.annotate(dimension_value=F(DIMENSION_PATHS[source][dimension]))
            keys.insert(0, "dimension_value")
        rows = (
            queryset.annotate(month=TruncMonth(date_field, tzinfo=tz))
            .order_by()
            .values(*keys)
            .annotate(**{m.key: m.expression() for m in group})
        )
        for row in rows:
            month = row["month"]
            if isinstance(month, dt.datetime):
                month = month.astimezone(tz).date()
            value_key = _dimension_value(row.get("dimension_value")) if dimension else None
            for m in group:
                add(m, value_key, month, m.clean(row[m.key]))
    return result


def totals(
    *,
    user,
    measures: list[str],
    periods: list[Period],
    tz: ZoneInfo,
    filters: dict[str, str] | None = None,
) -> list[dict[str, Decimal | int]]:
    """Each measure's total over each period. The days the daily summary holds come from one
    query for every measure and period (a filtered sum each); the recent days from one
    aggregate query per kind of record, moment and period, over that moment's index."""
    distinct = list(dict.fromkeys((p.start, p.end) for p in periods))
    until = _summary_until(tz)
    groups = _groups(measures)
    answers = {
        key: {m.key: 0 if m.aggregate == "count" else Decimal(0) for m in _measures_of(groups)}
        for key in distinct
    }
    stored_sums = {}
    for (source, date_field), group in groups.items():
        base = _queryset(source, user).filter(filters_q(source, filters), _any_condition(group))
        usable = _summary_usable(group, None, filters)
        for start_day, end_day in distinct:
            stored, live = _split(Period(start_day, end_day), until if usable else None)
            if stored is not None:
                for m in group:
                    alias = f"{m.key}__{distinct.index((start_day, end_day))}"
                    stored_sums[alias] = (
                        m,
                        (start_day, end_day),
                        Sum(m.key, filter=Q(day__gte=stored.start, day__lte=stored.end)),
                    )
            if live is not None:
                start, end = live.bounds(tz)
                row = (
                    base.filter(**{f"{date_field}__gte": start, f"{date_field}__lt": end})
                    .order_by()
                    .aggregate(**{m.key: m.expression() for m in group})
                )
                for m in group:
                    answers[start_day, end_day][m.key] += m.clean(row[m.key])
    if stored_sums:
        first = min(key[0] for _m, key, _total in stored_sums.values())
        row = _summary_rows(user, first, until - dt.timedelta(days=1), filters).aggregate(
            **{alias: total for alias, (_m, _key, total) in stored_sums.items()}
        )
        for alias, (m, key, _total) in stored_sums.items():
            answers[key][m.key] += _summary_value(m, row[alias])
    return [dict(answers[period.start, period.end]) for period in periods]


def _measures_of(groups: dict) -> list[Measure]:
    return [m for group in groups.values() for m in group]


def measure_queryset(
    *,
    user,
    measure: str,
    period: Period,
    tz: ZoneInfo,
    filters: dict[str, str] | None = None,
):
    """The records a measure's figure is made of: what a drill-down lists."""
    m = MEASURES.get(measure)
    if m is None:
        raise UnknownName(measure)
    start, end = period.bounds(tz)
    return _queryset(m.source, user).filter(
        m.condition,
        filters_q(m.source, filters),
        **{f"{m.date_field}__gte": start, f"{m.date_field}__lt": end},
    )


# -- dimension values' names --


def _names(model, ids) -> dict[str, str]:
    return {str(obj.pk): str(obj) for obj in model.objects.filter(pk__in=ids)}


def dimension_labels(dimension: str, values) -> dict[str, str]:
    """A readable name for each dimension value ("-" is "not set")."""
    ids = [v for v in values if v != NONE_VALUE]
    if dimension == "owner":
        labels = _names(User, ids)
    elif dimension == "team":
        labels = _names(Team, ids)
    elif dimension == "channel":
        labels = _names(Channel, ids)
    elif dimension == "sector":
        labels = _names(Sector, ids)
    elif dimension == "category":
        labels = _names(ProductCategory, ids)
    elif dimension == "product":
        labels = {str(p.pk): f"{p.code} · {p.name}" for p in Product.objects.filter(pk__in=ids)}
    elif dimension == "stage":
        stages = Stage.objects.filter(pk__in=ids).select_related("pipeline")
        several = len({s.pipeline_id for s in stages}) > 1
        labels = {str(s.pk): f"{s.pipeline.name} · {s.name}" if several else s.name for s in stages}
    else:
        choices = {
            "role": Role.choices,
            "province": PROVINCES,
            "size": SizeSegment.choices,
            "kind": ActivityKind.choices,
        }[dimension]
        labels = {str(key): str(label) for key, label in choices}
    labels[NONE_VALUE] = str(_("(not set)"))
    return labels


def dimension_order(dimension: str, values) -> list[str] | None:
    """The natural order of a dimension's values, where there is one (stages in the
    pipeline's order, sizes from small to big); None to order by figure."""
    if dimension == "stage":
        ids = [v for v in values if v != NONE_VALUE]
        ordered = Stage.objects.filter(pk__in=ids).order_by(
            "pipeline__position", "pipeline_id", "position"
        )
        return [str(s.pk) for s in ordered]
    choices = {
        "role": Role.choices,
        "size": SizeSegment.choices,
        "kind": ActivityKind.choices,
    }.get(dimension)
    if choices:
        return [str(key) for key, _label in choices]
    return None
