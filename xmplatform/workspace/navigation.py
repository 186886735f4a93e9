"""The workspace's navigation: the team's work in groups, each entry an admin page.

The admin's own index groups pages by app label (and lists Celery's schedule parts on the
front page); this list groups them by what an XM team does. Each entry is shown only to a
user whose permissions open it: a model's entry asks its ModelAdmin (which obeys audience
grants), a custom page asks the permission that page checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from metrics.access import VIEW_PERMISSION


def _can_view_metrics(request: HttpRequest) -> bool:
    return request.user.has_perm(VIEW_PERMISSION)


def _can_view_rules(request: HttpRequest) -> bool:
    return _model_admin_allows("surveys.distributionrule", request)


def _can_add_surveys(request: HttpRequest) -> bool:
    model_admin = model_admin_for("surveys.survey")
    return model_admin is not None and model_admin.has_add_permission(request)


def _can_work_cases(request: HttpRequest) -> bool:
    return _model_admin_allows("metrics.case", request)


def _any_staff(request: HttpRequest) -> bool:
    return True


@dataclass(frozen=True)
class Entry:
    """One page: a model's list (`model`, "app_label.model_name") or a named URL with a check."""

    model: str = ""
    url_name: str = ""
    label: Any = ""
    query: str = ""
    allowed: Callable[[HttpRequest], bool] | None = None
    # An entry for "my …" view of a list: it is current only when its query is in the URL.
    exact: bool = False


@dataclass(frozen=True)
class Group:
    """A group of the team's work: its entries, in the order they are done."""

    key: str
    label: Any
    icon: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)


GROUPS: tuple[Group, ...] = (
    Group(
        "audiences",
        _("Audiences & journeys"),
        "people",
        (
            Entry(model="audiences.audience"),
            Entry(model="audiences.person"),
            Entry(model="audiences.membership"),
            Entry(model="audiences.consent"),
            Entry(model="journeys.journey"),
            Entry(model="journeys.stage"),
            Entry(model="journeys.touchpoint"),
            Entry(model="journeys.touchpointevent"),
        ),
    ),
    Group(
        "surveys",
        _("Surveys"),
        "survey",
        (
            Entry(model="surveys.survey"),
            Entry(
                url_name="admin:surveys_survey_from_template",
                label=_("New survey from a template"),
                allowed=_can_add_surveys,
            ),
            Entry(model="surveys.response"),
        ),
    ),
    Group(
        "distribution",
        _("Distribution"),
        "send",
        (
            Entry(model="surveys.distributionrule"),
            Entry(model="surveys.invitation"),
            # Where respondents answer without an invitation: public links, their kiosks, and
            # the website and in-app intercepts.
            Entry(model="surveys.publiclink"),
            Entry(model="surveys.kioskdevice"),
            Entry(model="surveys.interceptsite"),
            Entry(model="surveys.fatiguepolicy"),
            Entry(
                url_name="admin:surveys_distribution_fatigue",
                label=_("Survey load"),
                allowed=_can_view_rules,
            ),
            Entry(
                url_name="admin:surveys_distribution_unknown",
                label=_("Delivery unknown"),
                allowed=_can_view_rules,
            ),
        ),
    ),
    Group(
        "insights",
        _("Insights"),
        "chart",
        (
            Entry(
                url_name="metrics:index",
                label=_("Experience dashboard"),
                allowed=_can_view_metrics,
            ),
            Entry(url_name="metrics:ex_cx", label=_("EX ↔ CX"), allowed=_can_view_metrics),
            Entry(model="comments.topic"),
            Entry(model="metrics.dailyrollup"),
        ),
    ),
    Group(
        "closedloop",
        _("Closed loop"),
        "loop",
        (
            Entry(
                url_name="admin:metrics_case_changelist",
                query="assigned=me&state=open",
                label=_("My open cases"),
                allowed=_can_work_cases,
                exact=True,
            ),
            Entry(model="metrics.case"),
            Entry(model="metrics.alert"),
            Entry(model="metrics.alertrule"),
            Entry(model="metrics.rootcause"),
        ),
    ),
    Group(
        "settings",
        _("Settings"),
        "gear",
        (
            Entry(model="auth.user"),
            Entry(model="auth.group"),
            Entry(model="audiences.audiencegrant"),
            # Sign-in: single sign-on identities and two-step verification's authenticator
            # devices (entries of models that are not installed are left out).
            Entry(model="sso.ssoidentity"),
            Entry(model="otp_totp.totpdevice"),
            Entry(model="api.apikey"),
            Entry(model="api.webhook"),
            Entry(model="api.webhookdelivery"),
            Entry(model="django_celery_beat.periodictask", label=_("Schedules")),
            Entry(
                url_name="metrics:report_settings",
                label=_("My weekly report"),
                allowed=_any_staff,
            ),
            Entry(url_name="your_settings", label=_("Your settings"), allowed=_any_staff),
            Entry(model="metrics.reportsubscription"),
            Entry(model="audiences.auditlog"),
            Entry(model="core.outboxmessage"),
            Entry(model="core.deadletter"),
        ),
    ),
)

# Registered in the admin but reached from the pages that use them, not from the navigation:
# the parts of a beat schedule are picked (or added) on the schedule's own form.
NOT_IN_NAVIGATION = frozenset(
    {
        "django_celery_beat.clockedschedule",
        "django_celery_beat.crontabschedule",
        "django_celery_beat.intervalschedule",
        "django_celery_beat.solarschedule",
    }
)


def model_admin_for(label: str) -> admin.ModelAdmin | None:
    """The default site's ModelAdmin of the model `label` ("app_label.model_name"), if any."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.label_lower == label:
            return model_admin
    return None


def _model_admin_allows(label: str, request: HttpRequest) -> bool:
    model_admin = model_admin_for(label)
    return model_admin is not None and model_admin.has_view_or_change_permission(request)


def _resolve(entry: Entry, request: HttpRequest) -> tuple[str, str] | None:
    """(url, label) of `entry` if `request.user` may open it, else None."""
    if entry.model:
        model_admin = model_admin_for(entry.model)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return None
        opts = model_admin.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        return url, str(entry.label or capfirst(opts.verbose_name_plural))
    if entry.allowed is not None and not entry.allowed(request):
        return None
    try:
        url = reverse(entry.url_name)
    except NoReverseMatch:
        return None
    return url, str(entry.label)


def navigation_for(request: HttpRequest) -> list[dict[str, Any]]:
    """The groups `request.user` may open, each with its entries, the current page marked.

    [{"key", "label", "icon", "current", "entries": [{"url", "label", "current"}]}]; groups
    with no entry left are dropped. A page is current when its URL is the longest entry path
    the request's path starts with (an entry with a query only when that query is asked).
    """
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return []
    groups: list[dict[str, Any]] = []
    for group in GROUPS:
        entries = []
        for entry in group.entries:
            found = _resolve(entry, request)
            if found is None:
                continue
            url, label = found
            entries.append(
                {
                    "url": f"{url}?{entry.query}" if entry.query else url,
                    "path": url,
                    "label": label,
                    "exact": entry.exact,
                    "query": entry.query,
                    "current": False,
                }
            )
        if entries:
            groups.append(
                {
                    "key": group.key,
                    "label": group.label,
                    "icon": group.icon,
                    "entries": entries,
                    "current": False,
                }
            )
    _mark_current(groups, request)
    return groups


def _mark_current(groups: list[dict[str, Any]], request: HttpRequest) -> None:
    path = request.path
    query = request.META.get("QUERY_STRING", "")
    best: tuple[int, dict[str, Any], dict[str, Any]] | None = None
    for group in groups:
        for entry in group["entries"]:
            if not path.startswith(entry["path"]):
                continue
            if entry["exact"] and (path != entry["path"] or entry["query"] not in query):
                continue
            # An entry with its query asked wins over the plain list at the same path.
            weight = len(entry["path"]) * 2 + (1 if entry["exact"] else 0)
            if best is None or weight > best[0]:
                best = (weight, group, entry)
    if best is not None:
        best[1]["current"] = True
        best[2]["current"] = True
