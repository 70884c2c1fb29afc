"""Placeholder until its author lands it."""


def register(router) -> None:
    """Register this module's viewsets on the API router."""
