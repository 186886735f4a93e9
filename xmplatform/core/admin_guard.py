"""Admin change lists answer only their declared filters, for everyone below superuser.

Why: the Django admin honours any query parameter that names one of the model's own fields
unless `lookup_allowed` says no, and by default it says yes to every local field. A list that
offers no segment filter still answers `?segment=legal`, so an insider with the right to see a
list could narrow an anonymous survey's responses to a one-person segment (or a day, a channel,
a language) that every other view hides, then open that response. Issue 15's privacy model
promises that nobody below superuser can single out a respondent, so for them:

- a change list accepts only its declared filters (the parameters each `list_filter` entry
  consumes: a field filter's `expected_parameters()`, a `SimpleListFilter`'s `parameter_name`),
  the date hierarchy's year/month/day when one is declared, the search `q` when the admin has
  search fields, and what Django's change list reads itself and never turns into a lookup
  (`o`, `p`, `all`, `e`, `_facets`, `_popup`, and `_to_field` for a field Django allows to be
  referenced). The raw-id popups of a
  `limit_choices_to` keep their fixed parameters, as Django allows them;
- the autocomplete accepts only its own `term`, `app_label`, `model_name`, `field_name`, `page`;
- anything else answers 400 with a message naming the parameter: never a silently ignored or
  honoured filter, nor Django's redirect to `?e=1`. The answer is an admin page
  (`admin/refused.html`: the admin's header, breadcrumbs to the list, the message, a link back
  to the same list without the refused parameters and with the others); the parameter name is
  user input and only ever reaches the page through the template's autoescaping. A custom view
  that lets `UndeclaredParameter` escape still answers 400: it is a SuspiciousOperation, which
  Django turns into a 400 (the project's templates/400.html).

Superusers keep Django's behaviour. `lock_down(site)` (run from `ApiConfig.ready`, after every
app's admin module has registered) gives every registered ModelAdmin the mixin, third-party ones
included (auth, django_celery_beat), and guards the site's autocomplete view; the system check
`admin_guard.E001`/`E002` fails when something registered later escapes it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core import checks
from django.core.exceptions import SuspiciousOperation
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

logger = logging.getLogger("django.security.admin_guard")

AUTOCOMPLETE_PARAMETERS = frozenset({"term", "app_label", "model_name", "field_name", "page"})
DATE_HIERARCHY_PARTS = ("year", "month", "day")
# A parameter name is echoed in the answer; an absurdly long one is cut.
NAME_SHOWN_MAX = 80


# Where `LookupGuardMixin.lookup_allowed` notes the relation lookups Django refuses, so that
# `_DeclaredOnly` refuses them together with the other undeclared parameters of the request.
REFUSED_LOOKUPS_ATTR = "_admin_guard_refused_lookups"


class UndeclaredParameter(SuspiciousOperation):
    """Query parameters the list (or the autocomplete) does not declare; the first is named.

    A SuspiciousOperation, so a path that does not catch it still answers 400, never 500.
    """

    def __init__(self, parameter: str, *others: str) -> None:
        super().__init__(f"Undeclared admin parameter {parameter!r}")
        self.parameter = parameter
        self.parameters = tuple(dict.fromkeys((parameter, *others)))


def unrestricted(user: Any) -> bool:
    """Whether `user` keeps Django's own lookups (an active superuser)."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def _shown(name: str) -> str:
    return name if len(name) <= NAME_SHOWN_MAX else name[: NAME_SHOWN_MAX - 1] + "…"


def _refuse(
    request: HttpRequest,
    *,
    title: str,
    message: str,
    parameters: tuple[str, ...],
    model_admin: Any = None,
    site: admin.AdminSite | None = None,
) -> HttpResponse:
    """The 400 admin page: `message`, and a way back without the refused `parameters`.

    With `model_admin`, the page sits under its change list (breadcrumbs to it, the link back
    to the same list keeping the other parameters); without, under the site's index.
    `message` is plain text holding user input: the template escapes it.
    """
    logger.warning(
        "Refused admin parameter %r on %s for user %s",
        parameters[0][:NAME_SHOWN_MAX],
        request.path,
        getattr(request.user, "pk", None),
    )
    site = model_admin.admin_site if model_admin is not None else (site or admin.site)
    try:
        home = reverse(f"{site.name}:index")
    except NoReverseMatch:
        home = "/"
    opts = None
    back = home
    if model_admin is not None:
        opts = model_admin.model._meta
        kept = request.GET.copy()
        for name in parameters:
            kept.pop(name, None)
        back = request.path + (f"?{kept.urlencode()}" if kept else "")
    context = {
        **site.each_context(request),
        "title": title,
        "message": message,
        "opts": opts,
        "back_url": back,
        "is_popup": IS_POPUP_VAR in request.GET and IS_POPUP_VAR not in parameters,
    }
    return TemplateResponse(request, "admin/refused.html", context, status=400)


def refuse_filter(
    request: HttpRequest, parameters: tuple[str, ...], model_admin: Any = None
) -> HttpResponse:
    """400 for change list parameters that are not among its filters (the first is named)."""
    message = gettext("“%(parameter)s” is not a filter of this list.") % {
        "parameter": _shown(parameters[0])
    }
    return _refuse(
        request,
        title=gettext("Filter not available"),
        message=message,
        parameters=parameters,
        model_admin=model_admin,
    )


def _fixed_popup_lookups(model: type[models.Model]) -> set[tuple[str, str]]:
    """(parameter, value) pairs a raw-id popup sends for a `limit_choices_to` on `model`."""
    pairs: set[tuple[str, str]] = set()
    for fk_lookup in model._meta.related_fkey_lookups:
        lookup = fk_lookup() if callable(fk_lookup) else fk_lookup
        pairs.update(widgets.url_params_from_lookup_dict(lookup).items())
    return pairs


class _DeclaredOnly:
    """The last "list filter" of a guarded change list: refuses what the declared ones left.

    Every list filter pops the parameters it consumes from the one dict Django hands them all,
    so what is left when this runs was declared by none of them.
    """

    def __init__(self, date_hierarchy: str | None) -> None:
        self.date_parts = (
            {f"{date_hierarchy}__{part}" for part in DATE_HIERARCHY_PARTS}
            if date_hierarchy
            else set()
        )

    def __call__(
        self,
        request: HttpRequest,
        params: dict[str, list[str]],
        model: type[models.Model],
        model_admin: Any,
    ) -> None:
        fixed: set[tuple[str, str]] | None = None
        undeclared: list[str] = list(getattr(request, REFUSED_LOOKUPS_ATTR, ()))
        for name, values in params.items():
            if name in self.date_parts:
                continue
            if fixed is None:
                fixed = _fixed_popup_lookups(model)
            if values and all((name, value) in fixed for value in values):
                continue
            undeclared.append(name)
        if undeclared:
            # Named in the order of the address: the first refused one is the one shown.
            order = {name: index for index, name in enumerate(request.GET)}
            undeclared.sort(key=lambda name: order.get(name, len(order)))
            raise UndeclaredParameter(*undeclared)
        return None


@functools.cache
def _guarded_changelist(base: type[ChangeList]) -> type[ChangeList]:
    """`base` (Django's ChangeList or an admin's own) refusing undeclared lookups."""

    def get_filters(self: ChangeList, request: HttpRequest) -> Any:
        if unrestricted(request.user):
            return base.get_filters(self, request)
        declared = self.list_filter
        guard: Any = _DeclaredOnly(self.date_hierarchy)  # called as a list filter class is
        self.list_filter = [*declared, guard]
        try:
            return base.get_filters(self, request)
        finally:
            self.list_filter = declared

    return type(f"Guarded{base.__name__}", (base,), {"get_filters": get_filters})


class LookupGuardMixin:
    """A ModelAdmin whose change list answers only its declared filters below superuser."""

    lookup_guarded = True

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _guarded_changelist(super().get_changelist(request, **kwargs))  # type: ignore[misc]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Django's own answer for superusers; below them a relation lookup Django refuses is
        # refused with the same message as any other undeclared one. It is noted on the request
        # and refused, with every other undeclared parameter, by `_DeclaredOnly` once the
        # declared filters have taken theirs: Django asks here before any filter runs, and the
        # guard always runs after them in the same `get_filters` (a filter raising before it
        # ends the change list too), so the noted lookup never reaches the query.
        allowed: bool = super().lookup_allowed(lookup, value, request)  # type: ignore[misc]
        if not allowed and request is not None and not unrestricted(request.user):
            refused = request.__dict__.setdefault(REFUSED_LOOKUPS_ATTR, {})
            refused[lookup] = None
            return True
        return allowed

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        model_admin: Any = self
        if unrestricted(request.user) or not model_admin.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # type: ignore[misc]
        search_refused = SEARCH_VAR in request.GET and not model_admin.get_search_fields(request)
        if search_refused:
            # Refused with every other undeclared parameter by `_DeclaredOnly` (Django would
            # ignore it), so the answer's way back leaves them all out at once.
            request.__dict__.setdefault(REFUSED_LOOKUPS_ATTR, {})[SEARCH_VAR] = None
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not model_admin.to_field_allowed(request, to_field):
            message = gettext("This list cannot hand out the field “%(field)s”.") % {
                "field": _shown(to_field)
            }
            return _refuse(
                request,
                title=gettext("Parameter not available"),
                message=message,
                parameters=(TO_FIELD_VAR,),
                model_admin=model_admin,
            )
        try:
            response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        except UndeclaredParameter as refused:
            return refuse_filter(request, refused.parameters, model_admin)
        if search_refused:
            # A change list that never asked its filters: the search is refused all the same.
            return refuse_filter(request, (SEARCH_VAR,), model_admin)
        return response


def guard_autocomplete(view: Callable[[HttpRequest], HttpResponse]) -> Any:
    """`view` (a site's autocomplete) answering 400 to parameters not its own below superuser."""

    site = getattr(view, "__self__", None)

    @functools.wraps(view)
    def guarded(request: HttpRequest) -> HttpResponse:
        if not unrestricted(request.user):
            foreign = tuple(name for name in request.GET if name not in AUTOCOMPLETE_PARAMETERS)
            if foreign:
                message = gettext("“%(parameter)s” is not a parameter of the autocomplete.")
                return _refuse(
                    request,
                    title=gettext("Parameter not available"),
                    message=message % {"parameter": _shown(foreign[0])},
                    parameters=foreign,
                    site=site if isinstance(site, admin.AdminSite) else None,
                )
        return view(request)

    guarded.lookup_guarded = True  # type: ignore[attr-defined]
    return guarded


def lock_down(site: admin.AdminSite) -> None:
    """Give every ModelAdmin of `site` the guard and guard its autocomplete (idempotent).

    Third-party admins (auth's users and groups, django_celery_beat's schedules) are registered
    again with a subclass that mixes the guard in; project admins derive from it already
    (through audiences.access's base admins). Must run before the site's URLs are built.
    """
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, LookupGuardMixin):
            continue
        cls = type(model_admin)
        guarded = type(
            cls.__name__,
            (LookupGuardMixin, cls),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
        )
        site.unregister(model)
        site.register(model, guarded)
    if not getattr(site.autocomplete_view, "lookup_guarded", False):
        # An instance attribute: `AdminSite.get_urls` wraps `self.autocomplete_view`.
        site.autocomplete_view = guard_autocomplete(site.autocomplete_view)  # type: ignore[method-assign]


@checks.register(checks.Tags.admin)
def admins_answer_declared_filters_only(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Every ModelAdmin of the default site, and its autocomplete, refuses undeclared lookups."""
    errors: list[checks.CheckMessage] = []
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, LookupGuardMixin):
            errors.append(
                checks.Error(
                    f"{type(model_admin).__qualname__} lets staff users filter "
                    f"{model._meta.label} on any of its fields.",
                    hint="Derive it from xmplatform.core.admin_guard.LookupGuardMixin (the base "
                    "admins of audiences.access do), or register it before "
                    "xmplatform.core.admin_guard.lock_down() runs.",
                    obj=model_admin,
                    id="admin_guard.E001",
                )
            )
    if not getattr(admin.site.autocomplete_view, "lookup_guarded", False):
        errors.append(
            checks.Error(
                "The admin autocomplete accepts parameters that are not its own.",
                hint="Call xmplatform.core.admin_guard.lock_down(admin.site) in AppConfig.ready.",
                obj=admin.site,
                id="admin_guard.E002",
            )
        )
    return errors
