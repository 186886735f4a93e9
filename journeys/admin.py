"""Admin for journey maps: the journey page draws its stages and touchpoints as a map."""

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin
from audiences.models import Person, Role
from journeys.models import Journey, Stage, Touchpoint, TouchpointEvent
from journeys.selectors import MAP_WINDOW_DAYS, MapStage, journey_map
from xmplatform.core.paging import EstimatedCountPaginator, RelatedChoicesListFilter


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
            context["journey_map"] = journey_map(journey=journey)
            context["map_window_days"] = MAP_WINDOW_DAYS
            context.update(self.map_context(request, journey, context["journey_map"]))
        return super().change_view(request, object_id, form_url, context)

    def map_context(
        self, request: HttpRequest, journey: Journey, stages: list[MapStage]
    ) -> dict[str, Any]:
        """What a higher layer draws on the map (metrics adds each card's score): nothing here."""
        return {}


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
