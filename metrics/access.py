"""Who may open the metrics pages: the dashboard, key drivers, topics and EX ↔ CX share it."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from audiences.access import scope
from audiences.models import Audience, Role

VIEW_PERMISSION = "metrics.view_dailyrollup"


def check_view_permission(request: HttpRequest) -> None:
    """Refuses (403) a user without the permission to view metrics."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied(_("You need the permission to view metrics."))


def viewable_audiences(request: HttpRequest) -> QuerySet[Audience]:
    """The audiences whose scores the user may see (VIEWER or above), after the permission."""
    check_view_permission(request)
    return scope(Audience.objects.all(), user=request.user, role=Role.VIEWER)


def viewable_audience(request: HttpRequest, slug: str) -> Audience:
    """One audience whose scores the user may see; 404 for any other (as for a missing one)."""
    return get_object_or_404(viewable_audiences(request), slug=slug)
