import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.core.models import PROVINCES, Channel, ConfigurableChoice, Sector, TimeStampedModel
from crm.core.text import search_blob
from crm.core.validation import validate_nif, validate_phone
from crm.customers.models import Account, Contact, SizeSegment
from crm.sales.models import Opportunity
from crm.users.models import Team, User


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED)


class DisqualifyReason(ConfigurableChoice):
    """Why a lead was dropped (no budget, not interested...): a list the administrator edits."""

    class Meta(ConfigurableChoice.Meta):
        verbose_name = _("disqualification reason")
        verbose_name_plural = _("disqualification reasons")


class LeadQuerySet(models.QuerySet):
    def visible_to(self, user) -> "LeadQuerySet":
        """The one rule of who sees which lead; every entry point goes through it.

        Administrators see all; a sales manager the leads of their teams (by the lead's team
        or its owner's team) and the unassigned ones, which they are there to hand out;
        a sales rep their own.
        """
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        scope = Q(owner=user)
        team_ids = user.scope_team_ids()
        if team_ids:
            members = User.objects.filter(team_id__in=team_ids).values("pk")
            scope |= Q(team_id__in=team_ids) | Q(owner_id__in=members) | Q(owner__isnull=True)
        return self.filter(scope)

    def open(self) -> "LeadQuerySet":
        return self.filter(status__in=OPEN_STATUSES)


class Lead(TimeStampedModel):
    """An unqualified prospect: a person and/or a company that may become a customer."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    position = models.CharField(_("position"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, db_index=True, validators=[validate_phone]
    )
    mobile = models.CharField(
        _("mobile"), max_length=20, blank=True, db_index=True, validators=[validate_phone]
    )
    nif = models.CharField(
        _("NIF / CIF / NIE"), max_length=15, blank=True, db_index=True, validators=[validate_nif]
    )
    province = models.CharField(_("province"), max_length=2, choices=PROVINCES, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    sector = models.ForeignKey(
        Sector, verbose_name=_("sector"), on_delete=models.PROTECT, null=True, blank=True
    )
    size_segment = models.CharField(
        _("size"), max_length=5, choices=SizeSegment.choices, blank=True
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, null=True, blank=True
    )
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    products_of_interest = models.CharField(_("products of interest"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    disqualify_reason = models.ForeignKey(
        DisqualifyReason,
        verbose_name=_("disqualification reason"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    score = models.PositiveSmallIntegerField(
        _("score"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_leads",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True
    )
    assignment_rule = models.ForeignKey(
        "leads.AssignmentRule",
        verbose_name=_("assigned by rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="leads",
    )
    notes = models.TextField(_("notes"), blank=True)

    # Where it came from: the import (undo removes what an import created) and its row,
    # unique so that running an import's batch twice cannot create the row twice.
    lead_import = models.ForeignKey(
        "leads.LeadImport",
        verbose_name=_("import"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="leads",
    )
    import_row = models.PositiveIntegerField(null=True, blank=True, editable=False)
    web_form = models.ForeignKey(
        "leads.WebForm",
        verbose_name=_("web form"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="leads",
    )

    # What it became.
    converted_account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="source_leads",
    )
    converted_contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="source_leads",
    )
    converted_opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="source_leads",
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)

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

    objects = LeadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status_idx"),
            models.Index(fields=["team", "-created_at"], name="lead_team_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            # Reports count leads by when they came in, per owner and team.
            models.Index(
                fields=["created_at"],
                name="lead_report_idx",
                include=["owner", "team", "converted_opportunity"],
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lead_import", "import_row"], name="lead_unique_import_row"
            ),
            models.CheckConstraint(
                condition=~Q(status="disqualified") | Q(disqualify_reason__isnull=False),
                name="lead_disqualified_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(score__gte=0) & Q(score__lte=100), name="lead_score_0_100"
            ),
            models.CheckConstraint(
                condition=~(Q(first_name="") & Q(last_name="") & Q(company="")),
                name="lead_has_a_name",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def person_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def display_name(self) -> str:
        person = self.person_name
        if person and self.company:
            return f"{person} ({self.company})"
        return person or self.company

    @property
    def is_converted(self) -> bool:
        return self.status == LeadStatus.CONVERTED

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def refresh_search_text(self) -> None:
        self.search_text = search_blob(
            self.first_name,
            self.last_name,
            self.company,
            self.email,
            self.phone,
            self.mobile,
            self.nif,
            self.city,
            self.campaign,
        )


class LeadEventKind(models.TextChoices):
    UPDATED = "updated", _("Lead changed")
    NOTE = "note", _("Note")
    STATUS = "status", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    CONVERTED = "converted", _("Converted")
    ACTIVITY_DONE = "activity_done", _("Activity done")


class LeadEvent(models.Model):
    """One line of a lead's timeline, written by the services. Its creation is the lead's own
    row (created_at, created_by, import or web form), so imports write no event per row."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=LeadEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    changes = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["lead", "-created_at"], name="leadevent_lead_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.lead_id}"


# -- assignment --


class AssignmentTarget(models.TextChoices):
    USER = "user", _("A user")
    ROUND_ROBIN = "round_robin", _("Round robin over a team")
    LEAST_LOADED = "least_loaded", _("Team member with the fewest open leads")


class AssignmentRule(TimeStampedModel):
    """One rule of the ordered list that gives new leads an owner: the first that matches wins.

    Conditions left empty match anything; a list condition matches any of its values.
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    channels = models.ManyToManyField(Channel, verbose_name=_("channels"), blank=True)
    provinces = models.JSONField(_("provinces"), default=list, blank=True)
    sectors = models.ManyToManyField(Sector, verbose_name=_("sectors"), blank=True)
    size_segments = models.JSONField(_("sizes"), default=list, blank=True)
    min_score = models.PositiveSmallIntegerField(
        _("score at least"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    product_contains = models.CharField(
        _("product of interest contains"), max_length=100, blank=True
    )
    text_contains = models.CharField(
        _("text contains"),
        max_length=100,
        blank=True,
        help_text=_("Found in the name, company, e-mail, city, campaign or notes."),
    )
    target = models.CharField(
        _("assign to"),
        max_length=15,
        choices=AssignmentTarget.choices,
        default=AssignmentTarget.USER,
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    target_team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True
    )
    # Round robin: the member who got the last lead, stored so that the turn survives
    # restarts and is shared by concurrent imports (updated under a row lock).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(target="user", target_user__isnull=False)
                | Q(target__in=["round_robin", "least_loaded"], target_team__isnull=False),
                name="assignment_rule_has_target",
            )
        ]

    def __str__(self) -> str:
        return self.name


class LeadSettings(TimeStampedModel):
    """Lead settings of the business: one row, id 1."""

    SINGLETON_ID = 1

    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fallback owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Gets the new leads that no rule takes. Empty: they stay unassigned."),
    )

    class Meta:
        verbose_name = _("lead settings")
        verbose_name_plural = _("lead settings")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="lead_settings_singleton")]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


# -- web-to-lead --


def _new_form_key() -> str:
    return secrets.token_urlsafe(16)


class WebForm(TimeStampedModel):
    """A public form, embeddable in the business's website, that creates leads."""

    OPTIONAL_FIELDS = [
        ("company", _("Company")),
        ("position", _("Position")),
        ("phone", _("Phone")),
        ("province", _("Province")),
        ("city", _("City")),
        ("products_of_interest", _("Products of interest")),
        ("message", _("Message")),
    ]

    name = models.CharField(_("name"), max_length=100)
    key = models.CharField(max_length=40, unique=True, default=_new_form_key, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    fields = models.JSONField(_("fields shown"), default=list, blank=True)
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), on_delete=models.PROTECT, null=True, blank=True
    )
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    title = models.CharField(_("title shown"), max_length=200, blank=True)
    thank_you_message = models.TextField(_("thank-you message"), blank=True)
    redirect_url = models.URLField(
        _("redirect to"),
        blank=True,
        help_text=_(
            "After sending, go to this page of your website instead of the thank-you page."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self) -> str:
        return self.name


# -- import --


class OnDuplicate(models.TextChoices):
    SKIP = "skip", _("Skip the row")
    UPDATE = "update", _("Update the existing lead")
    CREATE = "create", _("Create it anyway")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Waiting for its mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDONE = "undone", _("Undone")


class LeadImportQuerySet(models.QuerySet):
    def visible_to(self, user) -> "LeadImportQuerySet":
        """Administrators see every import; anybody else their own."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        return self.filter(created_by=user)


class LeadImport(TimeStampedModel):
    """One file imported (or being imported) as leads, with its mapping, progress and result."""

    file = models.FileField(_("file"), upload_to="imports/%Y/%m/")
    filename = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("separator"), max_length=1, blank=True)
    headers = models.JSONField(default=list)
    # {column position as a string: lead field name}
    mapping = models.JSONField(default=dict, blank=True)
    on_duplicate = models.CharField(
        _("duplicates"), max_length=10, choices=OnDuplicate.choices, default=OnDuplicate.SKIP
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = LeadImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportRowError(models.Model):
    """A row of an import that was not written, with why: the import's report of failures."""

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField()
    values = models.JSONField(default=list)
    reason = models.TextField()

    class Meta:
        ordering = ["row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead_import", "row_number"], name="import_row_error_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.row_number}: {self.reason}"


class ImportMapping(TimeStampedModel):
    """A saved column mapping, reused for files with the same headers."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    # {folded header: lead field name}
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self) -> str:
        return self.name
