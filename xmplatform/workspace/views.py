"""The site's root and its favicon: neither answers a 404."""

from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import reverse


def root(request: HttpRequest) -> HttpResponseRedirect:
    """`/` (the admin's "View site"): the workspace home, through the log-in when signed out."""
    return HttpResponseRedirect(reverse("admin:index"))


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """`/favicon.ico`, which browsers ask for on every page: the static icon (whose URL
    carries its content hash in production, so it is cached for good)."""
    return HttpResponseRedirect(static("workspace/favicon.ico"))
