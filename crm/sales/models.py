"""Deals. This first piece holds what a converted lead becomes; pipelines, stages and quotes
come with the sales work."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.core.models import Channel, TimeStampedModel
from crm.customers.models import Account, Contact
from crm.users.models import User


class OpportunityQuerySet(models.QuerySet):
    def visible_to(self, user) -> "OpportunityQuerySet":
        """Administrators see all; a manager their teams' deals; everybody their own."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_admin:
            return self
        scope = Q(owner=user)
        team_ids = user.scope_team_ids()
        if team_ids:
            members = User.objects.filter(team_id__in=team_ids).values("pk")
            scope |= Q(team_id__in=team_ids) | Q(owner_id__in=members)
        return self.filter(scope)


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
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    products_of_interest = models.CharField(_("products of interest"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="opportunity_amount_not_negative",
            )
        ]

    def __str__(self) -> str:
        return self.title
