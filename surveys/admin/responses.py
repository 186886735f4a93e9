"""Responses (read-only, anonymity-aware), invitations, and the export downloads.

Privacy (see surveys.exports): below superuser, a response of an anonymous survey is never
listed or opened one by one. The response list leaves them out, their pages answer 404, and
each anonymous survey has a summary page instead: its released results per reporting period,
only for groups of at least the audience's anonymity threshold. The invitations of an
anonymous survey say that they were answered, never when (no opened or responded time), and
below superuser only once the period they were answered in is published (surveys.selectors).
"""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin, scope
from audiences.models import AudienceKind, AuditAction, Role
from audiences.services import audit_record
from surveys import exports
from surveys.distribution.fatigue import reason_label
from surveys.labels import answer_display
from surveys.models import (
    Invitation,
    InvitationState,
    QuestionType,
    ReportingPeriod,
    Response,
    Survey,
)
from surveys.periods import anonymity_threshold
from surveys.search import responses_matching
from surveys.selectors import invitations_in_shown_state, invitations_shown
from surveys.services import answer_value
from xmplatform.core.paging import EstimatedCountPaginator

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_download(survey: Survey, *, full: bool = False) -> StreamingHttpResponse:
    """The survey's responses as a streamed CSV download.

    An anonymous survey downloads its period summary unless `full` (superusers only).
    """
    response = StreamingHttpResponse(
        exports.export_csv_lines(survey=survey, full=full), content_type="text/csv; charset=utf-8"
    )
    filename = exports.export_filename(survey=survey, extension="csv", full=full)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_download(survey: Survey, *, full: bool = False) -> FileResponse:
    """The survey's responses as an XLSX download (built in write-only mode on disk).

    An anonymous survey downloads its period summary unless `full` (superusers only).
    """
    return FileResponse(
        exports.export_xlsx(survey=survey, full=full),
        as_attachment=True,
        filename=exports.export_filename(survey=survey, extension="xlsx", full=full),
        content_type=XLSX_TYPE,
    )


def sees_anonymous_rows(request: HttpRequest) -> bool:
    """Only an active superuser sees anonymous responses one by one."""
    return bool(request.user.is_active and request.user.is_superuser)


def localised(texts: Any, fallback: str = "en") -> str:
    """The text of a per-language dict in the current language, else any available one."""
    if not isinstance(texts, dict) or not texts:
        return ""
    language = (get_language() or fallback).split("-")[0]
    return str(texts.get(language) or texts.get(fallback) or next(iter(texts.values())))


class CompletedFilter(admin.SimpleListFilter):
    title = _("completed")
    parameter_name = "completed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Response]) -> QuerySet[Response]:
        if self.value() == "yes":
            return queryset.filter(completed_on__isnull=False)
        if self.value() == "no":
            return queryset.filter(completed_on__isnull=True)
        return queryset


# Hidden field values too: a value of a few people picks their responses out.
IDENTIFYING_FIELDS = (
    "person",
    "invitation",
    "started_at",
    "completed_at",
    "user_agent",
    "hidden_data",
)


def hidden_data_display(data: Any) -> str:
    """A response's or invitation's hidden field values, one `name: value` a line."""
    if not isinstance(data, dict) or not data:
        return "—"
    return format_html_join("", "<div><code>{}</code>: {}</div>", sorted(data.items()))


@admin.register(Response)
class ResponseAdmin(AudienceScopedAdmin):
    """Read-only responses; anonymous surveys never show who or exactly when."""

    list_display = (
        "id",
        "survey",
        "audience",
        "touchpoint",
        "list_segment",
        "language",
        "channel",
        "completed_on",
        "respondent",
    )
    list_filter = (
        "audience",
        "survey",
        ("completed_on", admin.DateFieldListFilter),
        CompletedFilter,
    )
    list_select_related = ("survey", "audience", "touchpoint", "person")
    show_full_result_count = False
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # counts per filter choice would scan the table
    ordering = ("-id",)
    readonly_fields = ("answers_table", "hidden_data")
    # The search itself is surveys.search (get_search_results): this only shows the box.
    search_fields = ("answers__text",)
    search_help_text = _(
        "Words from the answers (every word, or the start of it), e.g. “teslimat geç”."
    )

    class Media:
        css = {"all": ("surveys/admin/builder.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Response | None = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Response]:
        queryset = super().get_queryset(request)
        if not sees_anonymous_rows(request):
            # One by one, an anonymous response is one person's answers: never listed, never
            # opened (its page is a 404 like a missing one); see the survey's summary instead.
            queryset = queryset.filter(survey__anonymous=False)
        return queryset

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Response], search_term: str
    ) -> tuple[QuerySet[Response], bool]:
        """Within what the user may list (no anonymous survey below superuser), by answer text."""
        return responses_matching(queryset, search_term), False

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        # A missing response and an anonymous one answer alike: neither exists for this user.
        raise Http404

    def get_urls(self) -> list[Any]:
        return [
            path(
                "summary/<int:survey_id>/",
                self.admin_site.admin_view(self.summary_view),
                name="surveys_response_summary",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        extra_context = dict(extra_context or {})
        if self.has_view_permission(request) and not sees_anonymous_rows(request):
            anonymous = scope(
                Survey.objects.filter(anonymous=True), user=request.user, role=self.view_role
            ).order_by("name", "pk")
            extra_context["anonymous_surveys"] = [
                (survey.name, reverse("admin:surveys_response_summary", args=[survey.pk]))
                for survey in anonymous.only("pk", "name")
            ]
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            shown = sorted({r.audience_id for r in changelist.result_list})
            if shown:
                audit_record(
                    actor=request.user,
                    action=AuditAction.RESPONSES_VIEWED,
                    audiences=shown,
                    target="response list",
                    detail={"query": request.GET.urlencode()[:500]},
                )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: Any = None,
    ) -> Any:
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original")
        if original is not None:
            audit_record(
                actor=request.user,
                action=AuditAction.RESPONSES_VIEWED,
                audiences=[original.audience_id],
                target=f"response {original.pk}",
            )
        return response

    def summary_view(self, request: HttpRequest, survey_id: int) -> HttpResponse:
        """An anonymous survey's released results per reporting period (groups of k or more),
        as of now, with each period's state (open until its end, or published when).

        An NPS question is named as the dashboard names the audience's metric (eNPS for
        employees)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        survey = get_object_or_404(
            scope(Survey.objects.select_related("audience"), user=request.user, role=Role.ANALYST),
            pk=survey_id,
        )
        if not survey.anonymous:
            query = urlencode({"survey__id__exact": survey.pk})
            return HttpResponseRedirect(reverse("admin:surveys_response_changelist") + f"?{query}")
        as_of = timezone.now()
        summaries = exports.period_summaries(survey=survey)
        published_at = dict(
            ReportingPeriod.objects.filter(survey=survey).values_list("starts_on", "published_at")
        )
        audit_record(
            actor=request.user,
            action=AuditAction.RESPONSES_VIEWED,
            audiences=[survey.audience_id],
            target=f"survey {survey.pk} summary",
        )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Results of %(survey)s by period") % {"survey": survey.name},
            "survey": survey,
            "summaries": [
                (
                    summary,
                    published_at.get(summary.starts_on),
                    [(exports.question_label(r.question), r) for r in summary.results],
                )
                for summary in reversed(summaries)
            ],
            "as_of": as_of,
            # Named as the dashboard names it: eNPS for an employee audience.
            "nps_label": (
                gettext("eNPS") if survey.audience.kind == AudienceKind.EMPLOYEE else gettext("NPS")
            ),
            "threshold": anonymity_threshold(survey.audience.anonymity_threshold),
            "opts": self.model._meta,
            "survey_url": reverse("admin:surveys_survey_change", args=[survey.pk]),
        }
        return TemplateResponse(request, "admin/surveys/response/summary.html", context)

    def _filtered_survey(self, request: HttpRequest) -> Survey | None:
        survey_id = request.GET.get("survey__id__exact")
        if not survey_id or not survey_id.isdigit():
            return None
        return Survey.objects.filter(pk=survey_id).only("anonymous").first()

    def get_list_display(self, request: HttpRequest) -> Any:
        survey = self._filtered_survey(request)
        if survey is not None and survey.anonymous:
            return tuple(c for c in self.list_display if c != "respondent")
        return self.list_display

    @admin.display(description=_("segment"))
    def list_segment(self, obj: Response) -> str:
        # Listed beside its id, an anonymous response's segment would tie the answers on its
        # page to a department however small; that page shows it when the slice is big enough.
        return "—" if obj.survey.anonymous else obj.segment

    @admin.display(description=_("person"))
    def respondent(self, obj: Response) -> str:
        if obj.survey.anonymous or obj.person is None:
            return "—"
        return str(obj.person)

    def get_fields(self, request: HttpRequest, obj: Response | None = None) -> Any:
        fields = [
            "survey",
            "audience",
            "touchpoint",
            "channel",
            "language",
            "segment",
            "completed_on",
            "completed_at",
            "person",
            "invitation",
            "hidden_data",
            "answers_table",
        ]
        if obj is not None and obj.survey.anonymous:
            fields = [f for f in fields if f not in IDENTIFYING_FIELDS]
            if self._guard(obj)[1]:
                fields.remove("segment")
        return fields

    def _guard(self, obj: Response) -> tuple[bool, bool]:
        """(survey too small, segment too small) of an anonymous response (cached on it)."""
        if not obj.survey.anonymous:
            return False, False
        cached: tuple[bool, bool] | None = getattr(obj, "_anonymity_guard", None)
        if cached is None:
            too_few, hidden = exports.anonymous_guard(survey=obj.survey)
            cached = (too_few, too_few or obj.segment in hidden)
            obj._anonymity_guard = cached  # type: ignore[attr-defined]
        return cached

    @admin.display(description=_("hidden fields"))
    def hidden_data(self, obj: Response) -> str:
        return "—" if obj.survey.anonymous else hidden_data_display(obj.data)

    @admin.display(description=_("answers"))
    def answers_table(self, obj: Response) -> str:
        too_few, hide_text = self._guard(obj)
        if too_few:
            return gettext(
                "Hidden: this anonymous survey has fewer responses than its audience's anonymity "
                "threshold (%(threshold)s), and whoever sees the invitations knows who answered."
            ) % {"threshold": obj.survey.audience.anonymity_threshold}
        answers = obj.answers.select_related("question").order_by("question__order", "question_id")
        rows = []
        for answer in answers:
            question = answer.question
            value = answer_display(
                type=question.type,
                choices=question.choices,
                value=answer_value(question, answer),
            )
            if hide_text and answer.question.type == QuestionType.TEXT:
                value = gettext(
                    "Hidden: this anonymous response's segment has too few responses to show "
                    "what people wrote."
                )
            if isinstance(value, list):
                value = ", ".join(value)
            elif value is None:
                value = ""
            rows.append((localised(answer.question.label) or answer.question.key, value))
        if not rows:
            return gettext("No answers.")
        body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
        return format_html('<table class="xm-answers">{}</table>', body)


class ShownStateFilter(admin.SimpleListFilter):
    """The state filter, on the state the user is shown (see surveys.selectors).

    Below superuser an anonymous survey's opened or answered invitation is shown as sent until
    the period it was answered in is published: filtering on the stored state would tell them
    apart again. Same parameter as Django's field filter, so links keep working.
    """

    title = _("state")
    parameter_name = "state__exact"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return list(InvitationState.choices)

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Invitation]
    ) -> QuerySet[Invitation]:
        value = self.value()
        if value is None:
            return queryset
        if value not in InvitationState.values:
            return queryset.none()  # as the field filter answers an unknown state
        return invitations_in_shown_state(queryset, state=value, real=sees_anonymous_rows(request))


ANONYMOUS_ANSWER_HIDDEN = _(
    "No, or not shown yet: an anonymous survey's answers show once their reporting period is "
    "published"
)


@admin.register(Invitation)
class InvitationAdmin(AudienceScopedAdmin):
    """Invitations as sent (or suppressed); the token's nonce and hash are never shown.

    The state column, filter and page show the state the user may see (see surveys.selectors):
    below superuser an anonymous survey's invitation never shows opened, and shows responded
    only once the period it was answered in is published.
    """

    list_display = (
        "id",
        "survey",
        "person",
        "channel",
        "shown_state",
        "reason",
        "due_at",
        "sent_at",
    )
    # Only indexed columns: a page of a rare channel would read every invitation.
    list_filter = (ShownStateFilter, "survey")
    list_select_related = ("survey", "person")
    raw_id_fields = ("person", "event")
    show_full_result_count = False
    list_per_page = 50
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # counts per filter choice would scan the table
    ordering = ("-id",)
    fields = (
        "survey",
        "person",
        "event",
        "channel",
        "language",
        "shown_state",
        "reason",
        "planned_at",
        "due_at",
        "expires_at",
        "sent_at",
        "opened_at",
        "responded_at",
    )
    readonly_fields = ("planned_at", "reason", "shown_state", "answered", "answered_shown")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        return invitations_shown(super().get_queryset(request), real=sees_anonymous_rows(request))

    def get_fields(self, request: HttpRequest, obj: Invitation | None = None) -> Any:
        fields = list(super().get_fields(request, obj))
        if obj is not None and obj.survey.anonymous:
            # Kept as the period's first midnight: still, show only that it was answered (and,
            # below superuser, only once its period is published).
            at = fields.index("opened_at")
            fields[at : at + 2] = ["answered" if sees_anonymous_rows(request) else "answered_shown"]
        return fields

    @admin.display(description=_("state"), ordering="shown_state")
    def shown_state(self, obj: Invitation) -> str:
        state = getattr(obj, "shown_state", obj.state)
        return str(InvitationState(state).label) if state in InvitationState.values else state

    @admin.display(description=_("answered"))
    def answered(self, obj: Invitation) -> str:
        if obj.state == InvitationState.RESPONDED or obj.responded_at is not None:
            return gettext("Yes (an anonymous survey keeps no time of answering)")
        return gettext("No")

    @admin.display(description=_("answered"))
    def answered_shown(self, obj: Invitation) -> str:
        # The same text for a masked answer and for no answer: only publication tells them apart.
        if getattr(obj, "shown_state", None) == InvitationState.RESPONDED:
            return gettext("Yes (an anonymous survey keeps no time of answering)")
        return str(ANONYMOUS_ANSWER_HIDDEN)

    @admin.display(description=_("suppression reason"), ordering="suppression_reason")
    def reason(self, obj: Invitation) -> str:
        return reason_label(obj.suppression_reason) if obj.suppression_reason else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Invitations need a token; they are created by distribution, never by hand.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False
