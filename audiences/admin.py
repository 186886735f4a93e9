"""Admin for audiences, people, memberships and consent, with the CSV import."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.access import (
    AudienceScopedAdmin,
    ScopedInline,
    SuperuserOnlyAdmin,
    audience_ids,
)
from audiences.forms import ConsentForm, ConsentInlineFormSet, PeopleImportForm
from audiences.forms_brand import BRANDING_FIELDSET_FIELDS, BrandModelForm
from audiences.models import (
    Audience,
    AudienceGrant,
    AuditLog,
    Consent,
    ConsentOrigin,
    ConsentStatus,
    Membership,
    Person,
    Role,
)
from audiences.search import PeopleSearchPaginator, people_matching
from audiences.services import (
    audience_save,
    consent_delete,
    consent_may_reverse,
    consent_set,
    grant_remove,
    grant_set,
    person_erase,
)
from audiences.services.csv_import import people_import_csv
from xmplatform.core.counts import CappedCount, capped_display
from xmplatform.core.paging import EstimatedCountPaginator, IndexedValuesListFilter


class AudienceAdminForm(BrandModelForm):
    """An audience, with its brand (audiences.branding)."""

    class Meta:
        model = Audience
        exclude = ("brand_logo",)


@admin.register(Audience)
class AudienceAdmin(AudienceScopedAdmin):
    """Audiences with their current member count, and the CSV import per audience."""

    view_role = Role.VIEWER
    form = AudienceAdminForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "name_translations",
                    "slug",
                    "kind",
                    "owner",
                    "priority",
                    "description",
                    "requires_opt_in",
                    "anonymity_threshold",
                    "retention_months",
                )
            },
        ),
        (
            _("Branding"),
            {
                "fields": BRANDING_FIELDSET_FIELDS,
                "description": _(
                    "How this audience's survey pages look; a survey may override each part."
                ),
            },
        ),
    )

    list_display = ("name_shown", "slug", "kind", "owner", "priority", "member_count")
    list_filter = ("kind",)
    list_select_related = ("owner",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner",)
    actions = ("import_people_action",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Audiences and their owners are defined by the XM team (superusers).
        return request.user.is_superuser

    def get_prepopulated_fields(self, request: HttpRequest, obj: Audience | None = None) -> Any:
        return super().get_prepopulated_fields(request, obj) if request.user.is_superuser else {}

    def get_readonly_fields(self, request: HttpRequest, obj: Audience | None = None) -> Any:
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        # Accountability and privacy settings stay with the XM team.
        return (
            "slug",
            "kind",
            "owner",
            "requires_opt_in",
            "anonymity_threshold",
            "retention_months",
        )

    def has_delete_permission(self, request: HttpRequest, obj: Audience | None = None) -> bool:
        return request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> QuerySet[Audience]:
        # One query for the whole list: current members (no left_on) per audience, counted
        # up to the cap so an audience of millions costs no more than one of ten thousand.
        members = Membership.objects.filter(audience=OuterRef("pk"), left_on__isnull=True)
        return super().get_queryset(request).annotate(_member_count=CappedCount(members))

    def save_model(self, request: HttpRequest, obj: Audience, form: Any, change: bool) -> None:
        audience_save(audience=obj, actor=request.user)

    @admin.display(description=_("name"), ordering="name")
    def name_shown(self, obj: Audience) -> str:
        """The name in the reader's language (Audience.name_translations)."""
        return str(obj)

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Audience) -> str:
        return capped_display(obj._member_count)  # type: ignore[attr-defined]

    def get_urls(self) -> list[Any]:
        urls = [
            path(
                "<path:object_id>/import-people/",
                self.admin_site.admin_view(self.import_people_view),
                name="audiences_audience_import_people",
            )
        ]
        return urls + super().get_urls()

    @admin.action(description=_("Import people from CSV (one audience)"))
    def import_people_action(
        self, request: HttpRequest, queryset: QuerySet[Audience]
    ) -> HttpResponse | None:
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(
                request,
                _("Select exactly one audience to import people into."),
                level=messages.WARNING,
            )
            return None
        return HttpResponseRedirect(reverse("admin:audiences_audience_import_people", args=ids))

    def import_people_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Upload a CSV; show the per-line report on failure and the counts on success."""
        audience = get_object_or_404(self.get_queryset(request), pk=unquote(object_id))
        # Importing adds memberships and may change people: it needs both change permissions.
        if not (
            self.has_change_permission(request, audience)
            and request.user.has_perm("audiences.change_person")
            and request.user.has_perm("audiences.add_person")
        ):
            raise PermissionDenied
        report = None
        if request.method == "POST":
            form = PeopleImportForm(request.POST, request.FILES)
            if form.is_valid():
                report = people_import_csv(audience=audience, file=form.cleaned_data["file"])
                if report.ok:
                    self.message_user(request, report.summary(), level=messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
        else:
            form = PeopleImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import people into %(audience)s") % {"audience": audience},
            "opts": self.model._meta,
            "original": audience,
            "form": form,
            "report": report,
            "has_view_permission": True,
        }
        status = 400 if report is not None and not report.ok else 200
        return TemplateResponse(
            request, "admin/audiences/audience/import_people.html", context, status=status
        )


class MembershipInline(ScopedInline, admin.TabularInline):
    """A person's audiences (only the user's own); edited on the membership page."""

    model = Membership
    fields = ("audience", "segment", "attributes", "joined_on", "left_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentInline(admin.TabularInline):
    """The person's consents; saved through the consent services (checked and audited)."""

    model = Consent
    form = ConsentForm
    formset = ConsentInlineFormSet
    fields = ("channel", "status", "source", "changed_at")
    readonly_fields = ("source", "changed_at")
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset: Any = super().get_formset(request, obj, **kwargs)
        formset.form.actor = request.user
        return formset


@admin.register(Person)
class PersonAdmin(AudienceScopedAdmin):
    """People are many: exact searches, no full counts. Export and erasure on each page.

    The apps above add their panels by registering a subclass (surveys: the person's
    invitations and responses); the export is served from above (xmplatform.people), as it
    reaches every app.
    """

    # The name opens the person's timeline (everything about them); the id, their details.
    list_display = ("external_id", "timeline_link", "email", "phone", "language")
    list_filter = ("language",)
    # The search itself is audiences.search (get_search_results): this only shows the box.
    search_fields = ("search_text",)
    search_help_text = _(
        "Name, e-mail, phone or external id; part of one is enough (at least 3 letters), "
        "in any case, with or without Turkish letters."
    )
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # counts per filter choice would scan the table
    ordering = ("-id",)
    readonly_fields = ("created_at", "updated_at")
    inlines: tuple[Any, ...] = (MembershipInline, ConsentInline)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        """Partial and Turkish-folded on the trigram-indexed search column; never duplicates."""
        return people_matching(queryset, search_term), False

    def get_paginator(
        self,
        request: HttpRequest,
        queryset: QuerySet[Person],
        per_page: int,
        orphans: int = 0,
        allow_empty_first_page: bool = True,
    ) -> EstimatedCountPaginator:
        searched = bool(request.GET.get("q", "").strip())
        paginator = PeopleSearchPaginator if searched else EstimatedCountPaginator
        return paginator(queryset, per_page, orphans, allow_empty_first_page)

    @admin.display(description=_("name"), ordering="name")
    def timeline_link(self, obj: Person) -> str:
        url = reverse("person_timeline", args=[obj.pk])
        return format_html(
            '<a href="{}" title="{}">{}</a>', url, gettext("Timeline"), obj.name or "—"
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Consent:
            super().save_formset(request, form, formset, change)
            return
        # The consent services check and audit every change; the change message is built
        # from these three lists, as formset.save() would have filled them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        deleted = formset.deleted_forms
        for consent_form in deleted:
            if consent_form.instance.pk is not None:
                consent_delete(
                    consent=consent_form.instance, actor=request.user, origin=ConsentOrigin.ADMIN
                )
                formset.deleted_objects.append(consent_form.instance)
        for consent_form in formset.forms:
            if consent_form in deleted or not consent_form.has_changed():
                continue
            new = consent_form.instance.pk is None
            consent = consent_set(
                person=form.instance,
                channel=consent_form.instance.channel,
                status=consent_form.cleaned_data["status"],
                actor=request.user,
                origin=ConsentOrigin.ADMIN,
                source=ConsentOrigin.ADMIN,
            )
            if new:
                formset.new_objects.append(consent)
            else:
                formset.changed_objects.append((consent, consent_form.changed_data))

    def has_delete_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        # Forgetting someone goes through the audited erasure, never a plain delete.
        return False

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/erase/",
                wrap(self.erase_view),
                name="audiences_person_erase",
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
        extra_context = dict(extra_context or {})
        person = self.get_object(request, unquote(object_id))
        if person is not None:
            extra_context["may_export"] = self.may_handle(request, person, Role.ANALYST)
            extra_context["may_erase"] = self.may_handle(request, person, Role.MANAGER)
        return super().change_view(request, object_id, form_url, extra_context)

    def may_handle(self, request: HttpRequest, person: Person, role: int) -> bool:
        """Export and erasure reach every audience of the person: `role` is needed on all."""
        ids = audience_ids(request.user, role)
        if ids is None:
            return True
        return bool(ids) and not (
            Membership.objects.filter(person=person).exclude(audience_id__in=ids).exists()
        )

    def person_for(self, request: HttpRequest, object_id: str, role: int) -> Person:
        """The person of the URL, if `request.user` may export (analyst) or erase (manager) them.

        Raises Http404 for a person the user cannot see, PermissionDenied without the role on
        every audience of the person.
        """
        person = self.get_object(request, unquote(object_id))
        if person is None:
            raise Http404(gettext("No such person."))
        if not self.may_handle(request, person, role):
            raise PermissionDenied
        return person

    def erase_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A confirmation page; on POST the person is erased everywhere (audited)."""
        person = self.person_for(request, object_id, Role.MANAGER)
        if request.method == "POST":
            pk = person.pk
            person_erase(person_id=pk, actor=request.user)
            if Person.objects.filter(pk=pk).exists():
                # Workers finish it (eager mode has already, right after the commit).
                message = gettext(
                    "Person #%(id)s was erased: their details, memberships and consents are "
                    "gone; their events, invitations, responses and cases follow within seconds."
                )
            else:
                message = gettext("Person #%(id)s was erased.")
            self.message_user(request, message % {"id": pk}, messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:audiences_person_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Erase this person?"),
            "opts": self.model._meta,
            "original": person,
            "memberships": Membership.objects.filter(person=person).count(),
        }
        return TemplateResponse(request, "admin/audiences/person/erase.html", context)


AUDIENCE_SKIP_SCAN = """
SELECT DISTINCT s.v FROM unnest(%s::bigint[]) AS a(id) CROSS JOIN LATERAL (
    WITH RECURSIVE t(v) AS (
        (SELECT segment FROM audiences_membership
         WHERE audience_id = a.id AND segment IS NOT NULL ORDER BY segment LIMIT 1)
        UNION ALL
        SELECT (SELECT segment FROM audiences_membership
                WHERE audience_id = a.id AND segment > t.v ORDER BY segment LIMIT 1)
        FROM t WHERE t.v IS NOT NULL
    )
    SELECT v FROM t WHERE v IS NOT NULL
) AS s ORDER BY 1 LIMIT %s
"""


class SegmentListFilter(IndexedValuesListFilter):
    """The segments of the user's audiences, by skipping through (audience, segment) per audience.

    A user limited to some audiences would otherwise get a DISTINCT over all their memberships.
    """

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: Any,
        model: Any,
        model_admin: Any,
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        ids = audience_ids(request.user, model_admin.view_role)
        conn = connections[model_admin.get_queryset(request).db]
        if ids and conn.vendor == "postgresql":
            with conn.cursor() as cursor:
                cursor.execute(AUDIENCE_SKIP_SCAN, [ids, self.max_choices])
                self.lookup_choices = [row[0] for row in cursor.fetchall()]


@admin.register(Membership)
class MembershipAdmin(AudienceScopedAdmin):
    list_display = ("person", "audience", "segment", "joined_on", "left_on")
    list_select_related = ("person", "audience")
    list_filter = ("audience", ("segment", SegmentListFilter))
    raw_id_fields = ("person",)
    autocomplete_fields = ("audience",)
    search_fields = ("person__external_id__exact", "person__email__exact")
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # counts per filter choice would scan the table
    ordering = ("-id",)


# Sources stored by older code paths and the demo, beside ConsentOrigin's.
CONSENT_SOURCE_LABELS = {
    "survey-page": _("Opt-out on a survey page"),
    "demo": _("Demo data"),
}


def consent_source_label(source: str) -> str:
    """A consent change's source in the reader's language."""
    if source in ConsentOrigin.values:
        return str(ConsentOrigin(source).label)
    return str(CONSENT_SOURCE_LABELS.get(source, source or "—"))


@admin.register(Consent)
class ConsentAdmin(AudienceScopedAdmin):
    """Consents, changed only through the consent services: a withdrawal stays unless the
    person reverses it or a superuser does, and every change is audited."""

    form = ConsentForm
    fields = ("person", "channel", "status", "source", "changed_at")
    list_display = ("person", "channel", "status", "source_shown", "changed_at")
    list_select_related = ("person",)
    list_filter = ("channel", "status")
    raw_id_fields = ("person",)
    search_fields = ("person__external_id__exact", "person__email__exact")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # counts per filter choice would scan the table
    list_per_page = 50
    ordering = ("-id",)  # changed_at has no index; ids follow the changes closely enough

    @admin.display(description=_("source"), ordering="source")
    def source_shown(self, obj: Consent) -> str:
        """Where the change came from, in words (the stored name when it has none)."""
        return consent_source_label(obj.source)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The person and channel of a stored consent stay: moving it would drop the record.
        return ("person", "channel", "source", "changed_at") if obj else ("source", "changed_at")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form: Any = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user
        return form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting a withdrawal would reverse it (the channel falls back to its default).
        if (
            obj is not None
            and obj.status == ConsentStatus.WITHDRAWN
            and not consent_may_reverse(actor=request.user)
        ):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Consent, form: Any, change: bool) -> None:
        saved = consent_set(
            person=obj.person,
            channel=obj.channel,
            status=obj.status,
            actor=request.user,
            origin=ConsentOrigin.ADMIN,
            source=ConsentOrigin.ADMIN,
        )
        obj.pk, obj.source, obj.changed_at = saved.pk, saved.source, saved.changed_at

    def delete_model(self, request: HttpRequest, obj: Consent) -> None:
        consent_delete(consent=obj, actor=request.user, origin=ConsentOrigin.ADMIN)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Consent]) -> None:
        # A handful of rows per action (a page at most); each change is checked and audited.
        for consent in queryset.select_related("person"):
            consent_delete(consent=consent, actor=request.user, origin=ConsentOrigin.ADMIN)


@admin.register(AudienceGrant)
class AudienceGrantAdmin(SuperuserOnlyAdmin):
    """Who may see which audience, with which role; every change is audited."""

    list_display = ("user", "audience", "role", "granted_by", "granted_at")
    list_filter = ("role", "audience")
    list_select_related = ("user", "audience", "granted_by")
    search_fields = ("user__username", "user__email", "audience__name")
    autocomplete_fields = ("user", "audience")
    fields = ("user", "audience", "role")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("user", "audience") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: AudienceGrant, form: Any, change: bool) -> None:
        saved = grant_set(user=obj.user, audience=obj.audience, role=obj.role, actor=request.user)
        obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: AudienceGrant) -> None:
        grant_remove(grant=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AudienceGrant]) -> None:
        for grant in queryset.select_related("user"):
            grant_remove(grant=grant, actor=request.user)


@admin.register(AuditLog)
class AuditLogAdmin(SuperuserOnlyAdmin):
    """Read-only: who viewed or exported which audience's responses, who changed access."""

    list_display = ("at", "actor_username", "action", "audience", "target")
    list_filter = ("action", "audience")
    list_select_related = ("audience",)
    search_fields = ("=actor_username", "=target")
    date_hierarchy = "at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER  # counts per filter choice would scan the table
    fields = ("at", "actor", "actor_username", "action", "audience", "target", "detail")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
