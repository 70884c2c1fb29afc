"""Users over REST, for administrators only: the same services as the users' settings pages.

Users are never deleted: DELETE deactivates (their token stops working at once), and
PATCH {"is_active": true} lets them in again.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.response import Response

from crm.api.helpers import validated
from crm.api.permissions import IsAdministrator
from crm.users import selectors, services
from crm.users.models import Role, Team, User


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "phone",
            "role",
            "team",
            "language",
            "is_active",
            "is_superuser",
            "last_login",
            "date_joined",
        ]
        read_only_fields = fields


class UserUpdateSerializer(serializers.Serializer):
    """A user's data; fields left out keep their value (on PUT too)."""

    username = serializers.CharField()
    first_name = serializers.CharField(required=False, allow_blank=True)
    last_name = serializers.CharField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )
    language = serializers.ChoiceField(
        choices=User._meta.get_field("language").choices, required=False
    )
    is_active = serializers.BooleanField(
        required=False, help_text="false deactivates the user, true lets them log in again."
    )


class UserCreateSerializer(UserUpdateSerializer):
    is_active = None  # a new user is active
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class ReassignSerializer(serializers.Serializer):
    reassign_to = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


BAD_INPUT = OpenApiResponse(description="Invalid input: errors by field; nothing was saved.")
FORBIDDEN = OpenApiResponse(description="You are not an administrator.")
NOT_FOUND = OpenApiResponse(description="No such user.")


@extend_schema_view(
    list=extend_schema(summary="Users (administrators only)", responses={200: UserSerializer}),
    retrieve=extend_schema(
        summary="One user", responses={200: UserSerializer, 403: FORBIDDEN, 404: NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a user with an initial password",
        request=UserCreateSerializer,
        responses={201: UserSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    update=extend_schema(
        summary="Change a user",
        request=UserUpdateSerializer,
        responses={200: UserSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a user",
        request=UserUpdateSerializer,
        responses={200: UserSerializer, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
    destroy=extend_schema(
        summary="Deactivate a user (users are never deleted)",
        description="A user with pending work (activities) needs `reassign_to`: the id of the "
        "active user who takes it over; otherwise 400 and nothing changes.",
        parameters=[
            OpenApiParameter(
                "reassign_to", int, description="Active user who takes over the pending work."
            )
        ],
        responses={204: None, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND},
    ),
)
@extend_schema(tags=["users"])
class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated, IsAdministrator]
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["role", "team", "is_active"]
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        return selectors.user_list_for_admin(actor=self.request.user)

    def get_object(self) -> User:
        user = selectors.user_get_for_admin(actor=self.request.user, user_id=int(self.kwargs["pk"]))
        self.check_object_permissions(self.request, user)
        return user

    def create(self, request):
        data = validated(UserCreateSerializer, request)
        password = data.pop("password")
        user = services.user_create(actor=request.user, fields=data, password=password)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def _update(self, request, *, partial: bool) -> Response:
        user = self.get_object()
        data = validated(UserUpdateSerializer, request, partial=partial)
        active = data.pop("is_active", None)
        user = services.user_update(actor=request.user, user=user, fields=data, active=active)
        return Response(UserSerializer(user).data)

    def destroy(self, request, pk=None):
        user = self.get_object()
        reassign_to = None
        if request.query_params.get("reassign_to"):
            form = ReassignSerializer(data=request.query_params)
            form.is_valid(raise_exception=True)
            reassign_to = form.validated_data["reassign_to"]
        services.user_set_active(
            actor=request.user, user=user, active=False, reassign_to=reassign_to
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
