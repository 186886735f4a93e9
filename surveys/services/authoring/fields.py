"""The survey's own fields as authoring sends them, checked and merged over the survey's.

The rules are the builder's: a name, an audience (by slug, among those the caller may use), a
touchpoint on one of its journeys, languages with the default among them, the title in every
language, employees' surveys anonymous, and nothing a survey's responses were stored under
(its audience, whether it is anonymous) changed once it has them.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from surveys.models import (
    PriorityClass,
    Question,
    ReportingPeriodKind,
    Response,
    Survey,
    SurveyStatus,
)
from surveys.services.authoring.branding import clean_branding
from surveys.versions.cleaning import Errors, add, missing_languages, texts
from surveys.versions.selectors import answering_hidden

READ_ONLY = frozenset({"id", "created_at", "version"})
SURVEY_FIELDS = frozenset(
    {
        "name",
        "audience",
        "touchpoint",
        "status",
        "languages",
        "default_language",
        "anonymous",
        "title",
        "intro",
        "thank_you",
        "opens_at",
        "closes_at",
        "reporting_period",
        "priority_class",
        "response_limit",
        "presentation",
        "branding",
        "hidden_fields",
        "questions",
    }
)
NAME_MAX = Survey._meta.get_field("name").max_length or 200
LIMIT_MAX = 2**31 - 1  # the column's largest value on PostgreSQL


def actor_name(actor: Any) -> str:
    if actor is None:
        return ""
    name = actor.get_username() if hasattr(actor, "get_username") else str(actor)
    return str(name)[:150]


def _moment(value: Any, path: str, errors: Errors) -> Any:
    if value is None or value == "":
        return None
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:  # well formed but impossible, e.g. month 13
        moment = None
    if moment is None or moment.tzinfo is None:
        add(
            errors,
            path,
            _("Use an ISO 8601 moment with an offset, e.g. 2026-09-01T09:00:00+03:00."),
        )
        return None
    return moment


def _choice(value: Any, choices: Any, path: str, errors: Errors) -> Any:
    if value not in choices.values:
        add(
            errors,
            path,
            _("Choose one of: %(values)s.") % {"values": ", ".join(str(v) for v in choices.values)},
        )
    return value


def _run_validators(name: str, value: Any, errors: Errors) -> None:
    try:
        Survey._meta.get_field(name).run_validators(value)
    except ValidationError as exc:
        for message in exc.messages:
            add(errors, name, message)


def _current(survey: Survey) -> dict[str, Any]:
    """The survey's fields in the input's shape, the base an update is merged over."""
    return {
        "name": survey.name,
        "audience": survey.audience,
        "touchpoint": survey.touchpoint,
        "status": survey.status,
        "languages": list(survey.languages or []),
        "default_language": survey.default_language,
        "anonymous": survey.anonymous,
        "title": dict(survey.title or {}),
        "intro": dict(survey.intro or {}),
        "thank_you": dict(survey.thank_you or {}),
        "opens_at": survey.opens_at,
        "closes_at": survey.closes_at,
        "reporting_period": survey.reporting_period,
        "priority_class": survey.priority_class,
        "response_limit": survey.response_limit,
        "presentation": getattr(survey, "presentation", None),
        "hidden_fields": list(survey.hidden_fields or []),
    }


def clean_fields(
    data: Mapping[str, Any],
    survey: Survey | None,
    audiences: QuerySet[Audience],
    errors: Errors,
) -> dict[str, Any]:
    """The survey's column values after `data` (merged over the survey's when updating)."""
    given = {k: v for k, v in data.items() if k not in READ_ONLY and k != "questions"}
    for name in sorted(set(given) - SURVEY_FIELDS):
        add(
            errors,
            name,
            _("Unknown field; a survey has: %(fields)s.")
            % {"fields": ", ".join(sorted(SURVEY_FIELDS))},
        )
    out = _current(survey) if survey is not None else {}
    if "branding" in given:
        out.update(clean_branding(given["branding"], survey, errors))
    if "name" in given or survey is None:
        name = given.get("name")
        if not isinstance(name, str) or not name.strip():
            add(errors, "name", _("Give the survey a name."))
        elif len(name.strip()) > NAME_MAX:
            add(errors, "name", _("A name has at most %(n)d characters.") % {"n": NAME_MAX})
        else:
            out["name"] = name.strip()
    if "audience" in given or survey is None:
        slug = given.get("audience")
        audience = audiences.filter(slug=slug).first() if isinstance(slug, str) and slug else None
        if audience is None:
            add(errors, "audience", _("No audience has this slug."))
        elif survey is not None and audience.pk != survey.audience_id and has_responses(survey):
            add(
                errors,
                "audience",
                _("This survey already has responses; copy it to ask another audience."),
            )
        else:
            out["audience"] = audience
    audience = out.get("audience")
    if "touchpoint" in given:
        slug = given["touchpoint"]
        out["touchpoint"] = None
        if slug not in (None, ""):
            touchpoint = (
                Touchpoint.objects.select_related("stage__journey").filter(slug=slug).first()
                if isinstance(slug, str)
                else None
            )
            if touchpoint is None or (
                audience is not None and touchpoint.stage.journey.audience_id != audience.pk
            ):
                add(
                    errors,
                    "touchpoint",
                    _("Choose a touchpoint on one of this audience's journeys."),
                )
            else:
                out["touchpoint"] = touchpoint
    elif survey is not None and audience is not None and survey.touchpoint_id is not None:
        if survey.touchpoint.stage.journey.audience_id != audience.pk:
            add(errors, "touchpoint", _("Choose a touchpoint on one of this audience's journeys."))
    for name, choices, default in (
        ("status", SurveyStatus, SurveyStatus.DRAFT),
        ("reporting_period", ReportingPeriodKind, ReportingPeriodKind.AUTO),
        ("priority_class", PriorityClass, PriorityClass.RELATIONSHIP),
    ):
        if name in given:
            out[name] = _choice(given[name], choices, name, errors)
        elif survey is None:
            out[name] = default
    if "presentation" in given or survey is None:
        presentation = (
            Survey._meta.get_field("presentation") if _has_field("presentation") else None
        )
        if presentation is not None:
            value = given.get("presentation", presentation.get_default())
            if value not in [c[0] for c in presentation.choices or []]:
                add(
                    errors,
                    "presentation",
                    _("Choose one of: %(values)s.")
                    % {"values": ", ".join(str(c[0]) for c in presentation.choices or [])},
                )
            out["presentation"] = value
    if "languages" in given or survey is None:
        languages = given.get("languages", Survey._meta.get_field("languages").get_default())
        if not isinstance(languages, list) or not all(isinstance(c, str) for c in languages):
            add(errors, "languages", _('Give the languages as a list of codes, e.g. ["tr", "en"].'))
            languages = []
        else:
            _run_validators("languages", languages, errors)
        out["languages"] = languages
    languages = [str(code) for code in out.get("languages") or []]
    if "default_language" in given or survey is None:
        default = given.get("default_language", languages[0] if languages else "")
        if not isinstance(default, str):
            add(errors, "default_language", _("Give a language code, e.g. “tr”."))
            default = ""
        elif default:
            _run_validators("default_language", default, errors)
        out["default_language"] = default
    if languages and out.get("default_language") not in languages:
        add(
            errors,
            "default_language",
            _("The default language must be one of the survey languages."),
        )
    if "anonymous" in given or survey is None:
        value = given.get(
            "anonymous", audience is not None and audience.kind == AudienceKind.EMPLOYEE
        )
        if not isinstance(value, bool):
            add(errors, "anonymous", _("Give true or false."))
        elif survey is not None and value != survey.anonymous and has_responses(survey):
            # Existing responses were stored under the old rule: switching would either leave
            # "anonymous" answers linked to people or promise links that were never kept.
            add(
                errors,
                "anonymous",
                _("This survey already has responses; copy it to change whether it is anonymous."),
            )
        else:
            out["anonymous"] = value
    if (
        audience is not None
        and audience.kind == AudienceKind.EMPLOYEE
        and out.get("anonymous") is False
    ):
        add(
            errors,
            "anonymous",
            _("Surveys of an employee audience are always anonymous; tick “anonymous”."),
        )
    for name in ("title", "intro", "thank_you"):
        if name in given or survey is None:
            out[name] = texts(given.get(name), name, errors)
    missing = missing_languages(out.get("title"), languages)
    if languages and missing:
        add(
            errors,
            "title",
            _("Give the title in every survey language (missing: %(codes)s).")
            % {"codes": ", ".join(missing)},
        )
    for name in ("opens_at", "closes_at"):
        if name in given or survey is None:
            out[name] = _moment(given.get(name), name, errors)
    opens, closes = out.get("opens_at"), out.get("closes_at")
    if opens and closes and closes <= opens:
        add(errors, "closes_at", _("The survey must close after it opens."))
    if "response_limit" in given or survey is None:
        limit = given.get("response_limit")
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX
        ):
            add(
                errors,
                "response_limit",
                _("Give a whole number from 1 to %(max)d, or null for no limit.")
                % {"max": LIMIT_MAX},
            )
            limit = None
        out["response_limit"] = limit
    if "hidden_fields" in given or survey is None:
        names = given.get("hidden_fields") or []
        # Checked against the questions and anonymity with them (authoring._validate).
        out["hidden_fields"] = list(names) if isinstance(names, list) else names
    return out


def _has_field(name: str) -> bool:
    return any(f.name == name for f in Survey._meta.get_fields())


def has_responses(survey: Survey) -> bool:
    """Whether `survey` has responses; a live anonymous survey counts as having them (its
    editors are not to learn when someone answered, see surveys.versions.selectors)."""
    return answering_hidden(survey) or Response.objects.filter(survey=survey).exists()


def labels_in(survey: Survey, languages: Sequence[str], errors: Errors) -> None:
    """When the languages change and the questions do not, every shown question still needs a
    label (and choice labels) in each language."""
    lacking = [
        q.key
        for q in Question.objects.filter(survey=survey, retired_in__isnull=True).order_by(
            "page", "order", "id"
        )
        if missing_languages(q.label, languages)
        or any(
            missing_languages(c.get("label"), languages)
            for c in q.choices or []
            if isinstance(c, Mapping)
        )
    ]
    if lacking:
        add(
            errors,
            "languages",
            _("These questions have no text in every survey language: %(keys)s.")
            % {"keys": ", ".join(lacking)},
        )
