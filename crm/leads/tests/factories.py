import factory

from crm.leads.models import AssignmentRule, AssignmentTarget, Lead, LeadStatus, WebForm
from crm.users.tests.factories import UserFactory


class LeadFactory(factory.django.DjangoModelFactory):
    """A lead saved directly (tests of services build theirs through the service)."""

    class Meta:
        model = Lead

    first_name = factory.Faker("first_name", locale="es_ES")
    last_name = factory.Faker("last_name", locale="es_ES")
    company = factory.Sequence(lambda n: f"Distribuciones Ejemplo {n} SL")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    city = "Valencia"
    province = "46"
    status = LeadStatus.NEW
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda lead: lead.owner.team if lead.owner else None)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        lead = model_class(*args, **kwargs)
        lead.refresh_search_text()
        lead.save()
        return lead


class AssignmentRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentRule

    name = factory.Sequence(lambda n: f"Regla {n}")
    position = factory.Sequence(lambda n: n + 1)
    target = AssignmentTarget.USER
    target_user = factory.SubFactory(UserFactory)


class WebFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebForm

    name = factory.Sequence(lambda n: f"Formulario {n}")
    fields = ["company", "phone", "message"]
    campaign = "Web 2026"
