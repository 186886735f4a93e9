"""Responses (read-only, anonymity-aware), invitations, and the export downloads."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin
from audiences.models import AuditAction
from audiences.services import audit_record
from surveys import exports
from surveys.fatigue import reason_label
from surveys.models import Invitation, QuestionType, Response, Survey
from surveys.services import answer_value
from xmplatform.paging import EstimatedCountPaginator

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_download(survey: Survey) -> StreamingHttpResponse:
    """The survey's responses as a streamed CSV download."""
    response = StreamingHttpResponse(
        exports.export_csv_lines(survey=survey), content_type="text/csv; charset=utf-8"
    )
    filename = exports.export_filename(survey=survey, extension="csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_download(survey: Survey) -> FileResponse:
    """The survey's responses as an XLSX download (built in write-only mode on disk)."""
    return FileResponse(
        exports.export_xlsx(survey=survey),
        as_attachment=True,
        filename=exports.export_filename(survey=survey, extension="xlsx"),
        content_type=XLSX_TYPE,
    )


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


IDENTIFYING_FIELDS = ("person", "invitation", "started_at", "completed_at", "user_agent")


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
    readonly_fields = ("answers_table",)

    class Media:
        css = {"all": ("surveys/admin/builder.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Response | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
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
            value = answer_value(answer.question, answer)
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


@admin.register(Invitation)
class InvitationAdmin(AudienceScopedAdmin):
    """Invitations as sent (or suppressed); the token's nonce and hash are never shown."""

    list_display = (
        "id",
        "survey",
        "person",
        "channel",
        "state",
        "reason",
        "due_at",
        "sent_at",
    )
    # Only indexed columns: a page of a rare channel would read every invitation.
    list_filter = ("state", "survey")
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
        "state",
        "reason",
        "planned_at",
        "due_at",
        "expires_at",
        "sent_at",
        "opened_at",
        "responded_at",
    )
    readonly_fields = ("planned_at", "reason")

    @admin.display(description=_("suppression reason"), ordering="suppression_reason")
    def reason(self, obj: Invitation) -> str:
        return reason_label(obj.suppression_reason) if obj.suppression_reason else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Invitations need a token; they are created by distribution, never by hand.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False
