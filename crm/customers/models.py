from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.core.models import PROVINCES, Channel, Sector, TimeStampedModel
from crm.core.text import search_blob
from crm.core.validation import province_of_postal_code, validate_nif, validate_phone
from crm.users.models import User


class AccountKind(models.TextChoices):
    COMPANY = "company", _("Company")
    INDIVIDUAL = "individual", _("Individual")


class Lifecycle(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    INACTIVE = "inactive", _("Inactive")


class SizeSegment(models.TextChoices):
    MICRO = "0-2", _("0-2 employees")
    SMALL = "3-9", _("3-9 employees")
    MEDIUM = "10-49", _("10-49 employees")
    LARGE = "50+", _("50 or more employees")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class AccountQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AccountQuerySet":
        """The one rule of who sees which account; every entry point goes through it.

        Administrators see all; a sales manager the accounts of their teams (by the account's
        team or its owner's team); everybody their own and those shared with them.
        """
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        shared = Account.shared_with.through.objects.filter(account_id=OuterRef("pk"), user=user)
        scope = Q(owner=user) | Q(Exists(shared))
        team_ids = user.scope_team_ids()
        if team_ids:
            # A subquery, not a join: the teams' members are few, the accounts many.
            members = User.objects.filter(team_id__in=team_ids).values("pk")
            scope |= Q(team_id__in=team_ids) | Q(owner_id__in=members)
        return self.filter(scope)


class Account(TimeStampedModel):
    """A customer or prospective customer: a company or an individual."""

    kind = models.CharField(
        _("kind"), max_length=10, choices=AccountKind.choices, default=AccountKind.COMPANY
    )
    name = models.CharField(_("name"), max_length=200)
    nif = models.CharField(
        _("NIF / CIF / NIE"), max_length=15, blank=True, db_index=True, validators=[validate_nif]
    )
    lifecycle = models.CharField(
        _("lifecycle"), max_length=10, choices=Lifecycle.choices, default=Lifecycle.PROSPECT
    )
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, db_index=True, validators=[validate_phone]
    )
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    website = models.URLField(_("website"), blank=True)
    sector = models.ForeignKey(
        Sector, verbose_name=_("sector"), on_delete=models.PROTECT, null=True, blank=True
    )
    size_segment = models.CharField(
        _("size"), max_length=5, choices=SizeSegment.choices, blank=True
    )
    channel = models.ForeignKey(
        Channel,
        verbose_name=_("acquisition channel"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_accounts",
    )
    team = models.ForeignKey(
        "users.Team", verbose_name=_("team"), on_delete=models.SET_NULL, null=True, blank=True
    )
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shared with"),
        blank=True,
        related_name="shared_accounts",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    billing_street = models.CharField(_("address"), max_length=200, blank=True)
    billing_postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    billing_city = models.CharField(_("city"), max_length=100, blank=True)
    billing_province = models.CharField(
        _("province"), max_length=2, choices=PROVINCES, blank=True, db_index=True
    )
    billing_country = models.CharField(_("country"), max_length=2, default="ES")
    shipping_street = models.CharField(_("shipping address"), max_length=200, blank=True)
    shipping_postal_code = models.CharField(_("shipping postal code"), max_length=10, blank=True)
    shipping_city = models.CharField(_("shipping city"), max_length=100, blank=True)
    shipping_province = models.CharField(
        _("shipping province"), max_length=2, choices=PROVINCES, blank=True
    )
    shipping_country = models.CharField(_("shipping country"), max_length=2, default="ES")

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
    # Folded copy of the searchable fields, so that a search is one LIKE on one column.
    search_text = models.TextField(editable=False, default="")

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        indexes = [
            models.Index(fields=["name", "id"], name="account_name_idx"),
            models.Index(fields=["owner", "name"], name="account_owner_name_idx"),
            models.Index(fields=["team", "name"], name="account_team_name_idx"),
            models.Index(fields=["lifecycle", "name"], name="account_lifecycle_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def refresh_search_text(self) -> None:
        self.search_text = search_blob(
            self.name, self.nif, self.email, self.phone, self.billing_city
        )

    def clean(self) -> None:
        """A Spanish postal code and its province must agree (46001 is in Valencia, 46)."""
        errors = {}
        for prefix in ("billing", "shipping"):
            code = getattr(self, f"{prefix}_postal_code")
            province = getattr(self, f"{prefix}_province")
            country = getattr(self, f"{prefix}_country")
            if country == "ES" and code and province and province_of_postal_code(code) != province:
                errors[f"{prefix}_province"] = _(
                    "The postal code %(code)s is not in this province."
                ) % {"code": code}
        if errors:
            raise ValidationError(errors)


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call")
    IN_PERSON = "in_person", _("In person")
    PAPER = "paper", _("Signed paper form")
    IMPORT = "import", _("Imported")


class ContactQuerySet(models.QuerySet):
    def visible_to(self, user) -> "ContactQuerySet":
        """A contact is visible exactly when its account is."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        return self.filter(account__in=Account.objects.visible_to(user).values("pk"))


class Contact(TimeStampedModel):
    """A person of an account."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    position = models.CharField(_("position"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, db_index=True, validators=[validate_phone]
    )
    mobile = models.CharField(
        _("mobile"), max_length=20, blank=True, db_index=True, validators=[validate_phone]
    )
    is_primary = models.BooleanField(_("main contact"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    marketing_consent = models.BooleanField(_("accepts marketing"), default=False)
    marketing_consent_at = models.DateTimeField(_("consent date"), null=True, blank=True)
    marketing_consent_source = models.CharField(
        _("consent source"), max_length=20, choices=ConsentSource.choices, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)
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

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["first_name", "last_name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["first_name", "last_name", "id"], name="contact_name_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(marketing_consent=False)
                | (Q(marketing_consent_at__isnull=False) & ~Q(marketing_consent_source="")),
                name="contact_consent_has_date_and_source",
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def refresh_search_text(self) -> None:
        self.search_text = search_blob(
            self.first_name, self.last_name, self.email, self.phone, self.mobile, self.position
        )


class EventKind(models.TextChoices):
    CREATED = "created", _("Account created")
    UPDATED = "updated", _("Account changed")
    NOTE = "note", _("Note")
    CONTACT_CREATED = "contact_created", _("Contact added")
    CONTACT_UPDATED = "contact_updated", _("Contact changed")
    CONTACT_DELETED = "contact_deleted", _("Contact deleted")
    # Plugged in by later work: what a converted lead went through before it became this account.
    LEAD_HISTORY = "lead_history", _("Lead history")
    LEAD_CONVERTED = "lead_converted", _("Lead converted")
    ACTIVITY_DONE = "activity_done", _("Activity done")


class AccountEvent(models.Model):
    """One line of an account's timeline and audit trail, written by the services."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Not auto_now_add: a converted lead's history is copied here with its own times.
    created_at = models.DateTimeField(default=timezone.now)
    # {field name: [old value as shown, new value as shown]} for changes.
    changes = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="event_account_time_idx"),
            models.Index(fields=["contact", "-created_at"], name="event_contact_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.account_id}"
