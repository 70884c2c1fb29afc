"""Changes to pipelines and their stages, made by administrators on the settings pages.

Rules kept here: every active pipeline has at least one open, one won and one lost active
stage; a stage that holds deals (or has held them: stage history points at it) is never
deleted, and one that holds deals keeps its kind and stays active; one pipeline is the
default, where new deals start.
"""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from crm.core.services import position_move
from crm.sales.models import Opportunity, Pipeline, Stage, StageChange, StageKind
from crm.users.models import User

PIPELINE_FIELDS = {"name", "is_active"}
STAGE_FIELDS = {"name", "probability", "kind", "is_active"}


def _check_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied


def _check_fields(fields: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")


def _check_kinds(pipeline: Pipeline) -> None:
    """An active pipeline needs an open, a won and a lost active stage."""
    kinds = set(pipeline.stages.filter(is_active=True).values_list("kind", flat=True))
    missing = [label for value, label in StageKind.choices if value not in kinds]
    if missing:
        raise ValidationError(
            _(
                "A pipeline needs at least one open, one won and one lost stage; "
                "%(pipeline)s would have no %(kinds)s stage."
            )
            % {"pipeline": pipeline.name, "kinds": ", ".join(str(k).lower() for k in missing)}
        )


def stage_deal_count(stage: Stage) -> int:
    return Opportunity.objects.filter(stage=stage).count()


@transaction.atomic
def pipeline_save(
    *, actor: User, fields: dict[str, Any], pipeline: Pipeline | None = None
) -> Pipeline:
    """Create a pipeline (with a first open, a won and a lost stage, to be renamed) or rename,
    activate or deactivate one. The default pipeline stays active."""
    _check_admin(actor)
    _check_fields(fields, PIPELINE_FIELDS)
    creating = pipeline is None
    if creating:
        position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        pipeline = Pipeline(position=position)
    else:
        pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    for name, value in fields.items():
        setattr(pipeline, name, value.strip() if isinstance(value, str) else value)
    if pipeline.is_default and not pipeline.is_active:
        raise ValidationError(
            {"is_active": _("The default pipeline cannot be deactivated; make another default.")}
        )
    pipeline.full_clean()
    pipeline.save()
    if creating:
        for position, (name, probability, kind) in enumerate(
            [
                (_("In progress"), 10, StageKind.OPEN),
                (_("Won"), 100, StageKind.WON),
                (_("Lost"), 0, StageKind.LOST),
            ],
            start=1,
        ):
            Stage.objects.create(
                pipeline=pipeline, name=name, probability=probability, kind=kind, position=position
            )
    return pipeline


@transaction.atomic
def pipeline_set_default(*, actor: User, pipeline: Pipeline) -> Pipeline:
    """New deals start in this pipeline."""
    _check_admin(actor)
    pipeline = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    if not pipeline.is_active:
        raise ValidationError(_("Activate the pipeline before making it the default."))
    _check_kinds(pipeline)
    Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    if not pipeline.is_default:
        pipeline.is_default = True
        pipeline.save(update_fields=["is_default", "updated_at"])
    return pipeline


@transaction.atomic
def stage_save(
    *,
    actor: User,
    fields: dict[str, Any],
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
) -> Stage:
    """Add a stage at the end of a pipeline, or change one. A stage that holds deals keeps its
    kind and stays active (its deals would otherwise close, or vanish from the board, without
    a recorded move)."""
    _check_admin(actor)
    _check_fields(fields, STAGE_FIELDS)
    if stage is None:
        if pipeline is None:
            raise ValueError("a new stage needs its pipeline")
        Pipeline.objects.select_for_update().get(pk=pipeline.pk)
        position = (pipeline.stages.aggregate(m=Max("position"))["m"] or 0) + 1
        stage = Stage(pipeline=pipeline, position=position)
        before = None
    else:
        Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
        stage = Stage.objects.get(pk=stage.pk)
        before = (stage.kind, stage.is_active)
    for name, value in fields.items():
        setattr(stage, name, value.strip() if isinstance(value, str) else value)
    if before is not None and (stage.kind, stage.is_active) != before and stage_deal_count(stage):
        if stage.kind != before[0]:
            raise ValidationError(
                {"kind": _("Deals are in this stage: move them before changing its kind.")}
            )
        raise ValidationError(
            {"is_active": _("Deals are in this stage: move them before deactivating it.")}
        )
    stage.full_clean()
    stage.save()
    _check_kinds(stage.pipeline)
    return stage


@transaction.atomic
def stage_move(*, actor: User, stage: Stage, offset: int) -> Stage:
    """Move a stage up (offset -1) or down (+1) in its pipeline's order."""
    _check_admin(actor)
    Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    stages = list(Stage.objects.filter(pipeline_id=stage.pipeline_id).order_by("position", "id"))
    stages = position_move(stages, pk=stage.pk, offset=offset)
    return next(s for s in stages if s.pk == stage.pk)


@transaction.atomic
def stage_delete(*, actor: User, stage: Stage) -> None:
    """Delete a stage no deal is in nor has passed through (else deactivate it)."""
    _check_admin(actor)
    Pipeline.objects.select_for_update().get(pk=stage.pipeline_id)
    if stage_deal_count(stage):
        raise ValidationError(_("Deals are in this stage: move them before deleting it."))
    if (
        StageChange.objects.filter(to_stage=stage).exists()
        or StageChange.objects.filter(from_stage=stage).exists()
    ):
        raise ValidationError(
            _("Deals have passed through this stage and reports need it: deactivate it instead.")
        )
    pipeline = stage.pipeline
    stage.delete()
    _check_kinds(pipeline)
