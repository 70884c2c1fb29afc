"""The lead import over REST: /api/v1/lead-imports/.

POST a file (multipart) with an optional mapping (JSON, by column position or header name) or
the name of a saved mapping, the duplicate choice and the sheet; without a mapping the columns
are mapped by their names. `preview=true` answers the first rows with their errors and writes
nothing; otherwise the import is queued and answered 202 with its id, to be followed with GET.
The same services as the pages do the work (crm.leads.imports).
"""

import json

from django.utils.text import slugify
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from crm.core.exports import export_response
from crm.leads import imports, selectors
from crm.leads.models import LeadImport, OnDuplicate


class LeadImportSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    mapping = serializers.DictField(child=serializers.CharField(), read_only=True)
    headers = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = LeadImport
        fields = [
            "id",
            "filename",
            "sheet",
            "encoding",
            "delimiter",
            "headers",
            "mapping",
            "on_duplicate",
            "status",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created_count",
            "updated_count",
            "skipped_count",
            "failed_count",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "undone_at",
            "undone_by",
        ]
        read_only_fields = fields


class _MappingField(serializers.JSONField):
    """A JSON object {column position or header name: lead field}; in multipart it comes as
    a JSON string."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError as exc:
                raise serializers.ValidationError(_("Give the mapping as a JSON object.")) from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise serializers.ValidationError(
                _("Give the mapping as a JSON object of column: field.")
            )
        return data


class LeadImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    sheet = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    mapping = _MappingField(
        required=False,
        default=dict,
        help_text="{column position or header name: lead field}; empty: mapped by the headers.",
    )
    mapping_name = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="A saved mapping's name."
    )
    on_duplicate = serializers.ChoiceField(choices=OnDuplicate.choices, default=OnDuplicate.SKIP)
    preview = serializers.BooleanField(
        required=False, default=False, help_text="Answer the first rows, write nothing."
    )
    save_mapping_as = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100
    )


class PreviewRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    values = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())
    duplicate = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    headers = serializers.ListField(child=serializers.CharField())
    mapping = serializers.DictField(child=serializers.CharField())
    total_rows = serializers.IntegerField()
    rows = PreviewRowSerializer(many=True)


class UndoSerializer(serializers.Serializer):
    deleted = serializers.IntegerField()
    kept_converted = serializers.IntegerField()
    lead_import = LeadImportSerializer()


class LeadImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Lead imports: yours (all of them for administrators), newest first."""

    serializer_class = LeadImportSerializer
    filter_backends: list = []
    lookup_value_regex = r"[0-9]{1,18}"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self):
        return selectors.lead_import_list_for_user(user=self.request.user)

    def get_object(self) -> LeadImport:
        lead_import = selectors.lead_import_get_for_user(
            user=self.request.user, import_id=int(self.kwargs["pk"])
        )
        self.check_object_permissions(self.request, lead_import)
        return lead_import

    @extend_schema(
        request={"multipart/form-data": LeadImportCreateSerializer},
        responses={
            200: OpenApiResponse(PreviewSerializer, description="preview=true: nothing written"),
            202: OpenApiResponse(LeadImportSerializer, description="queued"),
        },
    )
    def create(self, request):
        serializer = LeadImportCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["preview"]:
            lead_import = imports.lead_import_inspect(
                uploaded_file=data["file"], sheet=data["sheet"]
            )
            lead_import.created_by = request.user
            mapping = self._mapping(lead_import, data)
            rows = imports.lead_import_preview(lead_import=lead_import, mapping=mapping)
            body = {
                "headers": lead_import.headers,
                "mapping": mapping,
                "total_rows": lead_import.total_rows,
                "rows": [
                    {
                        "number": row.number,
                        "values": row.values,
                        "errors": row.errors,
                        "duplicate": row.duplicate,
                    }
                    for row in rows
                ],
            }
            return Response(PreviewSerializer(body).data)
        lead_import = imports.lead_import_create(
            actor=request.user, uploaded_file=data["file"], sheet=data["sheet"]
        )
        lead_import = imports.lead_import_start(
            actor=request.user,
            lead_import=lead_import,
            mapping=self._mapping(lead_import, data),
            on_duplicate=data["on_duplicate"],
            save_mapping_as=data["save_mapping_as"],
        )
        return Response(LeadImportSerializer(lead_import).data, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _mapping(lead_import: LeadImport, data: dict) -> dict[str, str]:
        mapping = imports.resolve_mapping(
            lead_import=lead_import, mapping=data["mapping"], template_name=data["mapping_name"]
        )
        return imports.clean_mapping(mapping, lead_import.headers)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY)},
        description="The rows not imported (failed or skipped) with their reason, as CSV.",
    )
    @action(detail=True, methods=["get"])
    def failures(self, request, pk=None):
        lead_import = self.get_object()
        headers, rows = imports.failure_rows(lead_import=lead_import)
        name = slugify(_("rows not imported")) + f"-{lead_import.pk}"
        return export_response(fmt="csv", filename=name, headers=headers, rows=rows)

    @extend_schema(request=None, responses={200: UndoSerializer})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Delete the leads the import created (converted ones are kept)."""
        lead_import = self.get_object()
        result = imports.lead_import_undo(actor=request.user, lead_import=lead_import)
        lead_import.refresh_from_db()
        body = {
            "deleted": result.deleted,
            "kept_converted": result.kept_converted,
            "lead_import": lead_import,
        }
        return Response(UndoSerializer(body).data)


def register(router) -> None:
    """Register this module's viewsets on the API router."""
    router.register("lead-imports", LeadImportViewSet, basename="api-lead-import")


def router_register(router) -> None:
    register(router)
