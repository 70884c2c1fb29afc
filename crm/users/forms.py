from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.users.models import Role, Team, User


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Username"),
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )


class UserForm(forms.ModelForm):
    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "phone",
            "role",
            "team",
            "language",
        ]


class UserCreateForm(UserForm):
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The user can change it after logging in."),
    )


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["language"]


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    manager = forms.ModelChoiceField(
        label=_("Manager"),
        # The same people team_save accepts: managers, administrators and superusers.
        queryset=User.objects.filter(is_active=True).filter(
            Q(role__in=[Role.MANAGER, Role.ADMIN]) | Q(is_superuser=True)
        ),
        required=False,
    )

    def __init__(self, *args, team: Team | None = None, **kwargs):
        if team is not None and team.pk:
            kwargs.setdefault("initial", {"name": team.name, "manager": team.manager})
        super().__init__(*args, **kwargs)


class DeactivateForm(forms.Form):
    """Asked when a user being deactivated still has pending work: who takes it over."""

    reassign_to = forms.ModelChoiceField(
        label=_("Move their pending work to"), queryset=User.objects.none()
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = User.objects.filter(is_active=True).exclude(
            pk=user.pk
        )
