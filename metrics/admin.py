"""Admin for rollups (read-only), alert rules, alerts and cases.

The dashboard lives in metrics.views.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import BooleanField, Q, QuerySet, Value, When
from django.db.models import Case as SqlCase
from django.db.models.functions import Now
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audiences.access import (
    AudienceScopedAdmin,
    SuperuserOnlyAdmin,
    audience_ids,
    audience_users,
    has_role,
)
from audiences.models import Role
from metrics.closedloop.cases import case_save
from metrics.closedloop.search import cases_matching
from metrics.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Alert,
    AlertRule,
    Case,
    CaseNote,
    DailyRollup,
    RootCause,
)
from metrics.reports import admin as _reports_admin  # noqa: F401 - registers its ModelAdmin
from xmplatform.core.duration_field import DurationWordsField
from xmplatform.core.words import humanize_duration


@admin.register(DailyRollup)
class DailyRollupAdmin(SuperuserOnlyAdmin):
    """Rollups are written by the rollup task only; their small slices are for superusers."""

    list_display = ("day", "audience", "question", "touchpoint", "segment", "channel", "n")
    list_filter = ("question_type", "audience")
    date_hierarchy = "day"
    show_full_result_count = False
    list_select_related = ("audience", "question", "touchpoint")

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False


# --- The closed loop -----------------------------------------------------------------------


class AlertRuleForm(forms.ModelForm):
    """A rule's cases go to someone who can open them: the owner or an analyst of its audience."""

    class Meta:
        model = AlertRule
        fields = (
            "name",
            "active",
            "audience",
            "survey",
            "touchpoint",
            "condition",
            "question_type",
            "scale_max",
            "question",
            "threshold",
            "keywords",
            "topic",
            "window_days",
            "cooldown",
            "assignee",
            "sla",
            "notify",
        )
        # "1 day", "2 gün": typed and shown in words, not "1 00:00:00".
        field_classes = {"cooldown": DurationWordsField, "sla": DurationWordsField}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assignee, audience = data.get("assignee"), data.get("audience")
        if assignee is not None and audience is not None:
            if not has_role(assignee, audience.pk, Role.ANALYST):
                self.add_error(
                    "assignee",
                    _(
                        "%(user)s cannot open this audience's cases: choose its owner or a user "
                        "with an analyst grant on it."
                    )
                    % {"user": assignee},
                )
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(AudienceScopedAdmin):
    """Rules per audience (optionally survey or touchpoint); validated in AlertRule.clean."""

    form = AlertRuleForm
    ordering = ("audience__name", "name", "pk")

    list_display = (
        "name",
        "audience",
        "condition",
        "question_type",
        "threshold",
        "sla_shown",
        "notify",
        "active",
    )
    list_filter = ("active", "kind", "condition", "audience")
    list_select_related = ("audience",)
    search_fields = ("name",)
    raw_id_fields = ("question", "topic")
    fieldsets = (
        (None, {"fields": ("name", "active", "audience", "survey", "touchpoint")}),
        (
            _("Condition"),
            {
                "fields": (
                    "condition",
                    "question_type",
                    "scale_max",
                    "question",
                    "threshold",
                    "keywords",
                    "topic",
                )
            },
        ),
        (_("Score rules"), {"fields": ("window_days", "cooldown")}),
        (_("Follow-up"), {"fields": ("assignee", "sla", "notify")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertRule]:
        return super().get_queryset(request)

    @admin.display(description=_("SLA"), ordering="sla")
    def sla_shown(self, obj: AlertRule) -> str:
        return humanize_duration(obj.sla)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "assignee":
            # Not every user of the platform: the people of the audiences this user manages.
            ids = audience_ids(request.user, self.change_role)
            kwargs["queryset"] = audience_users(audience_ids=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Alert)
class AlertAdmin(AudienceScopedAdmin):
    """Alerts are opened by the rules only; each has its case."""

    list_display = ("summary_shown", "audience", "rule", "opened_at", "notify", "notified_at")
    list_filter = ("notify", "audience")
    list_select_related = ("audience", "rule")
    date_hierarchy = "opened_at"
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alert]:
        return super().get_queryset(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False

    @admin.display(description=_("summary"), ordering="summary")
    def summary_shown(self, obj: Alert) -> str:
        return obj.summary_shown


@admin.register(RootCause)
class RootCauseAdmin(admin.ModelAdmin):
    """The root-cause tags chosen when closing a case."""

    list_display = ("name", "active")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RootCause]:
        return super().get_queryset(request)


def overdue() -> SqlCase:
    """True for an open case past its due time (evaluated by the database's clock)."""
    return SqlCase(
        When(status__in=OPEN_STATUSES, due_at__lt=Now(), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


class AssignedFilter(admin.SimpleListFilter):
    title = _("assigned to")
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("me", _("Me")), ("nobody", _("Nobody"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "me":
            return queryset.filter(assignee=request.user)
        if self.value() == "nobody":
            return queryset.filter(assignee__isnull=True)
        return queryset


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("open", _("Open")), ("overdue", _("Overdue")), ("closed", _("Closed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        if self.value() == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if self.value() == "overdue":
            return queryset.filter(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        if self.value() == "closed":
            return queryset.filter(status__in=CLOSED_STATUSES)
        return queryset


class CaseNoteInline(admin.TabularInline):
    model = CaseNote
    extra = 1
    fields = ("text", "author", "created_at")
    readonly_fields = ("author", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # notes are a log: add, never rewrite

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CaseForm(forms.ModelForm):
    """Closing needs a root cause (Case.clean); only active causes are offered."""

    class Meta:
        model = Case
        fields = ("status", "assignee", "due_at", "root_cause")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields.get("root_cause")
        if field is not None:
            current = self.instance.root_cause_id if self.instance else None
            field.queryset = RootCause.objects.filter(Q(active=True) | Q(pk=current))  # type: ignore[attr-defined]
        field = self.fields.get("due_at")
        if field is not None:
            # The widget shows and reads the reader's zone (xmplatform.core.viewer_zone).
            field.help_text = _("Times are in %(zone)s.") % {
                "zone": timezone.get_current_timezone_name()
            }
        field = self.fields.get("assignee")
        if field is not None and self.instance.audience_id is not None:
            # Whoever the case goes to must be able to open it (its audience's owner, analysts
            # and managers, or the XM team); the current assignee stays offered.
            eligible = audience_users(audience_ids=[self.instance.audience_id])
            current_user = self.instance.assignee_id
            field.queryset = eligible | field.queryset.model._default_manager.filter(  # type: ignore[attr-defined]
                pk=current_user
            )


@admin.register(Case)
class CaseAdmin(AudienceScopedAdmin):
    """Follow-up cases; "my open cases" is ?assigned=me&state=open, overdue first."""

    # Working a case is the closed loop, not configuration: analysts may.
    change_role = Role.ANALYST

    form = CaseForm
    list_display = (
        "title_shown",
        "person_link",
        "audience",
        "assignee",
        "status",
        "due_at",
        "overdue",
        "opened_at",
    )
    list_filter = (AssignedFilter, StateFilter, "status", "audience", "root_cause")
    list_select_related = ("audience", "assignee", "person")
    # The search itself is metrics.closedloop.search (get_search_results).
    search_fields = ("title",)
    search_help_text = _("The person (name, e-mail, phone, external id), the title or a note.")
    show_full_result_count = False
    fields = (
        "title_shown",
        "audience",
        "respondent",
        "response_link",
        "status",
        "assignee",
        "due_at",
        "root_cause",
        "opened_at",
        "closed_at",
    )
    readonly_fields = (
        "title_shown",
        "audience",
        "respondent",
        "response_link",
        "opened_at",
        "closed_at",
    )
    inlines = (CaseNoteInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        return super().get_queryset(request).select_related("person").annotate(_overdue=overdue())

    def get_ordering(self, request: HttpRequest) -> list[Any]:
        return [overdue().desc(), "due_at", "pk"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # cases are opened by alerts

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Case], search_term: str
    ) -> tuple[QuerySet[Case], bool]:
        return cases_matching(queryset, search_term), False

    @admin.display(description=_("title"), ordering="title")
    def title_shown(self, obj: Case) -> str:
        return obj.title_shown

    @admin.display(description=_("person"))
    def person_link(self, obj: Case) -> str:
        if obj.person is None:
            return "—"
        url = reverse("person_timeline", args=[obj.person_id])
        return format_html('<a href="{}">{}</a>', url, obj.person)

    @admin.display(description=_("overdue"), ordering="_overdue")
    def overdue(self, obj: Case) -> str:
        # Red text, not the admin's boolean icons: a green tick would read as "all is well".
        if getattr(obj, "_overdue", False):
            return format_html(
                '<strong class="xm-overdue" style="color: #ba2121">{}</strong>', _("Overdue")
            )
        return ""

    @admin.display(description=_("respondent"))
    def respondent(self, obj: Case) -> str:
        if obj.person is None:
            return str(_("Not known (anonymous, unnamed or a score alert)"))
        if obj.may_contact is False:
            return str(_("%(name)s: asked not to be contacted") % {"name": obj.person})
        contact = " · ".join(x for x in (obj.person.email, obj.person.phone) if x)
        url = reverse("person_timeline", args=[obj.person_id])
        return format_html(
            '{} <a href="{}">{}</a>',
            f"{obj.person} ({contact})" if contact else str(obj.person),
            url,
            _("Everything about this person"),
        )

    @admin.display(description=_("response"))
    def response_link(self, obj: Case) -> str:
        if obj.response_id is None:
            return "—"
        url = reverse("admin:surveys_response_change", args=[obj.response_id])
        return format_html('<a href="{}">{}</a>', url, _("View the answers"))

    def save_model(self, request: HttpRequest, obj: Case, form: Any, change: bool) -> None:
        """Saved with its new notes in save_related: one service call, one `case.changed`."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Notes are added only (the inline neither changes nor deletes them).
        notes = [note.text for formset in formsets for note in formset.save(commit=False)]
        if form.has_changed() or notes:
            case_save(case=form.instance, by=request.user, notes=notes)


# The journey page again, with scores on its map (metrics.journey_map registers it).
from metrics import journey_map  # noqa: E402, F401
