from django import forms
from django.utils.translation import gettext_lazy as _

from crm.core.models import Channel
from crm.core.selectors import channel_list
from crm.customers.models import Account, Contact
from crm.customers.selectors import account_assignable_owners
from crm.sales.models import LostReason, Opportunity, Pipeline, Stage, StageKind
from crm.users.models import User

# How many accounts the account menu of a new deal offers before a search narrows it.
ACCOUNT_CHOICES = 50


class OpportunityForm(forms.ModelForm):
    """A deal's data. On creation also its account (fixed when it comes from the account's
    page) and its first stage; on update the version it was read at (optimistic locking)."""

    account = forms.ModelChoiceField(label=_("Account"), queryset=Account.objects.none())
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none())
    probability = forms.IntegerField(
        label=_("Probability %"),
        required=False,
        min_value=0,
        max_value=100,
        help_text=_("Leave it empty to use the stage's."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Opportunity
        fields = [
            "title",
            "account",
            "contact",
            "stage",
            "owner",
            "channel",
            "amount",
            "expected_close_date",
            "probability",
            "next_step",
            "products_of_interest",
        ]
        widgets = {
            "expected_close_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "amount": forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
            "products_of_interest": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user: User, account: Account | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        deal = self.instance
        self.creating = deal.pk is None
        if self.creating:
            visible = Account.objects.visible_to(user)
            self.fields["account"].queryset = visible
            if account is not None:
                self.fields["account"].initial = account.pk
                self.fields["account"].widget = forms.HiddenInput()
                self.fixed_account = account
            else:
                self.fixed_account = None
                # A short menu (the user's latest accounts, and the one chosen); the search box
                # above it asks for others. Validation accepts any visible account.
                chosen = self.data.get(self.add_prefix("account")) or self.initial.get("account")
                menu = visible.order_by("-updated_at", "-id")[:ACCOUNT_CHOICES]
                options = list(menu.values_list("pk", "name"))
                if chosen and str(chosen).isdigit() and int(chosen) not in {p for p, _n in options}:
                    options = list(visible.filter(pk=chosen).values_list("pk", "name")) + options
                self.fields["account"].widget.choices = [("", "---------"), *options]
            stages = Stage.objects.filter(
                kind=StageKind.OPEN, is_active=True, pipeline__is_active=True
            ).select_related("pipeline")
            self.fields["stage"].queryset = stages.order_by(
                "-pipeline__is_default", "pipeline__position", "position"
            )
            self.fields["stage"].empty_label = None
            if Pipeline.objects.filter(is_active=True).count() > 1:
                self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline} · {s}"
            account_for_contacts = account
        else:
            del self.fields["account"]
            del self.fields["stage"]
            self.fixed_account = deal.account
            account_for_contacts = deal.account
            self.initial["version"] = deal.version
            self.initial["probability"] = deal.probability if deal.probability_overridden else None
            self.fields["probability"].widget.attrs["placeholder"] = deal.stage.probability
        if account_for_contacts is not None:
            contacts = account_for_contacts.contacts.filter(is_active=True)
            if deal.contact_id:
                contacts = contacts | Contact.objects.filter(pk=deal.contact_id)
            self.fields["contact"].queryset = contacts.distinct()
        else:
            del self.fields["contact"]
        owners = account_assignable_owners(actor=user)
        if deal.pk:
            owners = owners | User.objects.filter(pk=deal.owner_id)
        elif account is not None and owners.filter(pk=account.owner_id).exists():
            self.fields["owner"].initial = account.owner_id
        else:
            self.fields["owner"].initial = user.pk
        self.fields["owner"].queryset = owners.distinct()
        self.fields["owner"].empty_label = None
        self.fields["channel"].queryset = (
            channel_list() | Channel.objects.filter(pk=deal.channel_id)
        ).distinct()
        if self.creating and account is not None and account.channel_id:
            self.fields["channel"].initial = account.channel_id

    def service_kwargs(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        stage = data.pop("stage", None)
        return {"fields": data, "stage": stage}


class MoveForm(forms.Form):
    """A stage move, from the board or the deal's page."""

    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none())
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    lost_reason = forms.ModelChoiceField(
        label=_("Reason"), queryset=LostReason.objects.filter(is_active=True), required=False
    )
    lost_note = forms.CharField(label=_("Comment"), max_length=500, required=False)

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(
            pipeline_id=opportunity.pipeline_id, is_active=True
        )


class PipelineForm(forms.ModelForm):
    make_default = forms.BooleanField(label=_("New deals start in this pipeline"), required=False)

    class Meta:
        model = Pipeline
        fields = ["name", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["make_default"] = self.instance.is_default


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "probability", "kind", "is_active"]
        widgets = {"kind": forms.RadioSelect}
