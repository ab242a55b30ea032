"""The seller API's account part: exchanging the API key for tokens, refreshing and revoking them
(accounts.tokens), and the account with its tier, limits and today's usage (accounts.limits)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from config.rest.views import SellerAPIView

from .limits import api_rate_limits, tier_usage
from .models import RevokeReason, Tier
from .security import email_verified
from .tokens import (
    IssuedTokens,
    TokenError,
    api_session_create,
    api_session_for_refresh_token,
    api_session_refresh,
    api_session_revoke,
    user_for_api_key,
)

TOKEN_TYPE = "Bearer"


class TokenRequestSerializer(serializers.Serializer):
    api_key = serializers.CharField(max_length=200, help_text="The key from Settings → API key.")
    name = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="A label to recognise the session by."
    )


class RefreshRequestSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(max_length=200)


class RevokeRequestSerializer(serializers.Serializer):
    refresh_token = serializers.CharField(
        max_length=200, required=False, help_text="Optional: also end the session this refresh token belongs to."
    )


class TokensSerializer(serializers.Serializer):
    access_token = serializers.CharField(help_text="A JWT; send it as `Authorization: Bearer …`.")
    refresh_token = serializers.CharField(help_text="Opaque; exchange it once at /api/v1/auth/refresh/.")
    token_type = serializers.ChoiceField(choices=[TOKEN_TYPE])
    expires_at = serializers.DateTimeField(help_text="When the access token ends.")
    refresh_token_expires_at = serializers.DateTimeField()
    session_id = serializers.IntegerField()


def tokens_data(issued: IssuedTokens) -> dict:
    return {
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "token_type": TOKEN_TYPE,
        "expires_at": issued.access_expires_at,
        "refresh_token_expires_at": issued.session.expires_at,
        "session_id": issued.session.pk,
    }


def _tokens_response(issued: IssuedTokens) -> Response:
    # The clear tokens must not linger in any cache.
    return Response(TokensSerializer(tokens_data(issued)).data, headers={"Cache-Control": "no-store"})


class AnonymousAPIView(SellerAPIView):
    """An endpoint a script calls before it has an access token (counted per client address)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    anonymous_allowed = True
    idempotent = False  # the answers are tokens, never stored to be replayed


class TokenView(AnonymousAPIView):
    @extend_schema(
        operation_id="auth_token",
        summary="Exchange the API key for tokens",
        request=TokenRequestSerializer,
        responses={200: TokensSerializer},
        tags=["account"],
    )
    def post(self, request):
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            user = user_for_api_key(body.validated_data["api_key"])
        except TokenError as exc:
            raise AuthenticationFailed(exc.message) from exc
        issued = api_session_create(user=user, name=body.validated_data.get("name", ""), request=request)
        return _tokens_response(issued)

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RefreshView(AnonymousAPIView):
    @extend_schema(
        operation_id="auth_refresh",
        summary="Rotate the tokens",
        description=(
            "A new access and refresh token; the refresh token sent is dead from now on. Sending a refresh "
            "token that was already replaced ends the whole session (it may have been stolen)."
        ),
        request=RefreshRequestSerializer,
        responses={200: TokensSerializer},
        tags=["account"],
    )
    def post(self, request):
        body = RefreshRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            issued = api_session_refresh(refresh_token=body.validated_data["refresh_token"], request=request)
        except TokenError as exc:
            raise AuthenticationFailed(exc.message) from exc
        return _tokens_response(issued)

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RevokeView(SellerAPIView):
    idempotent = False  # ending a session twice ends it once

    @extend_schema(
        operation_id="auth_revoke",
        summary="End this API session",
        description="Its access and refresh token stop working at once.",
        request=RevokeRequestSerializer,
        responses={204: None},
        tags=["account"],
    )
    def post(self, request):
        body = RevokeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sessions = [request.auth]
        other = api_session_for_refresh_token(body.validated_data.get("refresh_token", ""))
        if other is not None and other.user_id == request.user.pk and other.pk != request.auth.pk:
            sessions.append(other)
        for session in sessions:
            api_session_revoke(session=session, reason=RevokeReason.API, acting_user=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UsageSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True, help_text="null: unlimited.")


class RateLimitsSerializer(serializers.Serializer):
    per_minute = serializers.IntegerField()
    per_day = serializers.IntegerField()


class SessionInfoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email_verified = serializers.BooleanField()
    tier = serializers.ChoiceField(choices=Tier.choices)
    timezone = serializers.CharField()
    currency = serializers.CharField(help_text="Reporting currency of the dashboard figures.")
    amazon_site = serializers.CharField(help_text="Where a bare ASIN is looked up.")
    limits = UsageSerializer(many=True)
    rate_limits = RateLimitsSerializer()
    session = SessionInfoSerializer()


class MeView(SellerAPIView):
    @extend_schema(
        operation_id="me",
        summary="Your account, tier, limits and today's usage",
        responses=MeSerializer,
        tags=["account"],
    )
    def get(self, request):
        user, rates = request.user, api_rate_limits(request.user)
        data = {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email_verified": email_verified(user),
            "tier": user.tier,
            "timezone": user.timezone,
            "currency": user.currency,
            "amazon_site": user.amazon_site,
            "limits": [usage.__dict__ for usage in tier_usage(user)],
            "rate_limits": {"per_minute": rates["minute"], "per_day": rates["day"]},
            "session": request.auth,
        }
        return Response(MeSerializer(data).data)


urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth_token"),
    path("auth/refresh/", RefreshView.as_view(), name="auth_refresh"),
    path("auth/revoke/", RevokeView.as_view(), name="auth_revoke"),
    path("me/", MeView.as_view(), name="me"),
]
