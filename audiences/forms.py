"""Forms for the audiences admin."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from audiences.models import Consent
from audiences.services import consent_check


class PeopleImportForm(forms.Form):
    """The upload form of "Import people from CSV"."""

    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 CSV with a header line: external_id (required), email, phone, name, "
            "language (en/tr), time_zone (IANA), segment, joined_on (YYYY-MM-DD) and "
            "attr:<name> columns. Nothing is imported if any line has an error."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ConsentForm(forms.ModelForm):
    """A consent in the admin: a withdrawal can be reversed only by a superuser.

    The admin sets `actor` (the request's user) on the form class. An existing consent keeps
    its channel: changing it would drop that channel's record, which for a withdrawal reverses it.
    """

    actor: Any = None

    class Meta:
        model = Consent
        fields = ("person", "channel", "status")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "channel" in self.fields:
            self.fields["channel"].disabled = True

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        data = cleaned or {}
        person = data.get("person")
        if person is None and self.instance.person_id is not None:
            person = self.instance.person
        channel = data.get("channel") or self.instance.channel
        status = data.get("status")
        if person is not None and channel and status and self.has_changed():
            try:
                consent_check(person=person, channel=channel, status=status, actor=self.actor)
            except ValidationError as exc:
                self.add_error("status", exc)
        return cleaned


class ConsentInlineFormSet(BaseInlineFormSet):
    """A person's consents: deleting a withdrawal is refused like granting it again."""

    def clean(self) -> None:
        super().clean()
        actor = getattr(self.form, "actor", None)
        for form in self.deleted_forms:
            consent = form.instance
            if consent.pk is not None:
                consent_check(
                    person=self.instance, channel=consent.channel, status=None, actor=actor
                )
