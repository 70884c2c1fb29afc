"""Users and teams: created, changed and deactivated (never deleted) by administrators."""

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from crm.core.validation import normalize_phone
from crm.users.hooks import pending_work
from crm.users.models import Role, Team, User

USER_FIELDS = {"username", "first_name", "last_name", "email", "role", "team", "phone", "language"}


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - USER_FIELDS
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    clean = dict(fields)
    if "phone" in clean:
        try:
            clean["phone"] = normalize_phone(clean["phone"])
        except ValidationError as exc:
            raise ValidationError({"phone": exc.error_list}) from exc
    if clean.get("email"):
        clean["email"] = clean["email"].strip().lower()
    return clean


@transaction.atomic
def user_create(*, actor: User | None, fields: dict[str, Any], password: str) -> User:
    """Create a user; the password goes through Django's validators."""
    fields = _clean(fields)
    user = User(**fields)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def user_update(
    *, actor: User, user: User, fields: dict[str, Any], active: bool | None = None
) -> User:
    """Change a user's data, role or team, and (when `active` is given) deactivate or reactivate."""
    fields = _clean(fields)
    role = fields.get("role", user.role)
    if user == actor and not user.is_superuser and role != Role.ADMIN:
        raise ValidationError({"role": _("You cannot take the administrator role from yourself.")})
    if role == Role.SALES and not user.is_superuser and user.managed_teams.exists():
        raise ValidationError(
            {"role": _("This user leads a team: give the team another manager first.")}
        )
    if fields:
        for name, value in fields.items():
            setattr(user, name, value)
        user.full_clean()
        user.save()
    if active is not None and active != user.is_active:
        user = user_set_active(actor=actor, user=user, active=active)
    return user


@transaction.atomic
def user_set_active(
    *, actor: User, user: User, active: bool, reassign_to: User | None = None
) -> User:
    """Deactivate (or reactivate) a user. Their records stay; they can no longer log in.

    Work still pending for them (see crm.users.hooks.DEACTIVATION_CHECKS: activities...)
    must go to another active user, `reassign_to`, moved in this same transaction."""
    if user == actor and not active:
        raise ValidationError(_("You cannot deactivate yourself."))
    if not active and user.is_active:
        work = pending_work(user)
        if work:
            if reassign_to is None:
                raise ValidationError(
                    {"reassign_to": _("Choose who takes over this user's pending work.")}
                )
            if not reassign_to.is_active or reassign_to.pk == user.pk:
                raise ValidationError({"reassign_to": _("Choose another, active user.")})
            for item in work:
                item.move(actor=actor, to_user=reassign_to)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        # A deactivated user's API token stops working at once.
        Token.objects.filter(user=user).delete()
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str) -> User:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def user_preferences_update(*, user: User, language: str) -> User:
    """What every user may change of their own: the interface language."""
    user.language = language
    user.full_clean()
    user.save(update_fields=["language"])
    return user


@transaction.atomic
def team_save(*, team: Team, name: str, manager: User | None) -> Team:
    """Create or change a team. Its manager must hold the sales manager or admin role."""
    if manager is not None and manager.role == Role.SALES and not manager.is_superuser:
        raise ValidationError(
            {"manager": _("Only a sales manager or an administrator can lead a team.")}
        )
    team.name = name.strip()
    team.manager = manager
    team.full_clean()
    team.save()
    return team


def token_for(*, user: User) -> Token:
    """The user's API token, created on first use."""
    token, _created = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def token_regenerate(*, user: User) -> Token:
    """Replace the user's API token; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)
