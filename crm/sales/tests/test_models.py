"""Who sees which opportunity: Opportunity.objects.visible_to."""

from django.contrib.auth.models import AnonymousUser

from crm.customers.tests.factories import AccountFactory
from crm.sales.models import Opportunity
from crm.sales.tests.factories import OpportunityFactory
from crm.users.tests.factories import TeamFactory, UserFactory


def _titles(user) -> list[str]:
    return sorted(Opportunity.objects.visible_to(user).values_list("title", flat=True))


def _opportunities(rep, manager, other_rep) -> None:
    OpportunityFactory(title="De rep", account=AccountFactory(owner=rep))
    OpportunityFactory(title="Del jefe", account=AccountFactory(owner=manager))
    OpportunityFactory(title="Ajena", account=AccountFactory(owner=other_rep))


def test_an_admin_sees_every_opportunity(admin, rep, manager, other_rep):
    # given
    _opportunities(rep, manager, other_rep)
    # when / then
    assert _titles(admin) == ["Ajena", "De rep", "Del jefe"]


def test_a_superuser_counts_as_an_admin(rep, manager, other_rep):
    # given
    _opportunities(rep, manager, other_rep)
    root = UserFactory(is_superuser=True)
    # when / then
    assert _titles(root) == ["Ajena", "De rep", "Del jefe"]


def test_a_manager_sees_their_teams_opportunities(manager, rep, other_rep):
    # given
    _opportunities(rep, manager, other_rep)
    # when / then
    assert _titles(manager) == ["De rep", "Del jefe"]


def test_a_manager_sees_the_teams_they_lead_and_a_deal_filed_under_their_team(manager, other_rep):
    # given
    led = TeamFactory(manager=manager)
    member = UserFactory(team=led)
    OpportunityFactory(title="Equipo dirigido", account=AccountFactory(owner=member))
    OpportunityFactory(
        title="Archivada en su equipo",
        account=AccountFactory(owner=other_rep),
        owner=other_rep,
        team=manager.team,
    )
    OpportunityFactory(title="Ajena", account=AccountFactory(owner=other_rep))
    # when / then
    assert _titles(manager) == ["Archivada en su equipo", "Equipo dirigido"]


def test_a_rep_sees_only_their_own(rep, manager, other_rep):
    # given
    _opportunities(rep, manager, other_rep)
    # when / then
    assert _titles(rep) == ["De rep"]


def test_a_rep_sees_their_deal_on_someone_elses_account(rep, other_rep):
    # given
    OpportunityFactory(title="Mía", account=AccountFactory(owner=other_rep), owner=rep)
    # when / then
    assert _titles(rep) == ["Mía"]


def test_inactive_and_anonymous_users_see_nothing(rep, manager, other_rep):
    # given
    _opportunities(rep, manager, other_rep)
    rep.is_active = False
    rep.save()
    # when / then
    assert _titles(rep) == []
    assert _titles(AnonymousUser()) == []
    assert _titles(None) == []
