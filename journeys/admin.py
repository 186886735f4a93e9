"""Admin for journey maps: the journey page draws its stages and touchpoints as a map.

Stages are reordered on the map (dragged, or moved with their ← → buttons, which work without
JavaScript) through one POST endpoint; each touchpoint's card links to what is about it: its
events here, and whatever a higher layer adds through `card_links` (metrics: surveys, scores).
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from audiences.access import AudienceScopedAdmin, has_role, scope
from audiences.models import Person, Role
from journeys.models import Journey, Stage, Touchpoint, TouchpointEvent
from journeys.selectors import MAP_WINDOW_DAYS, MapStage, journey_map
from journeys.stage_order import stage_move, stages_reorder
from xmplatform.core.paging import EstimatedCountPaginator, RelatedChoicesListFilter


@dataclass(frozen=True)
class CardLink:
    """A link on a touchpoint's card (its events, its surveys, its scores)."""

    kind: str
    label: str
    url: str


class TouchpointFilter(admin.SimpleListFilter):
    """The rows of one touchpoint, as a touchpoint card on the journey map links to them.

    Offers only the chosen touchpoint (so the sidebar says which one is shown and how to clear
    it), never a list of every touchpoint; any list of a model with a `touchpoint` key can use
    it, and `through` adds relations that also lead to the touchpoint (a survey's triggers).
    """

    title = _("touchpoint")
    parameter_name = "touchpoint"
    through: tuple[str, ...] = ()

    @classmethod
    def also_through(cls, *paths: str) -> type["TouchpointFilter"]:
        """This filter, also matching rows whose `paths` (e.g. "distribution_rules__touchpoint")
        lead to the touchpoint."""
        return type("TouchpointFilter", (cls,), {"through": paths})

    def _chosen(self) -> int | None:
        value = self.value()
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            return 0  # not a touchpoint: nothing matches

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        chosen = self._chosen()
        if not chosen:
            return []
        # Only a touchpoint of the reader's audiences is named: another's id names nothing.
        touchpoints = scope(Touchpoint.objects.filter(pk=chosen), user=request.user)
        names = touchpoints.values_list("pk", "name")
        return [(str(pk), name) for pk, name in names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        chosen = self._chosen()
        if chosen is None:
            return queryset
        match = Q(touchpoint_id=chosen)
        for related in self.through:
            match |= Q(pk__in=queryset.model._default_manager.filter(**{f"{related}_id": chosen}))
        return queryset.filter(match)


class StageInline(admin.TabularInline):
    model = Stage
    fields = ("order", "name")
    ordering = ("order", "id")
    extra = 0
    show_change_link = True


class TouchpointInline(admin.TabularInline):
    model = Touchpoint
    fields = ("order", "name", "slug", "channel", "role")
    ordering = ("order", "id")
    prepopulated_fields = {"slug": ("name",)}
    extra = 0
    show_change_link = True


@admin.register(Journey)
class JourneyAdmin(AudienceScopedAdmin):
    """A journey's page shows its map above the editable list of stages."""

    view_role = Role.VIEWER

    list_display = ("name", "audience")
    list_filter = ("audience",)
    list_select_related = ("audience",)
    search_fields = ("name",)
    inlines = (StageInline,)

    class Media:
        css = {"all": ("journeys/journey_map.css",)}
        js = ("journeys/journey_map.js",)

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/stage-order/",
                self.admin_site.admin_view(self.stage_order_view),
                name="{}_{}_stage_order".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        journey = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if journey is not None:
            stages = journey_map(journey=journey)
            links = self.card_links(request, journey, stages)
            for item in stages:
                for tp in item.touchpoints:
                    tp.links = links.get(tp.touchpoint.pk, [])  # type: ignore[attr-defined]
            context["journey_map"] = stages
            context["map_window_days"] = MAP_WINDOW_DAYS
            context["can_reorder"] = self._may_reorder(request, journey)
            context["stage_order_url"] = reverse(
                "admin:journeys_journey_stage_order", args=[journey.pk]
            )
            context.update(self.map_context(request, journey, stages))
        return super().change_view(request, object_id, form_url, context)

    def map_context(
        self, request: HttpRequest, journey: Journey, stages: list[MapStage]
    ) -> dict[str, Any]:
        """What a higher layer draws on the map (metrics adds each card's score): nothing here."""
        return {}

    def card_links(
        self, request: HttpRequest, journey: Journey, stages: list[MapStage]
    ) -> dict[int, list[CardLink]]:
        """{touchpoint id: links on its card}: its events, for those who may list them; a
        higher layer adds its own (metrics: the touchpoint's surveys and scores)."""
        events_admin = self.admin_site._registry.get(TouchpointEvent)
        if events_admin is None or not has_role(
            request.user, journey.audience_id, events_admin.view_role
        ):
            return {}
        events = reverse("admin:journeys_touchpointevent_changelist")
        return {
            tp.touchpoint.pk: [
                CardLink(
                    kind="events",
                    label=pgettext("touchpoint card link", "Events"),
                    url=f"{events}?{urlencode({'touchpoint': tp.touchpoint.pk})}",
                )
            ]
            for item in stages
            for tp in item.touchpoints
        }

    # --- The order of the stages ---------------------------------------------------------

    def _may_reorder(self, request: HttpRequest, journey: Journey) -> bool:
        """Reordering edits the journey's stages: the journey's and the stages' change right."""
        return self.has_change_permission(request, journey) and request.user.has_perm(
            "journeys.change_stage"
        )

    def stage_order_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST the stages' new order (`stage` ids, all of them, in order) or one move
        (`move` = a stage id, `direction` = left | right).

        Answers JSON (the map's script: 200 with the order, 400 with the error) when asked
        for it, else goes back to the journey's page with a message (the buttons without
        JavaScript). Outside the user's audiences: 404; without the right to change: 403.
        """
        return require_POST(self._stage_order)(request, object_id)

    def _stage_order(self, request: HttpRequest, object_id: str) -> HttpResponse:
        wants_json = "application/json" in request.headers.get("Accept", "")
        journey = self.get_object(request, object_id)
        if journey is None:
            if wants_json:
                return JsonResponse({"error": gettext("No such journey.")}, status=404)
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._may_reorder(request, journey):
            if wants_json:
                message = gettext("You may not change the order of this journey's stages.")
                return JsonResponse({"error": message}, status=403)
            raise PermissionDenied
        try:
            if "move" in request.POST:
                order = stage_move(
                    journey=journey,
                    stage_id=request.POST["move"],
                    direction=request.POST.get("direction", ""),
                )
            else:
                order = stages_reorder(journey=journey, stage_ids=request.POST.getlist("stage"))
        except ValidationError as error:
            message = " ".join(error.messages)
            if wants_json:
                return JsonResponse({"error": message}, status=400)
            self.message_user(request, message, messages.ERROR)
        else:
            if wants_json:
                return JsonResponse({"order": order, "message": gettext("Stage order saved.")})
            self.message_user(request, gettext("Stage order saved."), messages.SUCCESS)
        change = reverse("admin:journeys_journey_change", args=[journey.pk])
        return HttpResponseRedirect(f"{change}#journey-map-title")


@admin.register(Stage)
class StageAdmin(AudienceScopedAdmin):
    view_role = Role.VIEWER
    list_display = ("name", "journey", "order")
    list_filter = ("journey__audience",)
    list_select_related = ("journey",)
    ordering = ("journey", "order", "id")
    search_fields = ("name", "journey__name")
    inlines = (TouchpointInline,)


@admin.register(Touchpoint)
class TouchpointAdmin(AudienceScopedAdmin):
    view_role = Role.VIEWER
    list_display = ("name", "slug", "stage", "channel", "role", "order")
    list_filter = ("channel", "role", "stage__journey__audience")
    list_select_related = ("stage", "stage__journey")
    search_fields = ("name", "=slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("stage",)


@admin.register(TouchpointEvent)
class TouchpointEventAdmin(AudienceScopedAdmin):
    """Events are many: no full counts, no per-row queries, people picked by id."""

    list_display = ("occurred_at", "person", "touchpoint", "idempotency_key")
    list_select_related = ("person", "touchpoint")
    # A date filter, not date_hierarchy: the hierarchy's year/month links come from a
    # DISTINCT over every event. Newest first by id: occurred_at alone has no index.
    list_filter = (
        ("occurred_at", admin.DateFieldListFilter),
        ("touchpoint__channel", RelatedChoicesListFilter),
        ("touchpoint__role", RelatedChoicesListFilter),
        TouchpointFilter,
    )
    show_facets = admin.ShowFacets.NEVER  # a count per choice would read every event
    raw_id_fields = ("person",)
    autocomplete_fields = ("touchpoint",)
    ordering = ("-id",)
    # Both exact and indexed; see get_search_results for how they are combined.
    search_fields = ("idempotency_key__exact", "person__external_id__exact")
    search_help_text = _("An event's idempotency key, or a person's external id (exact).")
    readonly_fields = ("recorded_at",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[TouchpointEvent], search_term: str
    ) -> tuple[QuerySet[TouchpointEvent], bool]:
        """The whole term, exactly: an idempotency key or a person's external id.

        The person is looked up first (one indexed query), so the events are read by two
        indexes at once (key OR person id). The admin's own OR across the join to people reads
        every event instead.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        people = list(Person.objects.filter(external_id=term).values_list("pk", flat=True))
        return queryset.filter(Q(idempotency_key=term) | Q(person_id__in=people)), False

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[TouchpointEvent],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> EstimatedCountPaginator:
        # Events are indexed by (touchpoint, occurred_at), not (touchpoint, id): a page of an
        # audience's touchpoints would otherwise walk the ids past every other audience's events.
        return self.paginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            bounded_walk_keys=("touchpoint",),
        )
