"""Sections that higher apps add to the account page, without this app importing them.

An app registers, in its AppConfig.ready(), a function `(user, account) -> Panel | None`; the
account page renders each panel's template with its context, in registration order. The
function reads through its own app's selectors, so visibility stays that app's.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)


ACCOUNT_PANELS: list[Callable[..., Panel | None]] = []


def account_panels(*, user, account) -> list[Panel]:
    panels = (provider(user=user, account=account) for provider in ACCOUNT_PANELS)
    return [panel for panel in panels if panel is not None]


# The contact page's sections, registered the same way: `(user, contact) -> Panel | None`.
CONTACT_PANELS: list[Callable[..., Panel | None]] = []


def contact_panels(*, user, contact) -> list[Panel]:
    panels = (provider(user=user, contact=contact) for provider in CONTACT_PANELS)
    return [panel for panel in panels if panel is not None]
