"""The kiosk pages of a public link: the setup link, the kiosk page and its service worker.

The kiosk page is the whole survey in one form, sent once with its submission key; without
JavaScript it is a plain form post, answered by the thank-you page (which starts again by
itself). surveys/static/surveys/kiosk.js adds display logic, the idle reset, the queue of
submissions made while offline and, for a one-question-at-a-time survey, its steps; the service
worker keeps the page and its files for offline starts. Every refusal is a polite page with the
right status, never a 500.
"""

import json
import secrets
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from surveys import services
from surveys.hosted import pages
from surveys.hosted.fields import field_for
from surveys.hosted.flows import FrameFlow
from surveys.hosted.languages import activate, choose_language, pick_text, restores_language
from surveys.hosted.limits import rate_limited
from surveys.hosted.pages import url_with
from surveys.kiosk.models import KioskDevice
from surveys.kiosk.services import kiosk_device_for_token, kiosk_submit, submission_key_valid
from surveys.logic import visible_keys
from surveys.models import Presentation, PublicLink, Question
from surveys.services import SurveyFull, SurveyUnavailable, Unavailable
from surveys.validation import clean_page

DEVICE_COOKIE = "xm_kiosk"
DEVICE_COOKIE_AGE = 400 * 24 * 3600  # the longest lifetime browsers accept
# Sent by kiosk.js when it delivers a queued submission: answered 204, not the thank-you page.
QUEUED_HEADER = "X-Kiosk-Delivery"
KIOSK_ASSETS = ("surveys/kiosk.js", "surveys/kiosk.css")


def _link(slug: str) -> PublicLink | None:
    return PublicLink.objects.select_related("survey").filter(slug=slug, active=True).first()


def _kiosk_url(slug: str) -> str:
    return reverse("surveys:kiosk", kwargs={"slug": slug})


@never_cache
@restores_language
@rate_limited("slug", per_address=True)  # an unknown token counts as a miss (guessing)
@require_GET
def kiosk_setup(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """A device's setup link: keep its token in the device's cookie and open the kiosk page."""
    link = _link(slug)
    device = kiosk_device_for_token(public_link=link, token=token) if link else None
    if device is None:
        return pages.not_found(request)
    response = HttpResponseRedirect(_kiosk_url(slug), status=303)
    response.set_cookie(
        DEVICE_COOKIE,
        token,
        max_age=DEVICE_COOKIE_AGE,
        path=_kiosk_url(slug),  # sent to this link's kiosk pages only
        httponly=True,
        samesite="Lax",  # not on another site's form post
        secure=request.is_secure(),
    )
    return response


def _device(request: HttpRequest, link: PublicLink) -> KioskDevice | None:
    return kiosk_device_for_token(public_link=link, token=request.COOKIES.get(DEVICE_COOKIE, ""))


def _refused(request: HttpRequest, flow: FrameFlow, status: int, title: Any, text: Any) -> Any:
    return pages.message(
        request, status=status, title=title, text=text, base=pages.base_context(flow)
    )


def _context(flow: FrameFlow, link: PublicLink, slug: str) -> dict[str, Any]:
    return {
        **pages.base_context(flow),
        "one_question": False,  # the whole survey is one form (survey.js does not step it)
        # kiosk.js shows that form one question at a time, when the survey asks for it.
        "one_at_a_time": link.survey.presentation == Presentation.ONE_QUESTION,
        "action_url": flow.action_url,
        "start_url": _kiosk_url(slug),
        "worker_url": reverse("surveys:kiosk_worker", kwargs={"slug": slug}),
        "thank_you_seconds": link.kiosk_thank_you_seconds,
        "idle_seconds": link.kiosk_idle_seconds,
        # Without JavaScript the page cannot see typing: it starts again after three idle times.
        "plain_refresh_seconds": link.kiosk_idle_seconds * 3,
    }


def _form(
    request: HttpRequest,
    flow: FrameFlow,
    context: dict[str, Any],
    questions: list[Question],
    *,
    key: str,
    answers: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
    raws: dict[str, list[str]] | None = None,
) -> HttpResponse:
    default = flow.survey.default_language
    errors = errors or {}
    items = [
        {
            "field": field_for(
                q,
                flow.language,
                default,
                (answers or {}).get(q.key),
                errors.get(q.key),
                raws.get(q.key) if raws is not None else None,
            ),
            "show_if": json.dumps(q.show_if) if q.show_if else "",
        }
        for q in questions
    ]
    context = {
        **context,
        "intro": pick_text(flow.survey.intro, flow.language, default),
        "items": items,
        "errors": errors,
        "submission": key,
    }
    response = render(request, "surveys/kiosk.html", context, status=400 if errors else 200)
    response.headers["Content-Language"] = flow.language
    return response


def _thanks(request: HttpRequest, flow: FrameFlow, context: dict[str, Any]) -> HttpResponse:
    text = pick_text(flow.survey.thank_you, flow.language, flow.survey.default_language).strip()
    first, _newline, rest = text.partition("\n")
    heading: Any = first.strip() or _("Thank you!")
    body: Any = rest.strip() if first.strip() else _("Your answers have been recorded.")
    context = {**context, "done": True, "heading": heading, "text": body}
    response = render(request, "surveys/kiosk.html", context)
    response.headers["Content-Language"] = flow.language
    return response


@never_cache
@restores_language
@rate_limited("slug", per_address=True)
# The device's cookie is the credential and is not sent with another site's post (SameSite);
# a kiosk's queued submissions are sent long after the page that made them.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def kiosk(request: HttpRequest, slug: str) -> HttpResponse:
    """A kiosk device's page of a public link: many responses, each submission once."""
    link = _link(slug)
    if link is None:
        return pages.not_found(request)
    survey = link.survey
    language = choose_language(request, survey)
    activate(request, language)
    flow = FrameFlow(survey, language)
    flow.action_url = _kiosk_url(slug)
    device = _device(request, link)
    if device is None:
        return _refused(
            request,
            flow,
            403,
            _("This device is not set up as a kiosk"),
            _(
                "Open the device's setup link from the survey team on it; a revoked device "
                "needs a new one."
            ),
        )
    context = _context(flow, link, slug)
    if request.method == "GET" and request.GET.get("done") == "1":
        return _thanks(request, flow, context)
    try:
        services.response_check(respondent=services.Respondent(survey=survey, public_link=link))
    except SurveyUnavailable as refusal:
        return pages.unavailable(request, flow, refusal.reason)
    questions = services.survey_questions(survey=survey)
    if request.method == "GET":
        return _form(request, flow, context, questions, key=secrets.token_urlsafe(16))

    key = request.POST.get("submission", "")
    if not submission_key_valid(key):
        return _refused(
            request,
            flow,
            400,
            _("This answer could not be accepted"),
            _(
                "Its submission key is missing or malformed (16 to 64 letters, digits, - or _). "
                "Please start the survey again."
            ),
        )
    # What is shown depends on the answers: read them all once, then clean what is shown.
    everything = {q.key for q in questions}
    given, _errors, _raws = clean_page(questions, request.POST, visible=everything)
    visible = visible_keys(questions, given)
    values, errors, raws = clean_page(questions, request.POST, visible=visible)
    if errors:
        return _form(
            request, flow, context, questions, key=key, answers=values, errors=errors, raws=raws
        )
    try:
        kiosk_submit(
            device=device,
            key=key,
            questions=questions,
            values=values,
            language=language,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except SurveyFull:
        return pages.unavailable(request, flow, Unavailable.FULL)
    except SurveyUnavailable as refusal:
        return pages.unavailable(request, flow, refusal.reason)
    if request.headers.get(QUEUED_HEADER) == "queued":
        return HttpResponse(status=204)
    return HttpResponseRedirect(url_with(flow.action_url, done=1, lang=language), status=303)


@require_GET
def kiosk_worker(request: HttpRequest, slug: str) -> HttpResponse:
    """The kiosk page's service worker; served under the page, so its scope covers it."""
    assets = [static(name) for name in (*KIOSK_ASSETS, "surveys/survey.css", "surveys/survey.js")]
    context = {
        "start_url": json.dumps(_kiosk_url(slug)),
        "cache_name": json.dumps(f"xm-kiosk-{slug}-v1"),
        "assets": json.dumps(assets),
    }
    response = render(request, "surveys/kiosk_worker.js", context, content_type="text/javascript")
    # The browser checks for a new worker at each registration: never from a cache.
    response.headers["Cache-Control"] = "no-cache"
    return response
