"""Sections that higher apps add to the lead page, without this app importing them.

Same mechanism as crm.customers.panels: an app registers, in its AppConfig.ready(), a function
`(user, lead) -> Panel | None`; the lead page renders each panel's template with its context.
"""

from collections.abc import Callable

from crm.customers.panels import Panel

LEAD_PANELS: list[Callable[..., Panel | None]] = []


def lead_panels(*, user, lead) -> list[Panel]:
    panels = (provider(user=user, lead=lead) for provider in LEAD_PANELS)
    return [panel for panel in panels if panel is not None]
