"""The Content-Security-Policy middleware: django-csp's, with the admin's style exception."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class PolicyMiddleware(CSPMiddleware):
    """CONTENT_SECURITY_POLICY everywhere; CSP_RELAXED_STYLE_PREFIXES allow inline styles.

    Scripts stay 'self'-only on every page. Inline style attributes cannot run code, and the
    admin's widgets (select2, the survey builder's inputs) set them.
    """

    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(tuple(settings.CSP_RELAXED_STYLE_PREFIXES)):
            parts.replace = {"style-src": [SELF, UNSAFE_INLINE], **(parts.replace or {})}
        return parts
