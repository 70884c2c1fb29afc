from django.conf import settings
from django.core.validators import (
    FileExtensionValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.utils.translation import gettext_lazy as _
from localflavor.es.es_provinces import PROVINCE_CHOICES

from crm.core.validation import validate_nif

PROVINCES = PROVINCE_CHOICES


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class VatRate(models.TextChoices):
    GENERAL = "21", _("21 % (general)")
    REDUCED = "10", _("10 % (reduced)")
    SUPER_REDUCED = "4", _("4 % (super-reduced)")
    ZERO = "0", _("0 %")
    EXEMPT = "exempt", _("Exempt")


class Currency(models.TextChoices):
    EUR = "EUR", _("Euro (€)")


class CompanyTimeZone(models.TextChoices):
    PENINSULA = "Europe/Madrid", _("Peninsula and Balearic Islands (Europe/Madrid)")
    CANARY = "Atlantic/Canary", _("Canary Islands (Atlantic/Canary)")
    CEUTA = "Africa/Ceuta", _("Ceuta and Melilla (Africa/Ceuta)")


class Month(models.IntegerChoices):
    JANUARY = 1, _("January")
    FEBRUARY = 2, _("February")
    MARCH = 3, _("March")
    APRIL = 4, _("April")
    MAY = 5, _("May")
    JUNE = 6, _("June")
    JULY = 7, _("July")
    AUGUST = 8, _("August")
    SEPTEMBER = 9, _("September")
    OCTOBER = 10, _("October")
    NOVEMBER = 11, _("November")
    DECEMBER = 12, _("December")


class CompanySettings(TimeStampedModel):
    """The business that uses the CRM: one row, id 1."""

    SINGLETON_ID = 1

    name = models.CharField(_("company name"), max_length=200, default="Mi empresa")
    nif = models.CharField(_("NIF"), max_length=15, blank=True, validators=[validate_nif])
    street = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=2, choices=PROVINCES, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    logo = models.ImageField(
        _("logo"),
        upload_to="company/",
        blank=True,
        validators=[FileExtensionValidator(["png", "jpg", "jpeg"])],
    )
    currency = models.CharField(
        _("currency"), max_length=3, choices=Currency.choices, default=Currency.EUR
    )
    default_vat_rate = models.CharField(
        _("default VAT"), max_length=6, choices=VatRate.choices, default=VatRate.GENERAL
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        _("fiscal year starts in"),
        choices=Month.choices,
        default=Month.JANUARY,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=40,
        choices=CompanyTimeZone.choices,
        default=CompanyTimeZone.PENINSULA,
    )
    licensed_seats = models.PositiveSmallIntegerField(
        _("licensed users"),
        default=3,
        help_text=_("Number of users in the contract; active users are compared against it."),
    )

    class Meta:
        verbose_name = _("company settings")
        verbose_name_plural = _("company settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="company_settings_singleton")
        ]

    def __str__(self) -> str:
        return self.name


class ConfigurableChoice(TimeStampedModel):
    """A value of a list that the administrator edits in the settings pages."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Channel(ConfigurableChoice):
    """How a customer or a lead reached the business (web, phone, referral, fair...)."""

    class Meta(ConfigurableChoice.Meta):
        verbose_name = _("channel")
        verbose_name_plural = _("channels")


class Sector(ConfigurableChoice):
    """The customer's line of business."""

    class Meta(ConfigurableChoice.Meta):
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")


class DomainEvent(models.Model):
    """Something that happened to a record (a lead was created, a deal entered a stage),
    written by the service that did it in the same transaction: an outbox.

    Handlers registered by higher apps (automation) process each event once, after commit, on
    the background worker; an event left unprocessed (a worker died) is picked up again by a
    periodic sweep, and handlers are idempotent per event.
    """

    kind = models.CharField(max_length=50, db_index=True)
    # The record: "leads.lead", "sales.opportunity", ... and its id.
    model = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # How many automation steps led to this event (0: a person or an import did it).
    depth = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(processed_at__isnull=True),
                name="event_pending_idx",
            ),
            models.Index(fields=["model", "object_id"], name="event_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.model}#{self.object_id}"
