import factory

from crm.customers.tests.factories import AccountFactory
from crm.sales.models import Opportunity


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Opportunity

    title = factory.Sequence(lambda n: f"Oportunidad {n}")
    account = factory.SubFactory(AccountFactory)
    owner = factory.LazyAttribute(lambda o: o.account.owner)
    team = factory.LazyAttribute(lambda o: o.owner.team)
