"""The person page's surveys panels: their invitations and named responses.

audiences draws the person page and knows nothing of surveys; this registers the page again
with a subclass that adds the two panels.
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.access import ScopedInline
from audiences.admin import PersonAdmin as AudiencesPersonAdmin
from audiences.models import Person
from surveys.distribution.fatigue import reason_label
from surveys.models import Invitation, InvitationState, Response
from surveys.selectors import invitations_shown
from xmplatform.core.admin_guard import unrestricted


class InvitationInline(ScopedInline, admin.TabularInline):
    """The person's invitations in the user's audiences (latest first)."""

    model = Invitation
    fields = ("survey", "channel", "shown_state", "reason", "sent_at", "responded")
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("invitations (your audiences only)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invitation]:
        # The state each user is shown: below superuser an anonymous survey's answer shows
        # once its period is published, never as it happens (surveys.selectors).
        return invitations_shown(
            super().get_queryset(request).select_related("survey"),
            real=unrestricted(request.user),
        )

    @admin.display(description=_("state"))
    def shown_state(self, obj: Invitation) -> str:
        state = getattr(obj, "shown_state", obj.state)
        return str(InvitationState(state).label) if state in InvitationState.values else state

    @admin.display(description=_("suppression reason"))
    def reason(self, obj: Invitation) -> str:
        return reason_label(obj.suppression_reason) if obj.suppression_reason else "-"

    @admin.display(description=_("responded"))
    def responded(self, obj: Invitation) -> str:
        # An anonymous survey's invitation says that it was answered, never when: the time
        # kept (its period's first midnight) would date the answer beside its period.
        if obj.responded_at is None:
            return "-"
        if obj.survey.anonymous:
            if getattr(obj, "shown_state", obj.state) != InvitationState.RESPONDED:
                return "-"  # as if unanswered until its period is published
            return gettext("Yes (an anonymous survey keeps no time of answering)")
        return str(display_for_value(obj.responded_at, "-"))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ResponseInline(ScopedInline, admin.TabularInline):
    """The person's named responses in the user's audiences; anonymous ones have no person."""

    model = Response
    fk_name = "person"
    fields = ("survey", "channel", "language", "completed_on")
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("responses (your audiences only)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PersonAdmin(AudiencesPersonAdmin):
    """The person page with their invitations and responses in the user's audiences."""

    inlines = (*AudiencesPersonAdmin.inlines, InvitationInline, ResponseInline)


admin.site.unregister(Person)
admin.site.register(Person, PersonAdmin)
