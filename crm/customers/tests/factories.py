import factory

from crm.customers.models import Account, AccountKind, Contact, Lifecycle
from crm.users.tests.factories import UserFactory


class AccountFactory(factory.django.DjangoModelFactory):
    """An account saved directly (tests of services build theirs through the service)."""

    class Meta:
        model = Account

    kind = AccountKind.COMPANY
    name = factory.Sequence(lambda n: f"Comercial Ejemplo {n} SL")
    lifecycle = Lifecycle.PROSPECT
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda a: a.owner.team)
    billing_city = "Madrid"
    billing_province = "28"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        account = model_class(*args, **kwargs)
        account.refresh_search_text()
        account.save()
        return account


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name", locale="es_ES")
    last_name = factory.Faker("last_name", locale="es_ES")
    email = factory.Sequence(lambda n: f"persona{n}@example.com")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        contact = model_class(*args, **kwargs)
        contact.refresh_search_text()
        contact.save()
        return contact
