import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.exports import export_response
from crm.core.search import SearchPaginator
from crm.customers import exports, selectors, services
from crm.customers.filters import AccountFilter, ContactFilter
from crm.customers.forms import AccountForm, ContactForm, LifecycleForm, NoteForm
from crm.customers.panels import account_panels, contact_panels

PAGE_SIZE = 25


def _list_page(request, filterset, template: str, *, dense_filterset=None):
    dense = dense_filterset.qs if dense_filterset is not None else None
    paginator = SearchPaginator(filterset.qs, PAGE_SIZE, dense_object_list=dense)
    page = paginator.get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    context = {"filter": filterset, "page": page, "querystring": querystring.urlencode()}
    if request.htmx and not request.htmx.boosted:
        return render(request, f"{template}#results", context)
    return render(request, template, context)


@require_GET
def account_list(request):
    queryset = selectors.account_list_for_user(user=request.user)
    filterset = AccountFilter(request.GET, queryset=queryset, request=request)
    # The same search without the index, for a search that matches many accounts.
    dense = None
    if request.GET.get("q", "").strip():
        dense = AccountFilter(request.GET, queryset=queryset, request=request, use_index=False)
    return _list_page(request, filterset, "customers/account_list.html", dense_filterset=dense)


@require_GET
def account_export(request, fmt: str):
    """The list as it is filtered on screen, as CSV or XLSX."""
    filterset = AccountFilter(
        request.GET, queryset=selectors.account_list_for_user(user=request.user), request=request
    )
    rows = exports.account_rows(filterset.qs)
    return export_response(
        fmt=fmt, filename=slugify(_("accounts")), headers=exports.ACCOUNT_HEADERS, rows=rows
    )


def _duplicates_context(exc: services.DuplicatesFound) -> dict:
    return {"duplicates": exc.duplicates}


@require_http_methods(["GET", "POST"])
def account_create(request):
    form = AccountForm(request.POST or None, user=request.user)
    context = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_create(
                actor=request.user,
                allow_duplicates=form.cleaned_data["allow_duplicates"],
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except services.DuplicatesFound as exc:
            context.update(_duplicates_context(exc))
        else:
            messages.success(request, _("Account %(name)s created.") % {"name": account.name})
            return redirect("account-detail", pk=account.pk)
    return render(request, "customers/account_form.html", context)


@require_GET
def account_detail(request, pk: int):
    account = selectors.account_get_for_user(user=request.user, account_id=pk)
    context = {
        "account": account,
        "can_delete": services.account_can_delete(actor=request.user, account=account),
        "contacts": selectors.account_contacts(account=account),
        "timeline": selectors.account_timeline(account=account),
        "note_form": NoteForm(),
        "lifecycle_form": LifecycleForm(initial={"lifecycle": account.lifecycle}),
        "panels": account_panels(user=request.user, account=account),
    }
    return render(request, "customers/account_detail.html", context)


@require_http_methods(["GET", "POST"])
def account_update(request, pk: int):
    account = selectors.account_get_for_user(user=request.user, account_id=pk)
    # The form writes its values onto its instance; the service must see the stored ones
    # to record what changed, so the form works on a copy.
    form = AccountForm(request.POST or None, instance=copy.copy(account), user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_update(actor=request.user, account=account, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Account %(name)s saved.") % {"name": account.name})
            return redirect("account-detail", pk=account.pk)
    return render(request, "customers/account_form.html", {"form": form, "account": account})


@require_http_methods(["GET", "POST"])
def account_delete(request, pk: int):
    """Ask, then delete an account with its contacts and timeline."""
    account = selectors.account_get_for_user(user=request.user, account_id=pk)
    if not services.account_can_delete(actor=request.user, account=account):
        raise PermissionDenied
    if request.method == "POST":
        services.account_delete(actor=request.user, account=account)
        messages.success(request, _("Account %(name)s deleted.") % {"name": account.name})
        return redirect("account-list")
    context = {"account": account, "contact_count": account.contacts.count()}
    return render(request, "customers/account_confirm_delete.html", context)


@require_POST
def account_lifecycle_update(request, pk: int):
    """Inline change of the lifecycle from the account page (htmx)."""
    account = selectors.account_get_for_user(user=request.user, account_id=pk)
    form = LifecycleForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.account_update(
                actor=request.user,
                account=account,
                fields={"lifecycle": form.cleaned_data["lifecycle"]},
            )
        except ValidationError as exc:
            # Another field of an older record fails today's rules: say so, change nothing.
            error = _("Not saved: %(reasons)s Edit the account to correct it.") % {
                "reasons": " ".join(exc.messages)
            }
            account.refresh_from_db()
    else:
        error = " ".join(form.errors.get("lifecycle", []))
    if request.htmx:
        # The form comes back with the timeline swapped out-of-band, showing the change.
        context = {
            "account": account,
            "lifecycle_form": LifecycleForm(initial={"lifecycle": account.lifecycle}),
            "note_form": NoteForm(),
            "timeline": selectors.account_timeline(account=account),
            "saved": not error,
            "error": error,
        }
        return render(request, "customers/account_detail.html#lifecycle", context)
    if error:
        messages.error(request, error)
    return redirect("account-detail", pk=account.pk)


@require_POST
def account_note_create(request, pk: int):
    account = selectors.account_get_for_user(user=request.user, account_id=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.account_note_add(
                actor=request.user, account=account, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = NoteForm()
    if request.htmx:
        context = {
            "account": account,
            "note_form": form,
            "timeline": selectors.account_timeline(account=account),
        }
        return render(request, "customers/account_detail.html#timeline-block", context)
    if form.errors:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("account-detail", pk=account.pk)


@require_GET
def contact_list(request):
    filterset = ContactFilter(
        request.GET, queryset=selectors.contact_list_for_user(user=request.user), request=request
    )
    return _list_page(request, filterset, "customers/contact_list.html")


@require_GET
def contact_export(request, fmt: str):
    filterset = ContactFilter(
        request.GET, queryset=selectors.contact_list_for_user(user=request.user), request=request
    )
    rows = exports.contact_rows(filterset.qs)
    return export_response(
        fmt=fmt, filename=slugify(_("contacts")), headers=exports.CONTACT_HEADERS, rows=rows
    )


@require_http_methods(["GET", "POST"])
def contact_create(request, account_pk: int):
    account = selectors.account_get_for_user(user=request.user, account_id=account_pk)
    form = ContactForm(request.POST or None)
    context = {"form": form, "account": account}
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                actor=request.user,
                account=account,
                allow_duplicates=form.cleaned_data["allow_duplicates"],
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        except services.DuplicatesFound as exc:
            context.update(_duplicates_context(exc))
        else:
            messages.success(request, _("Contact %(name)s added.") % {"name": contact})
            return redirect("account-detail", pk=account.pk)
    return render(request, "customers/contact_form.html", context)


@require_GET
def contact_detail(request, pk: int):
    contact = selectors.contact_get_for_user(user=request.user, contact_id=pk)
    context = {
        "contact": contact,
        "can_delete": services.account_can_delete(actor=request.user, account=contact.account),
        "timeline": selectors.contact_timeline(contact=contact),
        "panels": contact_panels(user=request.user, contact=contact),
    }
    return render(request, "customers/contact_detail.html", context)


@require_http_methods(["GET", "POST"])
def contact_delete(request, pk: int):
    contact = selectors.contact_get_for_user(user=request.user, contact_id=pk)
    if not services.account_can_delete(actor=request.user, account=contact.account):
        raise PermissionDenied
    if request.method == "POST":
        services.contact_delete(actor=request.user, contact=contact)
        messages.success(request, _("Contact %(name)s deleted.") % {"name": contact})
        return redirect("account-detail", pk=contact.account_id)
    return render(request, "customers/contact_confirm_delete.html", {"contact": contact})


@require_http_methods(["GET", "POST"])
def contact_update(request, pk: int):
    contact = selectors.contact_get_for_user(user=request.user, contact_id=pk)
    form = ContactForm(request.POST or None, instance=copy.copy(contact))
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(actor=request.user, contact=contact, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Contact %(name)s saved.") % {"name": contact})
            return redirect("contact-detail", pk=contact.pk)
    context = {"form": form, "contact": contact, "account": contact.account}
    return render(request, "customers/contact_form.html", context)
