"""Read queries for deals, the board and pipelines. Every one applies the user's visibility."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from crm.core.search import matches, search_words
from crm.customers.models import Account
from crm.customers.panels import Panel
from crm.sales.models import (
    Opportunity,
    OpportunityEvent,
    Pipeline,
    Quote,
    Stage,
    StageChange,
)
from crm.users.models import User

CENT = Decimal("0.01")
BOARD_PAGE_SIZE = 20
# Columns rendered with the page; the others load when scrolled into view.
BOARD_EAGER_COLUMNS = 4

OPPORTUNITY_SORTS = {
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
    "amount": ("amount", "id"),
    "-amount": ("-amount", "-id"),
    "close": ("expected_close_date", "id"),
    "-close": ("-expected_close_date", "-id"),
    "stage": ("stage__position", "id"),
    "-stage": ("-stage__position", "-id"),
}


def search_filter(term: str) -> Q:
    """Deals with every word in their title, next step or products, or their account's data."""
    query = Q()
    for word in search_words(term):
        query &= matches(Opportunity, [word]) | matches(Account, [word], through="account_id")
    return query


def opportunity_list_for_user(*, user: User) -> QuerySet[Opportunity]:
    """Deals the user may see, with what a list row or a card shows already joined."""
    return Opportunity.objects.visible_to(user).select_related(
        "account", "owner", "team", "stage", "channel"
    )


def opportunity_get_for_user(*, user: User, opportunity_id: int) -> Opportunity:
    """One deal, or 404 when it does not exist or is outside the user's scope."""
    queryset = Opportunity.objects.visible_to(user).select_related(
        "account",
        "contact",
        "owner",
        "team",
        "channel",
        "pipeline",
        "stage",
        "lost_reason",
        "created_by",
        "updated_by",
    )
    return get_object_or_404(queryset, pk=opportunity_id)


def _field_label(name: str) -> str:
    try:
        return str(Opportunity._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def opportunity_timeline(*, opportunity: Opportunity, limit: int = 100) -> list[OpportunityEvent]:
    """What happened to a deal, newest first; each change with its field's label."""
    events = list(
        OpportunityEvent.objects.filter(opportunity=opportunity).select_related("actor")[:limit]
    )
    for event in events:
        event.change_rows = [
            (_field_label(name), values[0], values[1])
            for name, values in (event.changes or {}).items()
            if isinstance(values, list | tuple) and len(values) == 2
        ]
    return events


def opportunity_quotes(*, opportunity: Opportunity) -> QuerySet[Quote]:
    return opportunity.quotes.order_by("-created_at", "-id")


@dataclass
class StageStay:
    stage: Stage
    entered_at: datetime
    left_at: datetime | None
    actor: User | None

    @property
    def duration(self) -> timedelta:
        return (self.left_at or timezone.now()) - self.entered_at

    @property
    def days(self) -> int:
        return self.duration.days


def opportunity_stage_history(*, opportunity: Opportunity) -> list[StageStay]:
    """Each stage the deal has been in, oldest first, with how long it stayed."""
    changes = list(
        StageChange.objects.filter(opportunity=opportunity).select_related("to_stage", "actor")
    )
    stays = []
    for index, change in enumerate(changes):
        left = changes[index + 1].changed_at if index + 1 < len(changes) else None
        stays.append(StageStay(change.to_stage, change.changed_at, left, change.actor))
    return stays


def pipeline_stages(*, pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.filter(is_active=True).order_by("position", "id"))


def pipelines_for_board() -> list[Pipeline]:
    return list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "position"))


def pipeline_list() -> list[Pipeline]:
    """Every pipeline with its stages and how many deals each stage holds (two queries)."""
    pipelines = list(Pipeline.objects.order_by("-is_default", "position", "name"))
    counts = dict(
        Opportunity.objects.order_by()
        .values_list("stage_id")
        .annotate(n=Count("id"))
        .values_list("stage_id", "n")
    )
    stages: dict[int, list[Stage]] = {p.pk: [] for p in pipelines}
    for stage in Stage.objects.order_by("position", "id"):
        stage.deal_count = counts.get(stage.pk, 0)
        stages.setdefault(stage.pipeline_id, []).append(stage)
    for pipeline in pipelines:
        pipeline.stage_list = stages[pipeline.pk]
    return pipelines


# -- board --


@dataclass
class Column:
    stage: Stage
    count: int = 0
    amount: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")
    cards: list[Opportunity] | None = None  # None: loaded when scrolled into view
    eager: bool = False
    has_more: bool = False
    next_offset: int = 0
    extra: dict = field(default_factory=dict)


def weighted_sum() -> Sum:
    """The sum of amount × probability over deals: give it to `weighted_value`."""
    return Sum(
        ExpressionWrapper(
            F("amount") * F("probability"),
            output_field=DecimalField(max_digits=20, decimal_places=2),
        )
    )


def weighted_value(total) -> Decimal:
    """A `weighted_sum` as money: the probability is a percentage."""
    return (Decimal(total or 0) / 100).quantize(CENT, ROUND_HALF_UP)


def board_totals(*, queryset: QuerySet[Opportunity], pipeline: Pipeline) -> dict[int, dict]:
    """Count, amount and weighted amount of each stage's deals, in one grouped query."""
    rows = (
        queryset.filter(pipeline=pipeline)
        .order_by()
        .values("stage_id")
        .annotate(n=Count("id"), total=Sum("amount"), total_weighted=weighted_sum())
    )
    totals = {}
    for row in rows:
        totals[row["stage_id"]] = {
            "count": row["n"],
            "amount": Decimal(row["total"] or 0).quantize(CENT),
            "weighted": weighted_value(row["total_weighted"]),
        }
    return totals


def board_cards(
    *, queryset: QuerySet[Opportunity], stage: Stage, offset: int = 0, limit: int = BOARD_PAGE_SIZE
) -> tuple[list[Opportunity], bool]:
    """A page of a column's cards, largest amount first, and whether more follow."""
    rows = list(
        queryset.filter(stage=stage)
        .select_related(None)
        .select_related("account", "owner")
        .only(
            "id",
            "title",
            "amount",
            "probability",
            "expected_close_date",
            "version",
            "stage_id",
            "account__id",
            "account__name",
            "owner__id",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
        )
        .order_by(F("amount").desc(nulls_last=True), "id")[offset : offset + limit + 1]
    )
    return rows[:limit], len(rows) > limit


def board_columns(
    *,
    queryset: QuerySet[Opportunity],
    pipeline: Pipeline,
    stages: list[Stage] | None = None,
    eager: int = BOARD_EAGER_COLUMNS,
) -> list[Column]:
    """The board's columns: open stages in order, then won and lost ones. The first `eager`
    open columns come with their first page of cards; the others load lazily."""
    stages = stages if stages is not None else pipeline_stages(pipeline=pipeline)
    stages = [s for s in stages if s.is_open] + [s for s in stages if not s.is_open]
    totals = board_totals(queryset=queryset, pipeline=pipeline)
    columns = []
    for index, stage in enumerate(stages):
        column = Column(stage=stage, **totals.get(stage.pk, {}))
        if index < eager and stage.is_open:
            column.eager = True
            if column.count:
                column.cards, column.has_more = board_cards(queryset=queryset, stage=stage)
            else:
                column.cards = []
            column.next_offset = BOARD_PAGE_SIZE
        columns.append(column)
    return columns


def account_opportunities_panel(*, user: User, account) -> Panel:
    """The deals of an account that the user sees, open ones first, for the account page."""
    deals = list(
        opportunity_list_for_user(user=user)
        .filter(account=account)
        .order_by("closed_at", "-created_at", "-id")[:20]
    )
    return Panel(
        template="sales/partials/account_opportunities.html",
        context={"account": account, "opportunities": deals},
    )
