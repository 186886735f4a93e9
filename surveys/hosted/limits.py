"""Rate limits of the hosted pages: per client address, per link, and per address's misses.

Counted in the cache (xmplatform.core.ratelimit), which lets requests through when it is
down: an outage of Redis never keeps a respondent from answering.
"""

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from surveys.hosted.languages import activate, choose_language_plain
from surveys.hosted.pages import message
from xmplatform.core import ratelimit


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    activate(request, choose_language_plain(request))
    response = message(
        request,
        status=429,
        title=_("Please wait a moment"),
        text=_(
            "We received many requests from your connection in a short time. "
            "Please try again in %(seconds)d seconds. Your earlier answers are kept."
        )
        % {"seconds": retry_after},
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def rate_limited(link_kwarg: str, *, per_address: bool) -> Callable[..., Any]:
    """Limit a hosted view per client address and per link (the token, or slug + address).

    A link that turns out unknown (404) counts as a miss for the address; an address with too
    many misses is refused before any lookup, which keeps token guessing slow.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not settings.RATE_LIMIT_ENABLED:
                return view(request, *args, **kwargs)
            limits = settings.HOSTED_RATE_LIMITS
            address = ratelimit.client_ip(request)
            link = f"{view.__name__}:{kwargs[link_kwarg]}"
            if per_address:
                link = f"{link}:{address}"
            wait = ratelimit.hit_all(
                ratelimit.Limit("hosted-miss", address, limits["miss"], counts=False),
                ratelimit.Limit("hosted-ip", address, limits["ip"]),
                ratelimit.Limit("hosted-link", link, limits["link"]),
            )
            if wait:
                return too_many_requests(request, wait)
            response = view(request, *args, **kwargs)
            if response.status_code == 404:
                ratelimit.hit("hosted-miss", address, limits["miss"])
            return response

        return wrapper

    return decorator
