"""Input parsing for the activity pages. The rules live in crm.activities.services."""

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.activities.models import Activity, ActivityKind, Priority
from crm.activities.services import day_start
from crm.customers.selectors import account_assignable_owners
from crm.users.models import User


def _due_at(day, at):
    """A date alone is an all-day activity (local midnight); with a time, that moment."""
    if day is None:
        return None, False
    if at is None:
        return day_start(day), True
    return timezone.make_aware(datetime.combine(day, at)), False


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    due_date = forms.DateField(label=_("Due date"), required=False, widget=DateInput())
    due_time = forms.TimeField(
        label=_("Time"),
        required=False,
        widget=TimeInput(),
        help_text=_("Leave it empty for an all-day activity."),
    )
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), required=False, min_value=1, max_value=24 * 60 * 7
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    assignee = forms.ModelChoiceField(label=_("Assigned to"), queryset=None)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, activity: Activity | None = None, **kwargs):
        if activity is not None and "initial" not in kwargs:
            local = timezone.localtime(activity.due_at) if activity.due_at else None
            kwargs["initial"] = {
                "kind": activity.kind,
                "subject": activity.subject,
                "due_date": local.date() if local else None,
                "due_time": local.time() if local and not activity.all_day else None,
                "duration_minutes": activity.duration_minutes,
                "priority": activity.priority,
                "assignee": activity.assignee_id,
                "description": activity.description,
            }
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("assignee", user.pk)
        kwargs["initial"].setdefault("priority", Priority.NORMAL)
        super().__init__(*args, **kwargs)
        assignable = account_assignable_owners(actor=user)
        if activity is not None:
            assignable = assignable | User.objects.filter(pk=activity.assignee_id)
        self.fields["assignee"].queryset = assignable.distinct().order_by(
            "first_name", "last_name", "username"
        )

    def service_fields(self) -> dict:
        data = self.cleaned_data
        due_at, all_day = _due_at(data["due_date"], data["due_time"])
        return {
            "kind": data["kind"],
            "subject": data["subject"],
            "due_at": due_at,
            "all_day": all_day,
            "duration_minutes": data["duration_minutes"],
            "priority": data["priority"],
            "assignee": data["assignee"],
            "description": data["description"],
        }


class CompleteForm(forms.Form):
    """Completing asks for the outcome and offers the follow-up in the same step."""

    outcome = forms.CharField(
        label=_("Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    follow_up = forms.BooleanField(label=_("Schedule a follow-up"), required=False)
    follow_up_kind = forms.ChoiceField(
        label=_("Follow-up kind"),
        choices=ActivityKind.choices,
        initial=ActivityKind.CALL,
        required=False,
    )
    follow_up_subject = forms.CharField(
        label=_("Follow-up subject"), max_length=200, required=False
    )
    follow_up_date = forms.DateField(label=_("Follow-up date"), required=False, widget=DateInput())
    follow_up_time = forms.TimeField(label=_("Follow-up time"), required=False, widget=TimeInput())

    def clean(self):
        data = super().clean()
        if data.get("follow_up"):
            if not data.get("follow_up_subject"):
                self.add_error("follow_up_subject", _("Give the follow-up a subject."))
            if not data.get("follow_up_date"):
                self.add_error("follow_up_date", _("Give the follow-up a date."))
        return data

    def follow_up_fields(self) -> dict | None:
        data = self.cleaned_data
        if not data.get("follow_up"):
            return None
        due_at, all_day = _due_at(data["follow_up_date"], data.get("follow_up_time"))
        return {
            "kind": data["follow_up_kind"] or ActivityKind.CALL,
            "subject": data["follow_up_subject"],
            "due_at": due_at,
            "all_day": all_day,
        }


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


class LogCallForm(forms.Form):
    """The one short inline form to log a call from any record (ids `call_*`, so that it sits
    beside the record page's own forms)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "call_%s")
        super().__init__(*args, **kwargs)

    subject = forms.CharField(
        label=_("Subject"),
        max_length=200,
        required=False,
        initial=pgettext_lazy("activity subject", "Call"),
    )
    outcome = forms.CharField(label=_("How did it go?"), widget=forms.Textarea(attrs={"rows": 2}))
    duration_minutes = forms.IntegerField(
        label=_("Minutes"), required=False, min_value=1, max_value=24 * 60
    )
