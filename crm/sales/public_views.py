"""The customer's page of a quote, reached through the signed link of the e-mail (no login)."""

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from crm.core.net import client_ip
from crm.sales import delivery, pdf
from crm.sales.delivery_views import add_service_errors, pdf_response
from crm.sales.models import Quote


class AcceptForm(forms.Form):
    name = forms.CharField(
        label=_("Your full name"),
        max_length=delivery.NAME_MAX,
        help_text=_("Accepting records your name, the time and your connection's address."),
    )


class RejectForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=delivery.NAME_MAX, required=False)
    note = forms.CharField(
        label=_("Reason (optional)"),
        max_length=delivery.NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def _quote(token: str) -> Quote:
    try:
        return delivery.quote_from_token(token)
    except delivery.QuoteLinkInvalid as exc:
        raise Http404 from exc


def _closed(request, quote: Quote, state: str):
    context = {"quote": quote, "state": state, "number": quote.display_number}
    return render(request, "sales/quote_public_done.html", context)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def quote_public(request, token: str):
    """The quote as the customer sees it, with Accept (asks the name) and Reject."""
    quote = _quote(token)
    state = delivery.quote_answer_state(quote)
    if state == "invalid":
        raise Http404
    if state != "open":
        return _closed(request, quote, state)
    action = request.POST.get("action") if request.method == "POST" else None
    accept_form = AcceptForm(request.POST if action == "accept" else None, prefix="accept")
    reject_form = RejectForm(request.POST if action == "reject" else None, prefix="reject")
    form = {"accept": accept_form, "reject": reject_form}.get(action or "")
    if form is not None and form.is_valid():
        try:
            delivery.quote_answer(
                token=token,
                accept=action == "accept",
                name=form.cleaned_data["name"],
                note=form.cleaned_data.get("note", ""),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except delivery.QuoteLinkClosed as exc:
            return _closed(request, exc.quote, exc.reason)
        else:
            return redirect("quote-public", token=token)
    document = pdf.quote_document(quote)
    context = {
        **document.context,
        "screen": True,
        "token": token,
        "accept_form": accept_form,
        "reject_form": reject_form,
        "open_answer": action or "",
    }
    response = render(request, "sales/quote_public.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
@require_GET
def quote_public_pdf(request, token: str):
    """The PDF, while the link works (open, or answered: what the customer accepted)."""
    quote = _quote(token)
    state = delivery.quote_answer_state(quote)
    if state == "invalid":
        raise Http404
    if state not in ("open", "answered"):
        return _closed(request, quote, state)
    return pdf_response(quote, download=request.GET.get("download") == "1")
