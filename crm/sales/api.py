"""Deals, pipelines, the catalog and quotes over REST: thin serializers around the pages'
services and selectors.

Input serializers only check types and turn ids into objects (an account, contact, deal or
quote outside the user's scope reads as nonexistent); every rule lives in the services
(`crm.sales.services`, `pipeline_services`, `quotes`, `delivery`). Reads go through the
selectors, so a record outside the user's scope answers 404. Money is a decimal string.
"""

import json

import django_filters
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.fields import NamedChoiceField
from crm.api.helpers import validated
from crm.api.permissions import IsAdministrator
from crm.core.models import VatRate
from crm.core.selectors import channel_list
from crm.customers import selectors as customer_selectors
from crm.sales import delivery, pdf, pipeline_services, quote_selectors, quotes, selectors, services
from crm.sales.delivery_selectors import quote_get_for_delivery
from crm.sales.filters import MonthFilter, OpportunityFilter
from crm.sales.models import (
    LostReason,
    Opportunity,
    OpportunityEvent,
    OpportunityEventKind,
    Pipeline,
    Product,
    ProductCategory,
    ProductKind,
    Quote,
    QuoteLine,
    QuoteStatus,
    Recurrence,
    Stage,
    StageKind,
)
from crm.users.models import User

# Choices with a name of their own in the schema


def _stage_kind(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="StageKind", choices=StageKind.choices, **kwargs)


def _product_kind(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="ProductKind", choices=ProductKind.choices, **kwargs)


def _recurrence(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="Recurrence", choices=Recurrence.choices, **kwargs)


def _vat_rate(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="VatRate", choices=VatRate.choices, **kwargs)


def _quote_status(**kwargs) -> NamedChoiceField:
    return NamedChoiceField(enum_name="QuoteStatus", choices=QuoteStatus.choices, **kwargs)


def _money(**kwargs) -> serializers.DecimalField:
    kwargs.setdefault("help_text", 'Euros as a decimal string, for example "1234.50".')
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


# Output


class StageSerializer(serializers.ModelSerializer):
    kind = _stage_kind(read_only=True)

    class Meta:
        model = Stage
        fields = ["id", "name", "position", "probability", "kind", "is_active"]
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True, help_text="In the pipeline's order.")

    class Meta:
        model = Pipeline
        fields = ["id", "name", "position", "is_default", "is_active", "stages"]
        read_only_fields = fields


class ChoiceListSerializer(serializers.Serializer):
    """A value of a list the administrator edits in the settings."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)


class LostReasonSerializer(ChoiceListSerializer):
    pass


class ProductCategorySerializer(ChoiceListSerializer):
    pass


class OpportunitySerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    stage_kind = _stage_kind(source="stage.kind", read_only=True)
    amount = _money(read_only=True, allow_null=True)
    weighted_amount = _money(
        read_only=True, help_text="Amount × probability, in euros as a decimal string."
    )

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "title",
            "account",
            "account_name",
            "contact",
            "owner",
            "team",
            "channel",
            "pipeline",
            "stage",
            "stage_name",
            "stage_kind",
            "amount",
            "expected_close_date",
            "probability",
            "probability_overridden",
            "weighted_amount",
            "next_step",
            "products_of_interest",
            "lost_reason",
            "lost_note",
            "closed_at",
            "stage_changed_at",
            "version",
            "created_at",
            "updated_at",
            "created_by",
            "updated_by",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "version": {"help_text": "Send it back with a change: a stale one answers 409."},
            "probability_overridden": {"help_text": "False: the probability is the stage's."},
        }


class OpportunityEventSerializer(serializers.ModelSerializer):
    kind = NamedChoiceField(
        enum_name="OpportunityEventKind", choices=OpportunityEventKind.choices, read_only=True
    )
    changes = serializers.JSONField(
        read_only=True,
        help_text="{field: [old value, new value]} as shown to people; a quote event names "
        "its quote as {quote: id}.",
    )

    class Meta:
        model = OpportunityEvent
        fields = ["id", "kind", "actor", "created_at", "changes", "body"]
        read_only_fields = fields


class StageStaySerializer(serializers.Serializer):
    from_stage = serializers.IntegerField(allow_null=True, help_text="null: the deal began here.")
    from_stage_name = serializers.CharField(allow_blank=True)
    to_stage = serializers.IntegerField()
    to_stage_name = serializers.CharField()
    actor = serializers.IntegerField(allow_null=True)
    changed_at = serializers.DateTimeField()
    left_at = serializers.DateTimeField(allow_null=True, help_text="null: still in this stage.")
    seconds_in_stage = serializers.IntegerField(help_text="Until it left, or until now.")
    days_in_stage = serializers.IntegerField()


class ConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    current = OpportunitySerializer(help_text="The deal as it is stored now.")


class ProductSerializer(serializers.ModelSerializer):
    kind = _product_kind(read_only=True)
    category_name = serializers.CharField(
        source="category.name", read_only=True, allow_null=True, default=None
    )
    unit_price = _money(read_only=True, help_text="Before VAT, in euros as a decimal string.")
    vat_rate = _vat_rate(read_only=True)
    recurrence = _recurrence(read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "description",
            "kind",
            "category",
            "category_name",
            "unit",
            "unit_price",
            "vat_rate",
            "recurrence",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class QuoteLineSerializer(serializers.ModelSerializer):
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, read_only=True)
    unit_price = _money(read_only=True)
    discount_percent = serializers.DecimalField(max_digits=5, decimal_places=2, read_only=True)
    vat_rate = _vat_rate(read_only=True)
    recurrence = _recurrence(read_only=True)
    base = _money(read_only=True, help_text="Quantity × unit price − discount, to the cent.")

    class Meta:
        model = QuoteLine
        fields = [
            "id",
            "position",
            "product",
            "description",
            "quantity",
            "unit",
            "unit_price",
            "discount_percent",
            "vat_rate",
            "recurrence",
            "base",
        ]
        read_only_fields = fields


class QuoteSerializer(serializers.ModelSerializer):
    status = _quote_status(read_only=True)
    display_number = serializers.CharField(read_only=True)
    subtotal = _money(read_only=True, help_text="Sum of the bases before VAT.")
    tax_total = _money(read_only=True, help_text="VAT, computed per rate.")
    total = _money(read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id",
            "opportunity",
            "contact",
            "title",
            "number",
            "version",
            "display_number",
            "previous",
            "status",
            "issue_date",
            "valid_until",
            "term_months",
            "notes",
            "subtotal",
            "tax_total",
            "total",
            "sent_at",
            "answered_at",
            "answered_by_name",
            "answered_ip",
            "answer_note",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "number": {"help_text": "P-<year>-NNNN, given when it is first sent; blank before."},
            "previous": {"help_text": "The version this one revises."},
        }


class VatGroupSerializer(serializers.Serializer):
    rate = _vat_rate()
    percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    base = _money()
    tax = _money(help_text="VAT (cuota) on the base at this rate.")


class RecurringValueSerializer(serializers.Serializer):
    one_off = _money(help_text="One-off lines, once.")
    monthly = _money(help_text="Monthly value of the recurring lines.")
    yearly = _money(help_text="Yearly value of the recurring lines.")
    term_months = serializers.IntegerField()
    term_total = _money(help_text="One-off lines plus the recurring ones over the whole term.")


class QuoteDetailSerializer(QuoteSerializer):
    lines = serializers.SerializerMethodField()
    taxes = serializers.SerializerMethodField(help_text="Base and VAT per VAT rate.")
    recurring = serializers.SerializerMethodField(help_text="Before VAT.")
    has_recurring = serializers.SerializerMethodField()

    class Meta(QuoteSerializer.Meta):
        fields = [*QuoteSerializer.Meta.fields, "lines", "taxes", "recurring", "has_recurring"]
        read_only_fields = fields

    def _figures(self, quote: Quote) -> quote_selectors.QuoteFigures:
        cache = self.context.setdefault("figures", {})
        if quote.pk not in cache:
            lines = quote_selectors.quote_lines(quote=quote)
            cache[quote.pk] = (lines, quote_selectors.quote_figures(quote=quote, lines=lines))
        return cache[quote.pk]

    @extend_schema_field(QuoteLineSerializer(many=True))
    def get_lines(self, quote: Quote) -> list:
        return QuoteLineSerializer(self._figures(quote)[0], many=True).data

    @extend_schema_field(VatGroupSerializer(many=True))
    def get_taxes(self, quote: Quote) -> list:
        return VatGroupSerializer(self._figures(quote)[1].totals.groups, many=True).data

    @extend_schema_field(RecurringValueSerializer)
    def get_recurring(self, quote: Quote) -> dict:
        return RecurringValueSerializer(self._figures(quote)[1].recurring).data

    def get_has_recurring(self, quote: Quote) -> bool:
        return self._figures(quote)[1].has_recurring


# Input


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


@extend_schema_field(OpenApiTypes.INT)
class VisibleAccountField(serializers.PrimaryKeyRelatedField):
    """An account id the user can see; any other id reads as nonexistent."""

    def get_queryset(self):
        return customer_selectors.account_list_for_user(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleContactField(serializers.PrimaryKeyRelatedField):
    """A contact id the user can see (its account is visible); any other reads as nonexistent."""

    def get_queryset(self):
        return customer_selectors.contact_list_for_user(user=self.context["request"].user)


@extend_schema_field(OpenApiTypes.INT)
class VisibleOpportunityField(serializers.PrimaryKeyRelatedField):
    """A deal id the user can see; any other id reads as nonexistent."""

    def get_queryset(self):
        return Opportunity.objects.visible_to(self.context["request"].user)


class OpportunityUpdateSerializer(serializers.Serializer):
    """The fields of a deal; fields left out keep their value. Its stage moves through
    /move/."""

    version = serializers.IntegerField(
        help_text="The version you read: if someone saved the deal since, nothing is saved (409)."
    )
    title = serializers.CharField(required=False)
    contact = VisibleContactField(required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False
    )
    channel = serializers.PrimaryKeyRelatedField(
        queryset=channel_list(), required=False, allow_null=True
    )
    amount = _money(required=False, allow_null=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    probability = serializers.IntegerField(
        required=False, allow_null=True, help_text="0 to 100; null: the stage's."
    )
    next_step = _text()
    products_of_interest = _text()


class OpportunityCreateSerializer(serializers.Serializer):
    title = serializers.CharField()
    account = VisibleAccountField()
    contact = VisibleContactField(required=False, allow_null=True)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="Left out: the account's owner.",
    )
    channel = serializers.PrimaryKeyRelatedField(
        queryset=channel_list(), required=False, allow_null=True
    )
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.filter(is_active=True),
        required=False,
        help_text="Left out: the stage's pipeline, else the default pipeline.",
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.filter(
            kind=StageKind.OPEN, is_active=True, pipeline__is_active=True
        ),
        required=False,
        help_text="An open stage; left out: the pipeline's first.",
    )
    amount = _money(required=False, allow_null=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    probability = serializers.IntegerField(
        required=False, allow_null=True, help_text="0 to 100; left out: the stage's."
    )
    next_step = _text()
    products_of_interest = _text()


class OpportunityMoveSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.filter(is_active=True), help_text="A stage of the deal's pipeline."
    )
    lost_reason = serializers.PrimaryKeyRelatedField(
        queryset=LostReason.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Needed for a lost or cancelled stage: a /lost-reasons/ id.",
    )
    lost_note = _text(max_length=500)
    version = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The version you read: if someone saved the deal since, it is not moved (409).",
    )


class NoteSerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)


class PipelineInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    is_active = serializers.BooleanField(required=False)


class StageInputSerializer(serializers.Serializer):
    name = serializers.CharField()
    probability = serializers.IntegerField(required=False, help_text="0 to 100.")
    kind = _stage_kind(required=False)
    is_active = serializers.BooleanField(required=False)


class MoveOffsetSerializer(serializers.Serializer):
    offset = serializers.IntegerField(help_text="-1 moves it up one place, 1 down one place.")


class ProductInputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = _text()
    kind = _product_kind(required=False)
    category = serializers.PrimaryKeyRelatedField(
        queryset=ProductCategory.objects.all(), required=False, allow_null=True
    )
    unit = serializers.CharField(required=False)
    unit_price = _money(help_text="Before VAT, in euros as a decimal string.")
    vat_rate = _vat_rate(required=False)
    recurrence = _recurrence(required=False)
    is_active = serializers.BooleanField(required=False)


class QuoteUpdateSerializer(serializers.Serializer):
    """A draft's header; fields left out keep their value."""

    contact = VisibleContactField(
        required=False, allow_null=True, help_text="A person of the deal's account."
    )
    title = _text()
    issue_date = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False)
    term_months = serializers.IntegerField(
        required=False, help_text="For recurring services: how long the contract runs (1-120)."
    )
    notes = _text()


class QuoteCreateSerializer(QuoteUpdateSerializer):
    opportunity = VisibleOpportunityField()


class QuoteLineUpdateSerializer(serializers.Serializer):
    description = serializers.CharField(required=False)
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, required=False)
    unit = _text()
    unit_price = _money(required=False, help_text="Before VAT, in euros as a decimal string.")
    discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, help_text="0 to 100."
    )
    vat_rate = _vat_rate(required=False)
    recurrence = _recurrence(required=False)


class QuoteLineCreateSerializer(serializers.Serializer):
    """A line from a catalog product (its name, unit, price, VAT and recurrence unless typed)
    or free text."""

    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    description = _text()
    quantity = serializers.DecimalField(
        max_digits=12, decimal_places=3, required=False, allow_null=True
    )
    unit_price = _money(required=False, allow_null=True)
    discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True
    )
    vat_rate = _vat_rate(required=False)
    recurrence = _recurrence(required=False)


class QuoteSendSerializer(serializers.Serializer):
    to = serializers.EmailField(
        required=False, allow_blank=True, help_text="Left out: the quote's contact's e-mail."
    )
    message = _text(max_length=2000, help_text="Added to the e-mail above the answer link.")


# Filters


@extend_schema_field(OpenApiTypes.STR)
class ApiMonthFilter(MonthFilter):
    """`2026-03`: deals expected to close in that month."""


class OpportunityApiFilter(OpportunityFilter):
    """The list page's filters, and the account, open/closed and a range of close dates."""

    month = ApiMonthFilter(label=gettext_lazy("Expected close month (YYYY-MM)"))
    account = django_filters.NumberFilter(field_name="account_id", label=gettext_lazy("Account"))
    open = django_filters.BooleanFilter(method="filter_open", label=gettext_lazy("Open"))
    expected_close_from = django_filters.DateFilter(
        field_name="expected_close_date",
        lookup_expr="gte",
        label=gettext_lazy("Expected close from"),
    )
    expected_close_to = django_filters.DateFilter(
        field_name="expected_close_date", lookup_expr="lte", label=gettext_lazy("Expected close to")
    )

    class Meta(OpportunityFilter.Meta):
        fields = [*OpportunityFilter.Meta.fields, "account"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(stage__kind=StageKind.OPEN)
        return queryset.exclude(stage__kind=StageKind.OPEN)


class ProductApiFilter(django_filters.FilterSet):
    """The catalog page's filters; without `active`, only the products on sale."""

    q = django_filters.CharFilter(label=gettext_lazy("Search"))
    kind = django_filters.ChoiceFilter(choices=ProductKind.choices, label=gettext_lazy("Kind"))
    category = django_filters.ModelChoiceFilter(
        queryset=ProductCategory.objects.all(), label=gettext_lazy("Category")
    )
    active = django_filters.ChoiceFilter(
        choices=[
            ("yes", gettext_lazy("Active")),
            ("no", gettext_lazy("Inactive")),
            ("all", gettext_lazy("All")),
        ],
        label=gettext_lazy("Active"),
    )

    class Meta:
        model = Product
        fields = ["q", "kind", "category", "active"]

    def filter_queryset(self, queryset):
        return quote_selectors.product_list(filters=self.form.cleaned_data)


class QuoteApiFilter(django_filters.FilterSet):
    opportunity = django_filters.NumberFilter(
        field_name="opportunity_id", label=gettext_lazy("Opportunity")
    )
    status = django_filters.ChoiceFilter(choices=QuoteStatus.choices, label=gettext_lazy("Status"))

    class Meta:
        model = Quote
        fields = ["opportunity", "status"]


# Views

BAD_INPUT = OpenApiResponse(description="Invalid input: errors by field; nothing was saved.")
NOT_FOUND = OpenApiResponse(description="No such record in your scope.")
ADMINS_ONLY = OpenApiResponse(description="You are not an administrator.")
CONFLICT = OpenApiResponse(
    ConflictSerializer,
    description="Someone saved the deal after you read it; nothing was saved. The body holds "
    "the stored deal with its current version.",
)
DRAFT_ONLY = OpenApiResponse(
    description="Invalid input, or the quote is no longer a draft; nothing was saved."
)


def _is_write(request) -> bool:
    return request.method not in permissions.SAFE_METHODS


def conflict_response(current: Opportunity) -> Response:
    body = {
        "detail": _(
            "Someone else changed this opportunity after you read it; nothing was saved. "
            "Here it is as it is now: apply your change to it and send it again."
        ),
        "code": "conflict",
        "current": OpportunitySerializer(current).data,
    }
    return Response(body, status=status.HTTP_409_CONFLICT)


@extend_schema_view(
    list=extend_schema(summary="Opportunities you can see, filtered and paginated"),
    retrieve=extend_schema(
        summary="One opportunity", responses={200: OpportunitySerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Open an opportunity with an account you can see",
        request=OpportunityCreateSerializer,
        responses={201: OpportunitySerializer, 400: BAD_INPUT},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an opportunity (send the version you read)",
        request=OpportunityUpdateSerializer,
        responses={200: OpportunitySerializer, 400: BAD_INPUT, 404: NOT_FOUND, 409: CONFLICT},
    ),
    destroy=extend_schema(
        summary="Delete an opportunity with its history and quotes",
        responses={
            204: None,
            403: OpenApiResponse(description="Only admins, its owner or their manager."),
            404: NOT_FOUND,
        },
    ),
)
@extend_schema(tags=["opportunities"])
class OpportunityViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Deals. Their stage moves through /move/, which records the stage history."""

    serializer_class = OpportunitySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OpportunityApiFilter
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.opportunity_list_for_user(user=self.request.user)

    def get_object(self) -> Opportunity:
        opportunity = selectors.opportunity_get_for_user(
            user=self.request.user, opportunity_id=int(self.kwargs["pk"])
        )
        self.check_object_permissions(self.request, opportunity)
        return opportunity

    def _out(self, opportunity: Opportunity) -> dict:
        fresh = selectors.opportunity_get_for_user(
            user=self.request.user, opportunity_id=opportunity.pk
        )
        return OpportunitySerializer(fresh).data

    def create(self, request):
        data = validated(OpportunityCreateSerializer, request)
        pipeline = data.pop("pipeline", None)
        stage = data.pop("stage", None)
        opportunity = services.opportunity_create(
            actor=request.user, fields=data, pipeline=pipeline, stage=stage
        )
        return Response(self._out(opportunity), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        opportunity = self.get_object()
        data = validated(OpportunityUpdateSerializer, request, partial=True)
        version = data.pop("version", None)
        if version is None:
            raise serializers.ValidationError({"version": [_("This field is required.")]})
        try:
            opportunity = services.opportunity_update(
                actor=request.user, opportunity=opportunity, fields=data, expected_version=version
            )
        except services.Conflict as exc:
            return conflict_response(exc.current)
        return Response(self._out(opportunity))

    def perform_destroy(self, instance: Opportunity) -> None:
        services.opportunity_delete(actor=self.request.user, opportunity=instance)

    @extend_schema(
        summary="Move an opportunity to another stage of its pipeline",
        description="A lost or cancelled stage needs a reason; a won stage makes the account a "
        "customer. Every move is stored in the stage history.",
        request=OpportunityMoveSerializer,
        responses={200: OpportunitySerializer, 400: BAD_INPUT, 404: NOT_FOUND, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        opportunity = self.get_object()
        data = validated(OpportunityMoveSerializer, request)
        try:
            opportunity = services.opportunity_move(
                actor=request.user,
                opportunity=opportunity,
                stage=data["stage"],
                lost_reason=data.get("lost_reason"),
                lost_note=data.get("lost_note", ""),
                expected_version=data.get("version"),
            )
        except services.Conflict as exc:
            return conflict_response(exc.current)
        return Response(self._out(opportunity))

    @extend_schema(
        summary="Add a note to an opportunity's timeline",
        request=NoteSerializer,
        responses={201: OpportunityEventSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        opportunity = self.get_object()
        data = validated(NoteSerializer, request)
        event = services.opportunity_note_add(
            actor=request.user, opportunity=opportunity, body=data["body"]
        )
        return Response(OpportunityEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="An opportunity's timeline, newest first",
        responses={200: OpportunityEventSerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request, pk=None):
        opportunity = self.get_object()
        events = OpportunityEvent.objects.filter(opportunity=opportunity).select_related("actor")
        page = self.paginate_queryset(events.order_by("-created_at", "-id"))
        return self.get_paginated_response(OpportunityEventSerializer(page, many=True).data)

    @extend_schema(
        summary="Every stage an opportunity has been in, oldest first, with time in stage",
        responses={200: StageStaySerializer(many=True), 404: NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path="stage-history", filter_backends=[])
    def stage_history(self, request, pk=None):
        opportunity = self.get_object()
        stays = selectors.opportunity_stage_history(opportunity=opportunity)
        rows = []
        for index, stay in enumerate(stays):
            before = stays[index - 1].stage if index else None
            duration = stay.duration
            rows.append(
                {
                    "from_stage": before.pk if before else None,
                    "from_stage_name": before.name if before else "",
                    "to_stage": stay.stage.pk,
                    "to_stage_name": stay.stage.name,
                    "actor": stay.actor.pk if stay.actor else None,
                    "changed_at": stay.entered_at,
                    "left_at": stay.left_at,
                    "seconds_in_stage": int(duration.total_seconds()),
                    "days_in_stage": duration.days,
                }
            )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(StageStaySerializer(page, many=True).data)


def _pipeline_queryset():
    stages = Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))
    return Pipeline.objects.prefetch_related(stages).order_by("-is_default", "position", "name")


@extend_schema_view(
    list=extend_schema(summary="Pipelines, the default first, each with its ordered stages"),
    retrieve=extend_schema(
        summary="One pipeline with its stages", responses={200: PipelineSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a pipeline (with an open, a won and a lost stage to rename)",
        request=PipelineInputSerializer,
        responses={201: PipelineSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY},
    ),
    partial_update=extend_schema(
        summary="Rename, activate or deactivate a pipeline",
        request=PipelineInputSerializer,
        responses={200: PipelineSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["pipelines"])
class PipelineViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Pipelines and their stages: read by everyone, changed by administrators."""

    serializer_class = PipelineSerializer
    filter_backends: list = []
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if _is_write(self.request):
            return [permissions.IsAuthenticated(), IsAdministrator()]
        return super().get_permissions()

    def get_queryset(self):
        return _pipeline_queryset()

    def _out(self, pipeline: Pipeline) -> dict:
        return PipelineSerializer(_pipeline_queryset().get(pk=pipeline.pk)).data

    def _stage(self, pipeline: Pipeline, stage_id: str) -> Stage:
        stage = pipeline.stages.filter(pk=int(stage_id)).first()
        if stage is None:
            raise Http404
        return stage

    def create(self, request):
        data = validated(PipelineInputSerializer, request)
        pipeline = pipeline_services.pipeline_save(actor=request.user, fields=data)
        return Response(self._out(pipeline), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        pipeline = self.get_object()
        data = validated(PipelineInputSerializer, request, partial=True)
        pipeline = pipeline_services.pipeline_save(
            actor=request.user, fields=data, pipeline=pipeline
        )
        return Response(self._out(pipeline))

    @extend_schema(
        summary="Make a pipeline the default (new deals start in it)",
        request=None,
        responses={200: PipelineSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="set-default")
    def set_default(self, request, pk=None):
        pipeline = pipeline_services.pipeline_set_default(
            actor=request.user, pipeline=self.get_object()
        )
        return Response(self._out(pipeline))

    @extend_schema(
        summary="Add a stage at the end of a pipeline",
        request=StageInputSerializer,
        responses={201: PipelineSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def stages(self, request, pk=None):
        pipeline = self.get_object()
        data = validated(StageInputSerializer, request)
        pipeline_services.stage_save(actor=request.user, fields=data, pipeline=pipeline)
        return Response(self._out(pipeline), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        summary="Change a stage (one that holds deals keeps its kind and stays active)",
        request=StageInputSerializer,
        responses={200: PipelineSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Delete a stage no deal is in nor has passed through",
        request=None,
        responses={204: None, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["patch", "delete"], url_path=r"stages/(?P<stage_id>[0-9]{1,18})")
    def stage(self, request, pk=None, stage_id=None):
        pipeline = self.get_object()
        stage = self._stage(pipeline, stage_id)
        if request.method == "DELETE":
            pipeline_services.stage_delete(actor=request.user, stage=stage)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = validated(StageInputSerializer, request, partial=True)
        pipeline_services.stage_save(actor=request.user, fields=data, stage=stage)
        return Response(self._out(pipeline))

    @extend_schema(
        summary="Move a stage up or down in its pipeline's order",
        request=MoveOffsetSerializer,
        responses={200: PipelineSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path=r"stages/(?P<stage_id>[0-9]{1,18})/move")
    def stage_move(self, request, pk=None, stage_id=None):
        pipeline = self.get_object()
        stage = self._stage(pipeline, stage_id)
        data = validated(MoveOffsetSerializer, request)
        pipeline_services.stage_move(actor=request.user, stage=stage, offset=data["offset"])
        return Response(self._out(pipeline))


@extend_schema_view(
    list=extend_schema(summary="Reasons why a deal is lost or cancelled"),
    retrieve=extend_schema(summary="One lost reason"),
)
@extend_schema(tags=["pipelines"])
class LostReasonViewSet(viewsets.ReadOnlyModelViewSet):
    """The list the administrator edits in the settings; `is_active=true` gives the choosable
    ones."""

    serializer_class = LostReasonSerializer
    queryset = LostReason.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["is_active"]
    lookup_value_regex = r"[0-9]{1,18}"


@extend_schema_view(
    list=extend_schema(summary="Categories of the catalog"),
    retrieve=extend_schema(summary="One product category"),
)
@extend_schema(tags=["products"])
class ProductCategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The list the administrator edits in the settings."""

    serializer_class = ProductCategorySerializer
    queryset = ProductCategory.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["is_active"]
    lookup_value_regex = r"[0-9]{1,18}"


@extend_schema_view(
    list=extend_schema(summary="The catalog (only active products unless `active` says more)"),
    retrieve=extend_schema(
        summary="One product or service", responses={200: ProductSerializer, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Add a product or service to the catalog",
        request=ProductInputSerializer,
        responses={201: ProductSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a product (quotes already made keep their lines)",
        request=ProductInputSerializer,
        responses={200: ProductSerializer, 400: BAD_INPUT, 403: ADMINS_ONLY, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["products"])
class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Products and services: read by everyone, changed by administrators. A product is never
    deleted (quotes name it): /deactivate/ takes it off sale."""

    serializer_class = ProductSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ProductApiFilter
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_permissions(self):
        if _is_write(self.request):
            return [permissions.IsAuthenticated(), IsAdministrator()]
        return super().get_permissions()

    def get_queryset(self):
        return Product.objects.select_related("category").order_by("name", "id")

    def get_object(self) -> Product:
        product = quote_selectors.product_get(product_id=int(self.kwargs["pk"]))
        self.check_object_permissions(self.request, product)
        return product

    def create(self, request):
        data = validated(ProductInputSerializer, request)
        product = quotes.product_save(actor=request.user, fields=data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        product = self.get_object()
        data = validated(ProductInputSerializer, request, partial=True)
        product = quotes.product_save(actor=request.user, fields=data, product=product)
        return Response(ProductSerializer(product).data)

    @extend_schema(
        summary="Take a product off sale (new quotes cannot use it; old ones keep it)",
        request=None,
        responses={200: ProductSerializer, 403: ADMINS_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        product = quotes.product_deactivate(actor=request.user, product=self.get_object())
        return Response(ProductSerializer(product).data)


class PdfRenderer(renderers.BaseRenderer):
    """Lets a client ask for `Accept: application/pdf`; the PDF itself is sent as it is."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data, default=str).encode()


@extend_schema_view(
    list=extend_schema(summary="Quotes of the opportunities you can see, newest first"),
    retrieve=extend_schema(
        summary="One quote with its lines, tax breakdown and recurring value",
        responses={200: QuoteDetailSerializer, 404: NOT_FOUND},
    ),
    create=extend_schema(
        summary="Start a draft quote for an opportunity you can see",
        request=QuoteCreateSerializer,
        responses={201: QuoteDetailSerializer, 400: BAD_INPUT},
    ),
    partial_update=extend_schema(
        summary="Change a draft's header",
        request=QuoteUpdateSerializer,
        responses={200: QuoteDetailSerializer, 400: DRAFT_ONLY, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Delete a draft that was never sent",
        responses={204: None, 400: DRAFT_ONLY, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["quotes"])
class QuoteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Quotes: visible exactly when their opportunity is. Only a draft changes; revising a
    sent quote makes a new draft version with the same number."""

    serializer_class = QuoteSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = QuoteApiFilter
    lookup_value_regex = r"[0-9]{1,18}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Quote.objects.visible_to(self.request.user).order_by("-created_at", "-id")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return QuoteDetailSerializer
        return QuoteSerializer

    def get_object(self) -> Quote:
        quote = quote_selectors.quote_get_for_user(
            user=self.request.user, quote_id=int(self.kwargs["pk"])
        )
        self.check_object_permissions(self.request, quote)
        return quote

    def _out(self, quote: Quote) -> dict:
        fresh = quote_selectors.quote_get_for_user(user=self.request.user, quote_id=quote.pk)
        return QuoteDetailSerializer(fresh).data

    def create(self, request):
        data = validated(QuoteCreateSerializer, request)
        opportunity = data.pop("opportunity")
        quote = quotes.quote_create(actor=request.user, opportunity=opportunity, fields=data)
        return Response(self._out(quote), status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        quote = self.get_object()
        data = validated(QuoteUpdateSerializer, request, partial=True)
        quote = quotes.quote_update(actor=request.user, quote=quote, fields=data)
        return Response(self._out(quote))

    def perform_destroy(self, instance: Quote) -> None:
        quotes.quote_delete(actor=self.request.user, quote=instance)

    @extend_schema(
        summary="Add a line at the end of a draft",
        request=QuoteLineCreateSerializer,
        responses={201: QuoteDetailSerializer, 400: DRAFT_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def lines(self, request, pk=None):
        quote = self.get_object()
        data = validated(QuoteLineCreateSerializer, request)
        quotes.quote_line_add(
            actor=request.user,
            quote=quote,
            product=data.get("product"),
            description=data.get("description", ""),
            quantity=data.get("quantity"),
            unit_price=data.get("unit_price"),
            discount_percent=data.get("discount_percent"),
            vat_rate=data.get("vat_rate", ""),
            recurrence=data.get("recurrence", ""),
        )
        return Response(self._out(quote), status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        summary="Change a line of a draft",
        request=QuoteLineUpdateSerializer,
        responses={200: QuoteDetailSerializer, 400: DRAFT_ONLY, 404: NOT_FOUND},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a line from a draft",
        request=None,
        responses={204: None, 400: DRAFT_ONLY, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["patch", "delete"], url_path=r"lines/(?P<line_id>[0-9]{1,18})")
    def line(self, request, pk=None, line_id=None):
        line = quote_selectors.quote_line_get_for_user(
            user=request.user, quote_id=int(pk), line_id=int(line_id)
        )
        if request.method == "DELETE":
            quotes.quote_line_delete(actor=request.user, line=line)
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = validated(QuoteLineUpdateSerializer, request, partial=True)
        quotes.quote_line_update(actor=request.user, line=line, fields=data)
        return Response(self._out(line.quote))

    @extend_schema(
        summary="Revise a sent, rejected or expired quote: a new draft version, same number",
        request=None,
        responses={201: QuoteDetailSerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def revise(self, request, pk=None):
        revision = quotes.quote_revise(actor=request.user, quote=self.get_object())
        return Response(self._out(revision), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Send a draft to the customer by e-mail, with its PDF and answer link",
        description="Numbers the quote, marks it sent and moves the deal to the offered stage "
        "if it was earlier. If the mail server fails nothing changes (502).",
        request=QuoteSendSerializer,
        responses={
            200: QuoteDetailSerializer,
            400: BAD_INPUT,
            404: NOT_FOUND,
            502: OpenApiResponse(description="The e-mail could not be sent; nothing changed."),
        },
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        quote = self.get_object()
        data = validated(QuoteSendSerializer, request)
        try:
            sent = delivery.quote_send(
                actor=request.user,
                quote=quote,
                to=data.get("to", ""),
                message=data.get("message", ""),
                base_url=request.build_absolute_uri("/"),
            )
        except delivery.QuoteDeliveryError as exc:
            body = {
                "detail": _(
                    "The e-mail could not be sent (%(error)s). The quote has not been sent and "
                    "nothing was changed."
                )
                % {"error": exc},
                "code": "delivery_failed",
            }
            return Response(body, status=status.HTTP_502_BAD_GATEWAY)
        return Response(self._out(sent))

    @extend_schema(
        summary="Win the opportunity of an accepted quote",
        request=None,
        responses={200: OpportunitySerializer, 400: BAD_INPUT, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def win(self, request, pk=None):
        opportunity = delivery.quote_win_opportunity(actor=request.user, quote=self.get_object())
        fresh = selectors.opportunity_get_for_user(user=request.user, opportunity_id=opportunity.pk)
        return Response(OpportunitySerializer(fresh).data)

    @extend_schema(
        summary="The quote as a PDF",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            404: NOT_FOUND,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[],
        renderer_classes=[renderers.JSONRenderer, PdfRenderer],
    )
    def pdf(self, request, pk=None):
        quote = quote_get_for_delivery(user=request.user, quote_id=int(pk))
        response = HttpResponse(pdf.quote_pdf(quote), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{pdf.quote_pdf_filename(quote)}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


def register(router) -> None:
    """Register this module's viewsets on the API router."""
    router.register("opportunities", OpportunityViewSet, basename="api-opportunity")
    router.register("pipelines", PipelineViewSet, basename="api-pipeline")
    router.register("lost-reasons", LostReasonViewSet, basename="api-lost-reason")
    router.register("products", ProductViewSet, basename="api-product")
    router.register("product-categories", ProductCategoryViewSet, basename="api-product-category")
    router.register("quotes", QuoteViewSet, basename="api-quote")
