import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.customers.tests.factories import AccountFactory
from crm.sales.models import Pipeline, Stage
from crm.sales.pipeline_services import (
    pipeline_save,
    pipeline_set_default,
    stage_delete,
    stage_move,
    stage_save,
)
from crm.sales.services import opportunity_create, opportunity_move

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def default():
    return Pipeline.objects.get(is_default=True)


def names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position").values_list("name", flat=True))


def test_a_new_pipeline_starts_with_an_open_a_won_and_a_lost_stage(admin):
    pipeline = pipeline_save(actor=admin, fields={"name": " Alquileres "})

    assert pipeline.name == "Alquileres"
    assert pipeline.is_default is False
    assert list(pipeline.stages.order_by("position").values_list("kind", "probability")) == [
        ("open", 10),
        ("won", 100),
        ("lost", 0),
    ]


def test_only_administrators_change_pipelines(manager, default):
    with pytest.raises(PermissionDenied):
        pipeline_save(actor=manager, fields={"name": "X"})
    with pytest.raises(PermissionDenied):
        stage_save(actor=manager, pipeline=default, fields={"name": "X", "kind": "open"})
    assert Pipeline.objects.count() == 1
    assert default.stages.count() == 6


def test_set_default_moves_the_flag(admin, default):
    other = pipeline_save(actor=admin, fields={"name": "B2C"})

    pipeline_set_default(actor=admin, pipeline=other)

    assert list(Pipeline.objects.filter(is_default=True)) == [other]


def test_the_default_pipeline_cannot_be_deactivated(admin, default):
    with pytest.raises(ValidationError):
        pipeline_save(actor=admin, pipeline=default, fields={"is_active": False})
    default.refresh_from_db()
    assert default.is_active is True


def test_an_inactive_pipeline_cannot_become_the_default(admin, default):
    other = pipeline_save(actor=admin, fields={"name": "B2C", "is_active": False})
    with pytest.raises(ValidationError):
        pipeline_set_default(actor=admin, pipeline=other)
    assert Pipeline.objects.get(is_default=True) == default


def test_new_stage_goes_last_and_moves_up(admin, default):
    stage = stage_save(
        actor=admin, pipeline=default, fields={"name": "Firma", "probability": 90, "kind": "open"}
    )
    assert names(default)[-1] == "Firma"

    stage_move(actor=admin, stage=stage, offset=-1)
    stage_move(actor=admin, stage=stage, offset=-1)
    stage_move(actor=admin, stage=stage, offset=-1)

    assert names(default) == [
        "En análisis",
        "Oferta presentada",
        "En negociación",
        "Firma",
        "Ganada",
        "Perdida",
        "Cancelada",
    ]
    assert list(default.stages.order_by("position").values_list("position", flat=True)) == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
    ]


def test_moving_the_first_stage_up_changes_nothing(admin, default):
    first = default.stages.order_by("position").first()
    before = names(default)
    stage_move(actor=admin, stage=first, offset=-1)
    assert names(default) == before


def test_a_pipeline_keeps_a_won_stage(admin, default):
    won = default.stages.get(kind="won")
    with pytest.raises(ValidationError, match="no won stage"):
        stage_save(actor=admin, stage=won, fields={"kind": "open"})
    won.refresh_from_db()
    assert won.kind == "won"
    with pytest.raises(ValidationError, match="no won stage"):
        stage_save(actor=admin, stage=won, fields={"is_active": False})
    won.refresh_from_db()
    assert won.is_active is True


def test_deleting_the_last_lost_stage_is_refused(admin, default):
    stage_delete(actor=admin, stage=default.stages.get(name="Cancelada"))
    last_lost = default.stages.get(name="Perdida")
    pk = last_lost.pk
    with pytest.raises(ValidationError, match="no lost stage"):
        stage_delete(actor=admin, stage=last_lost)
    assert Stage.objects.filter(pk=pk).exists()


def test_a_stage_with_deals_is_not_deleted_deactivated_or_changed_in_kind(admin, rep, default):
    account = AccountFactory(owner=rep)
    opportunity_create(actor=rep, fields={"account": account, "title": "A"})
    first = default.stages.get(name="En análisis")

    with pytest.raises(ValidationError, match="Deals are in this stage"):
        stage_delete(actor=admin, stage=first)
    with pytest.raises(ValidationError, match="Deals are in this stage"):
        stage_save(actor=admin, stage=first, fields={"is_active": False})
    with pytest.raises(ValidationError, match="Deals are in this stage"):
        stage_save(actor=admin, stage=first, fields={"kind": "won"})
    first.refresh_from_db()
    assert (first.kind, first.is_active) == ("open", True)
    # Renaming and a new default probability are fine.
    stage_save(actor=admin, stage=first, fields={"name": "Análisis", "probability": 15})
    first.refresh_from_db()
    assert (first.name, first.probability) == ("Análisis", 15)


def test_a_stage_deals_passed_through_is_kept_for_reports(admin, rep, default):
    account = AccountFactory(owner=rep)
    deal = opportunity_create(actor=rep, fields={"account": account, "title": "A"})
    second = default.stages.get(name="Oferta presentada")
    opportunity_move(actor=rep, opportunity=deal, stage=second)
    opportunity_move(actor=rep, opportunity=deal, stage=default.stages.get(name="Ganada"))

    with pytest.raises(ValidationError, match="deactivate it instead"):
        stage_delete(actor=admin, stage=second)
    assert Stage.objects.filter(pk=second.pk).exists()


def test_duplicate_stage_name_is_reported(admin, default):
    with pytest.raises(ValidationError):
        stage_save(actor=admin, pipeline=default, fields={"name": "Ganada", "kind": "won"})
    assert default.stages.count() == 6
