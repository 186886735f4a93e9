"""Hosted survey pages: invitation links, public links, opt-out and the staff preview.

Views are thin: who the respondent is and where their answers live is a `Flow`; writes go
through surveys.services. Every refusal is a polite page with the right status, never a 500.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import trans_real
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from audiences.access import scope
from audiences.services import person_opt_out
from surveys import services, tokens
from surveys.logic import visible_keys
from surveys.models import SCORED_TYPES, PublicLink, Question, QuestionType, Survey
from surveys.services import AlreadyResponded, Respondent, SurveyFull, Unavailable
from surveys.validation import AnswerValue, clean_page, field_name, scale_of
from xmplatform.core import ratelimit

BROWSER_COOKIE = "xm_browser"
BROWSER_COOKIE_SALT = "surveys.public-link.browser"
BROWSER_COOKIE_AGE = 400 * 24 * 3600  # the longest lifetime browsers accept

UNAVAILABLE_PAGES = {
    Unavailable.NOT_OPEN: (
        403,
        _("This survey is not open yet"),
        _("Please come back later. Thank you for your interest."),
    ),
    Unavailable.CLOSED: (
        410,
        _("This survey is closed"),
        _("It no longer accepts answers. Thank you for your interest."),
    ),
    Unavailable.FULL: (
        410,
        _("This survey has received all the answers it needs"),
        _("It no longer accepts answers. Thank you for your interest."),
    ),
    Unavailable.EXPIRED: (
        410,
        _("This survey link has expired"),
        _("It can no longer be used to answer. Thank you for your interest."),
    ),
    Unavailable.SUPPRESSED: (
        410,
        _("This survey link is not active"),
        _("It cannot be used to answer. Thank you for your interest."),
    ),
}


# --- Texts and languages -------------------------------------------------------------------


def pick_text(texts: Any, language: str, default: str) -> str:
    """One language's text from a {"en": …, "tr": …} dict: else the default, else any."""
    if not isinstance(texts, Mapping):
        return str(texts or "")
    for code in (language, default):
        if texts.get(code):
            return str(texts[code])
    return next((str(v) for v in texts.values() if v), "")


def survey_languages(survey: Survey) -> list[str]:
    known = {code for code, _name in settings.LANGUAGES}
    offered = [code for code in (survey.languages or []) if code in known]
    return offered or [survey.default_language if survey.default_language in known else "en"]


def choose_language(request: HttpRequest, survey: Survey, preferred: Sequence[str] = ()) -> str:
    """An explicit choice, else the invitation/person language, else Accept-Language, else
    the survey's default; always one of the languages the survey offers."""
    offered = survey_languages(survey)
    explicit = request.POST.get("lang") or request.GET.get("lang") or ""
    for code in (explicit, *preferred):
        if code in offered:
            return code
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in trans_real.parse_accept_lang_header(header[:500]):
        base = code.split("-")[0].lower()
        if base in offered:
            return base
    return survey.default_language if survey.default_language in offered else offered[0]


def _activate(request: HttpRequest, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = language  # type: ignore[attr-defined]


def _restores_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Put back the language active before the view (the respondent's choice stays local)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        previous = translation.get_language()
        try:
            return view(request, *args, **kwargs)
        finally:
            translation.activate(previous)

    return wrapper


def _message(
    request: HttpRequest,
    *,
    status: int,
    title: Any,
    text: Any = "",
    extra: str = "",
    base: dict[str, Any] | None = None,
) -> HttpResponse:
    context = {"heading": title, "text": text, "extra": extra, "survey_title": "", **(base or {})}
    context.setdefault("page_title", title)
    response = render(request, "surveys/message.html", context, status=status)
    response.headers["Content-Language"] = translation.get_language()
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    _activate(request, choose_language_plain(request))
    return _message(
        request,
        status=404,
        title=_("Survey not found"),
        text=_("This link is not valid. Please check that you copied the whole link."),
    )


def choose_language_plain(request: HttpRequest) -> str:
    """For pages without a survey: the best of the site languages for this browser."""
    known = [code for code, _name in settings.LANGUAGES]
    explicit = request.GET.get("lang", "")
    if explicit in known:
        return explicit
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    for code, _quality in trans_real.parse_accept_lang_header(header[:500]):
        if code.split("-")[0].lower() in known:
            return code.split("-")[0].lower()
    return settings.LANGUAGE_CODE


# --- Pages and fields ----------------------------------------------------------------------


def _pages(questions: Sequence[Question], visible: set[str]) -> list[int]:
    return sorted({q.page for q in questions if q.key in visible})


def _missing_required_page(
    questions: Sequence[Question], visible: set[str], answers: Mapping[str, AnswerValue]
) -> int | None:
    for q in questions:
        if q.key in visible and q.required and answers.get(q.key) in (None, "", []):
            return q.page
    return None


def _references(show_if: Any) -> set[str]:
    """The question keys a display condition looks at."""
    if not isinstance(show_if, Mapping):
        return set()
    if "all" in show_if or "any" in show_if:
        inner = show_if.get("all", show_if.get("any"))
        return {k for c in inner for k in _references(c)} if isinstance(inner, list) else set()
    return {str(show_if.get("question"))}


def _undecided_pages(
    questions: Sequence[Question],
    visible: set[str],
    answers: Mapping[str, AnswerValue],
    page: int,
) -> set[int]:
    """Later pages hidden only because what decides them is not answered yet.

    The progress bar counts them, so it does not grow when an answer reveals them.
    """
    return {
        q.page
        for q in questions
        if q.page > page
        and q.key not in visible
        and q.show_if
        and any(answers.get(key) in (None, "", []) for key in _references(q.show_if))
    }


def _resume_page(
    questions: Sequence[Question], visible: set[str], answers: Mapping[str, AnswerValue]
) -> int:
    """Where a returning respondent continues: the first page they have not finished."""
    pages = _pages(questions, visible)
    for page in pages:
        shown = [q for q in questions if q.page == page and q.key in visible]
        if any(q.required and answers.get(q.key) in (None, "", []) for q in shown):
            return page
        if not any(answers.get(q.key) not in (None, "", []) for q in shown):
            return page
    return pages[-1] if pages else 1


def _scale_labels(question: Question) -> list[str]:
    lo, hi = scale_of(question) or (0, 0)
    if question.type == QuestionType.CSAT:
        return [
            str(_("Very dissatisfied")),
            str(_("Dissatisfied")),
            str(_("Neither satisfied nor dissatisfied")),
            str(_("Satisfied")),
            str(_("Very satisfied")),
        ]
    if question.type == QuestionType.CES and hi == 5:
        return [
            str(_("Strongly disagree")),
            str(_("Disagree")),
            str(_("Neither agree nor disagree")),
            str(_("Agree")),
            str(_("Strongly agree")),
        ]
    if question.type == QuestionType.CES and hi == 7:
        return [
            str(_("Strongly disagree")),
            str(_("Disagree")),
            str(_("Somewhat disagree")),
            str(_("Neither agree nor disagree")),
            str(_("Somewhat agree")),
            str(_("Agree")),
            str(_("Strongly agree")),
        ]
    return [""] * (hi - lo + 1)


@dataclass
class Option:
    value: str
    label: str
    checked: bool
    id: str
    caption: str = ""


@dataclass
class Field:
    """What the template needs to draw one question."""

    key: str
    name: str
    type: str
    label: str
    help: str
    required: bool
    error: Any
    kind: str
    options: list[Option] = field(default_factory=list)
    text: str = ""
    multiline: bool = False
    low_label: Any = ""
    high_label: Any = ""
    max_length: int = 5000


def _field(
    question: Question, language: str, default: str, current: Any, error: Any, raw: Any
) -> Field:
    name = field_name(question)
    selected = (
        {str(v) for v in raw}
        if raw is not None
        else {str(v) for v in (current if isinstance(current, list) else [current])}
        if current is not None
        else set()
    )
    f = Field(
        key=question.key,
        name=name,
        type=question.type,
        label=pick_text(question.label, language, default) or question.key,
        help=pick_text(question.help, language, default),
        required=question.required,
        error=error,
        kind="text",
        multiline=question.multiline,
    )
    if question.type in SCORED_TYPES:
        lo, hi = scale_of(question) or (0, 0)
        captions = _scale_labels(question)
        f.kind = "scale"
        for i, n in enumerate(range(lo, hi + 1)):
            label = str(n)
            if question.type == QuestionType.RATING:
                label = _("%(n)d of %(max)d stars") % {"n": n, "max": hi}
            f.options.append(
                Option(str(n), label, str(n) in selected, f"{name}-{n}", captions[i] or "")
            )
        if question.type == QuestionType.NPS:
            f.low_label, f.high_label = _("Not at all likely"), _("Extremely likely")
        elif question.type == QuestionType.RATING:
            f.kind = "stars"
    elif question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        f.kind = "choice" if question.type == QuestionType.SINGLE_CHOICE else "multi"
        for i, choice in enumerate(question.choices or []):
            if not isinstance(choice, Mapping):
                continue
            value = str(choice.get("value"))
            f.options.append(
                Option(
                    value,
                    pick_text(choice.get("label"), language, default) or value,
                    value in selected,
                    f"{name}-{i}",
                )
            )
    else:
        f.text = "\n".join(raw) if raw is not None else str(current or "")
    return f


# --- Flows: where a respondent's answers live ----------------------------------------------


class Flow:
    """One respondent's way through a survey; subclasses say where answers are kept."""

    survey: Survey
    questions: list[Question]
    language: str
    action_url: str = ""
    optout_url: str = ""
    preview: bool = False

    def load(self) -> dict[str, AnswerValue]:
        raise NotImplementedError

    def completed(self) -> bool:
        raise NotImplementedError

    def save(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        raise NotImplementedError

    def submit(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        raise NotImplementedError


def _questions(survey: Survey) -> list[Question]:
    return services.survey_questions(survey=survey)


class RecordedFlow(Flow):
    """An invitation or a public-link browser: answers are saved as the respondent goes."""

    def __init__(self, request: HttpRequest, respondent: Respondent, language: str) -> None:
        self.request = request
        self.respondent = respondent
        self.survey = respondent.survey
        self.questions = _questions(self.survey)
        self.language = language
        self._response = services.response_find(respondent=respondent)
        self._answers: dict[str, AnswerValue] | None = None

    def load(self) -> dict[str, AnswerValue]:
        if self._answers is None:
            self._answers = (
                services.answers_load(response=self._response, questions=self.questions)
                if self._response is not None
                else {}
            )
        return dict(self._answers)

    def completed(self) -> bool:
        invitation = self.respondent.invitation
        if invitation is not None:
            return invitation.responded_at is not None
        return self._response is not None and self._response.completed_on is not None

    def save(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        with transaction.atomic():
            response = self._response or services.response_start(
                respondent=self.respondent,
                language=self.language,
                user_agent=self.request.headers.get("User-Agent", ""),
            )
            services.response_save_page(response=response, questions=page_questions, values=values)

    def submit(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        services.response_submit(
            respondent=self.respondent,
            response=self._response,
            questions=self.questions,
            values=values,
            earlier=self.load(),
            language=self.language,
            user_agent=self.request.headers.get("User-Agent", ""),
        )


class PreviewFlow(Flow):
    """Staff preview: answers live in the session; nothing reaches the database tables."""

    preview = True

    def __init__(self, request: HttpRequest, survey: Survey, language: str) -> None:
        self.request = request
        self.survey = survey
        self.questions = _questions(survey)
        self.language = language
        self.key = f"surveys:preview:{survey.pk}"

    def load(self) -> dict[str, AnswerValue]:
        return dict(self.request.session.get(self.key, {}))

    def completed(self) -> bool:
        return False

    def save(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        self.request.session[self.key] = {**self.load(), **values}

    def submit(self, page_questions: list[Question], values: Mapping[str, AnswerValue]) -> None:
        self.request.session.pop(self.key, None)


# --- The page machine ----------------------------------------------------------------------


def _url(base: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{base}?{query}" if query else base


def _base_context(flow: Flow, request: HttpRequest, page: int | None = None) -> dict[str, Any]:
    default = flow.survey.default_language
    offered = survey_languages(flow.survey)
    names = dict(settings.LANGUAGES)
    return {
        "survey_title": pick_text(flow.survey.title, flow.language, default) or flow.survey.name,
        "language": flow.language,
        "optout_url": flow.optout_url,
        "preview": flow.preview,
        "languages": [
            {
                "code": code,
                "name": translation.get_language_info(code)["name_local"]
                if code in names
                else code,
                "url": _url(flow.action_url, lang=code, page=page),
                "current": code == flow.language,
            }
            for code in offered
        ]
        if len(offered) > 1
        else [],
    }


def _thanks(request: HttpRequest, flow: Flow, *, already: bool) -> HttpResponse:
    text = pick_text(flow.survey.thank_you, flow.language, flow.survey.default_language)
    return _message(
        request,
        status=200,
        title=_("You have already answered this survey") if already else _("Thank you!"),
        text=text or _("Your answers have been recorded."),
        extra=str(_("Preview: nothing was recorded.")) if flow.preview else "",
        base=_base_context(flow, request),
    )


def _unavailable(request: HttpRequest, flow: Flow | None, reason: str) -> HttpResponse:
    status, title, text = UNAVAILABLE_PAGES[reason]
    base = _base_context(flow, request) if flow is not None else None
    return _message(request, status=status, title=title, text=text, base=base)


def _render_page(
    request: HttpRequest,
    flow: Flow,
    *,
    page: int,
    answers: Mapping[str, AnswerValue],
    errors: Mapping[str, Any] | None = None,
    raws: Mapping[str, list[str]] | None = None,
) -> HttpResponse:
    errors = errors or {}
    visible = visible_keys(flow.questions, answers)
    pages = _pages(flow.questions, visible)
    index = pages.index(page) if page in pages else 0
    progress = sorted(set(pages) | _undecided_pages(flow.questions, visible, answers, page))
    default = flow.survey.default_language
    fields = [
        _field(
            q,
            flow.language,
            default,
            answers.get(q.key),
            errors.get(q.key),
            (raws or {}).get(q.key) if raws is not None else None,
        )
        for q in flow.questions
        if q.page == page and q.key in visible
    ]
    context = {
        **_base_context(flow, request, page),
        "intro": pick_text(flow.survey.intro, flow.language, default) if index == 0 else "",
        "fields": fields,
        "page": page,
        "page_number": progress.index(page) + 1 if page in progress else index + 1,
        "page_count": len(progress),
        "is_last": index == len(pages) - 1,
        "back_url": _url(flow.action_url, page=pages[index - 1], lang=flow.language)
        if index > 0
        else "",
        "action_url": flow.action_url,
        "errors": errors,
    }
    response = render(request, "surveys/page.html", context, status=200)
    response.headers["Content-Language"] = flow.language
    return response


def _run(request: HttpRequest, flow: Flow) -> HttpResponse:
    """GET shows the current page; POST saves it and moves on (or completes)."""
    if flow.completed():
        return _thanks(request, flow, already=request.GET.get("done") != "1")
    answers = flow.load()
    visible = visible_keys(flow.questions, answers)
    pages = _pages(flow.questions, visible)
    if not pages:
        return _unavailable(request, flow, Unavailable.NOT_OPEN)
    if request.method != "POST":
        resume = _resume_page(flow.questions, visible, answers)
        try:
            requested = int(request.GET.get("page", ""))
        except ValueError:
            requested = resume
        page = requested if requested in pages and requested <= resume else resume
        return _render_page(request, flow, page=page, answers=answers)

    try:
        page = int(request.POST.get("page", ""))
    except ValueError:
        page = -1
    if page not in pages:
        return HttpResponseRedirect(_url(flow.action_url, lang=flow.language))
    page_questions = [q for q in flow.questions if q.page == page]
    values, errors, raws = clean_page(page_questions, request.POST, visible=visible)
    if errors:
        return _render_page(request, flow, page=page, answers=answers, errors=errors, raws=raws)
    merged = {**answers, **values}
    visible = visible_keys(flow.questions, merged)
    following = [p for p in _pages(flow.questions, visible) if p > page]
    missing = _missing_required_page(flow.questions, visible, merged)
    if following or (missing is not None and missing != page):
        try:
            flow.save(page_questions, values)
        except AlreadyResponded:
            return _thanks(request, flow, already=True)
        target = following[0] if following else missing
        return HttpResponseRedirect(_url(flow.action_url, page=target, lang=flow.language))
    try:
        flow.submit(page_questions, values)
    except AlreadyResponded:
        return _thanks(request, flow, already=True)
    except SurveyFull:
        return _unavailable(request, flow, Unavailable.FULL)
    return HttpResponseRedirect(_url(flow.action_url, done=1, lang=flow.language))


# --- Rate limits ---------------------------------------------------------------------------


def _too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    _activate(request, choose_language_plain(request))
    response = _message(
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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a polite page instead of Django's technical one (no answer is lost)."""
    _activate(request, choose_language_plain(request))
    return _message(
        request,
        status=403,
        title=_("This page has expired"),
        text=_(
            "For your security the form could not be sent. Please go back, reload the page "
            "and send it again; your browser must accept cookies from this site."
        ),
    )


def _rate_limited(link_kwarg: str, *, per_address: bool) -> Callable[..., Any]:
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
                return _too_many_requests(request, wait)
            response = view(request, *args, **kwargs)
            if response.status_code == 404:
                ratelimit.hit("hosted-miss", address, limits["miss"])
            return response

        return wrapper

    return decorator


# --- Views ---------------------------------------------------------------------------------


def _invitation_preferences(invitation: Any) -> list[str]:
    # person_language comes annotated from invitation_for_token (no query for the person).
    return [invitation.language, getattr(invitation, "person_language", None) or ""]


@never_cache  # token pages and answers must never sit in a shared cache
@_restores_language
@_rate_limited("token", per_address=False)
@require_http_methods(["GET", "POST"])
def respond(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation's survey page."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return _not_found(request)
    survey = invitation.survey
    language = choose_language(request, survey, _invitation_preferences(invitation))
    _activate(request, language)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    flow = RecordedFlow(request, respondent, language)
    flow.action_url = reverse("surveys:respond", kwargs={"token": token})
    flow.optout_url = _url(reverse("surveys:optout", kwargs={"token": token}), lang=language)
    if flow.completed():
        return _thanks(request, flow, already=request.GET.get("done") != "1")
    reason = services.survey_unavailable_reason(survey=survey, invitation=invitation)
    if reason is not None:
        return _unavailable(request, flow, reason)
    if invitation.opened_at is None and request.method == "GET":
        # A submit records the opening itself, in the same statement that claims the invitation.
        services.invitation_mark_opened(invitation=invitation)
    return _run(request, flow)


@never_cache
@_restores_language
@_rate_limited("token", per_address=False)
@csrf_exempt  # the token is the credential; mail clients post one-click unsubscribes (RFC 8058)
@require_http_methods(["GET", "POST"])
def optout(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) and record (POST) an opt-out of every channel, without login."""
    invitation = services.invitation_for_token(token)
    if invitation is None:
        return _not_found(request)
    survey = invitation.survey
    language = choose_language(request, survey, _invitation_preferences(invitation))
    _activate(request, language)
    flow = Flow()  # only the page frame: no answers are read or written here
    flow.survey, flow.language = survey, language
    flow.action_url = reverse("surveys:optout", kwargs={"token": token})
    context = {
        **_base_context(flow, request),
        "action_url": flow.action_url,
        "survey_url": _url(reverse("surveys:respond", kwargs={"token": token}), lang=language),
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
@_restores_language
@_rate_limited("slug", per_address=True)
@require_http_methods(["GET", "POST"])
def public(request: HttpRequest, slug: str) -> HttpResponse:
    """A public link: one response per browser, anonymous-capable."""
    link = PublicLink.objects.select_related("survey").filter(slug=slug, active=True).first()
    if link is None:
        return _not_found(request)
    survey = link.survey
    language = choose_language(request, survey)
    _activate(request, language)
    browser_id, fresh = _browser_id(request)
    respondent = Respondent(survey=survey, public_link=link, browser_id=browser_id)
    flow = RecordedFlow(request, respondent, language)
    flow.action_url = reverse("surveys:public", kwargs={"slug": slug})
    if flow.completed():
        response = _thanks(request, flow, already=request.GET.get("done") != "1")
    else:
        reason = services.survey_unavailable_reason(survey=survey)
        response = _unavailable(request, flow, reason) if reason else _run(request, flow)
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


@never_cache
@_restores_language
@staff_member_required
@require_http_methods(["GET", "POST"])
def preview(request: HttpRequest, survey_id: int) -> HttpResponse:
    """Staff preview of a survey of the user's audiences (drafts too); records nothing."""
    survey = scope(Survey.objects.filter(pk=survey_id), user=request.user).first()
    if survey is None:
        return _not_found(request)
    return _preview(request, survey, reverse("surveys:preview", kwargs={"survey_id": survey.pk}))


@never_cache
@_restores_language
@require_http_methods(["GET", "POST"])
def test_link(request: HttpRequest, signed: str) -> HttpResponse:
    """The link of a staff test message: a preview without login that records nothing."""
    survey_id = tokens.test_link_survey_id(signed)
    survey = Survey.objects.filter(pk=survey_id).first() if survey_id is not None else None
    if survey is None:
        return _not_found(request)
    return _preview(request, survey, reverse("surveys:test_link", kwargs={"signed": signed}))


def _preview(request: HttpRequest, survey: Survey, action_url: str) -> HttpResponse:
    language = choose_language(request, survey)
    _activate(request, language)
    flow = PreviewFlow(request, survey, language)
    flow.action_url = action_url
    if request.method == "GET" and request.GET.get("done") == "1":
        return _thanks(request, flow, already=False)
    if request.method == "GET" and request.GET.get("restart") == "1":
        request.session.pop(flow.key, None)
    return _run(request, flow)
