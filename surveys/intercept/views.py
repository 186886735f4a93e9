"""The intercept's HTTP side: the script, the decide endpoint, the framed survey page, the demo.

Nothing here needs a cookie: the script asks without credentials, and the framed page is
reached by a ticket in its URL (an invitation token, or an anonymous ticket), as an invitation
link is, so it works in a cross-site iframe where browsers withhold cookies. The ticket is the
credential, so the page takes no CSRF cookie; only the origins of the survey's active sites
may frame it (CSP frame-ancestors), every other page keeps X-Frame-Options: DENY.
"""

import functools
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from surveys import services
from surveys.hosted import pages
from surveys.hosted.flows import RecordedFlow
from surveys.hosted.languages import (
    activate,
    choose_language,
    choose_language_plain,
    restores_language,
)
from surveys.hosted.limits import rate_limited
from surveys.hosted.pages import url_with
from surveys.intercept import selectors
from surveys.intercept.models import InterceptSite
from surveys.intercept.services import (
    EXTERNAL_ID_MAX,
    BadSignature,
    intercept_decide,
    signature_check,
    signature_for,
    ticket_is_anonymous,
)
from surveys.services import AlreadyResponded, Respondent, SurveyUnavailable
from xmplatform.core import ratelimit

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "surveys" / "intercept.js"
# Sites embed one stable URL: a day in caches, then revalidated by its ETag.
SCRIPT_MAX_AGE = 24 * 3600
DECIDE_MAX_BODY = 2048


@functools.lru_cache(maxsize=1)
def _script() -> tuple[bytes, bytes, str]:
    body = SCRIPT.read_bytes()
    return body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:20]


@require_GET
def script(request: HttpRequest) -> HttpResponse:
    """/intercept.js: the embed script, gzipped when the browser accepts it."""
    body, packed, digest = _script()
    etag = f'"{digest}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(packed, content_type="text/javascript; charset=utf-8")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = f"public, max-age={SCRIPT_MAX_AGE}"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _error(code: str, message: str, status: int, origin: str = "") -> HttpResponseBase:
    response = JsonResponse({"error": code, "message": message}, status=status)
    return _cors(response, origin)


def _cors(response: HttpResponseBase, origin: str) -> HttpResponseBase:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Origin"
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def _language(request: HttpRequest, asked: Any) -> str:
    known = [code for code, _name in settings.LANGUAGES]
    code = str(asked or "").split("-")[0].lower()
    return code if code in known else choose_language_plain(request)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    if len(request.body) > DECIDE_MAX_BODY:
        return None
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


@csrf_exempt  # no cookie is read: the origin check and the signature are the credentials
@never_cache
@require_http_methods(["POST", "OPTIONS"])
def decide(request: HttpRequest, site_key: str) -> HttpResponseBase:
    """Whether to show the site's survey to this visitor: {"show", "url", "display", …}."""
    limits = settings.HOSTED_RATE_LIMITS
    address = ratelimit.client_ip(request)
    enabled = settings.RATE_LIMIT_ENABLED
    if enabled and ratelimit.exceeded("intercept-miss", address, limits["miss"]):
        return _error("too_many_requests", _("Too many requests; try again later."), 429)
    site = selectors.site_for_key(site_key)
    if site is None:
        if enabled:
            ratelimit.hit("intercept-miss", address, limits["miss"])
        return _error(
            "unknown_site",
            _("No site has this key. Copy the snippet again from the site's admin page."),
            404,
        )
    origin = request.headers.get("Origin", "")
    if origin not in site.allowed_origins:
        # No Access-Control-Allow-Origin: the page that asked cannot even read the refusal.
        return _error(
            "origin_not_allowed",
            _(
                "This page's origin may not show the site's survey; add it to the site's "
                "allowed origins."
            ),
            403,
        )
    if request.method == "OPTIONS":
        response = _cors(HttpResponse(status=204), origin)
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
        return response
    if enabled:
        wait = ratelimit.hit_all(
            ratelimit.Limit("intercept-ip", address, limits["ip"]),
            ratelimit.Limit("intercept-site", f"{site.pk}:{address}", limits["link"]),
        )
        if wait:
            response = _error(
                "too_many_requests", _("Too many requests; try again later."), 429, origin
            )
            response.headers["Retry-After"] = str(wait)
            return response
    data = _body(request)
    if data is None:
        return _error(
            "bad_request",
            _('Send a JSON object such as {"user": "…", "signature": "…", "lang": "en"}.'),
            400,
            origin,
        )
    external_id = data.get("user") or ""
    signature = data.get("signature") or ""
    if not isinstance(external_id, str) or not isinstance(signature, str):
        external_id, signature = "", "-"
    if external_id or signature:
        if not external_id or len(external_id) > EXTERNAL_ID_MAX:
            return _error(
                "bad_signature",
                _("The signed user id is missing or too long; sign the person's external id."),
                403,
                origin,
            )
        try:
            signature_check(site=site, external_id=external_id, signature=signature)
        except BadSignature:
            return _error(
                "bad_signature",
                _(
                    "The signature does not match the user id; sign it with the site's "
                    "secret (HMAC-SHA256, in hex)."
                ),
                403,
                origin,
            )
    language = _language(request, data.get("lang"))
    decision = intercept_decide(site=site, external_id=external_id)
    url = None
    if decision.show:
        path = reverse(
            "surveys:intercept_page",
            kwargs={"site_key": site.public_key, "ticket": decision.ticket},
        )
        url = request.build_absolute_uri(url_with(path, lang=language))
    with translation.override(language):
        answer = {
            "show": decision.show,
            "url": url,
            "display": site.display,
            "close_label": _("Close the survey"),
            "title_label": _("Survey"),
        }
    return _cors(JsonResponse(answer), origin)


def _framed_by(response: HttpResponseBase, origins: list[str]) -> HttpResponseBase:
    """Let `origins` (and only them) frame `response`; none: it stays unframable."""
    if origins:
        response._csp_replace = {"frame-ancestors": origins}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


@csrf_exempt  # the ticket in the URL is the credential; a cross-site frame sends no cookie
@never_cache
@restores_language
@rate_limited("ticket", per_address=False)
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest, site_key: str, ticket: str) -> HttpResponseBase:
    """The survey page an intercept frames: an invitation's, or a public link's."""
    site = selectors.site_for_key(site_key)
    if site is None or not site.active:
        return pages.not_found(request)
    survey = site.survey
    if ticket_is_anonymous(site=site, ticket=ticket):
        link = selectors.public_link_for(survey_id=survey.pk)
        if link is None:
            return pages.not_found(request)
        respondent = Respondent(survey=survey, public_link=link, browser_id=ticket)
        invitation = None
    else:
        invitation = services.invitation_for_token(ticket)
        if invitation is None or invitation.survey_id != survey.pk:
            return pages.not_found(request)
        survey = invitation.survey
        respondent = Respondent(survey=survey, invitation=invitation, token=ticket)
    preferred = [getattr(invitation, "person_language", None) or ""] if invitation else []
    language = choose_language(request, survey, preferred)
    activate(request, language)
    flow = RecordedFlow(request, respondent, language)
    flow.action_url = reverse(
        "surveys:intercept_page", kwargs={"site_key": site_key, "ticket": ticket}
    )
    if flow.completed():
        response = pages.thanks(request, flow, already=request.GET.get("done") != "1")
    else:
        try:
            services.response_check(respondent=respondent)
        except AlreadyResponded:
            response = pages.thanks(request, flow, already=True)
        except SurveyUnavailable as refusal:
            response = pages.unavailable(request, flow, refusal.reason)
        else:
            if invitation is not None and invitation.opened_at is None and request.method == "GET":
                services.invitation_mark_opened(invitation=invitation)
            response = pages.run(request, flow)
    return _framed_by(response, selectors.frame_origins(survey_id=survey.pk))


@never_cache
@require_GET
def demo(request: HttpRequest) -> HttpResponse:
    """A page of a pretend shop that embeds the intercept (DEBUG, or staff): `?site=<key>`, else
    the first active site this page's origin may use; `?user=<external id>` signs a visitor."""
    if not (settings.DEBUG or (request.user.is_authenticated and request.user.is_staff)):
        raise Http404
    here = f"{request.scheme}://{request.get_host()}"
    sites = InterceptSite.objects.filter(active=True).order_by("pk")
    key = request.GET.get("site", "")
    site = (
        sites.filter(public_key=key).first()
        if key
        else next((s for s in sites if here in s.allowed_origins), None)
    )
    user = request.GET.get("user", "")[:EXTERNAL_ID_MAX]
    context = {
        "site": site,
        "here": here,
        "user": user,
        "signature": signature_for(secret=site.secret, external_id=user) if site and user else "",
    }
    return render(request, "surveys/intercept_demo.html", context)
