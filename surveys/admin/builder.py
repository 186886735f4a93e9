"""The survey builder: surveys with their ordered questions, templates, preview and exports."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin, audience_ids, has_role, scope
from audiences.forms_brand import BRANDING_FIELDSET_FIELDS
from audiences.models import AuditAction, Role
from audiences.services import audit_record
from journeys.admin import TouchpointFilter
from surveys import selectors
from surveys.admin.builder_views import builder_context, builder_preview_response
from surveys.admin.forms_builder import (
    FromTemplateForm,
    QuestionInlineForm,
    QuestionInlineFormSet,
    SurveyAdminForm,
)
from surveys.admin.responses import csv_download, sees_anonymous_rows, xlsx_download
from surveys.catalog import TEMPLATES, survey_create_from_template
from surveys.models import Question, Survey
from surveys.services.authoring import save_questions
from surveys.services.copying import survey_copy
from xmplatform.core.counts import capped_display


def preview_url(survey_id: int) -> str:
    """The staff preview of a survey on the hosted pages."""
    try:
        return reverse("surveys:preview", args=[survey_id])
    except NoReverseMatch:
        # The hosted pages are not mounted (e.g. a trimmed URLconf): their documented path.
        return f"/s/preview/{survey_id}/"


class QuestionInline(admin.StackedInline):
    """Questions as cards grouped by page; texts per language, choices as rows, "show when"."""

    model = Question
    form = QuestionInlineForm
    formset = QuestionInlineFormSet
    template = "admin/surveys/survey/questions_inline.html"
    extra = 1
    ordering = ("page", "order", "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        # Retired questions keep their answers but are no longer part of the survey.
        return super().get_queryset(request).filter(retired_in__isnull=True)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        # The admin refuses to delete a row with protected answers; the authoring service
        # retires such a question instead (its answers stay), so the card may be removed.
        formset.form.hand_clean_DELETE = lambda form: None
        return formset

    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("order", "page", "key", "type"),
                    ("required", "scale_max", "multiline"),
                    "label",
                    "help",
                    "choices",
                    "show_if",
                )
            },
        ),
    )


@admin.register(Survey)
class SurveyAdmin(AudienceScopedAdmin):
    """Build surveys, start them from templates, preview and export their responses."""

    view_role = Role.VIEWER
    export_actions = ("export_csv", "export_xlsx")

    form = SurveyAdminForm
    inlines = [QuestionInline]
    list_display = (
        "name",
        "audience",
        "status",
        "anonymous",
        "priority_class",
        "estimated_time",
        "response_count",
    )
    # A touchpoint card on the journey map lists the surveys about it or triggered by it.
    list_filter = (
        "audience",
        "status",
        TouchpointFilter.also_through("distribution_rules__touchpoint"),
    )
    list_select_related = ("audience",)
    search_fields = ("name",)
    raw_id_fields = ("touchpoint",)
    actions = ("new_from_template", "copy_surveys", "export_csv", "export_xlsx")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "name_translations",
                    "audience",
                    "touchpoint",
                    "status",
                    "anonymous",
                    "reporting_period",
                    "priority_class",
                    "presentation",
                )
            },
        ),
        (
            _("Languages and texts"),
            {"fields": ("languages", "default_language", "title", "intro", "thank_you")},
        ),
        (_("Availability"), {"fields": ("opens_at", "closes_at", "response_limit")}),
        (
            _("Branding"),
            {
                "classes": ("collapse",),
                "fields": BRANDING_FIELDSET_FIELDS,
                "description": _("Empty fields take the audience's brand."),
            },
        ),
        (_("Hidden fields"), {"fields": ("hidden_fields",)}),
    )

    class Media:
        css = {"all": ("surveys/admin/builder.css", "surveys/builder.css")}
        js = ("surveys/builder-sortable.min.js", "surveys/builder.js")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Survey]:
        return selectors.surveys_with_figures(super().get_queryset(request))

    @admin.display(description=_("estimated time"))
    def estimated_time(self, obj: Survey) -> str:
        seconds = selectors.survey_estimated_seconds(survey=obj)
        if seconds > selectors.FATIGUE_SECONDS:
            return format_html(
                '<span class="xm-fatiguing" title="{}">⚠ {}</span>',
                gettext("Over 3 minutes: fatiguing, shorten it."),
                selectors.format_duration(seconds),
            )
        return selectors.format_duration(seconds)

    @admin.display(description=_("responses"), ordering="response_count")
    def response_count(self, obj: Survey) -> str:
        return capped_display(obj.response_count)  # type: ignore[attr-defined]

    # --- Change page -----------------------------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        context = {**builder_context(request, None), **(extra_context or {})}
        return super().add_view(request, form_url, context)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        survey = self.get_object(request, object_id)
        if survey is not None:
            extra_context.update(builder_context(request, survey))
            if self.has_add_permission(request):
                extra_context["copy_url"] = reverse("admin:surveys_survey_copy", args=[survey.pk])
            seconds = selectors.survey_estimated_seconds(survey=survey)
            extra_context.update(
                preview_url=preview_url(survey.pk),
                distribution_url=reverse("admin:surveys_distribution_panel", args=[survey.pk]),
                estimated_seconds=seconds,
                estimated_time=selectors.format_duration(seconds),
                # The sentence invitations and the survey's first page tell respondents.
                told_duration=selectors.duration_sentence(seconds),
                fatiguing=seconds > selectors.FATIGUE_SECONDS,
            )
            if self.may_export(request, survey):
                extra_context.update(
                    export_csv_url=reverse("admin:surveys_survey_export_csv", args=[survey.pk]),
                    export_xlsx_url=reverse("admin:surveys_survey_export_xlsx", args=[survey.pk]),
                )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "from-template/",
                wrap(self.from_template_view),
                name="surveys_survey_from_template",
            ),
            path(
                "builder-preview/",
                wrap(self.builder_preview_view),
                name="surveys_survey_builder_preview_new",
            ),
            path(
                "<int:survey_id>/builder-preview/",
                wrap(self.builder_preview_view),
                name="surveys_survey_builder_preview",
            ),
            path("<int:survey_id>/copy/", wrap(self.copy_view), name="surveys_survey_copy"),
            path(
                "<int:survey_id>/export/csv/",
                wrap(self.export_csv_view),
                name="surveys_survey_export_csv",
            ),
            path(
                "<int:survey_id>/export/xlsx/",
                wrap(self.export_xlsx_view),
                name="surveys_survey_export_xlsx",
            ),
            *super().get_urls(),
        ]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Questions are saved by the authoring service, as the API saves them: in a new
        version once the live one has responses, retiring (not deleting) answered questions."""
        if not isinstance(formset, QuestionInlineFormSet):
            super().save_formset(request, form, formset, change)
            return
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        try:
            saved = save_questions(form.instance, formset.question_dicts(), actor=request.user)
        except ValidationError as error:
            # Only a concurrent edit gets here (the formset ran the same checks): keep nothing.
            transaction.set_rollback(True)
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        if saved.created:
            self.message_user(
                request,
                gettext(
                    "The questions were saved as version %(n)s: new responses answer it, "
                    "earlier responses keep the version they answered."
                )
                % {"n": saved.version},
                messages.INFO,
            )

    # --- Preview and copy ------------------------------------------------------------------

    def builder_preview_view(
        self, request: HttpRequest, survey_id: int | None = None
    ) -> HttpResponse:
        """The phone preview: GET shows the saved survey, POST the change form as edited."""
        survey = None
        if survey_id is not None:
            survey = get_object_or_404(self.get_queryset(request), pk=survey_id)
            if not self.has_view_permission(request, survey):
                raise PermissionDenied
        elif not self.has_add_permission(request):
            raise PermissionDenied
        return builder_preview_response(request, survey)

    def copy_view(self, request: HttpRequest, survey_id: int) -> HttpResponse:
        """POST: copy one survey and open the copy."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        survey = get_object_or_404(self.get_queryset(request), pk=survey_id)
        if not (self.has_add_permission(request) and self.has_view_permission(request, survey)):
            raise PermissionDenied
        copy = self._copy(request, survey)
        return HttpResponseRedirect(reverse("admin:surveys_survey_change", args=[copy.pk]))

    def _copy(self, request: HttpRequest, survey: Survey) -> Survey:
        if not has_role(request.user, survey.audience_id, self.change_role):
            raise PermissionDenied
        copy = survey_copy(survey=survey, actor=request.user)
        self.log_addition(request, copy, [{"added": {}}])
        self.message_user(
            request,
            gettext("Copied “%(name)s”: the copy is a draft with no responses.")
            % {"name": survey.name},
            messages.SUCCESS,
        )
        return copy

    @admin.action(description=_("Copy the selected surveys"), permissions=["add"])
    def copy_surveys(self, request: HttpRequest, queryset: QuerySet[Survey]) -> None:
        for survey in queryset.order_by("pk")[:20]:
            self._copy(request, survey)

    # --- New survey from a template --------------------------------------------------------

    def from_template_view(self, request: HttpRequest) -> HttpResponse:
        """Pick a catalogue template and an audience; creates a draft and opens it."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = FromTemplateForm(request.POST)
        else:
            form = FromTemplateForm(initial={"audience": request.GET.get("audience")})
        for name in ("audience", "touchpoint"):
            field = form.fields[name]
            field.queryset = scope(  # type: ignore[attr-defined]
                field.queryset,  # type: ignore[attr-defined]
                user=request.user,
                role=self.change_role,
            )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                survey = survey_create_from_template(
                    template_key=data["template"],
                    audience=data["audience"],
                    name=data["name"] or None,
                    touchpoint=data["touchpoint"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, survey, [{"added": {}}])
                self.message_user(
                    request,
                    gettext("Created the draft survey “%s” from the template.") % survey.name,
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:surveys_survey_change", args=[survey.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("New survey from template"),
            "form": form,
            "templates": list(TEMPLATES.values()),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/surveys/survey/from_template.html", context)

    @admin.action(
        description=_("New survey from template for the selected surveys' audience"),
        permissions=["add"],
    )
    def new_from_template(self, request: HttpRequest, queryset: QuerySet[Survey]) -> HttpResponse:
        audience_id = queryset.values_list("audience_id", flat=True).first()
        query = urlencode({"audience": audience_id}) if audience_id else ""
        return HttpResponseRedirect(
            reverse("admin:surveys_survey_from_template") + (f"?{query}" if query else "")
        )

    # --- Exports ---------------------------------------------------------------------------

    def may_export(self, request: HttpRequest, survey: Survey) -> bool:
        """Exports hold responses: analysts (and managers) of the survey's audience only."""
        return request.user.has_perm("surveys.view_response") and has_role(
            request.user, survey.audience_id, Role.ANALYST
        )

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        ids = audience_ids(request.user, Role.ANALYST)
        if ids is not None and not ids:
            for name in self.export_actions:
                actions.pop(name, None)
        return actions

    def _export_target(self, request: HttpRequest, survey_id: int) -> Survey:
        survey = get_object_or_404(self.get_queryset(request), pk=survey_id)
        if not (self.has_view_permission(request, survey) and self.may_export(request, survey)):
            raise PermissionDenied
        audit_record(
            actor=request.user,
            action=AuditAction.RESPONSES_EXPORTED,
            audiences=[survey.audience_id],
            target=f"survey {survey.pk}",
            detail={"path": request.path},
        )
        return survey

    def export_csv_view(self, request: HttpRequest, survey_id: int) -> HttpResponseBase:
        # Below superuser, an anonymous survey downloads its period summary, never its rows.
        full = sees_anonymous_rows(request)
        return csv_download(self._export_target(request, survey_id), full=full)

    def export_xlsx_view(self, request: HttpRequest, survey_id: int) -> HttpResponseBase:
        full = sees_anonymous_rows(request)
        return xlsx_download(self._export_target(request, survey_id), full=full)

    def _single(self, request: HttpRequest, queryset: QuerySet[Survey]) -> Survey | None:
        surveys = list(queryset[:2])
        if len(surveys) != 1:
            self.message_user(
                request, gettext("Select exactly one survey to export."), messages.WARNING
            )
            return None
        return surveys[0]

    @admin.action(description=_("Export responses as CSV"), permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Survey]
    ) -> HttpResponseBase | None:
        survey = self._single(request, queryset)
        return self.export_csv_view(request, survey.pk) if survey else None

    @admin.action(description=_("Export responses as XLSX"), permissions=["view"])
    def export_xlsx(
        self, request: HttpRequest, queryset: QuerySet[Survey]
    ) -> HttpResponseBase | None:
        survey = self._single(request, queryset)
        return self.export_xlsx_view(request, survey.pk) if survey else None
