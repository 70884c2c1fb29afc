"""Assignment rules: conditions, order, targets (user, round robin, least loaded), fallback."""

import threading
from collections import Counter

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.core.models import Channel, Sector
from crm.leads.assignment import Assigner, assign_one, preview
from crm.leads.models import (
    AssignmentRule,
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadSettings,
    LeadStatus,
)
from crm.leads.services import assignment_preview
from crm.leads.tests.factories import AssignmentRuleFactory, LeadFactory
from crm.users.tests.factories import TeamFactory, UserFactory


def _lead(**fields) -> Lead:
    """An unsaved lead, as the services hand it to the assigner."""
    fields.setdefault("company", "Prueba SL")
    return Lead(**fields)


def _members(team, n: int) -> list:
    return [UserFactory(team=team) for _ in range(n)]


def _round_robin(team, **fields) -> AssignmentRule:
    return AssignmentRuleFactory(
        target=AssignmentTarget.ROUND_ROBIN, target_user=None, target_team=team, **fields
    )


def _least_loaded(team, **fields) -> AssignmentRule:
    return AssignmentRuleFactory(
        target=AssignmentTarget.LEAST_LOADED, target_user=None, target_team=team, **fields
    )


def _owners(assigner: Assigner, count: int) -> list:
    return [assigner.apply(_lead()).owner for _ in range(count)]


# Conditions


@pytest.mark.parametrize(
    ("rule_fields", "matching", "other"),
    [
        ({"provinces": ["46", "12"]}, {"province": "12"}, {"province": "28"}),
        ({"size_segments": ["3-9"]}, {"size_segment": "3-9"}, {"size_segment": ""}),
        ({"min_score": 50}, {"score": 50}, {"score": 49}),
        (
            {"product_contains": "Alarmas"},
            {"products_of_interest": "cámaras y alarmas"},
            {"products_of_interest": "cámaras"},
        ),
        ({"text_contains": "feria"}, {"campaign": "Feria de Valencia"}, {"campaign": "Web"}),
        ({"text_contains": "muñoz"}, {"last_name": "MUNOZ"}, {"last_name": "Pérez"}),
        ({"text_contains": "congreso"}, {"notes": "Visto en el congreso"}, {"notes": ""}),
        ({"text_contains": "@acme"}, {"email": "ana@acme.es"}, {"email": "ana@otra.es"}),
    ],
)
def test_each_condition_kind_matches_only_its_leads(rep, rule_fields, matching, other):
    # given
    rule = AssignmentRuleFactory(target_user=rep, **rule_fields)
    assigner = Assigner()
    # when
    yes = assigner.assign(_lead(**matching))
    no = assigner.assign(_lead(**other))
    # then
    assert (yes.owner, yes.rule) == (rep, rule)
    assert (no.owner, no.rule) == (None, None)


def test_the_channel_condition_matches_any_of_its_channels(rep):
    # given
    web, fair, phone = (Channel.objects.get(name=n) for n in ["Web", "Feria", "Teléfono"])
    rule = AssignmentRuleFactory(target_user=rep)
    rule.channels.add(web, fair)
    assigner = Assigner()
    # when
    results = [assigner.assign(_lead(channel=c)).rule for c in (web, fair, phone, None)]
    # then
    assert results == [rule, rule, None, None]


def test_the_sector_condition_matches_any_of_its_sectors(rep):
    # given
    trade, health = Sector.objects.get(name="Comercio"), Sector.objects.get(name="Salud")
    rule = AssignmentRuleFactory(target_user=rep)
    rule.sectors.add(trade)
    assigner = Assigner()
    # when
    results = [assigner.assign(_lead(sector=s)).rule for s in (trade, health, None)]
    # then
    assert results == [rule, None, None]


def test_a_rule_needs_every_condition_to_match(rep):
    # given
    rule = AssignmentRuleFactory(target_user=rep, provinces=["46"], min_score=50)
    assigner = Assigner()
    # when
    both = assigner.assign(_lead(province="46", score=60)).rule
    one = assigner.assign(_lead(province="46", score=10)).rule
    # then
    assert (both, one) == (rule, None)


def test_a_rule_without_conditions_matches_every_lead(rep):
    # given
    rule = AssignmentRuleFactory(target_user=rep)
    # when
    result = Assigner().assign(_lead())
    # then
    assert (result.owner, result.rule) == (rep, rule)


# Order, inactive rules and targets


def test_the_first_matching_rule_in_order_wins(rep, manager):
    # given
    later = AssignmentRuleFactory(name="Después", target_user=rep, position=2)
    first = AssignmentRuleFactory(name="Antes", target_user=manager, position=1)
    # when
    result = Assigner().assign(_lead())
    # then
    assert (result.owner, result.rule) == (manager, first)
    assert later.leads.count() == 0


def test_inactive_rules_are_ignored(rep, manager):
    # given
    AssignmentRuleFactory(target_user=manager, position=1, is_active=False)
    active = AssignmentRuleFactory(target_user=rep, position=2)
    # when
    result = Assigner().assign(_lead())
    # then
    assert (result.owner, result.rule) == (rep, active)


def test_a_rule_whose_user_is_inactive_passes_to_the_next(rep):
    # given
    gone = UserFactory(is_active=False)
    AssignmentRuleFactory(target_user=gone, position=1)
    nxt = AssignmentRuleFactory(target_user=rep, position=2)
    # when
    result = Assigner().assign(_lead())
    # then
    assert (result.owner, result.rule) == (rep, nxt)


def test_a_team_rule_without_active_members_passes_to_the_next(rep):
    # given
    empty = TeamFactory()
    UserFactory(team=empty, is_active=False)
    _round_robin(empty, position=1)
    _least_loaded(empty, position=2)
    nxt = AssignmentRuleFactory(target_user=rep, position=3)
    # when
    result = Assigner().assign(_lead())
    # then
    assert (result.owner, result.rule) == (rep, nxt)


def test_apply_sets_owner_team_and_rule(rep):
    # given
    rule = AssignmentRuleFactory(target_user=rep)
    lead = _lead()
    # when
    Assigner().apply(lead)
    # then
    assert (lead.owner, lead.team_id, lead.assignment_rule) == (rep, rep.team_id, rule)


# Fallback


def test_no_matching_rule_gives_the_fallback_owner(rep, manager):
    # given
    AssignmentRuleFactory(target_user=rep, provinces=["28"])
    LeadSettings.objects.filter(pk=1).update(fallback_owner=manager)
    lead = _lead(province="46")
    # when
    result = Assigner().apply(lead)
    # then
    assert (result.owner, result.rule) == (manager, None)
    assert (lead.owner, lead.team_id, lead.assignment_rule) == (manager, manager.team_id, None)


def test_an_inactive_fallback_owner_leaves_the_lead_unassigned(db):
    # given
    gone = UserFactory(is_active=False)
    LeadSettings.objects.filter(pk=1).update(fallback_owner=gone)
    lead = _lead()
    # when
    result = Assigner().apply(lead)
    # then
    assert (result.owner, result.rule) == (None, None)
    assert (lead.owner, lead.team_id) == (None, None)


# Round robin


def test_round_robin_cycles_over_active_members_in_id_order(team):
    # given
    first, second, third = _members(team, 3)
    third.is_active = False
    third.save()
    fourth = UserFactory(team=team)
    UserFactory(team=TeamFactory())
    rule = _round_robin(team)
    # when
    owners = _owners(Assigner(), 5)
    # then
    assert owners == [first, second, fourth, first, second]
    assert AssignmentRule.objects.get(pk=rule.pk).last_assigned is None  # not saved yet


def test_round_robin_resumes_from_the_stored_turn_after_a_restart(team):
    # given
    first, second, third = _members(team, 3)
    rule = _round_robin(team)
    with transaction.atomic():
        assigner = Assigner()
        before = _owners(assigner, 2)
        assigner.save()
    # when: a new process, a new Assigner
    after = _owners(Assigner(), 2)
    # then
    assert before == [first, second]
    assert AssignmentRule.objects.get(pk=rule.pk).last_assigned == second
    assert after == [third, first]


def test_two_assigners_in_sequence_share_the_turn(team):
    # given
    first, second, third = _members(team, 3)
    _round_robin(team)
    owners = []
    # when
    for _ in range(4):
        with transaction.atomic():
            assigner = Assigner()
            owners.append(assigner.apply(_lead()).owner)
            assigner.save()
    # then
    assert owners == [first, second, third, first]


def test_assign_one_stores_the_turn(team):
    # given
    first, second = _members(team, 2)
    rule = _round_robin(team)
    # when
    owners = [assign_one(_lead()).owner for _ in range(3)]
    # then
    assert owners == [first, second, first]
    assert AssignmentRule.objects.get(pk=rule.pk).last_assigned == first


def test_round_robin_skips_a_stored_turn_whose_member_left(team):
    # given
    first, second, third = _members(team, 3)
    rule = _round_robin(team)
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=second)
    second.is_active = False
    second.save()
    # when
    owners = _owners(Assigner(), 2)
    # then
    assert owners == [third, first]


def test_preview_does_not_take_a_turn(team):
    # given
    first, second = _members(team, 2)
    rule = _round_robin(team)
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assigned=first)
    # when
    previews = [preview(_lead()).owner for _ in range(2)]
    service = assignment_preview(fields={"company": "X", "status": "ignored"})
    # then
    assert previews == [second, second]
    assert (service.owner, service.rule) == (second, rule)
    assert AssignmentRule.objects.get(pk=rule.pk).last_assigned == first
    assert Lead.objects.count() == 0


# Least loaded


def test_least_loaded_picks_the_member_with_fewest_open_leads(team):
    # given
    busy, calm, idle = _members(team, 3)
    LeadFactory.create_batch(2, owner=busy)
    LeadFactory(owner=calm)
    LeadFactory.create_batch(3, owner=idle, status=LeadStatus.CONVERTED)
    LeadFactory(
        owner=idle,
        status=LeadStatus.DISQUALIFIED,
        disqualify_reason=DisqualifyReason.objects.first(),
    )
    rule = _least_loaded(team)
    # when
    result = Assigner().assign(_lead())
    # then
    assert (result.owner, result.rule) == (idle, rule)


def test_least_loaded_balances_within_a_batch(team):
    # given
    busy, calm, idle = _members(team, 3)
    LeadFactory.create_batch(3, owner=busy)
    LeadFactory(owner=calm)
    _least_loaded(team)
    # when
    owners = _owners(Assigner(), 6)
    # then: ties go to the lower id
    assert owners == [idle, calm, idle, calm, idle, busy]


# Property: round robin is fair for any number of members and any batches


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    members=st.integers(min_value=1, max_value=6),
    batches=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=6),
)
def test_round_robin_counts_differ_by_at_most_one(db, members, batches):
    with transaction.atomic():
        # given
        team = TeamFactory()
        people = _members(team, members)
        AssignmentRule.objects.update(is_active=False)
        _round_robin(team)
        counts = Counter({person.pk: 0 for person in people})
        # when: each batch is a new Assigner, as after a restart
        for size in batches:
            assigner = Assigner()
            for owner in _owners(assigner, size):
                counts[owner.pk] += 1
            assigner.save()
        # then
        assert sum(counts.values()) == sum(batches)
        assert max(counts.values()) - min(counts.values()) <= 1
        transaction.set_rollback(True)


# Concurrency (PostgreSQL: SQLite serialises writers and has no row locks)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_round_robin_loses_no_turn():
    # given
    team = TeamFactory()
    people = _members(team, 3)
    rule = _round_robin(team)
    per_thread = 20
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            for _ in range(per_thread):
                with transaction.atomic():
                    lead = _lead()
                    assign_one(lead)
                    lead.refresh_search_text()
                    lead.save()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    # when
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then
    assert errors == []
    counts = Counter(Lead.objects.values_list("owner", flat=True))
    assert sum(counts.values()) == 2 * per_thread
    assert set(counts) == {person.pk for person in people}
    assert max(counts.values()) - min(counts.values()) <= 1
    assert set(Lead.objects.values_list("assignment_rule", flat=True)) == {rule.pk}
    # 40 turns over 3 members in id order: the last went to the first member
    assert AssignmentRule.objects.get(pk=rule.pk).last_assigned == people[(40 - 1) % 3]
