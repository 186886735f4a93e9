"""Admin of website intercepts: scoped by audience, managers only (the page shows the secret)."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin
from audiences.models import Role
from surveys.intercept import selectors
from surveys.intercept.models import InterceptSite, normalize_origin
from surveys.intercept.services import sites_new_secret


class OriginsField(forms.Field):
    """Origins one per line, kept as a list of normalised origins."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
        errors, origins = [], []
        for line in lines:
            try:
                origins.append(normalize_origin(line))
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(origins))


class InterceptSiteForm(forms.ModelForm):
    allowed_origins = OriginsField(
        label=_("allowed origins"),
        help_text=_(
            "One per line: scheme, host and port, e.g. https://www.example.com. Only these "
            "pages may ask for the survey and frame it."
        ),
    )

    class Meta:
        model = InterceptSite
        fields = ["name", "audience", "survey", "allowed_origins", "sampling_rate", "display"]
        fields += ["active"]


@admin.register(InterceptSite)
class InterceptSiteAdmin(AudienceScopedAdmin):
    form = InterceptSiteForm
    view_role = Role.MANAGER
    change_role = Role.MANAGER
    list_display = ["name", "survey", "audience", "sampling_rate", "display", "active"]
    list_filter = ["active", "display"]
    search_fields = ["name"]
    readonly_fields = ["public_key", "secret", "embed_snippet"]
    actions = ["new_secrets"]
    fieldsets = [
        (None, {"fields": ["name", "audience", "survey", "active"]}),
        (_("Who is asked"), {"fields": ["allowed_origins", "sampling_rate", "display"]}),
        (_("Embedding"), {"fields": ["public_key", "secret", "embed_snippet"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The keys are made when the site is saved: a new site shows none yet.
        return self.readonly_fields if obj is not None else []

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fieldsets if obj is not None else self.fieldsets[:2]

    @admin.display(description=_("embed snippet"))
    def embed_snippet(self, obj: InterceptSite) -> SafeString:
        src = settings.SITE_URL + reverse("surveys:intercept_script")
        tag = f'<script src="{src}" data-site="{obj.public_key}" async></script>'
        signed = (
            f'<script src="{src}" data-site="{obj.public_key}" data-user="<external id>" '
            'data-signature="<HMAC>" async></script>'
        )
        example = (
            "import hashlib, hmac\n"
            "signature = hmac.new(SITE_SECRET.encode(), external_id.encode(), "
            "hashlib.sha256).hexdigest()"
        )
        note = ""
        if selectors.public_link_for(survey_id=obj.survey_id) is None:
            note = gettext(
                "The survey has no active public link: only signed-in members of the audience "
                "are asked. Give it one under Public links to ask other visitors too."
            )
        return format_html(
            "<p>{}</p><pre><code>{}</code></pre><p>{}</p><pre><code>{}</code></pre>"
            "<pre><code>{}</code></pre><p><strong>{}</strong></p>",
            _("Paste this before </body> on every page that may show the survey:"),
            tag,
            _(
                "For signed-in visitors, your server signs the person's external id with the "
                "secret above (never send the secret to the browser):"
            ),
            signed,
            example,
            note,
        )

    @admin.action(description=_("Give the selected sites new signing secrets"))
    def new_secrets(self, request: HttpRequest, queryset: Any) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = sites_new_secret(site_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext(
                "%(count)d site has a new secret; pages signed with the old one are refused "
                "until their server signs with the new one.",
                "%(count)d sites have new secrets; pages signed with the old ones are refused "
                "until their servers sign with the new ones.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )
