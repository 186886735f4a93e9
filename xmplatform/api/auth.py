"""`Authorization: Bearer <key>` authentication for the API."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from xmplatform.api import keys, services
from xmplatform.api.models import ApiKey
from xmplatform.api.selectors import Scope


class ApiClient:
    """The caller behind a key: what DRF sees as `request.user`."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey, scope: Scope) -> None:
        self.api_key = api_key
        self.scope = scope

    def __str__(self) -> str:
        return str(self.api_key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Two queries: the key by its prefix, then the ids of its audiences."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _sep, key = header.strip().partition(" ")
        if scheme.lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed(
                _("Send the API key as: Authorization: Bearer <key>.")
            )
        key = key.strip()
        prefix = keys.key_prefix(key)
        api_key = ApiKey.objects.filter(prefix=prefix).first() if prefix else None
        if api_key is None or not keys.key_matches(key, api_key.key_hash):
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        ids = frozenset(api_key.audiences.values_list("id", flat=True))
        services.api_key_touch(api_key=api_key, now=timezone.now())
        return ApiClient(api_key, Scope(ids or None)), api_key

    def authenticate_header(self, request: Any) -> str:
        return f'{self.keyword} realm="api"'
