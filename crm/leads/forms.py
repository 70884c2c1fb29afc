"""Input parsing for the lead pages. The rules live in crm.leads.services."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.models import PROVINCES, Channel, Sector
from crm.core.selectors import channel_list, sector_list
from crm.customers.models import SizeSegment
from crm.leads.models import (
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadStatus,
    WebForm,
)
from crm.leads.selectors import lead_assignable_owners
from crm.users.models import Team, User

EDITABLE_STATUSES = [(v, label) for v, label in LeadStatus.choices if v != LeadStatus.CONVERTED]


def _reasons():
    return DisqualifyReason.objects.filter(is_active=True)


def parse_amount(value: str) -> Decimal | None:
    """A money amount typed the Spanish way ("1.234,56") or plainly ("1234.56")."""
    text = (value or "").strip().replace("€", "").replace(" ", "").replace("\xa0", "")
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(\.\d{3})+", text):
        text = text.replace(".", "")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise forms.ValidationError(_("Write an amount such as 1.234,56.")) from exc
    if not amount.is_finite() or amount < 0:
        raise forms.ValidationError(_("Write an amount such as 1.234,56."))
    return amount.quantize(Decimal("0.01"))


class LeadForm(forms.ModelForm):
    allow_duplicates = forms.BooleanField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Lead
        fields = [
            "first_name",
            "last_name",
            "company",
            "position",
            "email",
            "phone",
            "mobile",
            "nif",
            "province",
            "city",
            "sector",
            "size_segment",
            "channel",
            "campaign",
            "products_of_interest",
            "score",
            "owner",
            "notes",
        ]
        widgets = {
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "mobile": forms.TextInput(attrs={"type": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "score": forms.NumberInput(attrs={"min": 0, "max": 100, "inputmode": "numeric"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        lead = self.instance
        # Lists keep the stored value even when it is no longer offered.
        self.fields["sector"].queryset = sector_list() | Sector.objects.filter(pk=lead.sector_id)
        self.fields["channel"].queryset = channel_list() | Channel.objects.filter(
            pk=lead.channel_id
        )
        owners = lead_assignable_owners(actor=user)
        owner = self.fields["owner"]
        if lead.pk:
            owners = owners | User.objects.filter(pk=lead.owner_id)
            if lead.owner_id:
                owner.required = True
                owner.empty_label = None
            else:
                owner.empty_label = _("Unassigned")
        else:
            owner.empty_label = _("Automatic (assignment rules)")
            owner.help_text = _("Leave it automatic to let the assignment rules choose.")
        owner.queryset = owners.distinct()
        self.fields["nif"].help_text = _("Optional. Spanish NIF, CIF or NIE.")
        self.fields["phone"].help_text = _("Spanish numbers without prefix; others with +.")
        self.fields["score"].help_text = _("From 0 to 100.")
        self.fields["score"].required = False  # empty is 0

    def _post_clean(self):
        # The service checks the whole lead (name, normalised values); the form only parses.
        pass

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("allow_duplicates", None)
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=EDITABLE_STATUSES)
    reason = forms.ModelChoiceField(
        label=_("Reason for disqualifying"),
        queryset=DisqualifyReason.objects.none(),
        required=False,
    )
    note = forms.CharField(label=_("Comment"), required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = _reasons()

    def clean(self):
        data = super().clean()
        if data.get("status") == LeadStatus.DISQUALIFIED and not data.get("reason"):
            self.add_error("reason", _("Say why the lead is disqualified."))
        return data


class BulkForm(forms.Form):
    ASSIGN, STATUS, DELETE = "assign", "status", "delete"
    action = forms.ChoiceField(
        label=_("Action"),
        choices=[
            (ASSIGN, _("Assign to")),
            (STATUS, _("Change status")),
            (DELETE, _("Delete")),
        ],
    )
    ids = forms.TypedMultipleChoiceField(coerce=int, required=True)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", "---------"), *EDITABLE_STATUSES], required=False
    )
    reason = forms.ModelChoiceField(
        label=_("Reason"), queryset=DisqualifyReason.objects.none(), required=False
    )
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = lead_assignable_owners(actor=user)
        self.fields["reason"].queryset = _reasons()
        # Any number is accepted here: the view keeps only the leads the user can see.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()
        self.fields["ids"].error_messages["required"] = _("Tick the leads first.")

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == self.ASSIGN and not data.get("owner"):
            self.add_error("owner", _("Choose who gets the leads."))
        if action == self.STATUS:
            if not data.get("status"):
                self.add_error("status", _("Choose the new status."))
            elif data["status"] == LeadStatus.DISQUALIFIED and not data.get("reason"):
                self.add_error("reason", _("Say why the leads are disqualified."))
        return data


class ConvertForm(forms.Form):
    account = forms.ChoiceField(
        label=_("Account"), widget=forms.RadioSelect, required=False, choices=[]
    )
    create_contact = forms.BooleanField(label=_("Create a contact for the person"), required=False)
    create_opportunity = forms.BooleanField(label=_("Create an opportunity"), required=False)
    opportunity_title = forms.CharField(
        label=_("Opportunity title"), max_length=200, required=False
    )
    opportunity_amount = forms.CharField(
        label=_("Amount (€)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "1.234,56"}),
    )
    expected_close_date = forms.DateField(
        label=_("Expected close date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, lead: Lead, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {str(a.pk): a for a in candidates}
        choices = [("", _("Create a new account from the lead"))]
        for account in candidates:
            label = account.name + (f" · {account.nif}" if account.nif else "")
            choices.append((str(account.pk), label))
        self.fields["account"].choices = choices
        self.fields["account"].label = _("Account")
        if not lead.person_name:
            self.fields["create_contact"].disabled = True
            self.fields["create_contact"].help_text = _("The lead has no person's name.")
        self.initial.setdefault("create_contact", bool(lead.person_name))
        self.initial.setdefault("opportunity_title", lead.products_of_interest[:200])

    def clean_opportunity_amount(self):
        return parse_amount(self.cleaned_data.get("opportunity_amount", ""))

    def clean(self):
        data = super().clean()
        data["account_obj"] = self.candidates.get(data.get("account") or "")
        return data


class AssignmentRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels"),
        queryset=Channel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    provinces = forms.MultipleChoiceField(
        label=_("Provinces"),
        choices=PROVINCES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sectors = forms.ModelMultipleChoiceField(
        label=_("Sectors"),
        queryset=Sector.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    size_segments = forms.MultipleChoiceField(
        label=_("Sizes"),
        choices=SizeSegment.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    min_score = forms.IntegerField(
        label=_("Score at least"), min_value=0, max_value=100, required=False
    )
    product_contains = forms.CharField(
        label=_("Product of interest contains"), max_length=100, required=False
    )
    text_contains = forms.CharField(
        label=_("Text contains"),
        max_length=100,
        required=False,
        help_text=_("Found in the name, company, e-mail, city, campaign or notes."),
    )
    target = forms.ChoiceField(
        label=_("Assign to"), choices=AssignmentTarget.choices, widget=forms.RadioSelect
    )
    target_user = forms.ModelChoiceField(
        label=_("User"), queryset=User.objects.none(), required=False
    )
    target_team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.none(), required=False
    )

    def __init__(self, *args, rule=None, **kwargs):
        super().__init__(*args, **kwargs)
        channels = channel_list()
        sectors = sector_list()
        users = User.objects.filter(is_active=True)
        if rule is not None:
            channels = channels | rule.channels.all()
            sectors = sectors | rule.sectors.all()
            self.initial.update(
                {
                    "name": rule.name,
                    "is_active": rule.is_active,
                    "channels": list(rule.channels.all()),
                    "provinces": rule.provinces,
                    "sectors": list(rule.sectors.all()),
                    "size_segments": rule.size_segments,
                    "min_score": rule.min_score,
                    "product_contains": rule.product_contains,
                    "text_contains": rule.text_contains,
                    "target": rule.target,
                    "target_user": rule.target_user_id,
                    "target_team": rule.target_team_id,
                }
            )
        else:
            self.initial.setdefault("target", AssignmentTarget.USER)
        self.fields["channels"].queryset = channels.distinct()
        self.fields["sectors"].queryset = sectors.distinct()
        self.fields["target_user"].queryset = users
        self.fields["target_team"].queryset = Team.objects.all()

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        channels = list(data.pop("channels"))
        sectors = list(data.pop("sectors"))
        return {"fields": data, "channels": channels, "sectors": sectors}


class LeadSettingsForm(forms.Form):
    fallback_owner = forms.ModelChoiceField(
        label=_("Fallback owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody: leave them unassigned"),
        help_text=_("Gets the new leads that no rule takes."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fallback_owner"].queryset = User.objects.filter(is_active=True)


class TryRuleForm(forms.Form):
    """A sample lead for the 'try it' preview of the assignment rules."""

    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.none(), required=False
    )
    province = forms.ChoiceField(
        label=_("Province"), choices=[("", "---------"), *PROVINCES], required=False
    )
    sector = forms.ModelChoiceField(
        label=_("Sector"), queryset=Sector.objects.none(), required=False
    )
    size_segment = forms.ChoiceField(
        label=_("Size"), choices=[("", "---------"), *SizeSegment.choices], required=False
    )
    score = forms.IntegerField(label=_("Score"), min_value=0, max_value=100, required=False)
    products_of_interest = forms.CharField(
        label=_("Products of interest"), max_length=500, required=False
    )
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    city = forms.CharField(label=_("City"), max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="try", **kwargs)
        self.fields["channel"].queryset = channel_list()
        self.fields["sector"].queryset = sector_list()

    def lead_fields(self) -> dict:
        data = dict(self.cleaned_data)
        if data.get("score") is None:
            data["score"] = 0
        return data


class WebFormForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Only you see it."))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    title = forms.CharField(label=_("Title shown"), max_length=200, required=False)
    fields = forms.MultipleChoiceField(
        label=_("Fields shown besides name and e-mail"),
        choices=WebForm.OPTIONAL_FIELDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.none(), required=False
    )
    campaign = forms.CharField(label=_("Campaign"), max_length=100, required=False)
    thank_you_message = forms.CharField(
        label=_("Thank-you message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    redirect_url = forms.URLField(
        label=_("Redirect to"),
        required=False,
        assume_scheme="https",
        help_text=_(
            "After sending, go to this page of your website instead of the thank-you page."
        ),
    )

    def __init__(self, *args, web_form: WebForm | None = None, default_channel=None, **kwargs):
        super().__init__(*args, **kwargs)
        channels = channel_list()
        if web_form is not None:
            channels = channels | Channel.objects.filter(pk=web_form.channel_id)
            for name in self.fields:
                self.initial.setdefault(name, getattr(web_form, name))
            self.initial["channel"] = web_form.channel_id
        elif default_channel is not None:
            self.initial.setdefault("channel", default_channel.pk)
        self.fields["channel"].queryset = channels.distinct()


class PublicLeadForm(forms.Form):
    """What a visitor fills in: name and e-mail always, the rest as the web form chooses."""

    first_name = forms.CharField(
        label=_("Name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    last_name = forms.CharField(
        label=_("Surname"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    email = forms.EmailField(
        label=_("E-mail"), required=False, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    company = forms.CharField(
        label=_("Company"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    position = forms.CharField(label=_("Position"), max_length=100, required=False)
    phone = forms.CharField(
        label=_("Phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    province = forms.ChoiceField(
        label=_("Province"), choices=[("", "---------"), *PROVINCES], required=False
    )
    city = forms.CharField(label=_("City"), max_length=100, required=False)
    products_of_interest = forms.CharField(
        label=_("What are you interested in?"), max_length=500, required=False
    )
    message = forms.CharField(
        label=_("Message"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    ALWAYS = ("first_name", "last_name", "email")

    def __init__(self, *args, web_form: WebForm, **kwargs):
        super().__init__(*args, **kwargs)
        shown = set(self.ALWAYS) | set(web_form.fields)
        for name in list(self.fields):
            if name not in shown:
                del self.fields[name]
        # The service says what is missing (a name; an e-mail or a phone), all at once.
        self.fields["first_name"].required = False
        self.fields["first_name"].widget.attrs["aria-required"] = "true"
