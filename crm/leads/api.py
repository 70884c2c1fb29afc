"""Leads, assignment rules and disqualification reasons over REST.

Thin serializers around the pages' services and selectors: input serializers only check types
and turn ids into objects; every rule lives in `crm.leads.services`. Reads go through
`crm.leads.selectors`, so a lead outside the user's scope answers 404, and the list uses the
page's `LeadFilter`.
"""

from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.fields import NamedChoiceField, ProvinceField
from crm.api.helpers import validated
from crm.api.permissions import IsAdministrator
from crm.core.selectors import channel_list, sector_list
from crm.customers import selectors as customer_selectors
from crm.customers.api import duplicates_response
from crm.customers.models import SizeSegment
from crm.customers.services import DuplicatesFound
from crm.leads import selectors, services
from crm.leads.filters import LeadFilter
from crm.leads.models import (
    AssignmentRule,
    AssignmentTarget,
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadStatus,
)
from crm.users.models import Team, User

# Choices with a name of their own in the schema


def _status(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="LeadStatus", choices=LeadStatus.choices, **kwargs)


def _target(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(
        enum_name="AssignmentTarget", choices=AssignmentTarget.choices, **kwargs
    )


def _size(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="SizeSegment", choices=SizeSegment.choices, **kwargs)


# Output


class LeadSerializer(serializers.ModelSerializer):
    province = ProvinceField(read_only=True)
    status = _status(read_only=True)
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "display_name",
            "first_name",
            "last_name",
            "company",
            "position",
            "email",
            "phone",
            "mobile",
            "nif",
            "province",
            "city",
            "sector",
            "size_segment",
            "channel",
            "campaign",
            "products_of_interest",
            "status",
            "disqualify_reason",
            "score",
            "owner",
            "team",
            "assignment_rule",
            "notes",
            "lead_import",
            "web_form",
            "converted_account",
            "converted_contact",
            "converted_opportunity",
            "converted_at",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "phone": {"help_text": "E.164, for example +34910123456."},
            "mobile": {"help_text": "E.164, for example +34600123456."},
            "assignment_rule": {"help_text": "The assignment rule that gave it its owner."},
        }


class LeadEventSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(
        enum_name="LeadEventKind", choices=LeadEventKind.choices, read_only=True
    )
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        read_only=True,
        help_text="{field: [old value, new value]} as shown to people.",
    )

    class Meta:
        model = LeadEvent
        fields = ["id", "kind", "actor", "created_at", "changes", "body"]
        read_only_fields = fields


class LeadDuplicateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text='"lead", "account" or "contact".')


class LeadDuplicatesSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    duplicates = LeadDuplicateSerializer(many=True)
    hidden = serializers.IntegerField(help_text="Matches outside your scope, counted only.")
    hint = serializers.CharField()


class ConversionSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    contact = serializers.IntegerField(allow_null=True)
    opportunity = serializers.IntegerField(allow_null=True)
    lead = LeadSerializer()


class BulkResultSerializer(serializers.Serializer):
    changed = serializers.IntegerField()
    refused = serializers.IntegerField(
        help_text="Leads you see but may not change this way (converted, not yours to give)."
    )
    not_found = serializers.IntegerField(help_text="Ids that are unknown or outside your scope.")


class DisqualifyReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = DisqualifyReason
        fields = ["id", "name", "position", "is_active"]
        read_only_fields = fields


class AssignmentRuleSerializer(serializers.ModelSerializer):
    provinces = serializers.ListField(child=ProvinceField(), read_only=True)
    size_segments = serializers.ListField(child=_size(), read_only=True)
    target = _target(read_only=True)

    class Meta:
        model = AssignmentRule
        fields = [
            "id",
            "name",
            "position",
            "is_active",
            "channels",
            "provinces",
            "sectors",
            "size_segments",
            "min_score",
            "product_contains",
            "text_contains",
            "target",
            "target_user",
            "target_team",
            "last_assigned",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "last_assigned": {"help_text": "Round robin: the member who got the last lead."}
        }


class AssignmentPreviewSerializer(serializers.Serializer):
    rule = serializers.IntegerField(allow_null=True, help_text="null: no rule takes it.")
    rule_name = serializers.CharField(allow_blank=True)
    owner = serializers.IntegerField(allow_null=True, help_text="null: it stays unassigned.")
    owner_name = serializers.CharField(allow_blank=True)


# Input


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class LeadFieldsSerializer(serializers.Serializer):
    """A lead's data, as a sample for the assignment preview (no owner)."""

    first_name = _text()
    last_name = _text()
    company = _text()
    position = _text()
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = _text(help_text="Spanish numbers without prefix; others with +. Stored as E.164.")
    mobile = _text(help_text="Spanish numbers without prefix; others with +. Stored as E.164.")
    nif = _text(help_text="Spanish NIF, CIF or NIE, for example B12345674.")
    province = ProvinceField(required=False)
    city = _text()
    sector = serializers.PrimaryKeyRelatedField(
        queryset=sector_list(), required=False, allow_null=True
    )
    size_segment = serializers.ChoiceField(
        choices=SizeSegment.choices, required=False, allow_blank=True
    )
    channel = serializers.PrimaryKeyRelatedField(
        queryset=channel_list(), required=False, allow_null=True
    )
    campaign = _text()
    products_of_interest = _text()
    score = serializers.IntegerField(required=False, help_text="0 to 100.")
    notes = _text()


class LeadUpdateSerializer(LeadFieldsSerializer):
    """The fields of a lead; fields left out keep their value (on PUT too). Its status moves
    through /status/ and /convert/."""

    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="On create, left out or null: the assignment rules choose.",
    )


class LeadCreateSerializer(LeadUpdateSerializer):
    allow_duplicates = serializers.BooleanField(
        default=False,
        help_text="Create it even if a lead, account or contact has the same NIF, e-mail or phone.",
    )


class LeadStatusChangeSerializer(serializers.Serializer):
    status = _status()
    reason = serializers.PrimaryKeyRelatedField(
        queryset=DisqualifyReason.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Needed to disqualify: a /disqualify-reasons/ id.",
    )
    note = _text()


class LeadNoteSerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


@extend_schema_field(OpenApiTypes.INT)
class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    """An account id the user can see; any other id reads as nonexistent."""

    def get_queryset(self):
        return customer_selectors.account_list_for_user(user=self.context["request"].user)


class LeadConvertSerializer(serializers.Serializer):
    account = VisibleAccountField(
        required=False,
        allow_null=True,
        help_text="Attach it to this existing account; left out: a new account from its data.",
    )
    create_contact = serializers.BooleanField(default=True)
    create_opportunity = serializers.BooleanField(default=False)
    opportunity_title = _text()
    opportunity_amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        allow_null=True,
        coerce_to_string=True,
        help_text='Euros as a decimal string, for example "1234.50".',
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class BulkAction:
    ASSIGN = "assign"
    STATUS = "status"
    DELETE = "delete"
    CHOICES = [(ASSIGN, "assign"), (STATUS, "status"), (DELETE, "delete")]


class LeadBulkSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=1000
    )
    action = NamedChoiceField(enum_name="LeadBulkAction", choices=BulkAction.CHOICES)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text='For "assign".',
    )
    status = _status(required=False, help_text='For "status".')
    reason = serializers.PrimaryKeyRelatedField(
        queryset=DisqualifyReason.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text='For "status" disqualified.',
    )

    def validate(self, attrs):
        needed = {BulkAction.ASSIGN: "owner", BulkAction.STATUS: "status"}.get(attrs["action"])
        if needed and attrs.get(needed) is None:
            raise serializers.ValidationError({needed: _("This field is required.")})
        return attrs


class AssignmentRuleInputSerializer(serializers.Serializer):
    """An assignment rule; on PATCH, fields left out keep their value. Empty conditions
    match any lead; a list condition matches any of its values."""

    name = serializers.CharField()
    is_active = serializers.BooleanField(required=False)
    channels = serializers.PrimaryKeyRelatedField(
        queryset=channel_list(), many=True, required=False
    )
    provinces = serializers.ListField(child=ProvinceField(allow_blank=False), required=False)
    sectors = serializers.PrimaryKeyRelatedField(queryset=sector_list(), many=True, required=False)
    size_segments = serializers.ListField(child=_size(), required=False)
    min_score = serializers.IntegerField(required=False, allow_null=True, help_text="0 to 100.")
    product_contains = _text()
    text_contains = _text()
    target = _target(required=False)
    target_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text='For target "user".',
    )
    target_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text='For "round_robin" and "least_loaded".',
    )


class AssignmentRuleMoveSerializer(serializers.Serializer):
    offset = serializers.IntegerField(help_text="-1 moves it up one place, 1 down one place.")


# Views

DUPLICATES = OpenApiResponse(
    LeadDuplicatesSerializer,
    description="Other records have the same NIF, e-mail or phone; nothing was created.",
)
BAD_INPUT = OpenApiResponse(description="Invalid input: errors by field; nothing was saved.")
NOT_FOUND = OpenApiResponse(description="No such lead in your scope.")
FORBIDDEN = OpenApiResponse(description="Only admins, its owner or their manager may delete it.")
ADMINS_ONLY = OpenApiResponse(description="You are not an administrator.")
READ_ONLY = OpenApiResponse(
    description="Invalid input, or the lead is converted and read-only; nothing was saved."
)


def _user_name(user: User | None) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _with_api_channel(data: dict[str, Any]) -> dict[str, Any]:
    """A lead that arrives through the API without a channel comes from the "API" channel."""
    if data.get("channel") is None:
        data["channel"] = services.channel_named("API")
    return data


@extend_schema_view(
    list=extend_schema(summary="Leads you can see, filtered and paginated"),
    retrieve=extend_schema(summary="One lead", responses={200: LeadSerializer, 404: NOT_FOUND}),
    create=extend_schema(
        summary="Create a lead (without an owner, the assignment rules choose one)",
        request=LeadCreateSerializer,
        responses={201: LeadSerializer, 400: BAD_INPUT, 409: DUPLICATES},
    ),
    update=extend_schema(
        summary="Change a lead",
        request=LeadUpdateSerializer,
        responses={200: LeadSerializer, 400: READ_ONLY, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a lead",
        request=LeadUpdateSerializer,
        responses={200: LeadSerializer, 400: READ_ONLY, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a lead with its timeline",
        responses={204: None, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["leads"])
class LeadViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Leads. A converted lead is read-only and links to the account, contact and opportunity
    it became."""

    serializer_class = LeadSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = LeadFilter
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.lead_list_for_user(user=self.request.user)

    def get_object(self) -> Lead:
        lead = selectors.lead_get_for_user(user=self.request.user, lead_id=int(self.kwargs["pk"]))
        self.check_object_permissions(self.request, lead)
        return lead

    def create(self, request):
        data = validated(LeadCreateSerializer, request)
        allow_duplicates = data.pop("allow_duplicates")
        try:
            lead = services.lead_create(
                actor=request.user,
                fields=_with_api_channel(data),
                allow_duplicates=allow_duplicates,
            )
        except DuplicatesFound as exc:
            return duplicates_response(exc.duplicates)
        return Response(LeadSerializer(lead).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def perform_destroy(self, instance: Lead) -> None:
        services.lead_delete(actor=self.request.user, lead=instance)

    def _update(self, request, *, partial: bool) -> Response:
        lead = self.get_object()
        data = validated(LeadUpdateSerializer, request, partial=partial)
        lead = services.lead_update(actor=request.user, lead=lead, fields=data)
        return Response(LeadSerializer(lead).data)

    @extend_schema(
        summary="Move a lead to new, contacted, qualified or disqualified (with a reason)",
        request=LeadStatusChangeSerializer,
        responses={200: LeadSerializer, 400: READ_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        lead = self.get_object()
        data = validated(LeadStatusChangeSerializer, request)
        lead = services.lead_change_status(
            actor=request.user,
            lead=lead,
            status=data["status"],
            reason=data.get("reason"),
            note=data.get("note", ""),
        )
        return Response(LeadSerializer(lead).data)

    @extend_schema(
        summary="Add a note to a lead's timeline",
        request=LeadNoteSerializer,
        responses={201: LeadEventSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        lead = self.get_object()
        data = validated(LeadNoteSerializer, request)
        event = services.lead_note_add(actor=request.user, lead=lead, body=data["body"])
        return Response(LeadEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="A lead's timeline, newest first",
        responses={200: LeadEventSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request, pk=None):
        lead = self.get_object()
        page = self.paginate_queryset(lead.events.select_related("actor"))
        return self.get_paginated_response(LeadEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Convert a lead into an account, a contact and optionally an opportunity",
        request=LeadConvertSerializer,
        responses={200: ConversionSerializer, 400: READ_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def convert(self, request, pk=None):
        lead = self.get_object()
        data = validated(LeadConvertSerializer, request)
        conversion = services.lead_convert(
            actor=request.user,
            lead=lead,
            account=data.get("account"),
            create_contact=data["create_contact"],
            create_opportunity=data["create_opportunity"],
            opportunity_title=data.get("opportunity_title", ""),
            opportunity_amount=data.get("opportunity_amount"),
            expected_close_date=data.get("expected_close_date"),
        )
        lead = selectors.lead_get_for_user(user=request.user, lead_id=lead.pk)
        body = {
            "account": conversion.account.pk,
            "contact": conversion.contact.pk if conversion.contact else None,
            "opportunity": conversion.opportunity.pk if conversion.opportunity else None,
            "lead": LeadSerializer(lead).data,
        }
        return Response(body)

    @extend_schema(
        summary="Assign, change the status of, or delete several leads at once (all or nothing)",
        request=LeadBulkSerializer,
        responses={200: BulkResultSerializer, 400: BAD_INPUT},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def bulk(self, request):
        data = validated(LeadBulkSerializer, request)
        ids = set(data["ids"])
        leads = selectors.lead_list_for_user(user=request.user).filter(pk__in=ids)
        with transaction.atomic():
            found = leads.count()
            if data["action"] == BulkAction.ASSIGN:
                result = services.lead_bulk_assign(
                    actor=request.user, leads=leads, owner=data["owner"]
                )
            elif data["action"] == BulkAction.STATUS:
                result = services.lead_bulk_change_status(
                    actor=request.user,
                    leads=leads,
                    status=data["status"],
                    reason=data.get("reason"),
                )
            else:
                result = services.lead_bulk_delete(actor=request.user, leads=leads)
        body = {"changed": result.changed, "refused": result.refused, "not_found": len(ids) - found}
        return Response(body)


@extend_schema_view(
    list=extend_schema(
        summary="Assignment rules in the order they are tried (administrators only)",
        responses={200: AssignmentRuleSerializer(many=True), 403: ADMINS_ONLY},
    ),
    retrieve=extend_schema(
        summary="One assignment rule",
        responses={200: AssignmentRuleSerializer, 403: ADMINS_ONLY, 404: NOT_FOUND},
    ),
    create=extend_schema(
        summary="Add an assignment rule at the end of the list",
        request=AssignmentRuleInputSerializer,
        responses={201: AssignmentRuleSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY},
    ),
    update=extend_schema(
        summary="Change an assignment rule",
        request=AssignmentRuleInputSerializer,
        responses={
            200: AssignmentRuleSerializer,
            400: BAD_INPUT,
            403: ADMINS_ONLY,
            404: NOT_FOUND,
        },
    ),
    partial_update=extend_schema(
        summary="Change some fields of an assignment rule",
        request=AssignmentRuleInputSerializer,
        responses={
            200: AssignmentRuleSerializer,
            400: BAD_INPUT,
            403: ADMINS_ONLY,
            404: NOT_FOUND,
        },
    ),
    destroy=extend_schema(
        summary="Delete an assignment rule",
        responses={204: None, 403: ADMINS_ONLY, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["assignment rules"])
class AssignmentRuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The ordered rules that give new leads an owner: the first active one that matches wins."""

    serializer_class = AssignmentRuleSerializer
    permission_classes = [permissions.IsAuthenticated, IsAdministrator]
    filter_backends: list = []
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.assignment_rule_list()

    def get_object(self) -> AssignmentRule:
        rule = get_object_or_404(self.get_queryset(), pk=int(self.kwargs["pk"]))
        self.check_object_permissions(self.request, rule)
        return rule

    def create(self, request):
        data = validated(AssignmentRuleInputSerializer, request)
        rule = self._save(data, rule=None)
        return Response(self._out(rule), status=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def perform_destroy(self, instance: AssignmentRule) -> None:
        services.assignment_rule_delete(actor=self.request.user, rule=instance)

    def _update(self, request, *, partial: bool) -> Response:
        rule = self.get_object()
        data = validated(AssignmentRuleInputSerializer, request, partial=partial)
        rule = self._save(data, rule=rule)
        return Response(self._out(rule))

    def _save(self, data: dict[str, Any], *, rule: AssignmentRule | None) -> AssignmentRule:
        channels = data.pop("channels", None)
        sectors = data.pop("sectors", None)
        if rule is not None:
            # Left out: unchanged (the service sets both lists every time).
            channels = list(rule.channels.all()) if channels is None else channels
            sectors = list(rule.sectors.all()) if sectors is None else sectors
        return services.assignment_rule_save(
            actor=self.request.user,
            fields=data,
            channels=channels or (),
            sectors=sectors or (),
            rule=rule,
        )

    def _out(self, rule: AssignmentRule) -> dict:
        return AssignmentRuleSerializer(self.get_queryset().get(pk=rule.pk)).data

    @extend_schema(
        summary="Move a rule up or down in the order in which rules are tried",
        request=AssignmentRuleMoveSerializer,
        responses={200: AssignmentRuleSerializer, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        rule = self.get_object()
        data = validated(AssignmentRuleMoveSerializer, request)
        services.assignment_rule_move(actor=request.user, rule=rule, offset=data["offset"])
        return Response(self._out(rule))

    @extend_schema(
        summary="Try the rules on a sample lead: which rule takes it and who would get it",
        description="Nothing changes: no lead is created and no round-robin turn is taken.",
        request=LeadFieldsSerializer,
        responses={200: AssignmentPreviewSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY},
    )
    @action(detail=False, methods=["post"])
    def preview(self, request):
        data = validated(LeadFieldsSerializer, request)
        result = services.assignment_preview(fields=data)
        body = {
            "rule": result.rule.pk if result.rule else None,
            "rule_name": result.rule.name if result.rule else "",
            "owner": result.owner.pk if result.owner else None,
            "owner_name": _user_name(result.owner),
        }
        return Response(body)


@extend_schema_view(
    list=extend_schema(summary="Reasons to disqualify a lead"),
    retrieve=extend_schema(summary="One disqualification reason"),
)
@extend_schema(tags=["leads"])
class DisqualifyReasonViewSet(viewsets.ReadOnlyModelViewSet):
    """The list the administrator edits in the settings; `is_active=true` gives the choosable
    ones."""

    serializer_class = DisqualifyReasonSerializer
    queryset = DisqualifyReason.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["is_active"]
    lookup_value_regex = r"[0-9]{1,18}"


def register(router) -> None:
    """Register this module's viewsets on the API router."""
    router.register("leads", LeadViewSet, basename="api-lead")
    router.register("assignment-rules", AssignmentRuleViewSet, basename="api-assignment-rule")
    router.register("disqualify-reasons", DisqualifyReasonViewSet, basename="api-disqualify-reason")
