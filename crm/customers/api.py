"""Accounts and contacts over REST: thin serializers around the pages' services and selectors.

Input serializers only check types and turn ids into objects; every rule lives in
`crm.customers.services`. Reads go through `crm.customers.selectors`, so a record outside the
user's scope answers 404, and the lists use the pages' FilterSets.
"""

from typing import Any

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from crm.api.fields import ProvinceField
from crm.api.helpers import validated
from crm.core.selectors import channel_list, sector_list
from crm.customers import selectors, services
from crm.customers.filters import AccountFilter, ContactFilter
from crm.customers.models import (
    Account,
    AccountKind,
    ConsentSource,
    Contact,
    Lifecycle,
    SizeSegment,
)
from crm.customers.selectors import Duplicates
from crm.users.models import Team, User

# Output


class AccountSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    billing_province = ProvinceField(read_only=True)
    shipping_province = ProvinceField(read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "kind",
            "name",
            "nif",
            "lifecycle",
            "phone",
            "email",
            "website",
            "sector",
            "size_segment",
            "channel",
            "owner",
            "team",
            "shared_with",
            "tags",
            "notes",
            "billing_street",
            "billing_postal_code",
            "billing_city",
            "billing_province",
            "billing_country",
            "shipping_street",
            "shipping_postal_code",
            "shipping_city",
            "shipping_province",
            "shipping_country",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields
        extra_kwargs = {"phone": {"help_text": "E.164, for example +34600123456."}}


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "position",
            "email",
            "phone",
            "mobile",
            "is_primary",
            "is_active",
            "marketing_consent",
            "marketing_consent_at",
            "marketing_consent_source",
            "notes",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "phone": {"help_text": "E.164, for example +34910123456."},
            "mobile": {"help_text": "E.164, for example +34600123456."},
        }


class DuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text='"account" or "contact".')


class DuplicatesSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    duplicates = DuplicateSerializer(many=True)
    hidden = serializers.IntegerField(help_text="Matches outside your scope, counted only.")
    hint = serializers.CharField()


def duplicates_response(duplicates: Duplicates) -> Response:
    """The 409 answer: the duplicates the user may see, and how many others exist."""
    # Leads first when the duplicates come from a lead (crm.leads.selectors.LeadDuplicates).
    rows = [
        {"id": lead.pk, "name": lead.display_name, "kind": "lead"}
        for lead in getattr(duplicates, "leads", ())
    ]
    rows += [{"id": a.pk, "name": a.name, "kind": "account"} for a in duplicates.accounts]
    rows += [{"id": c.pk, "name": c.full_name, "kind": "contact"} for c in duplicates.contacts]
    body = {
        "detail": _("A record with the same NIF, e-mail or phone already exists."),
        "code": "duplicates",
        "duplicates": rows,
        "hidden": duplicates.hidden,
        "hint": _('Send "allow_duplicates": true in the body to create it anyway.'),
    }
    return Response(body, status=status.HTTP_409_CONFLICT)


# Input


def _active_users():
    return User.objects.filter(is_active=True)


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class AccountUpdateSerializer(serializers.Serializer):
    """The fields of an account; fields left out keep their value (on PUT too)."""

    kind = serializers.ChoiceField(choices=AccountKind.choices, required=False)
    name = serializers.CharField()
    nif = _text(help_text="Spanish NIF, CIF or NIE, for example B12345674.")
    lifecycle = serializers.ChoiceField(choices=Lifecycle.choices, required=False)
    phone = _text(help_text="Spanish numbers without prefix; others with +. Stored as E.164.")
    email = serializers.EmailField(required=False, allow_blank=True)
    website = serializers.URLField(required=False, allow_blank=True)
    sector = serializers.PrimaryKeyRelatedField(
        queryset=sector_list(), required=False, allow_null=True
    )
    size_segment = serializers.ChoiceField(
        choices=SizeSegment.choices, required=False, allow_blank=True
    )
    channel = serializers.PrimaryKeyRelatedField(
        queryset=channel_list(), required=False, allow_null=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=_active_users(),
        required=False,
        help_text="On create, yourself when left out.",
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="On create, the owner's team when left out.",
    )
    shared_with = serializers.PrimaryKeyRelatedField(
        queryset=_active_users(), many=True, required=False
    )
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    notes = _text()
    billing_street = _text()
    billing_postal_code = _text()
    billing_city = _text()
    billing_province = ProvinceField(required=False)
    billing_country = _text()
    shipping_street = _text()
    shipping_postal_code = _text()
    shipping_city = _text()
    shipping_province = ProvinceField(required=False)
    shipping_country = _text()


class AccountCreateSerializer(AccountUpdateSerializer):
    allow_duplicates = serializers.BooleanField(
        default=False,
        help_text="Create it even if another record has the same NIF, e-mail or phone.",
    )


@extend_schema_field(OpenApiTypes.INT)
class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    """An account id the user can see; any other id reads as nonexistent."""

    def get_queryset(self):
        return selectors.account_list_for_user(user=self.context["request"].user)


class ContactUpdateSerializer(serializers.Serializer):
    """The fields of a contact; fields left out keep their value (on PUT too)."""

    first_name = serializers.CharField()
    last_name = _text()
    position = _text()
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = _text(help_text="Spanish numbers without prefix; others with +. Stored as E.164.")
    mobile = _text(help_text="Spanish numbers without prefix; others with +. Stored as E.164.")
    is_primary = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)
    marketing_consent = serializers.BooleanField(required=False)
    marketing_consent_at = serializers.DateTimeField(required=False, allow_null=True)
    marketing_consent_source = serializers.ChoiceField(
        choices=ConsentSource.choices, required=False, allow_blank=True
    )
    notes = _text()


class ContactCreateSerializer(ContactUpdateSerializer):
    account = VisibleAccountField()
    allow_duplicates = serializers.BooleanField(
        default=False, help_text="Create it even if another record has the same e-mail or phone."
    )


def _account_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    """Split validated data into the service's fields, tags and sharing (left out: unchanged)."""
    kwargs: dict[str, Any] = {}
    for name in ("tags", "shared_with"):
        if name in data:
            kwargs[name] = data.pop(name)
    return {"fields": data, **kwargs}


# Views

DUPLICATES = OpenApiResponse(
    DuplicatesSerializer,
    description="Other records have the same NIF, e-mail or phone; nothing was created.",
)
BAD_INPUT = OpenApiResponse(description="Invalid input: errors by field; nothing was saved.")
NOT_FOUND = OpenApiResponse(description="No such record in your scope.")
FORBIDDEN = OpenApiResponse(description="Only admins, managers or the owner may delete it.")


@extend_schema_view(
    list=extend_schema(summary="Accounts you can see, filtered and paginated"),
    retrieve=extend_schema(
        summary="One account", responses={200: AccountSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create an account",
        request=AccountCreateSerializer,
        responses={201: AccountSerializer, 400: BAD_INPUT, 409: DUPLICATES},
    ),
    update=extend_schema(
        summary="Change an account",
        request=AccountUpdateSerializer,
        responses={200: AccountSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an account",
        request=AccountUpdateSerializer,
        responses={200: AccountSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete an account with its contacts and timeline",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["accounts"])
class AccountViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Accounts. DELETE erases one with its contacts (admins, managers, or its owner)."""

    serializer_class = AccountSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = AccountFilter
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.account_list_for_user(user=self.request.user)

    def get_object(self) -> Account:
        account = selectors.account_get_for_user(
            user=self.request.user, account_id=int(self.kwargs["pk"])
        )
        self.check_object_permissions(self.request, account)
        return account

    def create(self, request):
        data = validated(AccountCreateSerializer, request)
        allow_duplicates = data.pop("allow_duplicates")
        try:
            account = services.account_create(
                actor=request.user, allow_duplicates=allow_duplicates, **_account_kwargs(data)
            )
        except services.DuplicatesFound as exc:
            return duplicates_response(exc.duplicates)
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def perform_destroy(self, instance: Account) -> None:
        services.account_delete(actor=self.request.user, account=instance)

    def _update(self, request, *, partial: bool) -> Response:
        account = self.get_object()
        data = validated(AccountUpdateSerializer, request, partial=partial)
        account = services.account_update(
            actor=request.user, account=account, **_account_kwargs(data)
        )
        return Response(AccountSerializer(account).data)


@extend_schema_view(
    list=extend_schema(summary="Contacts you can see, filtered and paginated"),
    retrieve=extend_schema(
        summary="One contact", responses={200: ContactSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Add a contact to an account you can see",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer, 400: BAD_INPUT, 409: DUPLICATES},
    ),
    update=extend_schema(
        summary="Change a contact (its account cannot change)",
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a contact",
        request=ContactUpdateSerializer,
        responses={200: ContactSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a contact",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["contacts"])
class ContactViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Contacts: visible exactly when their account is."""

    serializer_class = ContactSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ContactFilter
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.contact_list_for_user(user=self.request.user)

    def get_object(self) -> Contact:
        contact = selectors.contact_get_for_user(
            user=self.request.user, contact_id=int(self.kwargs["pk"])
        )
        self.check_object_permissions(self.request, contact)
        return contact

    def create(self, request):
        data = validated(ContactCreateSerializer, request)
        account = data.pop("account")
        allow_duplicates = data.pop("allow_duplicates")
        try:
            contact = services.contact_create(
                actor=request.user, account=account, fields=data, allow_duplicates=allow_duplicates
            )
        except services.DuplicatesFound as exc:
            return duplicates_response(exc.duplicates)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def perform_destroy(self, instance: Contact) -> None:
        services.contact_delete(actor=self.request.user, contact=instance)

    def _update(self, request, *, partial: bool) -> Response:
        contact = self.get_object()
        data = validated(ContactUpdateSerializer, request, partial=partial)
        contact = services.contact_update(actor=request.user, contact=contact, fields=data)
        return Response(ContactSerializer(contact).data)
