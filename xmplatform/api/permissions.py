"""Who may call what: any valid key reads; writes need a key that is not read-only."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions
from rest_framework.request import Request

from xmplatform.api.auth import ApiClient


class HasApiKey(permissions.BasePermission):
    message = _("This API key is read-only; use a key that may write.")

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return False
        return request.method in permissions.SAFE_METHODS or not client.api_key.read_only


class AllAudiencesKey(permissions.BasePermission):
    """Changes that reach beyond any one audience need an unrestricted key."""

    message = _("Only a key for all audiences may do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        client = request.user
        if request.method in permissions.SAFE_METHODS:
            return True
        return isinstance(client, ApiClient) and client.scope.unrestricted
