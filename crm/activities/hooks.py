"""What activities plug into the users app: the pending work of a user being deactivated."""

from django.utils.translation import gettext as _

from crm.activities.services import activity_reassign_pending, pending_count
from crm.users.hooks import PendingWork


def pending_activities_check(user) -> PendingWork | None:
    count = pending_count(user=user)
    if not count:
        return None
    return PendingWork(
        label=_("Pending activities"),
        count=count,
        move=lambda *, actor, to_user: activity_reassign_pending(
            actor=actor, from_user=user, to_user=to_user
        ),
    )
