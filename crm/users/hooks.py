"""What higher apps plug into user management, without this app importing them.

`DEACTIVATION_CHECKS`: functions `(user) -> PendingWork | None`, registered in the higher
apps' AppConfig.ready(). Before a user is deactivated, each says how much of the user's work
is still pending (activities, ...) and how to move it to another user; the deactivation asks
whom to give it to and moves it in the same transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class PendingWork:
    label: str
    count: int
    # move(actor=..., to_user=...) -> number moved; runs inside the deactivation's transaction.
    move: Callable[..., int]


DEACTIVATION_CHECKS: list[Callable[..., PendingWork | None]] = []


def pending_work(user) -> list[PendingWork]:
    found = (check(user) for check in DEACTIVATION_CHECKS)
    return [work for work in found if work is not None and work.count]
