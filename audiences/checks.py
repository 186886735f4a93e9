"""A system check that keeps every admin of audience data behind the audience scope."""

from typing import Any

from django.core import checks

SCOPED_APPS = ("audiences", "journeys", "surveys", "metrics")
# Models with no audience of their own, shown to every staff user who may see the app.
UNSCOPED = {"metrics.rootcause"}


@checks.register(checks.Tags.admin)
def admins_are_scoped(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every ModelAdmin of the audience apps restricts rows to the user's audiences."""
    from django.contrib import admin

    from audiences.access import SCOPES, AudienceScopedAdmin, SuperuserOnlyAdmin

    errors: list[checks.CheckMessage] = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        if model._meta.app_label not in SCOPED_APPS or label in UNSCOPED:
            continue
        if isinstance(model_admin, SuperuserOnlyAdmin):
            continue
        if not isinstance(model_admin, AudienceScopedAdmin):
            errors.append(
                checks.Error(
                    f"{type(model_admin).__qualname__} shows {model._meta.label} to every "
                    "staff user, whatever their audiences.",
                    hint="Derive it from audiences.access.AudienceScopedAdmin (or "
                    "SuperuserOnlyAdmin), or list the model in audiences.checks.UNSCOPED.",
                    obj=model_admin,
                    id="audiences.E001",
                )
            )
        elif label not in SCOPES:
            errors.append(
                checks.Error(
                    f"{model._meta.label} has no path to its audience.",
                    hint='Add it with audiences.access.register_scope("<app>.<model>", "<fk>").',
                    obj=model_admin,
                    id="audiences.E002",
                )
            )
    return errors
