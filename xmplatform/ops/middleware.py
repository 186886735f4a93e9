"""Answers /healthz and /metrics ahead of the rest of the stack.

Load balancers and Prometheus address a web process by its IP, which ALLOWED_HOSTS does not
list: CommonMiddleware would refuse them with a 400. Neither page builds a URL from the Host
header, so they are served here, after SecurityMiddleware (HSTS; both paths are exempt from
the HTTPS redirect, see settings.SECURE_REDIRECT_EXEMPT) and before host validation, sessions
and the locale. /metrics without METRICS_TOKEN configured goes on to the URL resolver: 404.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from xmplatform.ops.health import healthz
from xmplatform.ops.prometheus import metrics_page

READ_METHODS = ("GET", "HEAD")


class OpsEndpointsMiddleware:
    """Serves GET/HEAD /healthz always and /metrics when METRICS_TOKEN is set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view: Callable[[HttpRequest], HttpResponse]
        if request.path == "/healthz":
            view = healthz
        elif request.path == "/metrics" and settings.METRICS_TOKEN:
            view = metrics_page
        else:
            return self.get_response(request)
        if request.method not in READ_METHODS:
            return HttpResponseNotAllowed(READ_METHODS)
        return view(request)
