"""Reads behind the quote's PDF, sending and the customer's answer page."""

from django.http import Http404

from crm.sales.models import Quote
from crm.users.models import User


def _with_document_data(queryset):
    return queryset.select_related(
        "opportunity__account",
        "opportunity__contact",
        "opportunity__pipeline",
        "opportunity__stage",
        "contact",
    )


def quote_get_for_delivery(*, user: User, quote_id: int) -> Quote:
    """A quote the user sees (exactly when they see its deal); 404 otherwise."""
    quote = _with_document_data(Quote.objects.visible_to(user)).filter(pk=quote_id).first()
    if quote is None:
        raise Http404
    return quote


def quote_get_by_id(quote_id: int) -> Quote | None:
    """A quote named by a signed answer link (the signature is checked by the caller)."""
    return _with_document_data(Quote.objects.all()).filter(pk=quote_id).first()
