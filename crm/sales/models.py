"""Deals: pipelines and their stages, opportunities with their stage history, the catalog of
products and services, and quotes with their lines."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import Channel, ConfigurableChoice, TimeStampedModel, VatRate
from crm.core.text import search_blob
from crm.customers.models import Account, Contact
from crm.users.models import User

# -- pipeline --


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Pipeline(TimeStampedModel):
    """An ordered set of stages that deals move through (a business may sell in several ways)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_pipeline"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TimeStampedModel):
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.CASCADE, related_name="stages"
    )
    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(
        _("probability %"), default=0, validators=[MaxValueValidator(100)]
    )
    kind = models.CharField(
        _("kind"), max_length=4, choices=StageKind.choices, default=StageKind.OPEN
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.kind == StageKind.OPEN

    @property
    def is_won(self) -> bool:
        return self.kind == StageKind.WON

    @property
    def is_lost(self) -> bool:
        return self.kind == StageKind.LOST


class LostReason(ConfigurableChoice):
    """Why a deal was lost or cancelled: a list the administrator edits."""

    class Meta(ConfigurableChoice.Meta):
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")


# -- opportunities --


class OpportunityQuerySet(models.QuerySet):
    def visible_to(self, user) -> "OpportunityQuerySet":
        """The one rule of who sees which deal: administrators all; a sales manager their
        teams' (by the deal's team or its owner's); everybody their own and the deals on the
        accounts they own."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        # A subquery on the user's accounts rather than a join of every deal to its account.
        scope = Q(owner=user) | Q(account_id__in=Account.objects.filter(owner=user).values("pk"))
        team_ids = user.scope_team_ids()
        if team_ids:
            members = User.objects.filter(team_id__in=team_ids).values("pk")
            scope |= Q(team_id__in=team_ids) | Q(owner_id__in=members)
        return self.filter(scope)

    def open(self) -> "OpportunityQuerySet":
        return self.filter(stage__kind=StageKind.OPEN)


class Opportunity(TimeStampedModel):
    """A deal with an account: what may be sold to it, for how much, and when."""

    title = models.CharField(_("title"), max_length=200)
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="opportunities",
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_opportunities",
    )
    team = models.ForeignKey(
        "users.Team", verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, null=True, blank=True
    )
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="opportunities"
    )
    # Typed, or taken from the accepted (else the latest) quote.
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    # The stage's, unless someone typed another.
    probability = models.PositiveSmallIntegerField(
        _("probability %"), default=0, validators=[MaxValueValidator(100)]
    )
    probability_overridden = models.BooleanField(default=False, editable=False)
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    products_of_interest = models.CharField(_("products of interest"), max_length=500, blank=True)
    lost_reason = models.ForeignKey(
        LostReason,
        verbose_name=_("lost reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    lost_note = models.CharField(_("lost note"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    # The furthest open stage the deal has been in (by the stages' order when it moved):
    # written by the moves, so that the funnel report is one grouped query, not a scan of
    # the whole stage history.
    furthest_stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, blank=True, editable=False, related_name="+"
    )
    stage_changed_at = models.DateTimeField(default=timezone.now, editable=False)
    # Optimistic locking: a save states the version it read; a stale one is a conflict.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    search_text = models.TextField(editable=False, default="")

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["stage", "-amount", "id"], name="opp_stage_amount_idx"),
            models.Index(fields=["owner", "stage"], name="opp_owner_stage_idx"),
            # Whose deal a quote is on, read from the index alone when reports join quotes.
            models.Index(fields=["id"], name="opp_scope_idx", include=["owner", "team"]),
            # The open pipeline's sums per stage read this index alone (reports, dashboard).
            models.Index(
                fields=["stage"],
                name="opp_stage_cover_idx",
                include=[
                    "amount",
                    "probability",
                    "owner",
                    "team",
                    "created_at",
                    "pipeline",
                    "expected_close_date",
                ],
            ),
            models.Index(fields=["team", "stage"], name="opp_team_stage_idx"),
            models.Index(fields=["expected_close_date"], name="opp_close_idx"),
            # Reports place deals in time by when they were created and when they closed.
            models.Index(
                fields=["created_at"],
                name="opp_created_idx",
                include=["stage", "amount", "owner", "team", "pipeline", "furthest_stage"],
            ),
            # Covering the reports' columns, so PostgreSQL answers from the index alone.
            models.Index(
                fields=["closed_at"],
                name="opp_closed_idx",
                include=["stage", "amount", "created_at", "owner", "team"],
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="opportunity_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="opportunity_probability"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def weighted_amount(self) -> Decimal:
        return ((self.amount or Decimal(0)) * self.probability / 100).quantize(Decimal("0.01"))

    def refresh_search_text(self) -> None:
        self.search_text = search_blob(self.title, self.next_step, self.products_of_interest)


class StageChange(models.Model):
    """One move of a deal between stages: reports read stage history and time in stage."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    # When the deal moved on from this stage (null while it is still there): written by the
    # next move, so that time in stage is a plain difference for reports, not a window query.
    left_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "changed_at"], name="stagechange_opp_idx"),
            models.Index(fields=["to_stage", "changed_at"], name="stagechange_to_idx"),
            models.Index(
                fields=["left_at"],
                name="stagechange_left_idx",
                include=["to_stage", "changed_at", "opportunity"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} -> {self.to_stage_id}"


class OpportunityEventKind(models.TextChoices):
    CREATED = "created", _("Opportunity created")
    UPDATED = "updated", _("Opportunity changed")
    STAGE = "stage", _("Stage changed")
    NOTE = "note", _("Note")
    QUOTE = "quote", _("Quote")
    ACTIVITY_DONE = "activity_done", _("Activity done")


class OpportunityEvent(models.Model):
    """One line of a deal's timeline, written by the services."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=OpportunityEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["opportunity", "-created_at"], name="oppevent_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.opportunity_id}"


# -- catalog --


class ProductKind(models.TextChoices):
    PRODUCT = "product", _("Product")
    SERVICE = "service", _("Service")


class Recurrence(models.TextChoices):
    ONE_OFF = "one_off", _("One-off")
    MONTHLY = "monthly", _("Monthly")
    YEARLY = "yearly", _("Yearly")


class ProductCategory(ConfigurableChoice):
    class Meta(ConfigurableChoice.Meta):
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")


class Product(TimeStampedModel):
    """A product or service of the catalog, with its price before VAT."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=ProductKind.choices, default=ProductKind.PRODUCT
    )
    category = models.ForeignKey(
        ProductCategory,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="products",
    )
    unit = models.CharField(_("unit"), max_length=20, default="ud.")
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    vat_rate = models.CharField(
        _("VAT"), max_length=6, choices=VatRate.choices, default=VatRate.GENERAL
    )
    recurrence = models.CharField(
        _("recurrence"), max_length=10, choices=Recurrence.choices, default=Recurrence.ONE_OFF
    )
    is_active = models.BooleanField(_("active"), default=True)
    search_text = models.TextField(editable=False, default="")

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product or service")
        verbose_name_plural = _("products and services")
        constraints = [
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_positive"),
            models.CheckConstraint(
                condition=Q(vat_rate__in=["21", "10", "4", "0", "exempt"]), name="product_vat"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def refresh_search_text(self) -> None:
        self.search_text = search_blob(self.code, self.name, self.description)


# -- quotes --


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")
    SUPERSEDED = "superseded", _("Replaced by a new version")


# Which state a quote may move to from each state (checked by Quote.can_transition_to).
QUOTE_TRANSITIONS = {
    QuoteStatus.DRAFT: {QuoteStatus.SENT},
    QuoteStatus.SENT: {
        QuoteStatus.ACCEPTED,
        QuoteStatus.REJECTED,
        QuoteStatus.EXPIRED,
        QuoteStatus.SUPERSEDED,
    },
    QuoteStatus.ACCEPTED: set(),
    QuoteStatus.REJECTED: {QuoteStatus.SUPERSEDED},
    QuoteStatus.EXPIRED: {QuoteStatus.SUPERSEDED},
    QuoteStatus.SUPERSEDED: set(),
}


class QuoteSequence(models.Model):
    """The last quote number given in a year: taken under a row lock, so numbers have no
    gaps and are never reused, whatever runs at the same time."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class QuoteQuerySet(models.QuerySet):
    def visible_to(self, user) -> "QuoteQuerySet":
        """A quote is visible exactly when its opportunity is."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        return self.filter(opportunity__in=Opportunity.objects.visible_to(user).values("pk"))


class Quote(TimeStampedModel):
    """An offer to the customer (presupuesto), numbered per year when first sent and versioned:
    revising a sent quote makes a new version with the same number and keeps the old one."""

    opportunity = models.ForeignKey(
        Opportunity, verbose_name=_("opportunity"), on_delete=models.CASCADE, related_name="quotes"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.SET_NULL, null=True, blank=True
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(null=True, blank=True, editable=False)
    number = models.CharField(_("number"), max_length=20, blank=True, editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1, editable=False)
    previous = models.OneToOneField(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="next_version",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    issue_date = models.DateField(_("date"), default=timezone.localdate)
    valid_until = models.DateField(_("valid until"))
    term_months = models.PositiveSmallIntegerField(
        _("term in months"),
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("For recurring services: how long the contract runs."),
    )
    notes = models.TextField(_("notes for the customer"), blank=True)
    # Totals, kept in step with the lines by the services.
    subtotal = models.DecimalField(_("base"), max_digits=14, decimal_places=2, default=0)
    tax_total = models.DecimalField(_("VAT"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    answered_at = models.DateTimeField(null=True, blank=True, editable=False)
    answered_by_name = models.CharField(max_length=200, blank=True, editable=False)
    answered_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    answer_note = models.TextField(blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = QuoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.UniqueConstraint(
                fields=["year", "sequence", "version"],
                condition=Q(sequence__isnull=False),
                name="quote_number_version_unique",
            )
        ]
        indexes = [
            models.Index(fields=["status", "valid_until"], name="quote_status_valid_idx"),
            models.Index(
                fields=["sent_at"],
                name="quote_sent_idx",
                include=["status", "subtotal", "opportunity"],
            ),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        if not self.number:
            return str(_("Draft %(id)s") % {"id": self.pk})
        return self.number if self.version == 1 else f"{self.number} v{self.version}"

    def can_transition_to(self, status: str) -> bool:
        return status in QUOTE_TRANSITIONS.get(self.status, set())

    @property
    def is_editable(self) -> bool:
        return self.status == QuoteStatus.DRAFT


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.SET_NULL, null=True, blank=True
    )
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=3,
        default=1,
        validators=[MinValueValidator(Decimal("0.001"))],
    )
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    vat_rate = models.CharField(
        _("VAT"), max_length=6, choices=VatRate.choices, default=VatRate.GENERAL
    )
    recurrence = models.CharField(
        _("recurrence"), max_length=10, choices=Recurrence.choices, default=Recurrence.ONE_OFF
    )
    # Quantity × price − discount, rounded to cents (kept by the services).
    base = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vat_rate__in=["21", "10", "4", "0", "exempt"]), name="quoteline_vat"
            ),
        ]

    def __str__(self) -> str:
        return self.description
