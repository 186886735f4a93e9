"""Admin of topics: the XM team renames topics, adds keyword rules and merges topics.

Scoped like every admin of audience data (audiences.access): analysts see their audiences'
topics, managers change them. Saving goes through metrics.comments.topics: a renamed topic is
pinned (refits keep it), a topic with keywords links every comment holding one, and "Merge"
moves the selected topics' comments into the oldest of them.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from audiences.access import AudienceScopedAdmin
from audiences.models import Role
from metrics.comments import topics
from metrics.comments.models import Topic, TopicSource
from surveys.models import QuestionType


class TopicForm(forms.ModelForm):
    """A new topic is a keyword rule of one free-text question of the survey."""

    class Meta:
        model = Topic
        fields = ("survey", "question", "label", "keywords", "active")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        survey, question = data.get("survey"), data.get("question")
        if question is not None:
            if question.type != QuestionType.TEXT:
                self.add_error("question", _("Choose a free-text question."))
            elif survey is not None and question.survey_id != survey.pk:
                self.add_error("question", _("Choose a question of the topic's survey."))
        if self.instance.pk is None and not (data.get("keywords") or "").strip():
            self.add_error(
                "keywords", _("A topic you add is defined by keywords, e.g. “kargo, teslimat”.")
            )
        return data


@admin.register(Topic)
class TopicAdmin(AudienceScopedAdmin):
    """Topics per survey and free-text question; the merge action joins topics of one question."""

    form = TopicForm
    view_role = Role.ANALYST
    change_role = Role.MANAGER
    list_display = ("label", "survey", "question", "source", "pinned", "active", "words_shown")
    list_filter = ("active", "source", "survey")
    list_select_related = ("survey", "question")
    search_fields = ("label", "keywords")
    raw_id_fields = ("question",)
    readonly_fields = ("source", "words_shown", "pinned", "merged_into")
    actions = ("merge_topics",)
    ordering = ("survey", "question", "pk")

    @admin.display(description=_("terms"))
    def words_shown(self, obj: Topic) -> str:
        return ", ".join(obj.words[:10])

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += ["survey", "question"]
        return fields

    def save_model(self, request: HttpRequest, obj: Topic, form: Any, change: bool) -> None:
        if not change:
            obj.source = TopicSource.RULE
        if "keywords" in form.changed_data or not change:
            topics.topic_rule_save(topic=obj)
        if change and "label" in form.changed_data:
            topics.topic_label_set(topic=obj, label=obj.label)
        elif change:
            obj.save()

    @admin.action(
        description=_("Merge the selected topics (into the oldest)"), permissions=["change"]
    )
    def merge_topics(self, request: HttpRequest, queryset: QuerySet[Topic]) -> None:
        chosen = list(queryset.filter(active=True).order_by("pk"))
        if len(chosen) < 2:
            self.message_user(request, _("Choose at least two active topics."), messages.WARNING)
            return
        if len({t.question_id for t in chosen}) > 1:
            self.message_user(
                request, _("Only topics of one question can be merged."), messages.ERROR
            )
            return
        into = topics.topics_merge(into=chosen[0], others=chosen[1:])
        self.message_user(
            request,
            ngettext(
                "%(n)d topic merged into “%(label)s”.",
                "%(n)d topics merged into “%(label)s”.",
                len(chosen) - 1,
            )
            % {"n": len(chosen) - 1, "label": into.label},
            messages.SUCCESS,
        )
