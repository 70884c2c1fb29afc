from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.models import Channel, Sector
from crm.core.selectors import channel_list, sector_list
from crm.customers.models import Account, Contact, Lifecycle
from crm.customers.selectors import account_assignable_owners
from crm.users.models import User


class AccountForm(forms.ModelForm):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        help_text=_("Separate tags with commas."),
    )
    allow_duplicates = forms.BooleanField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Account
        fields = [
            "kind",
            "name",
            "nif",
            "lifecycle",
            "phone",
            "email",
            "website",
            "sector",
            "size_segment",
            "channel",
            "owner",
            "shared_with",
            "billing_street",
            "billing_postal_code",
            "billing_city",
            "billing_province",
            "shipping_street",
            "shipping_postal_code",
            "shipping_city",
            "shipping_province",
            "notes",
        ]
        widgets = {
            "kind": forms.RadioSelect,
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
            "billing_postal_code": forms.TextInput(attrs={"inputmode": "numeric"}),
            "shipping_postal_code": forms.TextInput(attrs={"inputmode": "numeric"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "shared_with": forms.SelectMultiple(attrs={"size": 4}),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        account = self.instance
        # Every list keeps the stored value, even one no longer offered (an inactive sector,
        # a deactivated owner), so that saving the form unchanged changes nothing.
        self.fields["sector"].queryset = sector_list() | Sector.objects.filter(pk=account.sector_id)
        self.fields["channel"].queryset = channel_list() | Channel.objects.filter(
            pk=account.channel_id
        )
        owners = account_assignable_owners(actor=user)
        shared = User.objects.filter(is_active=True).exclude(pk=user.pk)
        if account.pk:
            owners = owners | User.objects.filter(pk=account.owner_id)
            shared = shared | account.shared_with.all()
            self.initial["tags"] = ", ".join(t.name for t in account.tags.all())
        else:
            self.fields["owner"].initial = user.pk
        self.fields["owner"].queryset = owners.distinct()
        self.fields["owner"].empty_label = None
        self.fields["shared_with"].queryset = shared.distinct()
        self.fields["shared_with"].required = False
        self.fields["nif"].help_text = _("Spanish NIF, CIF or NIE, for example B12345674.")
        self.fields["phone"].help_text = _("Spanish numbers without prefix; others with +.")

    def service_kwargs(self) -> dict:
        """Split the cleaned data into the service's fields, tags and sharing."""
        data = dict(self.cleaned_data)
        tags = [t for t in data.pop("tags", "").split(",") if t.strip()]
        shared_with = list(data.pop("shared_with", []))
        data.pop("allow_duplicates", None)
        return {"fields": data, "tags": tags, "shared_with": shared_with}


class LifecycleForm(forms.Form):
    lifecycle = forms.ChoiceField(label=_("Lifecycle"), choices=Lifecycle.choices)


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Note"),
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Write a note…")}),
        max_length=5000,
    )


class ContactForm(forms.ModelForm):
    allow_duplicates = forms.BooleanField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "position",
            "email",
            "phone",
            "mobile",
            "is_primary",
            "is_active",
            "marketing_consent",
            "marketing_consent_source",
            "notes",
        ]
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "mobile": forms.TextInput(attrs={"type": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("allow_duplicates", None)
        return {"fields": data}
