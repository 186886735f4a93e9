"""Audience-scoped access: which audiences a user may see, and the admin that obeys it.

A user's access is the set of their `AudienceGrant`s (audience × role), plus the manager role on
the audiences they own. Superusers see all.

- `audience_ids(user, role)` is the one selector every scoped read goes through.
- `scope(queryset, user=…, role=…)` restricts any queryset of a model in `SCOPES` to the
  audiences the user holds `role` (or more) on.
- `AudienceRoleBackend` gives a user the Django model permissions of their highest role, so no
  group or per-user permission has to be kept in step with the grants.
- `AudienceScopedAdmin` restricts a ModelAdmin's list, change pages, permissions, dropdowns,
  autocompletes (through the target admin's queryset), list filters and search; like every
  admin below superuser it answers only its declared filters (xmplatform.core.admin_guard).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import PositiveSmallIntegerField, QuerySet, Value
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from audiences.models import Audience, AudienceGrant, Membership, Role
from xmplatform.core.admin_guard import LookupGuardMixin

# From each scoped model, the path to its audience. PERSON means "through the person's
# memberships": a person belongs to several audiences and is visible through any granted one.
PERSON = "<person>"
SCOPES: dict[str, str] = {
    "audiences.audience": "pk",
    "audiences.membership": "audience",
    "audiences.person": PERSON,
    "audiences.consent": "person",
    "journeys.journey": "audience",
    "journeys.stage": "journey",
    "journeys.touchpoint": "stage",
    "journeys.touchpointevent": "touchpoint",
    "surveys.survey": "audience",
    "surveys.question": "survey",
    "surveys.publiclink": "survey",
    "surveys.invitation": "survey",
    "surveys.response": "audience",
    "surveys.answer": "response",
    "surveys.distributionrule": "survey",
    "surveys.fatiguepolicy": "audience",
    "surveys.contactledger": "survey",
    "metrics.dailyrollup": "audience",
    "metrics.alertrule": "audience",
    "metrics.alert": "audience",
    "metrics.case": "audience",
    "metrics.casenote": "case",
}

_VIEWER = {
    "audiences.view_audience",
    "journeys.view_journey",
    "journeys.view_stage",
    "journeys.view_touchpoint",
    "surveys.view_survey",
    "surveys.view_question",
    # The metrics dashboard checks this one; the rollup admin itself is for superusers.
    "metrics.view_dailyrollup",
}
_ANALYST = _VIEWER | {
    "audiences.view_person",
    "audiences.view_membership",
    "audiences.view_consent",
    "journeys.view_touchpointevent",
    "surveys.view_response",
    "surveys.view_answer",
    "surveys.view_invitation",
    "surveys.view_distributionrule",
    "surveys.view_fatiguepolicy",
    # The closed loop: analysts see alerts and work their audience's cases.
    "metrics.view_alertrule",
    "metrics.view_alert",
    "metrics.view_case",
    "metrics.change_case",
    "metrics.view_casenote",
    "metrics.add_casenote",
    "metrics.view_rootcause",
}
_MANAGER = (
    _ANALYST
    | {
        f"{app}.{verb}_{model}"
        for app, model in (
            ("audiences", "person"),
            ("audiences", "membership"),
            ("audiences", "consent"),
            ("journeys", "journey"),
            ("journeys", "stage"),
            ("journeys", "touchpoint"),
            ("journeys", "touchpointevent"),
            ("surveys", "survey"),
            ("surveys", "question"),
            ("surveys", "distributionrule"),
            ("surveys", "fatiguepolicy"),
            ("metrics", "alertrule"),
        )
        for verb in ("add", "change", "delete")
    }
    | {"audiences.change_audience"}
)
# The Django model permissions each role carries (on top of what groups or users are given).
ROLE_PERMISSIONS: dict[int, frozenset[str]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.ANALYST: frozenset(_ANALYST),
    Role.MANAGER: frozenset(_MANAGER),
}


def extend_role_permissions(role: Role, permissions: set[str]) -> None:
    """Let another app add its models' permissions to a role and to the roles above it."""
    for higher in Role:
        if higher >= role:
            ROLE_PERMISSIONS[higher] = ROLE_PERMISSIONS[higher] | frozenset(permissions)


def register_scope(model_label: str, path: str) -> None:
    """Declare how another app's model reaches its audience (e.g. "metrics.case", "audience")."""
    SCOPES[model_label.lower()] = path


# --- Selectors -----------------------------------------------------------------------------


def audience_roles(user: Any) -> dict[int, int]:
    """{audience id: role} of `user`'s grants; read once per user object (one query).

    An audience's owner is its manager without a grant: alerts assign cases to the owner, who
    must be able to open and work them.
    """
    # Asked a few hundred times a page (navigation, permissions): the kept answer comes first.
    cached: dict[int, int] | None = getattr(user, "_audience_roles", None)
    if cached is not None:
        return cached
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    grants = AudienceGrant.objects.filter(user=user).values_list("audience_id", "role")
    owned = (
        Audience.objects.filter(owner=user)
        .annotate(owner_role=Value(int(Role.MANAGER), output_field=PositiveSmallIntegerField()))
        .values_list("pk", "owner_role")
        .order_by()
    )
    cached = {}
    for audience_id, role in grants.order_by().union(owned, all=True):
        cached[audience_id] = max(role, cached.get(audience_id, 0))
    user._audience_roles = cached
    return cached


def forget_roles(user: Any) -> None:
    """Drop what `audience_roles` and `audience_ids` kept: the user's grants have changed."""
    for name in ("_audience_roles", "_audience_ids", "_role_permissions"):
        user.__dict__.pop(name, None)


def audience_ids(user: Any, role: int = Role.VIEWER) -> list[int] | None:
    """Ids of the audiences `user` holds `role` or more on; None means all (a superuser)."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return None
    kept: dict[int, list[int]] | None = getattr(user, "_audience_ids", None)
    if kept is None:
        kept = user._audience_ids = {}
    if role not in kept:
        kept[role] = sorted(a for a, r in audience_roles(user).items() if r >= role)
    return list(kept[role])


def has_role(user: Any, audience_id: int | None, role: int) -> bool:
    """Whether `user` holds `role` or more on the audience (superusers hold every role)."""
    ids = audience_ids(user, role)
    return ids is None or (audience_id is not None and audience_id in ids)


def audience_users(*, audience_ids: list[int] | None, role: int = Role.ANALYST) -> QuerySet[Any]:
    """Active users who hold `role` or more on one of the audiences (owners and superusers too).

    `audience_ids=None` means any audience: every active user. For the people a case or an alert
    rule may be assigned to: someone who can open the case.
    """
    users = get_user_model()._default_manager.filter(is_active=True)
    if audience_ids is None:
        return users.order_by("username")
    holders = AudienceGrant.objects.filter(audience_id__in=audience_ids, role__gte=role)
    owners = Audience.objects.filter(pk__in=audience_ids)
    return users.filter(
        models.Q(is_superuser=True)
        | models.Q(pk__in=holders.values("user_id"))
        | models.Q(pk__in=owners.values("owner_id"))
    ).order_by("username")


# Tables small enough to read whole: a large table scoped through one of them (events through
# touchpoints, invitations through surveys) is filtered on a literal list of its ids.
SMALL_TABLES = {"journeys.journey", "journeys.stage", "journeys.touchpoint", "surveys.survey"}


def scope(queryset: QuerySet[Any], *, user: Any, role: int = Role.VIEWER) -> QuerySet[Any]:
    """`queryset` restricted to rows of the audiences `user` holds `role` on.

    A path through a small table (journeys, stages, touchpoints, surveys) becomes a literal list
    of that table's ids, read once per user object: behind `IN (SELECT …)` the planner cannot
    tell how many events match and may walk the whole events table newest first. Other paths
    become `IN (subquery)` filters, so a large table is only filtered on its own indexed key.
    """
    ids = audience_ids(user, role)
    if ids is None:
        return queryset
    return queryset.filter(_condition(queryset.model, ids, _id_cache(user)))


def _id_cache(user: Any) -> dict[tuple[str, tuple[int, ...]], list[int]]:
    cache: dict[tuple[str, tuple[int, ...]], list[int]] = user.__dict__.setdefault("_scope_ids", {})
    return cache


def _audience_path(model: type[models.Model]) -> str:
    """The lookup from `model` to its audience's id, e.g. "stage__journey__audience_id"."""
    hops: list[str] = []
    while True:
        path = SCOPES[model._meta.label_lower]
        field: Any = model._meta.get_field(path)
        model = field.related_model
        if model._meta.label_lower == "audiences.audience":
            return LOOKUP_SEP.join([*hops, f"{path}_id"])
        hops.append(path)


def _condition(
    model: type[models.Model],
    ids: list[int],
    cache: dict[tuple[str, tuple[int, ...]], list[int]] | None = None,
) -> models.Q:
    path = SCOPES.get(model._meta.label_lower)
    if path is None:
        raise LookupError(
            f"{model._meta.label} has no audience scope; add it with audiences.access."
            "register_scope()."
        )
    if path == "pk":
        return models.Q(pk__in=ids)
    if path == PERSON:
        members = Membership.objects.filter(audience_id__in=ids).values("person_id")
        return models.Q(pk__in=members)
    field = model._meta.get_field(path)
    related: Any = field.related_model
    label = related._meta.label_lower
    if label == "audiences.audience":
        return models.Q(**{f"{path}_id__in": ids})
    if label in SMALL_TABLES and cache is not None:
        key = (label, tuple(ids))
        if key not in cache:
            lookup = {f"{_audience_path(related)}__in": ids}
            cache[key] = list(
                related._default_manager.filter(**lookup).order_by().values_list("pk", flat=True)
            )
        return models.Q(**{f"{path}__in": cache[key]})
    inner = related._default_manager.filter(_condition(related, ids, cache)).values("pk")
    return models.Q(**{f"{path}__in": inner})


def object_in_scope(obj: models.Model, *, user: Any, role: int) -> bool:
    """Whether `obj` belongs to an audience `user` holds `role` on (cached per user object)."""
    ids = audience_ids(user, role)
    if ids is None:
        return True
    cache: dict[tuple[str, Any, int], bool] = user.__dict__.setdefault("_scope_checks", {})
    key = (obj._meta.label_lower, obj.pk, role)
    if key not in cache:
        cache[key] = (
            obj.pk is not None
            and type(obj)
            ._default_manager.filter(_condition(type(obj), ids, _id_cache(user)), pk=obj.pk)
            .exists()
        )
    return cache[key]


# --- Django permissions from roles ---------------------------------------------------------


class AudienceRoleBackend(BaseBackend):
    """Model permissions of a user's highest role; which rows they reach is `scope`'s job."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if obj is not None:
            return set()
        return set(self._permissions(user_obj))

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        return obj is None and perm in self._permissions(user_obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        prefix = f"{app_label}."
        return any(p.startswith(prefix) for p in self._permissions(user_obj))

    @staticmethod
    def _permissions(user_obj: Any) -> frozenset[str]:
        """The permissions of the user's highest role, kept on the user like its roles."""
        kept: frozenset[str] | None = getattr(user_obj, "_role_permissions", None)
        if kept is not None:
            return kept
        if not getattr(user_obj, "is_active", False):
            return frozenset()
        roles = audience_roles(user_obj)
        kept = ROLE_PERMISSIONS[max(roles.values())] if roles else frozenset()
        user_obj._role_permissions = kept
        return kept


# --- Admin ---------------------------------------------------------------------------------


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-object filter whose dropdown lists only the user's audiences' objects."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> Any:
        related = field.related_model
        role = getattr(model_admin, "view_role", Role.VIEWER)
        queryset = scope(related._default_manager.all(), user=request.user, role=role)
        ordering = self.field_admin_ordering(field, request, model_admin)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return [(obj.pk, str(obj)) for obj in queryset]


def _scoped_relation(model: type[models.Model], path: str) -> bool:
    try:
        field = get_fields_from_path(model, path)[-1]
    except (FieldDoesNotExist, NotRelationField):
        return False
    related = getattr(field, "related_model", None)
    return related is not None and related._meta.label_lower in SCOPES


class AudienceScopedAdmin(LookupGuardMixin, admin.ModelAdmin):
    """Everything the admin shows of this model is limited to the user's audiences.

    `view_role` is the least role that sees a row, `change_role` the least that adds, edits or
    deletes one. Superusers are never restricted.
    """

    view_role: int = Role.ANALYST
    change_role: int = Role.MANAGER

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope(super().get_queryset(request), user=request.user, role=self.view_role)

    def _allowed(self, request: HttpRequest, role: int, obj: Any) -> bool:
        if obj is None:
            ids = audience_ids(request.user, role)
            return ids is None or bool(ids)
        return object_in_scope(obj, user=request.user, role=role)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._allowed(
            request, self.view_role, obj
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._allowed(
            request, self.change_role, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._allowed(
            request, self.change_role, obj
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and self._allowed(
            request, self.change_role, None
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if "queryset" not in kwargs and related._meta.label_lower in SCOPES:
            base = self.get_field_queryset(None, db_field, request)
            if base is None:
                base = related._default_manager.all()
            kwargs["queryset"] = scope(base, user=request.user, role=self.change_role)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        related = db_field.related_model
        if "queryset" not in kwargs and related._meta.label_lower in SCOPES:
            base = self.get_field_queryset(None, db_field, request)
            if base is None:
                base = related._default_manager.all()
            kwargs["queryset"] = scope(base, user=request.user, role=self.change_role)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def action_checkbox(self, obj: Any) -> SafeString:
        # Django's markup, written directly: rendering a widget template per row took half of a
        # 50-row changelist's render time.
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and _scoped_relation(self.model, item):
                item = (item, ScopedRelatedFieldListFilter)
            filters.append(item)
        return filters


class ScopedInline(admin.options.InlineModelAdmin):
    """An inline that lists only the rows of the user's audiences (e.g. a person's memberships)."""

    view_role: int = Role.ANALYST

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope(super().get_queryset(request), user=request.user, role=self.view_role)


class SuperuserOnlyAdmin(LookupGuardMixin, admin.ModelAdmin):
    """Models only superusers may see (internals, access control, the audit log)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser
