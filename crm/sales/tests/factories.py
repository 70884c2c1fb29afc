import factory

from crm.customers.tests.factories import AccountFactory
from crm.sales.models import Opportunity, Pipeline, Product, StageKind


def _default_pipeline():
    return Pipeline.objects.get(is_default=True)


class OpportunityFactory(factory.django.DjangoModelFactory):
    """A deal saved directly, in the first stage of the default pipeline (from the migration)."""

    class Meta:
        model = Opportunity

    title = factory.Sequence(lambda n: f"Oportunidad {n}")
    account = factory.SubFactory(AccountFactory)
    owner = factory.LazyAttribute(lambda o: o.account.owner)
    team = factory.LazyAttribute(lambda o: o.owner.team)
    pipeline = factory.LazyFunction(_default_pipeline)
    stage = factory.LazyAttribute(
        lambda o: o.pipeline.stages.filter(kind=StageKind.OPEN).order_by("position").first()
    )
    probability = factory.LazyAttribute(lambda o: o.stage.probability)


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"Producto {n}")
    unit_price = factory.Faker("pydecimal", left_digits=3, right_digits=2, positive=True)
    vat_rate = "21"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        product = model_class(*args, **kwargs)
        product.refresh_search_text()
        product.save()
        return product
