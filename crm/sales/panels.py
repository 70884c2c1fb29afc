"""Sections that higher apps add to the opportunity page, without this app importing them.

Same mechanism as crm.customers.panels: an app registers, in its AppConfig.ready(), a function
`(user, opportunity) -> Panel | None`; the page renders each panel's template with its context.
"""

from collections.abc import Callable

from crm.customers.panels import Panel

OPPORTUNITY_PANELS: list[Callable[..., Panel | None]] = []


def opportunity_panels(*, user, opportunity) -> list[Panel]:
    panels = (provider(user=user, opportunity=opportunity) for provider in OPPORTUNITY_PANELS)
    return [panel for panel in panels if panel is not None]
