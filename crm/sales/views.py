import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.search import SearchPaginator
from crm.customers.forms import NoteForm
from crm.customers.models import Account
from crm.customers.selectors import account_get_for_user
from crm.customers.selectors import search_filter as account_search_filter
from crm.sales import pipeline_services, selectors, services
from crm.sales.filters import BoardFilter, OpportunityFilter
from crm.sales.forms import ACCOUNT_CHOICES, MoveForm, OpportunityForm, PipelineForm, StageForm
from crm.sales.models import LostReason, Opportunity, Pipeline, Stage
from crm.sales.panels import opportunity_panels

PAGE_SIZE = 25


def _querystring(request, *drop: str) -> str:
    params = request.GET.copy()
    for name in ("page", *drop):
        params.pop(name, None)
    return params.urlencode()


# -- list --


@require_GET
def opportunity_list(request):
    filterset = OpportunityFilter(
        request.GET,
        queryset=selectors.opportunity_list_for_user(user=request.user),
        request=request,
    )
    paginator = SearchPaginator(filterset.qs, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page, "querystring": _querystring(request)}
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/opportunity_list.html#results", context)
    return render(request, "sales/opportunity_list.html", context)


# -- board --


def _board_queryset(request):
    """The deals the user sees, filtered by the board's filters (invalid ones are ignored)."""
    filterset = BoardFilter(
        request.GET,
        queryset=Opportunity.objects.visible_to(request.user),
        request=request,
    )
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset
    return filterset, queryset


def _board_pipeline(request, pipelines: list[Pipeline]) -> Pipeline:
    wanted = request.GET.get("pipeline", "")
    for pipeline in pipelines:
        if str(pipeline.pk) == wanted:
            return pipeline
    if not pipelines:
        raise Http404(_("There is no active pipeline."))
    return pipelines[0]


@require_GET
def opportunity_board(request):
    pipelines = selectors.pipelines_for_board()
    pipeline = _board_pipeline(request, pipelines)
    filterset, queryset = _board_queryset(request)
    columns = selectors.board_columns(queryset=queryset, pipeline=pipeline)
    context = {
        "filter": filterset,
        "pipelines": pipelines,
        "pipeline": pipeline,
        "columns": columns,
        "stages": [c.stage for c in columns],
        "querystring": _querystring(request, "offset"),
        "lost_reasons": LostReason.objects.filter(is_active=True),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "sales/opportunity_board.html#board", context)
    return render(request, "sales/opportunity_board.html", context)


@require_GET
def opportunity_board_column(request, stage_id: int):
    """A page of one column's cards: lazily on first view, then "load more"."""
    stage = get_object_or_404(
        Stage.objects.select_related("pipeline"), pk=stage_id, pipeline__is_active=True
    )
    _filterset, queryset = _board_queryset(request)
    try:
        offset = max(0, int(request.GET.get("offset", 0)))
    except ValueError:
        offset = 0
    cards, has_more = selectors.board_cards(queryset=queryset, stage=stage, offset=offset)
    context = {
        "stage": stage,
        "cards": cards,
        "has_more": has_more,
        "next_offset": offset + selectors.BOARD_PAGE_SIZE,
        "stages": selectors.pipeline_stages(pipeline=stage.pipeline),
        "querystring": _querystring(request, "offset"),
    }
    return render(request, "sales/opportunity_board.html#column-cards", context)


# -- one deal --


@require_http_methods(["GET", "POST"])
def opportunity_create(request):
    if request.htmx and "account_q" in request.GET:
        # The account menu narrowed by what is typed in the search box above it.
        term = request.GET["account_q"].strip()
        accounts = Account.objects.visible_to(request.user)
        if term:
            accounts = accounts.filter(account_search_filter(term))
        options = accounts.order_by("name", "id").values_list("pk", "name")[:ACCOUNT_CHOICES]
        return render(request, "sales/opportunity_form.html#account-options", {"options": options})
    account = None
    account_id = request.GET.get("account", "")
    if account_id:
        if not account_id.isdigit():
            raise Http404
        account = account_get_for_user(user=request.user, account_id=int(account_id))
    form = OpportunityForm(request.POST or None, user=request.user, account=account)
    if request.method == "POST" and form.is_valid():
        kwargs = form.service_kwargs()
        stage = kwargs["stage"]
        try:
            opportunity = services.opportunity_create(
                actor=request.user, fields=kwargs["fields"], stage=stage, pipeline=stage.pipeline
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Opportunity %(title)s created.") % {"title": opportunity.title}
            )
            return redirect("opportunity-detail", pk=opportunity.pk)
    return render(request, "sales/opportunity_form.html", {"form": form, "account": account})


def _detail_context(request, opportunity: Opportunity, **extra) -> dict:
    stages = selectors.pipeline_stages(pipeline=opportunity.pipeline)
    context = {
        "opportunity": opportunity,
        "stages": stages,
        "open_stages": [s for s in stages if not s.is_lost],
        "lost_stages": [s for s in stages if s.is_lost],
        "current_index": next(
            (i for i, s in enumerate(stages) if s.pk == opportunity.stage_id), -1
        ),
        "history": selectors.opportunity_stage_history(opportunity=opportunity),
        "timeline": selectors.opportunity_timeline(opportunity=opportunity),
        "quotes": selectors.opportunity_quotes(opportunity=opportunity),
        "can_manage": services.opportunity_can_manage(actor=request.user, opportunity=opportunity),
        "note_form": NoteForm(),
        "move_form": MoveForm(opportunity=opportunity),
        "panels": opportunity_panels(user=request.user, opportunity=opportunity),
    }
    context.update(extra)
    return context


@require_GET
def opportunity_detail(request, pk: int):
    opportunity = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
    return render(request, "sales/opportunity_detail.html", _detail_context(request, opportunity))


def _conflict_rows(form: OpportunityForm, current: Opportunity, user) -> list[tuple[str, str, str]]:
    """The fields where the stored deal and the user's typed values differ."""
    stored_form = OpportunityForm(instance=current, user=user)
    rows = []
    for name, field in form.fields.items():
        if name == "version":
            continue
        bound = form[name]
        stored = stored_form[name]
        mine_value = field.to_python(bound.data) if bound.data not in (None, "") else None
        theirs_value = stored.initial
        if hasattr(theirs_value, "pk"):
            theirs_value = theirs_value.pk
        mine_cmp = mine_value.pk if hasattr(mine_value, "pk") else mine_value
        if str(mine_cmp if mine_cmp is not None else "") != str(
            theirs_value if theirs_value is not None else ""
        ):
            rows.append((field.label, _display(stored, theirs_value), _display(bound, mine_cmp)))
    return rows


def _display(bound, value) -> str:
    if value in (None, ""):
        return "—"
    choices = getattr(bound.field, "choices", None)
    if choices is not None:
        for key, label in choices:
            key = getattr(key, "value", key)
            if str(key) == str(value):
                return str(label)
    if hasattr(value, "strftime"):
        return value.strftime("%d/%m/%Y")
    return str(value)


@require_http_methods(["GET", "POST"])
def opportunity_update(request, pk: int):
    opportunity = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
    # The form writes onto its instance; the service must see the stored values.
    form = OpportunityForm(request.POST or None, instance=copy.copy(opportunity), user=request.user)
    context = {"form": form, "opportunity": opportunity}
    if request.method == "POST" and form.is_valid():
        try:
            services.opportunity_update(
                actor=request.user,
                opportunity=opportunity,
                fields=form.service_kwargs()["fields"],
                expected_version=form.cleaned_data["version"],
            )
        except services.Conflict:
            current = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
            mine = request.POST.copy()
            mine["version"] = str(current.version)
            context.update(
                {
                    "conflict": _conflict_rows(form, current, request.user),
                    "conflict_by": current.updated_by,
                    "conflict_at": current.updated_at,
                    "mine": [(k, v) for k, values in mine.lists() for v in values],
                    # The form now holds what is stored, at the stored version.
                    "form": OpportunityForm(instance=copy.copy(current), user=request.user),
                    "opportunity": current,
                }
            )
            return render(request, "sales/opportunity_form.html", context, status=409)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Opportunity %(title)s saved.") % {"title": opportunity.title}
            )
            return redirect("opportunity-detail", pk=opportunity.pk)
    return render(request, "sales/opportunity_form.html", context)


def _move_json(request, opportunity: Opportunity, *, status: int = 200, **extra) -> JsonResponse:
    """The board's answer to a move: the card as it now is, and every column's figures."""
    pipeline = opportunity.pipeline
    _filterset, queryset = _board_queryset(request)
    stages = selectors.pipeline_stages(pipeline=pipeline)
    totals = selectors.board_totals(queryset=queryset, pipeline=pipeline)
    columns = {
        str(stage.pk): render_to_string(
            "sales/opportunity_board.html#column-stats",
            {"column": selectors.Column(stage=stage, **totals.get(stage.pk, {}))},
            request=request,
        )
        for stage in stages
    }
    card = render_to_string(
        "sales/opportunity_board.html#card",
        {"card": opportunity, "stages": stages},
        request=request,
    )
    payload = {
        "ok": status == 200,
        "id": opportunity.pk,
        "stage": opportunity.stage_id,
        "version": opportunity.version,
        "card": card,
        "columns": columns,
    }
    payload.update(extra)
    return JsonResponse(payload, status=status)


@require_POST
def opportunity_move(request, pk: int):
    """Move a deal to another stage: from the board (JSON answer) or the deal's page."""
    opportunity = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = MoveForm(request.POST, opportunity=opportunity)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            opportunity = services.opportunity_move(
                actor=request.user,
                opportunity=opportunity,
                stage=data["stage"],
                lost_reason=data["lost_reason"],
                lost_note=data["lost_note"],
                expected_version=data["version"],
            )
        except services.Conflict:
            current = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
            message = _(
                "Someone else changed this opportunity meanwhile; it is shown as it is now. "
                "Move it again if you still want to."
            )
            if wants_json:
                return _move_json(request, current, status=409, error=message)
            messages.error(request, message)
            return redirect("opportunity-detail", pk=pk)
        except ValidationError as exc:
            if "lost_reason" in getattr(exc, "message_dict", {}) and wants_json:
                return JsonResponse(
                    {
                        "ok": False,
                        "need_reason": True,
                        "stage": data["stage"].pk,
                        "error": " ".join(exc.messages),
                    },
                    status=422,
                )
            error = " ".join(exc.messages)
        else:
            if wants_json:
                return _move_json(request, opportunity)
            messages.success(
                request,
                _("Moved to %(stage)s.") % {"stage": opportunity.stage.name},
            )
            return redirect("opportunity-detail", pk=pk)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if wants_json:
        return JsonResponse({"ok": False, "error": error}, status=400)
    messages.error(request, error)
    return redirect("opportunity-detail", pk=pk)


@require_POST
def opportunity_note(request, pk: int):
    opportunity = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.opportunity_note_add(
                actor=request.user, opportunity=opportunity, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = NoteForm()
    if request.htmx:
        context = {
            "opportunity": opportunity,
            "note_form": form,
            "timeline": selectors.opportunity_timeline(opportunity=opportunity),
        }
        return render(request, "sales/opportunity_detail.html#timeline-block", context)
    if form.errors:
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
    return redirect("opportunity-detail", pk=pk)


@require_http_methods(["GET", "POST"])
def opportunity_delete(request, pk: int):
    opportunity = selectors.opportunity_get_for_user(user=request.user, opportunity_id=pk)
    if not services.opportunity_can_manage(actor=request.user, opportunity=opportunity):
        raise PermissionDenied
    if request.method == "POST":
        services.opportunity_delete(actor=request.user, opportunity=opportunity)
        messages.success(
            request, _("Opportunity %(title)s deleted.") % {"title": opportunity.title}
        )
        return redirect("opportunity-list")
    return render(request, "sales/opportunity_confirm_delete.html", {"opportunity": opportunity})


# -- pipelines (administrators) --


def _admin_only(request) -> None:
    if not request.user.is_admin:
        raise PermissionDenied


@require_GET
def pipeline_list(request):
    _admin_only(request)
    return render(request, "sales/pipeline_list.html", {"pipelines": selectors.pipeline_list()})


def _pipeline_form(request, pipeline: Pipeline | None):
    _admin_only(request)
    form = PipelineForm(request.POST or None, instance=copy.copy(pipeline) if pipeline else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        make_default = data.pop("make_default")
        try:
            saved = pipeline_services.pipeline_save(
                actor=request.user, fields=data, pipeline=pipeline
            )
            if make_default:
                pipeline_services.pipeline_set_default(actor=request.user, pipeline=saved)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Pipeline %(name)s saved.") % {"name": saved.name})
            return redirect("pipeline-list")
    return render(request, "sales/pipeline_form.html", {"form": form, "pipeline": pipeline})


@require_http_methods(["GET", "POST"])
def pipeline_create(request):
    return _pipeline_form(request, None)


@require_http_methods(["GET", "POST"])
def pipeline_update(request, pk: int):
    _admin_only(request)
    return _pipeline_form(request, get_object_or_404(Pipeline, pk=pk))


def _stage_form(request, *, pipeline: Pipeline, stage: Stage | None):
    form = StageForm(request.POST or None, instance=copy.copy(stage) if stage else None)
    if request.method == "POST" and form.is_valid():
        try:
            saved = pipeline_services.stage_save(
                actor=request.user, fields=form.cleaned_data, pipeline=pipeline, stage=stage
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Stage %(name)s saved.") % {"name": saved.name})
            return redirect("pipeline-list")
    context = {"form": form, "pipeline": pipeline, "stage": stage}
    return render(request, "sales/stage_form.html", context)


@require_http_methods(["GET", "POST"])
def stage_create(request, pipeline_pk: int):
    _admin_only(request)
    return _stage_form(request, pipeline=get_object_or_404(Pipeline, pk=pipeline_pk), stage=None)


@require_http_methods(["GET", "POST"])
def stage_update(request, pk: int):
    _admin_only(request)
    stage = get_object_or_404(Stage.objects.select_related("pipeline"), pk=pk)
    return _stage_form(request, pipeline=stage.pipeline, stage=stage)


@require_POST
def stage_move(request, pk: int):
    _admin_only(request)
    stage = get_object_or_404(Stage, pk=pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    pipeline_services.stage_move(actor=request.user, stage=stage, offset=offset)
    return redirect("pipeline-list")


@require_POST
def stage_delete(request, pk: int):
    _admin_only(request)
    stage = get_object_or_404(Stage, pk=pk)
    try:
        pipeline_services.stage_delete(actor=request.user, stage=stage)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Stage %(name)s deleted.") % {"name": stage.name})
    return redirect("pipeline-list")
