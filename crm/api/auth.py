"""The API's login: a username and password give the user's token.

It goes through `django.contrib.auth.authenticate`, so django-axes counts every failure and
refuses a locked-out username or address here exactly as on the login page.
"""

from axes.helpers import get_cool_off
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import parsers, renderers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from crm.users.services import token_for


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)


class ObtainTokenView(APIView):
    """POST username and password, get the token to send as `Authorization: Token <token>`."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "token"
    parser_classes = (parsers.JSONParser, parsers.FormParser, parsers.MultiPartParser)
    renderer_classes = (renderers.JSONRenderer,)

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenObtainSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Missing fields or wrong username or password."),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many failed attempts (locked out) or too many requests.",
            ),
        },
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # Axes marks the request it is given; handing it DRF's request keeps the mark here,
        # so that this view answers in JSON instead of AxesMiddleware's HTML page.
        user = authenticate(request=request, **serializer.validated_data)
        if getattr(request, "axes_locked_out", False):
            return self._locked_out(request)
        if user is None:
            raise ValidationError(
                {"non_field_errors": [_("Unable to log in with the username and password given.")]}
            )
        # A token is the API's login: last_login, axes' access log and its reset follow it.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response({"token": token_for(user=user).key})

    def _locked_out(self, request) -> Response:
        cool_off = get_cool_off(request)
        seconds = int(cool_off.total_seconds()) if cool_off else 0
        minutes = max(1, -(-seconds // 60))
        body = {
            "detail": ngettext(
                "Too many failed login attempts. Try again in %(minutes)d minute.",
                "Too many failed login attempts. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            "code": "locked_out",
        }
        headers = {"Retry-After": str(seconds)} if seconds else {}
        return Response(body, status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)


obtain_token = ObtainTokenView.as_view()
