"""Forms for the audiences admin."""

from django import forms
from django.utils.translation import gettext_lazy as _


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
