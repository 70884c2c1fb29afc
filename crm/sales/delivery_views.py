"""The quote's PDF, sending it to the customer, and winning the deal from an accepted quote."""

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.sales import delivery, pdf
from crm.sales.delivery_selectors import quote_get_for_delivery
from crm.sales.models import Quote, QuoteStatus

logger = logging.getLogger(__name__)


class QuoteSendForm(forms.Form):
    to = forms.EmailField(label=gettext_lazy("To"), max_length=254)
    message = forms.CharField(
        label=gettext_lazy("Message"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy(
            "Added to the e-mail above the link where the customer accepts or rejects the quote."
        ),
    )


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's errors beside the form's fields; those of fields it lacks above them."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for name, errors in exc.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


def quote_page_url(quote: Quote) -> str:
    # The quote's page belongs to the quote builder (/quotes/<id>/, named quote-detail).
    return f"/quotes/{quote.pk}/"


def pdf_response(quote: Quote, *, download: bool = False) -> HttpResponse:
    response = HttpResponse(pdf.quote_pdf(quote), content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{pdf.quote_pdf_filename(quote)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def quote_pdf(request, pk: int):
    quote = quote_get_for_delivery(user=request.user, quote_id=pk)
    return pdf_response(quote, download=request.GET.get("download") == "1")


@require_http_methods(["GET", "POST"])
def quote_send(request, pk: int):
    """The recipient (the contact's e-mail) and a message; sending numbers the quote."""
    quote = quote_get_for_delivery(user=request.user, quote_id=pk)
    # A "Send" button elsewhere (the quote's page) posts without the form: show the form.
    submitted = request.method == "POST" and "to" in request.POST
    initial = {"to": delivery.quote_recipient(quote)}
    form = QuoteSendForm(request.POST if submitted else None, initial=initial)
    if submitted and quote.is_editable and form.is_valid():
        try:
            sent = delivery.quote_send(
                actor=request.user,
                quote=quote,
                to=form.cleaned_data["to"],
                message=form.cleaned_data["message"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except delivery.QuoteDeliveryError as exc:
            logger.warning("Quote %s could not be sent: %s", quote.pk, exc)
            form.add_error(
                None,
                _(
                    "The e-mail could not be sent (%(error)s). The quote has not been sent and "
                    "nothing was changed: check the address, or try again later."
                )
                % {"error": exc},
            )
        else:
            messages.success(
                request,
                _("Quote %(number)s sent to %(email)s.")
                % {"number": sent.display_number, "email": form.cleaned_data["to"]},
            )
            return redirect(quote_page_url(sent))
    context = {
        "quote": quote,
        "form": form,
        "can_send": quote.is_editable,
        "quote_url": quote_page_url(quote),
    }
    return render(request, "sales/quote_send.html", context)


@require_POST
def quote_win(request, pk: int):
    """Mark the deal of an accepted quote as won."""
    quote = quote_get_for_delivery(user=request.user, quote_id=pk)
    if quote.status != QuoteStatus.ACCEPTED:
        messages.error(request, _("Only an accepted quote can win the deal."))
        return redirect(quote_page_url(quote))
    try:
        opportunity = delivery.quote_win_opportunity(actor=request.user, quote=quote)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The deal %(title)s is won.") % {"title": opportunity.title})
    return redirect(quote_page_url(quote))
