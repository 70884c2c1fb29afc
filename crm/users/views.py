from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm.core.permissions import admin_required
from crm.core.selectors import company_settings_get
from crm.users import selectors, services
from crm.users.forms import (
    DeactivateForm,
    LoginForm,
    PreferencesForm,
    TeamForm,
    UserCreateForm,
    UserForm,
)
from crm.users.hooks import pending_work
from crm.users.models import Team

login = auth_views.LoginView.as_view(
    template_name="registration/login.html",
    authentication_form=LoginForm,
    redirect_authenticated_user=True,
)
logout = auth_views.LogoutView.as_view()
password_change = auth_views.PasswordChangeView.as_view(
    template_name="registration/password_change.html",
    success_url=reverse_lazy("password-change-done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="registration/password_change_done.html"
)
password_reset = auth_views.PasswordResetView.as_view(
    template_name="registration/password_reset.html",
    email_template_name="registration/password_reset_email.txt",
    subject_template_name="registration/password_reset_subject.txt",
    success_url=reverse_lazy("password-reset-done"),
)
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="registration/password_reset_confirm.html",
    success_url=reverse_lazy("password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html"
)


@require_http_methods(["GET", "POST"])
def profile(request):
    """The signed-in user's own page: language, password and API token."""
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_preferences_update(user=request.user, language=form.cleaned_data["language"])
        messages.success(request, _("Preferences saved."))
        return redirect("profile")
    return render(request, "users/profile.html", {"form": form})


@require_POST
def token_regenerate(request):
    """Issue a new API token; the old one stops working."""
    token = services.token_regenerate(user=request.user)
    messages.success(request, _("A new API token has been issued."))
    # Shown once, in this answer only; it is not put in the URL or the session.
    context = {"form": PreferencesForm(instance=request.user), "new_token": token.key}
    return render(request, "users/profile.html", context)


@admin_required
def user_list(request):
    show = request.GET.get("show", "active")
    users = selectors.user_list_for_admin(actor=request.user, include_inactive=show == "all")
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "show": show,
        "querystring": f"show={show}",
        "seats_in_use": selectors.seats_in_use(),
        "licensed_seats": company_settings_get().licensed_seats,
        "teams": selectors.team_list(),
    }
    return render(request, "users/user_list.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password = data.pop("password")
        try:
            user = services.user_create(actor=request.user, fields=data, password=password)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("User %(user)s created.") % {"user": user})
            return redirect("user-list")
    return render(request, "users/user_form.html", {"form": form})


@admin_required
@require_http_methods(["GET", "POST"])
def user_update(request, pk: int):
    user = selectors.user_get_for_admin(actor=request.user, user_id=pk)
    form = UserForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(actor=request.user, user=user, fields=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("User %(user)s saved.") % {"user": user})
            return redirect("user-list")
    return render(request, "users/user_form.html", {"form": form, "object": user})


@admin_required
@require_POST
def user_set_active(request, pk: int):
    """Reactivate, or deactivate; a user with pending work first gets a page that shows it and
    asks who takes it over (the same form posts back here with `reassign_to`)."""
    user = selectors.user_get_for_admin(actor=request.user, user_id=pk)
    active = request.POST.get("active") == "1"
    work = [] if active or not user.is_active else pending_work(user)
    form = DeactivateForm(request.POST if "reassign_to" in request.POST else None, user=user)
    if work and not form.is_bound:
        return render(
            request, "users/user_deactivate.html", {"object": user, "work": work, "form": form}
        )
    if work and not form.is_valid():
        return render(
            request, "users/user_deactivate.html", {"object": user, "work": work, "form": form}
        )
    reassign_to = form.cleaned_data["reassign_to"] if work else None
    try:
        services.user_set_active(
            actor=request.user, user=user, active=active, reassign_to=reassign_to
        )
    except ValidationError as exc:
        if work:
            add_errors = getattr(exc, "error_dict", {"__all__": exc.error_list})
            for field, errors in add_errors.items():
                form.add_error(field if field in form.fields else None, errors)
            context = {"object": user, "work": work, "form": form}
            return render(request, "users/user_deactivate.html", context)
        messages.error(request, " ".join(exc.messages))
    else:
        if active:
            messages.success(request, _("%(user)s can log in again.") % {"user": user})
        else:
            messages.success(request, _("%(user)s has been deactivated.") % {"user": user})
    return redirect("user-list")


@admin_required
@require_http_methods(["GET", "POST"])
def team_create(request):
    return _team_form(request, Team())


@admin_required
@require_http_methods(["GET", "POST"])
def team_update(request, pk: int):
    return _team_form(request, selectors.team_get(team_id=pk))


def _team_form(request, team: Team):
    form = TeamForm(request.POST or None, team=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_save(team=team, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Team %(team)s saved.") % {"team": team})
            return redirect("user-list")
    return render(request, "users/team_form.html", {"form": form, "object": team})
