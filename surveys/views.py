"""Hosted survey pages: invitation links, public links, opt-out and the staff preview.

Each view turns its request into a respondent and a flow (surveys.hosted.flows) and lets the
page machine (surveys.hosted.pages) answer; writes go through surveys.services. Every refusal
is a polite page with the right status, never a 500.
"""

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from audiences.access import scope
from audiences.branding import logo_get
from audiences.services import person_opt_out
from surveys import hidden_fields, services, tokens
from surveys.hosted import pages
from surveys.hosted.flows import FrameFlow, PreviewFlow, RecordedFlow
from surveys.hosted.languages import (
    activate,
    choose_language,
    choose_language_plain,
    restores_language,
)
from surveys.hosted.limits import rate_limited
from surveys.hosted.pages import url_with
from surveys.models import PublicLink, Survey
from surveys.services import AlreadyResponded, Respondent, SurveyUnavailable

BROWSER_COOKIE = "xm_browser"
BROWSER_COOKIE_SALT = "surveys.public-link.browser"
BROWSER_COOKIE_AGE = 400 * 24 * 3600  # the longest lifetime browsers accept


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a polite page instead of Django's technical one (no answer is lost)."""
    activate(request, choose_language_plain(request))
    return pages.message(
        request,
        status=403,
        title=_("This page has expired"),
        text=_(
            "For your security the form could not be sent. Please go back, reload the page "
            "and send it again; your browser must accept cookies from this site."
        ),
    )


def _invitation_preferences(invitation: Any) -> list[str]:
    # person_language comes annotated from invitation_for_token (no query for the person).
    return [invitation.language, getattr(invitation, "person_language", None) or ""]


@never_cache  # token pages and answers must never sit in a shared cache
@restores_language
@rate_limited("token", per_address=False)
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's survey page."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return pages.not_found(request)
    survey = invitation.survey
    language = choose_language(request, survey, _invitation_preferences(invitation))
    activate(request, language)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    flow = RecordedFlow(request, respondent, language)
    flow.action_url = reverse("surveys:respond", kwargs={"token": token})
    flow.optout_url = url_with(reverse("surveys:optout", kwargs={"token": token}), lang=language)
    try:
        services.response_check(respondent=respondent)
    except AlreadyResponded:
        return pages.thanks(request, flow, already=request.GET.get("done") != "1")
    except SurveyUnavailable as refusal:
        return pages.unavailable(request, flow, refusal.reason)
    if invitation.opened_at is None and request.method == "GET":
        # A submit records the opening itself, in the same statement that claims the invitation.
        services.invitation_mark_opened(invitation=invitation)
    return pages.run(request, flow)


@never_cache
@restores_language
@rate_limited("token", per_address=False)
@csrf_exempt  # the token is the credential; mail clients post one-click unsubscribes (RFC 8058)
@require_http_methods(["GET", "POST"])
def optout(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) and record (POST) an opt-out of every channel, without login."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return pages.not_found(request)
    survey = invitation.survey
    language = choose_language(request, survey, _invitation_preferences(invitation))
    activate(request, language)
    flow = FrameFlow(survey, language)
    flow.action_url = reverse("surveys:optout", kwargs={"token": token})
    context = {
        **pages.base_context(flow),
        "action_url": flow.action_url,
        "survey_url": url_with(reverse("surveys:respond", kwargs={"token": token}), lang=language),
        "done": False,
    }
    if request.method == "POST":
        if invitation.person is not None:
            person_opt_out(person=invitation.person, source="survey-page")
        context["done"] = True
    response = render(request, "surveys/optout.html", context)
    response.headers["Content-Language"] = language
    return response


def _browser_id(request: HttpRequest) -> tuple[str, bool]:
    """The browser's id from its signed cookie, or a new one (and whether it is new)."""
    try:
        value = request.get_signed_cookie(BROWSER_COOKIE, salt=BROWSER_COOKIE_SALT)
    except (KeyError, signing.BadSignature):
        return services.new_browser_id(), True
    if not value:
        return services.new_browser_id(), True
    return value, False


@never_cache
@restores_language
@rate_limited("slug", per_address=True)
@require_http_methods(["GET", "POST"])
def public(request: HttpRequest, slug: str) -> HttpResponse:
    """A public link: one response per browser, anonymous-capable."""
    link = (
        PublicLink.objects.select_related("survey__audience").filter(slug=slug, active=True).first()
    )
    if link is None:
        return pages.not_found(request)
    survey = link.survey
    language = choose_language(request, survey)
    activate(request, language)
    browser_id, fresh = _browser_id(request)
    try:
        data = hidden_fields.link_data(
            request.GET,
            secret=link.signing_secret,
            names=survey.hidden_fields,
            anonymous=survey.anonymous,
        )
    except hidden_fields.LinkDataRefused:
        return _link_data_refused(request, survey, language)
    respondent = Respondent(survey=survey, public_link=link, browser_id=browser_id, data=data)
    flow = RecordedFlow(request, respondent, language)
    # The signed values go on with every page, and are checked again there.
    flow.action_url = url_with(
        reverse("surveys:public", kwargs={"slug": slug}),
        **hidden_fields.link_query(request.GET, names=survey.hidden_fields),
    )
    if flow.completed():
        response = pages.thanks(request, flow, already=request.GET.get("done") != "1")
    else:
        try:
            services.response_check(respondent=respondent)
        except SurveyUnavailable as refusal:
            response = pages.unavailable(request, flow, refusal.reason)
        else:
            response = pages.run(request, flow)
    if fresh:
        response.set_signed_cookie(
            BROWSER_COOKIE,
            browser_id,
            salt=BROWSER_COOKIE_SALT,
            max_age=BROWSER_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _link_data_refused(request: HttpRequest, survey: Survey, language: str) -> HttpResponse:
    """A public link whose hidden field values are unsigned or changed: said, not ignored."""
    return pages.message(
        request,
        status=400,
        title=_("This link has been changed"),
        text=_(
            "The details it carries could not be verified, so it cannot be used to answer. "
            "Please open the link exactly as you received it, or ask whoever sent it for a "
            "new one."
        ),
        base=pages.base_context(FrameFlow(survey, language)),
    )


@never_cache
@restores_language
@staff_member_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Staff preview of a survey of the user's audiences (drafts too); records nothing."""
    survey = scope(
        Survey.objects.select_related("audience").filter(pk=survey_id), user=request.user
    ).first()
    if survey is None:
        return pages.not_found(request)
    return _preview(request, survey, reverse("surveys:preview", kwargs={"survey_id": survey.pk}))


@never_cache
@restores_language
@require_http_methods(["GET", "POST"])
def test_link(request: HttpRequest, signed: str) -> HttpResponse:
    """The link of a staff test message: a preview without login that records nothing."""
    survey_id = tokens.test_link_survey_id(signed)
    survey = (
        Survey.objects.select_related("audience").filter(pk=survey_id).first()
        if survey_id is not None
        else None
    )
    if survey is None:
        return pages.not_found(request)
    return _preview(request, survey, reverse("surveys:test_link", kwargs={"signed": signed}))


@never_cache
@restores_language
@csrf_exempt  # mail clients post one-click unsubscribes (RFC 8058); nothing is recorded
@require_http_methods(["GET", "POST"])
def test_optout(request: HttpRequest, signed: str) -> HttpResponse:
    """The unsubscribe link of a staff test message: the page a person sees, and a one-click
    unsubscribe that answers as the real one does, but there is no one to unsubscribe."""
    survey_id = tokens.test_link_survey_id(signed)
    survey = (
        Survey.objects.select_related("audience").filter(pk=survey_id).first()
        if survey_id is not None
        else None
    )
    if survey is None:
        return pages.not_found(request)
    language = choose_language(request, survey)
    activate(request, language)
    flow = FrameFlow(survey, language)
    flow.action_url = reverse("surveys:test_optout", kwargs={"signed": signed})
    context = {
        **pages.base_context(flow),
        "action_url": flow.action_url,
        "survey_url": url_with(
            reverse("surveys:test_link", kwargs={"signed": signed}), lang=language
        ),
        "done": request.method == "POST",
        "test": True,
    }
    response = render(request, "surveys/optout.html", context)
    response.headers["Content-Language"] = language
    return response


@require_http_methods(["GET", "HEAD"])
def logo(request: HttpRequest, sha256: str) -> HttpResponse:
    """A brand's uploaded logo (audiences.branding): its URL names its content, so it is
    cached for good; sniffing, scripts and framing are off whatever the bytes hold."""
    found = logo_get(sha256)
    if found is None:
        return HttpResponse(status=404, content_type="text/plain")
    response = HttpResponse(bytes(found.data), content_type=found.content_type)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _preview(request: HttpRequest, survey: Survey, action_url: str) -> HttpResponse:
    language = choose_language(request, survey)
    activate(request, language)
    flow = PreviewFlow(request, survey, language)
    flow.action_url = action_url
    if request.method == "GET" and request.GET.get("done") == "1":
        return pages.thanks(request, flow, already=False)
    if request.method == "GET" and request.GET.get("restart") == "1":
        flow.restart()
    return pages.run(request, flow)
