"""Settings > Automation: the rules' list, editor and firing log (administrators only), and the
"Automation" section of the lead, opportunity and account pages."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.activities import automation
from crm.activities.models import (
    ActivityKind,
    AutomationFiring,
    AutomationRule,
    Priority,
    Trigger,
)
from crm.core.permissions import admin_required
from crm.customers.panels import Panel
from crm.sales.models import Stage
from crm.users.models import User

FIRINGS_PAGE = 50
OPERATOR_LABELS = [
    ("eq", gettext_lazy("is")),
    ("ne", gettext_lazy("is not")),
    ("in", gettext_lazy("is one of")),
    ("gte", gettext_lazy("is at least")),
    ("lte", gettext_lazy("is at most")),
    ("contains", gettext_lazy("contains")),
    ("is_empty", gettext_lazy("is empty")),
    ("not_empty", gettext_lazy("is not empty")),
]
ASSIGNEE_LABELS = [
    ("owner", gettext_lazy("The record's owner")),
    ("manager", gettext_lazy("The owner's team manager")),
    ("user", gettext_lazy("This user")),
]
ACTION_FIELDS = (
    "type",
    "kind",
    "subject",
    "description",
    "priority",
    "due_days",
    "due_hour",
    "assignee",
    "recipient",
    "user",
    "title",
    "body",
)


# -- the editor: rows of conditions and actions, built into JSON here --


def _value_options(rt, name: str) -> list[tuple[str, str]] | None:
    """The values a field may take, for a select; None for free text or numbers."""
    field = rt.model._meta.get_field(name)
    if field.choices:
        return [(str(v), str(label)) for v, label in field.choices]
    if rt.fields[name] == "fk":
        related = field.related_model.objects.all()
        if related.model is User:
            related = related.filter(is_active=True)
        return [(str(obj.pk), str(obj)) for obj in related[:300]]
    return None


def _parse(post) -> tuple[dict, list[dict], list[dict]]:
    """The posted form as the service's fields, plus the rows to show again."""
    conditions = []
    for i in range(int(post.get("cond_count") or 0)):
        if post.get(f"cond-{i}-remove"):
            continue
        name, op = post.get(f"cond-{i}-field", ""), post.get(f"cond-{i}-op", "eq")
        values = post.getlist(f"cond-{i}-value")
        if op == "in":
            value = [v for v in values if v] if len(values) > 1 else (values[0] if values else "")
        else:
            value = values[0] if values else ""
        if op == "not_empty":
            conditions.append({"field": name, "op": "is_empty", "value": False, "ui_op": op})
        else:
            conditions.append({"field": name, "op": op, "value": value, "ui_op": op})
    actions = []
    for i in range(int(post.get("act_count") or 0)):
        if post.get(f"act-{i}-remove"):
            continue
        actions.append({key: post.get(f"act-{i}-{key}", "") for key in ACTION_FIELDS})
    if post.get("add") == "condition":
        conditions.append({"field": "", "op": "eq", "value": "", "ui_op": "eq"})
    if post.get("add") == "action":
        actions.append({"type": "create_activity", "kind": "call", "assignee": "owner"})
    stage = post.get("stage")
    days = post.get("days", "").strip()
    fields = {
        "name": post.get("name", ""),
        "is_active": bool(post.get("is_active")),
        "trigger": post.get("trigger", ""),
        "days": int(days) if days.lstrip("-").isdigit() else None,
        "stage": Stage.objects.filter(pk=stage).first() if stage and stage.isdigit() else None,
        "date_field": post.get("date_field", ""),
    }
    return fields, conditions, actions


def _stored(conditions: list[dict], actions: list[dict]) -> tuple[list[dict], list[dict]]:
    clean_conditions = [{k: c[k] for k in ("field", "op", "value")} for c in conditions]
    clean_actions = [{k: v for k, v in a.items() if v not in ("", None)} for a in actions]
    return clean_conditions, clean_actions


def _rows_of(rule: AutomationRule) -> tuple[list[dict], list[dict]]:
    conditions = []
    for c in rule.conditions:
        ui_op = "not_empty" if c["op"] == "is_empty" and not c["value"] else c["op"]
        conditions.append({**c, "ui_op": ui_op})
    return conditions, [dict(a) for a in rule.actions]


def _editor_context(fields: dict, conditions: list[dict], actions: list[dict], errors=None):
    rt = automation.record_type_for(
        trigger=fields.get("trigger") or "", date_field=fields.get("date_field") or ""
    )
    field_choices = automation.condition_field_choices(rt) if rt else []
    condition_rows = []
    for index, c in enumerate(conditions):
        options = _value_options(rt, c["field"]) if rt and c.get("field") in rt.fields else None
        value = c.get("value")
        selected = {str(v) for v in value} if isinstance(value, list) else {str(value)}
        text = ", ".join(str(v) for v in value) if isinstance(value, list) else value
        condition_rows.append(
            {
                "index": index,
                "field": c.get("field", ""),
                "op": c.get("ui_op") or c.get("op"),
                "options": options,
                "selected": selected,
                "text": "" if text in (None, True, False) else text,
            }
        )
    users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    stage = fields.get("stage")
    return {
        "fields": {**fields, "stage_id": getattr(stage, "pk", stage)},
        "errors": errors or {},
        "record_type": rt,
        "placeholders": automation.placeholder_names(rt) if rt else [],
        "triggers": Trigger.choices,
        "day_triggers": [Trigger.OPPORTUNITY_IDLE, Trigger.QUOTE_EXPIRING, Trigger.DATE_REACHED],
        "date_fields": automation.date_field_choices(),
        "stages": Stage.objects.select_related("pipeline").order_by("pipeline", "position"),
        "field_choices": field_choices,
        "operators": OPERATOR_LABELS,
        "conditions": condition_rows,
        "actions": [{"index": i, **a} for i, a in enumerate(actions)],
        "action_types": [
            (t, automation.action_label(t).capitalize()) for t in automation.ACTION_TYPES
        ],
        "kinds": ActivityKind.choices,
        "priorities": Priority.choices,
        "assignees": ASSIGNEE_LABELS,
        "users": users,
    }


def _rule_form_page(request, rule: AutomationRule | None):
    if request.method == "GET":
        if rule is None:
            fields = {"name": "", "is_active": True, "trigger": Trigger.LEAD_CREATED}
            conditions, actions = [], [{"type": "create_activity", "kind": "call"}]
        else:
            fields = {
                "name": rule.name,
                "is_active": rule.is_active,
                "trigger": rule.trigger,
                "days": rule.days,
                "stage": rule.stage,
                "date_field": rule.date_field,
            }
            conditions, actions = _rows_of(rule)
        context = _editor_context(fields, conditions, actions)
    else:
        fields, conditions, actions = _parse(request.POST)
        errors = None
        if not (request.POST.get("add") or request.POST.get("refresh")):
            stored_conditions, stored_actions = _stored(conditions, actions)
            try:
                automation.automation_rule_save(
                    actor=request.user,
                    rule=rule,
                    fields={**fields, "conditions": stored_conditions, "actions": stored_actions},
                )
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                messages.success(request, _("Automation rule saved."))
                return redirect("automation-rule-list")
        context = _editor_context(fields, conditions, actions, errors)
    context["rule"] = rule
    template = "activities/automationrule_form.html"
    if request.htmx and request.POST.get("refresh"):
        template += "#editor"
    return render(request, template, context)


@admin_required
@require_GET
def automation_rule_list(request):
    rules = AutomationRule.objects.select_related("stage").order_by("position", "id")
    return render(request, "activities/automationrule_list.html", {"rules": rules})


@admin_required
@require_http_methods(["GET", "POST"])
def automation_rule_create(request):
    return _rule_form_page(request, None)


@admin_required
@require_http_methods(["GET", "POST"])
def automation_rule_update(request, pk: int):
    rule = get_object_or_404(AutomationRule, pk=pk)
    if request.method == "POST" and "toggle_active" in request.POST:
        fields = {"is_active": not rule.is_active}
        try:
            automation.automation_rule_save(actor=request.user, rule=rule, fields=fields)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("automation-rule-list")
    return _rule_form_page(request, rule)


@admin_required
@require_http_methods(["GET", "POST"])
def automation_rule_delete(request, pk: int):
    rule = get_object_or_404(AutomationRule, pk=pk)
    if request.method == "POST":
        automation.automation_rule_delete(actor=request.user, rule=rule)
        messages.success(request, _("Automation rule deleted."))
        return redirect("automation-rule-list")
    return render(request, "activities/automationrule_delete.html", {"rule": rule})


@admin_required
@require_POST
def automation_rule_move(request, pk: int):
    rule = get_object_or_404(AutomationRule, pk=pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    automation.automation_rule_move(actor=request.user, rule=rule, offset=offset)
    return redirect("automation-rule-list")


@admin_required
@require_GET
def automation_rule_detail(request, pk: int):
    """A rule and its firing log, newest first."""
    rule = get_object_or_404(AutomationRule.objects.select_related("stage", "created_by"), pk=pk)
    firings = AutomationFiring.objects.filter(rule=rule).order_by("-fired_at", "-id")
    page = Paginator(firings, FIRINGS_PAGE).get_page(request.GET.get("page"))
    context = {"rule": rule, "page": page, "querystring": ""}
    return render(request, "activities/automationrule_detail.html", context)


# -- the record pages' section --


def _firings_panel(user, record) -> Panel | None:
    firings = list(automation.firings_for_record(record)[:10])
    if not firings:
        return None
    return Panel(
        template="activities/automationfiring_panel.html",
        context={"firings": firings, "is_admin": user.is_admin},
    )


def lead_firings_panel(*, user, lead) -> Panel | None:
    return _firings_panel(user, lead)


def opportunity_firings_panel(*, user, opportunity) -> Panel | None:
    return _firings_panel(user, opportunity)


def account_firings_panel(*, user, account) -> Panel | None:
    return _firings_panel(user, account)
