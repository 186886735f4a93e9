"""Admin for audiences, people, memberships and consent, with the CSV import."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from audiences.forms import PeopleImportForm
from audiences.models import Audience, Consent, Membership, Person
from audiences.services import people_import_csv
from xmplatform.paging import EstimatedCountPaginator


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):
    """Audiences with their current member count, and the CSV import per audience."""

    list_display = ("name", "slug", "kind", "owner", "priority", "member_count")
    list_filter = ("kind",)
    list_select_related = ("owner",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("owner",)
    actions = ("import_people_action",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Audience]:
        # One annotated query for the whole list: current members (no left_on) per audience.
        return (
            super()
            .get_queryset(request)
            .annotate(
                _member_count=Count("memberships", filter=Q(memberships__left_on__isnull=True))
            )
        )

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Audience) -> int:
        return obj._member_count  # type: ignore[attr-defined]

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
        audience = get_object_or_404(Audience, pk=unquote(object_id))
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


class MembershipInline(admin.TabularInline):
    """A person's audiences; edited on the membership page, shown here for context."""

    model = Membership
    fields = ("audience", "segment", "attributes", "joined_on", "left_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConsentInline(admin.TabularInline):
    model = Consent
    fields = ("channel", "status", "source", "changed_at")
    readonly_fields = ("changed_at",)
    extra = 0


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    """People are many: exact searches, no full counts."""

    list_display = ("external_id", "name", "email", "language", "time_zone")
    list_filter = ("language",)
    search_fields = ("=external_id", "=email")
    search_help_text = _("Exact external id or e-mail address.")
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-id",)
    readonly_fields = ("created_at", "updated_at")
    inlines = (MembershipInline, ConsentInline)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("person", "audience", "segment", "joined_on", "left_on")
    list_select_related = ("person", "audience")
    list_filter = ("audience", "segment")
    raw_id_fields = ("person",)
    autocomplete_fields = ("audience",)
    search_fields = ("=person__external_id", "=person__email")
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-id",)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("person", "channel", "status", "source", "changed_at")
    list_select_related = ("person",)
    list_filter = ("channel", "status")
    raw_id_fields = ("person",)
    search_fields = ("=person__external_id", "=person__email")
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    ordering = ("-changed_at",)
