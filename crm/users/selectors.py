from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from crm.users.models import Team, User


def user_list_for_admin(*, actor: User, include_inactive: bool = True) -> QuerySet[User]:
    queryset = User.objects.visible_to(actor).select_related("team")
    return queryset if include_inactive else queryset.filter(is_active=True)


def user_get_for_admin(*, actor: User, user_id: int) -> User:
    return get_object_or_404(User.objects.visible_to(actor).select_related("team"), pk=user_id)


def team_list() -> QuerySet[Team]:
    return Team.objects.select_related("manager").annotate(
        member_count=Count("members", filter=Q(members__is_active=True))
    )


def team_get(*, team_id: int) -> Team:
    return get_object_or_404(Team.objects.select_related("manager"), pk=team_id)


def seats_in_use() -> int:
    """Active users, to compare with the licensed seats."""
    return User.objects.filter(is_active=True).count()
