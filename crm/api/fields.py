"""Serializer fields shared by the API's modules, with the schema drf-spectacular cannot guess."""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from crm.core.models import PROVINCES


class ProvinceField(serializers.ChoiceField):
    """A Spanish province by its INE code ("28" is Madrid), or blank."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        super().__init__(choices=PROVINCES, **kwargs)


class ProvinceFieldExtension(OpenApiSerializerFieldExtension):
    """Every province field points at one `Province` enum instead of one enum per field name.

    (Otherwise drf-spectacular warns that billing_province and shipping_province name the
    same choices twice.)
    """

    target_class = ProvinceField

    def map_serializer_field(self, auto_schema, direction):
        component = ResolvedComponent(
            name="Province",
            type=ResolvedComponent.SCHEMA,
            object="Province",
            schema={
                "type": "string",
                "enum": [code for code, _name in PROVINCES] + [""],
                "description": "Spanish province by its INE code, e.g. `28` Madrid; or blank.\n\n"
                + "\n".join(f"* `{code}` - {name}" for code, name in PROVINCES),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose schema is one named enum component (`LeadStatus`), so that fields
    called alike in other serializers ("status", "kind") never collide in the schema."""

    def __init__(self, *, enum_name: str, **kwargs):
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        values = [str(value) for value in field.choices]
        if field.allow_blank:
            values.append("")
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": values,
                "description": "\n".join(
                    f"* `{value}` - {label}" for value, label in field.choices.items()
                ),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref
