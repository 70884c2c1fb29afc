from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.core.models import TimeStampedModel


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Sales manager")
    SALES = "sales", _("Sales rep")


class Team(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        "users.User",
        verbose_name=_("manager"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_teams",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class UserQuerySet(models.QuerySet):
    def visible_to(self, actor) -> "UserQuerySet":
        """Administrators manage every user; anybody else sees only themselves."""
        if not (actor and actor.is_authenticated and actor.is_active):
            return self.none()
        if actor.is_admin:
            return self
        return self.filter(pk=actor.pk)


class CrmUserManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A person who works in the CRM. Users are deactivated, never deleted."""

    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.SALES)
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    language = models.CharField(
        _("language"),
        max_length=5,
        choices=[("es", _("Spanish")), ("en", _("English"))],
        default="es",
    )

    objects = CrmUserManager()

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        """A Django superuser counts as an administrator."""
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER and not self.is_admin

    def scope_team_ids(self) -> list[int]:
        """Teams whose records this user sees as a manager: their own and those they lead."""
        if not self.is_manager:
            return []
        if not hasattr(self, "_scope_team_ids"):
            ids = set(self.managed_teams.values_list("id", flat=True))
            if self.team_id:
                ids.add(self.team_id)
            self._scope_team_ids = sorted(ids)
        return self._scope_team_ids
