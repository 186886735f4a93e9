"""The "Branding" fields of the audience and survey admin forms (audiences.branding).

They work without JavaScript: the colour is a native colour input behind a "use this colour"
box (a colour input cannot be left empty, and empty means the platform's, or the audience's,
colour), and the logo is a plain file upload with a box to remove it. Colours and links are
checked by the model's validators, as the authoring API checks them.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from audiences.branding import (
    DEFAULT_COLOUR,
    LOGO_MAX_BYTES,
    REDIRECT_MAX_SECONDS,
    REDIRECT_MIN_SECONDS,
    Font,
    logo_store,
    validate_cta_url,
    validate_logo,
    validate_logo_size,
)

BRAND_FIELDS = (
    "brand_colour",
    "brand_font",
    "brand_cta_text",
    "brand_cta_url",
    "brand_redirect_seconds",
)
# The admin's "Branding" fieldset: the upload fields, then the model's.
BRANDING_FIELDSET_FIELDS = ("logo", "logo_clear", *BRAND_FIELDS)


class BrandColourWidget(forms.MultiWidget):
    """A "use this colour" box and a native colour input."""

    template_name = "audiences/brand_colour_widget.html"

    class Media:
        css = {"all": ("audiences/brand-colour.css",)}

    def __init__(self, use_label: Any = "") -> None:
        self.use_label = use_label
        super().__init__(
            [
                forms.CheckboxInput(),
                forms.TextInput(attrs={"type": "color", "aria-label": _("Colour")}),
            ]
        )

    def decompress(self, value: Any) -> list[Any]:
        return [bool(value), value or DEFAULT_COLOUR]

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["use_label"] = self.use_label
        return context


class BrandColourField(forms.MultiValueField):
    """A #rrggbb colour, or "" when its box is not ticked."""

    def __init__(self, *, use_label: Any = "", **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.pop("empty_value", None)
        super().__init__(
            fields=[forms.BooleanField(required=False), forms.CharField(required=False)],
            widget=BrandColourWidget(use_label=use_label),
            require_all_fields=False,
            required=False,
            **kwargs,
        )

    def compress(self, data_list: list[Any]) -> str:
        if not data_list or not data_list[0]:
            return ""
        return str(data_list[1] or "").strip().lower()


class BrandModelForm(forms.ModelForm):
    """A model form with the brand fields; `inherit_label` says what an empty field means."""

    inherit_label: Any = _("The platform's")

    logo = forms.FileField(
        label=capfirst(_("logo")),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_("PNG, JPEG or WebP, at most %(kb)s KB; shown beside the survey's title.")
        % {"kb": LOGO_MAX_BYTES // 1024},
    )
    logo_clear = forms.BooleanField(label=_("Remove the logo"), required=False)
    # Declared for https as the scheme a bare domain gets; the model's validators still run.
    brand_cta_url = forms.URLField(
        label=capfirst(_("thank-you button link")),
        max_length=500,
        required=False,
        assume_scheme="https",
        error_messages={"invalid": validate_cta_url.message},
        help_text=_("Where the thank-you page's button leads (http or https)."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "brand_colour" in self.fields:
            old = self.fields["brand_colour"]
            self.fields["brand_colour"] = BrandColourField(
                label=old.label,
                help_text=old.help_text,
                use_label=_("Use this colour (else: %(inherited)s)")
                % {"inherited": self.inherit_label},
            )
        if "brand_font" in self.fields:
            self.fields["brand_font"] = forms.ChoiceField(
                label=self.fields["brand_font"].label,
                required=False,
                choices=[("", self.inherit_label), *Font.choices],
            )
        if "brand_redirect_seconds" in self.fields:
            self.fields["brand_redirect_seconds"].widget.attrs.update(
                min=REDIRECT_MIN_SECONDS, max=REDIRECT_MAX_SECONDS
            )
        if "logo" in self.fields and getattr(self.instance, "brand_logo_id", None):
            self.fields["logo"].help_text = _(
                "A logo is set; upload another to replace it. %(rule)s"
            ) % {"rule": self.fields["logo"].help_text}

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        validate_logo_size(upload.size)  # before reading: a large upload stays on disk
        data = upload.read()
        validate_logo(data)
        return data

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("logo") and cleaned.get("logo_clear"):
            raise ValidationError({"logo_clear": _("Either upload a logo or remove it, not both.")})
        return cleaned

    def save(self, commit: bool = True) -> Any:
        data = self.cleaned_data.get("logo")
        if data:
            self.instance.brand_logo = logo_store(data=data)
        elif self.cleaned_data.get("logo_clear"):
            self.instance.brand_logo = None
        return super().save(commit)
