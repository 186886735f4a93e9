"""Admin for distribution: rules, fatigue policies, a per-survey panel, the fatigue report and
the delivery-unknown list with its reconcile actions.

Privacy (README, "Privacy model"): below superuser nothing here moves when a person opens or
answers an anonymous survey's invitation. The panel counts such invitations by the state they
are shown in (distribution.funnel.funnel_state). The delivery-unknown list leaves anonymous
surveys out below superuser, and its reconcile ignores their invitations: a delivery-unknown
invitation that is opened is no longer delivery unknown, so listing it (or resolving it, or
failing to) would tell when it was opened; and no decision could be carried out on one that
was opened or answered without making its stored state false. Superusers, who see the stored
states, reconcile them.
"""

from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.mail import get_connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audiences.access import AudienceScopedAdmin, audience_ids, scope
from audiences.models import Person, Role
from surveys import tokens
from surveys.admin.forms_distribution import DistributionRuleForm, recontact_warning
from surveys.distribution import fatigue, sending
from surveys.distribution import planning as distribution
from surveys.distribution.channels import mail_domain
from surveys.distribution.channels.email import build
from surveys.distribution.funnel import survey_funnel
from surveys.models import (
    DistributionRule,
    FatiguePolicy,
    Invitation,
    InvitationState,
    RuleKind,
    Survey,
)
from surveys.selectors import survey_response_slices
from xmplatform.core.words import humanize_duration, periodic_task_in_words


@admin.register(FatiguePolicy)
class FatiguePolicyAdmin(AudienceScopedAdmin):
    list_display = [
        "__str__",
        "max_invitations",
        "window_days",
        "min_gap_days",
        "recontact_days",
        "rest_after_response_days",
        "quiet_start",
        "quiet_end",
        "wave_hourly_cap",
    ]
    list_select_related = ["audience"]


@admin.register(DistributionRule)
class DistributionRuleAdmin(AudienceScopedAdmin):
    list_display = ["name", "survey", "kind", "runs_when", "active", "last_run_at", "panel_link"]
    list_select_related = [
        "survey__touchpoint",
        "touchpoint",
        "periodic_task__crontab",
        "periodic_task__clocked",
        "periodic_task__interval",
        "periodic_task__solar",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["name", "survey__name"]
    # Picked by name (a search box), never by typing an id.
    autocomplete_fields = ["survey", "touchpoint"]
    form = DistributionRuleForm
    readonly_fields = ["schedule_entry"]
    actions = ["forecast", "run_now"]
    fieldsets = [
        (None, {"fields": ["survey", "name", "kind", "active", "channels"]}),
        (
            _("Touchpoint trigger"),
            {
                "classes": ["xm-rule-section", "xm-rule-trigger"],
                "fields": ["touchpoint", "delay", "sampling_rate", "condition"],
            },
        ),
        (
            _("Scheduled wave"),
            {
                "classes": ["xm-rule-section", "xm-rule-wave"],
                "fields": [
                    "segment",
                    "attribute_filter",
                    "sample_share",
                    "schedule_entry",
                    "schedule",
                    "first_run",
                    "cron",
                    "hourly_cap",
                ],
            },
        ),
        (
            _("Reminders and expiry"),
            {"fields": ["reminder_count", "reminder_after_days", "expiry_days"]},
        ),
    ]

    class Media:
        js = ("surveys/admin/rule-kind.js",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        form.schedule_save(obj)
        warning = recontact_warning(obj, form.cleaned_data.get("schedule") or "")
        if warning:
            self.message_user(request, warning, messages.WARNING)

    @admin.display(description=_("schedule"))
    def schedule_entry(self, obj: DistributionRule) -> str:
        """The wave's beat entry in words, linked to its page in the periodic-task admin."""
        task = obj.periodic_task if obj.pk else None
        if task is None:
            return _("Not scheduled: plan it with the “Plan the wave now” action.")
        state = "" if task.enabled else " " + str(_("(disabled)"))
        url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        return format_html('<a href="{}">{}</a>{}', url, periodic_task_in_words(task), state)

    @admin.display(description=_("runs"))
    def runs_when(self, obj: DistributionRule) -> str:
        """When the rule sends: a wave's schedule, or a trigger's touchpoint and delay."""
        if obj.kind == RuleKind.WAVE:
            task = obj.periodic_task
            if task is None:
                return str(_("By hand"))
            words = periodic_task_in_words(task)
            return words if task.enabled else f"{words} {_('(disabled)')}"
        touchpoint = obj.touchpoint or obj.survey.touchpoint
        if not obj.delay:
            return _("At once after “%(touchpoint)s”") % {"touchpoint": touchpoint or "—"}
        return _("%(delay)s after “%(touchpoint)s”") % {
            "delay": humanize_duration(obj.delay),
            "touchpoint": touchpoint or "—",
        }

    @admin.display(description=_("distribution"))
    def panel_link(self, obj: DistributionRule) -> str:
        url = reverse("admin:surveys_distribution_panel", args=[obj.survey_id])
        return format_html('<a href="{}">{}</a>', url, _("Panel"))

    @admin.action(description=_("Forecast the next wave run (dry run)"))
    def forecast(self, request: HttpRequest, queryset: Any) -> None:
        waves = queryset.filter(kind=RuleKind.WAVE).select_related(
            "survey__audience",
            "periodic_task__clocked",
            "periodic_task__crontab",
            "periodic_task__interval",
        )
        for rule in waves:
            plan = distribution.wave_forecast(rule=rule)
            self.message_user(request, _describe(rule, plan, dry_run=True), messages.INFO)

    @admin.action(description=_("Plan the wave now"), permissions=["change"])
    def run_now(self, request: HttpRequest, queryset: Any) -> None:
        queryset = scope(queryset, user=request.user, role=self.change_role)
        for rule in queryset.filter(kind=RuleKind.WAVE, active=True).select_related(
            "survey__audience"
        ):
            plan = distribution.wave_run(rule=rule)
            if plan.survey_not_live:
                self.message_user(
                    request,
                    _("%(rule)s: the survey is not live, so nothing was planned.")
                    % {"rule": rule.name},
                    messages.WARNING,
                )
                continue
            self.message_user(request, _describe(rule, plan, dry_run=False), messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "panel/<int:survey_id>/",
                wrap(self.panel_view),
                name="surveys_distribution_panel",
            ),
            path("fatigue/", wrap(self.fatigue_view), name="surveys_distribution_fatigue"),
            path(
                "delivery-unknown/",
                wrap(self.unknown_view),
                name="surveys_distribution_unknown",
            ),
            *super().get_urls(),
        ]

    def panel_view(self, request: HttpRequest, survey_id: int) -> HttpResponse:
        """Planned / suppressed by rule / sent / opened / responded, and a test send."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        survey = get_object_or_404(
            scope(Survey.objects.all(), user=request.user, role=self.view_role),
            pk=survey_id,
        )
        if request.method == "POST" and "send_test" in request.POST:
            if not self.has_change_permission(request):
                raise PermissionDenied
            return self._send_test(request, survey)
        funnel = survey_funnel(survey=survey, real=request.user.is_superuser)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Distribution of %(survey)s") % {"survey": survey},
            "survey": survey,
            "funnel": funnel,
            "suppressed": sorted(funnel.suppressed.items(), key=lambda kv: -kv[1]),
            "rules": survey.distribution_rules.all(),
            "slices": survey_response_slices(survey=survey),
            "threshold": survey.audience.anonymity_threshold,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/distribution/panel.html", context)

    def _send_test(self, request: HttpRequest, survey: Survey) -> HttpResponse:
        if not request.user.email:
            self.message_user(
                request, _("Add an e-mail address to your user to receive a test."), messages.ERROR
            )
        else:
            # An unsaved invitation: the message is exactly what people get, but it is not
            # counted or ledgered; its link opens a signed preview that records nothing.
            person = Person(
                email=request.user.email,
                name=request.user.get_full_name(),
                language=survey.default_language,
            )
            invitation = Invitation(survey=survey, person=person, channel="email", id=0)
            signed = tokens.test_link_for(survey.pk)
            link = settings.SITE_URL + reverse("surveys:test_link", kwargs={"signed": signed})
            optout = settings.SITE_URL + reverse("surveys:test_optout", kwargs={"signed": signed})
            message = build(invitation, urls=(link, optout))
            message.subject = "[TEST] " + message.subject
            # Each test its own Message-ID (a second test is a new message, not a duplicate
            # of the first), and no invitation id: there is none.
            message.extra_headers["Message-ID"] = make_msgid("test", domain=mail_domain())
            del message.extra_headers["X-Invitation-ID"]
            get_connection().send_messages([message])
            self.message_user(
                request,
                _("A test invitation was sent to %(email)s.") % {"email": request.user.email},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(request.path)

    def fatigue_view(self, request: HttpRequest) -> HttpResponse:
        """Per audience: how many surveys people received in 90 days, who is at cap."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Survey load per audience"),
            "rows": _granted(request, fatigue.audience_load(now=timezone.now())),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/distribution/fatigue.html", context)

    def unknown_view(self, request: HttpRequest) -> HttpResponse:
        """Invitations whose delivery is unknown, with the reconcile decisions."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            ids = list(
                _reconcilable(
                    request,
                    Invitation.objects.filter(
                        pk__in=[int(i) for i in request.POST.getlist("ids") if i.isdigit()]
                    ),
                    role=self.change_role,
                ).values_list("pk", flat=True)
            )
            decision = request.POST.get("decision", "")
            if decision not in sending.RECONCILE_DECISIONS:
                self.message_user(request, _("Choose what happened to them."), messages.ERROR)
            else:
                n = sending.invitations_resolve_unknown(ids=ids, decision=decision)
                self.message_user(
                    request,
                    ngettext("%(n)d invitation resolved.", "%(n)d invitations resolved.", n)
                    % {"n": n},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(request.path)
        rows = (
            _reconcilable(request, Invitation.objects.all(), role=self.view_role)
            .filter(state=InvitationState.DELIVERY_UNKNOWN)
            .select_related("survey", "person")
            .order_by("-claimed_at", "-id")[:200]
        )
        anonymous_left_out = (
            not request.user.is_superuser
            and scope(
                Survey.objects.filter(anonymous=True), user=request.user, role=self.view_role
            ).exists()
        )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delivery unknown"),
            "rows": rows,
            "anonymous_left_out": anonymous_left_out,
            "decisions": sending.RECONCILE_DECISIONS.items(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/distribution/unknown.html", context)


def _reconcilable(request: HttpRequest, invitations: Any, *, role: int) -> Any:
    """The invitations of `invitations` the user may list and reconcile as delivery unknown.

    Below superuser: those of the user's audiences, anonymous surveys left out (module
    docstring), whatever their state, so neither the list nor a resolve tells which of them
    were opened.
    """
    invitations = scope(invitations, user=request.user, role=role)
    if request.user.is_superuser:
        return invitations
    return invitations.filter(survey__anonymous=False)


def _granted(request: HttpRequest, rows: list[Any]) -> list[Any]:
    """Only the audiences the user may see (the report itself covers all)."""
    ids = audience_ids(request.user, Role.ANALYST)
    return rows if ids is None else [r for r in rows if r.audience_id in ids]


def _describe(rule: DistributionRule, plan: distribution.WavePlan, *, dry_run: bool) -> str:
    reasons = ", ".join(
        f"{n} {fatigue.reason_label(reason)}" for reason, n in plan.suppressed.most_common()
    )
    text = _("%(rule)s: %(planned)d planned, %(suppressed)d suppressed (%(reasons)s).")
    if dry_run:
        text = _("%(rule)s would plan %(planned)d and suppress %(suppressed)d (%(reasons)s).")
    text = text % {
        "rule": rule.name,
        "planned": plan.planned,
        "suppressed": plan.suppressed_total,
        "reasons": reasons or "—",
    }
    if plan.deferred:
        text += " " + _(
            "The hourly cap spreads it over %(hours)d hours: %(deferred)d deferred."
        ) % {"hours": plan.spread_hours, "deferred": plan.deferred}
    return text
